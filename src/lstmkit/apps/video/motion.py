"""The one trajectory and rendering core behind the moving-digit videos of :mod:`lstmkit.apps.video.data`.

A trajectory is the top-left corner of a 28x28 sprite in a ``size`` x ``size`` frame, as (row,
column) floats in ``[0, size - 28]``. Straight motion with bounces is a fold: the unfolded
position ``start + velocity * t`` reflected into ``[0, limit]`` (a triangle wave), which is
exactly what reflecting the velocity at each wall gives, and which lets a trajectory restart at
any frame (a teleport, a turn) by folding another straight line. Frames are drawn by
:func:`render` (sprites at the rounded positions, combined by pixelwise max).

Example::

    >>> rng = np.random.default_rng(0)
    >>> pos = bounce(np.zeros((1, 1, 2)), np.full((1, 1, 2), 3.0), np.arange(20), 36.0)
    >>> pos.shape, float(pos.max()) <= 36.0
    ((1, 20, 1, 2), True)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["DIGIT", "bounce", "directions", "fold", "render", "transform_sprites"]

#: side of a digit sprite, in pixels
DIGIT = 28


def fold(unfolded: np.ndarray, limit: float) -> np.ndarray:
    """Reflect unfolded positions into ``[0, limit]`` (a triangle wave of period ``2 * limit``).

    Args:
        unfolded: positions of any shape, as if there were no walls.
        limit: the largest position (frame size minus sprite size); 0 pins every position at 0.

    Returns:
        The positions after bouncing, same shape, in ``[0, limit]``.
    """
    if limit <= 0:
        return np.zeros_like(unfolded)
    q = np.mod(unfolded, 2.0 * limit)
    return np.where(q > limit, 2.0 * limit - q, q)


def bounce(start: np.ndarray, velocity: np.ndarray, times: np.ndarray, limit: float) -> np.ndarray:
    """Positions of sprites moving at constant velocity and bouncing off the walls.

    Args:
        start: (N, D, 2) unfolded positions at time 0 (row, column).
        velocity: (N, D, 2) pixels per frame.
        times: (L,) or (N, L) frame times (may be negative or restart at a later frame).
        limit: frame size minus sprite size.

    Returns:
        (N, L, D, 2) float64 positions in ``[0, limit]``.
    """
    t = np.asarray(times, dtype=np.float64)
    t = np.broadcast_to(t, (start.shape[0], t.shape[-1]))[:, :, None, None]
    return fold(start[:, None] + velocity[:, None] * t, limit)


def directions(rng: np.random.Generator, shape: tuple[int, ...], speed: float | np.ndarray) -> np.ndarray:
    """Velocities of a uniform random direction and the given speed: ``shape + (2,)``."""
    angle = rng.uniform(0.0, 2.0 * math.pi, size=shape)
    speed = np.broadcast_to(np.asarray(speed, dtype=np.float64), shape)
    return np.stack([speed * np.sin(angle), speed * np.cos(angle)], axis=-1)


def render(sprites: np.ndarray, positions: np.ndarray, size: int) -> np.ndarray:
    """Draw sprites into frames, combined by pixelwise max.

    Args:
        sprites: (N, D, 28, 28) or (N, L, D, 28, 28) float32 in [0, 1] (one image per frame
            when a sprite changes: rotation, scaling).
        positions: (N, L, D, 2) top-left corners (rounded to whole pixels here), in
            ``[0, size - 28]``.
        size: frame side.

    Returns:
        (N, L, size, size) float32 frames.
    """
    n, length, d = positions.shape[:3]
    per_frame = sprites.ndim == 5
    corner = np.clip(np.rint(positions).astype(np.intp), 0, size - DIGIT).reshape(n * length, d, 2)
    out = np.zeros((n * length, size, size), dtype=np.float32)
    span = size - DIGIT + 1
    for j in range(d):
        # frames whose sprite j lies at the same corner are drawn together, as whole blocks
        src = sprites[:, :, j].reshape(n * length, DIGIT, DIGIT) if per_frame else sprites[:, j]
        keys = corner[:, j, 0] * span + corner[:, j, 1]
        order = np.argsort(keys, kind="stable")
        for group in np.split(order, np.flatnonzero(np.diff(keys[order])) + 1):
            r, c = divmod(int(keys[group[0]]), span)
            sprite = src[group] if per_frame else src[group // length]
            if j:
                sprite = np.maximum(out[group, r : r + DIGIT, c : c + DIGIT], sprite)
            out[group, r : r + DIGIT, c : c + DIGIT] = sprite
    return out.reshape(n, length, size, size)


def transform_sprites(sprites: np.ndarray, angle: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Rotate and scale each sprite about its centre, once per frame.

    Args:
        sprites: (N, 28, 28) float32 images.
        angle: (N, L) radians, counter-clockwise.
        scale: (N, L) magnification (at most 1 keeps the digit inside its 28x28 box).

    Returns:
        (N, L, 28, 28) float32 images in [0, 1] (bilinear; outside the image is 0).
    """
    n, length = angle.shape
    a = torch.from_numpy(np.asarray(angle, dtype=np.float32)).reshape(-1)
    s = torch.from_numpy(np.asarray(scale, dtype=np.float32)).reshape(-1)
    cos, sin = torch.cos(a) / s, torch.sin(a) / s
    zero = torch.zeros_like(a)
    theta = torch.stack([torch.stack([cos, -sin, zero], -1), torch.stack([sin, cos, zero], -1)], 1)
    src = torch.from_numpy(np.ascontiguousarray(sprites, dtype=np.float32))[:, None]
    src = src.repeat_interleave(length, dim=0)
    grid = F.affine_grid(theta, [n * length, 1, DIGIT, DIGIT], align_corners=False)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.reshape(n, length, DIGIT, DIGIT).clamp_(0.0, 1.0).numpy()

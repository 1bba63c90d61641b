"""Trajectories of the video generators: plain bouncing, the motion classes and the anomalies.

Every trajectory is built with :func:`lstmkit.apps.video.motion.bounce` (straight lines folded
into the frame), so a normal video, a class's motion and the parts of an anomalous video before
and after its onset obey the same physics. Positions are top-left corners (row, column) in
``[0, size - 28]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np

from lstmkit.apps.video import motion

__all__ = ["ANOMALY_KINDS", "MOTION_CLASSES", "anomalies", "bouncing", "check_anomaly_args", "classes"]

#: the motion classes of :func:`lstmkit.apps.video.data.motion_classes`, in label order
MOTION_CLASSES = ("horizontal", "vertical", "diagonal", "circle", "still", "rotate", "scale")
#: the anomaly kinds of :func:`lstmkit.apps.video.data.motion_anomalies`
ANOMALY_KINDS = ("teleport", "stop", "turn")
#: speed of the bouncing digits as a share of the room to move (``size - 28``), as in the Moving MNIST code
SPEED = 0.1
#: speed range of the moving classes, as shares of the room to move
CLASS_SPEED = (0.06, 0.12)


def bouncing(rng: np.random.Generator, n: int, digits: int, frames: int, size: int) -> np.ndarray:
    """(n, frames, digits, 2) positions: random starts and directions, fixed speed, bounces."""
    limit = float(size - motion.DIGIT)
    start = rng.uniform(0.0, limit, size=(n, digits, 2))
    velocity = motion.directions(rng, (n, digits), SPEED * limit)
    return motion.bounce(start, velocity, np.arange(frames), limit)


def _line(rng: np.random.Generator, angle: np.ndarray, frames: int, limit: float) -> np.ndarray:
    """(m, frames, 2) bouncing positions at the given angles (radians from the column axis)."""
    m = len(angle)
    speed = rng.uniform(*CLASS_SPEED, size=m) * limit
    velocity = np.stack([speed * np.sin(angle), speed * np.cos(angle)], -1)[:, None]
    velocity[np.abs(velocity) < 1e-9] = 0.0  # exactly along an axis (sin(pi) is not 0)
    start = rng.uniform(0.0, limit, size=(m, 1, 2))
    return motion.bounce(start, velocity, np.arange(frames), limit)[:, :, 0]


def _circle(rng: np.random.Generator, m: int, frames: int, limit: float) -> np.ndarray:
    """(m, frames, 2) positions on circular orbits (radius 25-45% of the room, random sense)."""
    radius = rng.uniform(0.25, 0.45, size=m) * limit
    speed = rng.uniform(*CLASS_SPEED, size=m) * limit
    omega = speed / radius * rng.choice([-1.0, 1.0], size=m)
    centre = rng.uniform(radius[:, None], limit - radius[:, None], size=(m, 2))
    phase = rng.uniform(0.0, 2.0 * math.pi, size=m)[:, None] + omega[:, None] * np.arange(frames)
    return centre[:, None] + radius[:, None, None] * np.stack([np.sin(phase), np.cos(phase)], -1)


def _in_place(rng: np.random.Generator, sprites: np.ndarray, kind: str, frames: int) -> np.ndarray:
    """(m, frames, 28, 28) sprites that spin (``rotate``) or grow and shrink (``scale``) in place."""
    m = len(sprites)
    t = np.arange(frames)[None]
    if kind == "rotate":
        omega = rng.uniform(0.2, 0.4, size=(m, 1)) * rng.choice([-1.0, 1.0], size=(m, 1))
        angle = rng.uniform(-math.pi / 4, math.pi / 4, size=(m, 1)) + omega * t
        return motion.transform_sprites(sprites, angle, np.ones_like(angle))
    omega = rng.uniform(0.3, 0.6, size=(m, 1))
    scale = 0.75 + 0.25 * np.cos(rng.uniform(0.0, 2.0 * math.pi, size=(m, 1)) + omega * t)
    return motion.transform_sprites(sprites, np.zeros_like(scale), scale)


def classes(
    rng: np.random.Generator, labels: np.ndarray, sprites: np.ndarray, frames: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sprites and positions of the motion classes.

    Args:
        labels: (N,) int64 index into :data:`MOTION_CLASSES`.
        sprites: (N, 28, 28) float32 digit images.

    Returns:
        ``(sprites, positions)``: (N, frames, 28, 28) float32 and (N, frames, 2) float64.
    """
    limit = float(size - motion.DIGIT)
    n = len(labels)
    out = np.broadcast_to(sprites[:, None], (n, frames, *sprites.shape[1:])).copy()
    positions = np.empty((n, frames, 2))
    for k, name in enumerate(MOTION_CLASSES):
        idx = np.flatnonzero(labels == k)
        m = len(idx)
        if m == 0:
            continue
        if name in ("horizontal", "vertical"):
            angle = (0.0 if name == "horizontal" else math.pi / 2) + math.pi * rng.integers(0, 2, size=m)
            positions[idx] = _line(rng, angle, frames, limit)
        elif name == "diagonal":
            angle = rng.uniform(math.radians(35), math.radians(55), size=m) + math.pi / 2 * rng.integers(
                0, 4, m
            )
            positions[idx] = _line(rng, angle, frames, limit)
        elif name == "circle":
            positions[idx] = _circle(rng, m, frames, limit)
        else:
            positions[idx] = rng.uniform(0.0, limit, size=(m, 1, 2))
            if name != "still":
                out[idx] = _in_place(rng, sprites[idx], name, frames)
    return out, positions


def check_anomaly_args(rate: float, kinds: Sequence[str], start: int, frames: int) -> tuple[str, ...]:
    """Check ``rate``, ``kinds`` and ``start`` of the anomaly generator; the kinds as a tuple."""
    if isinstance(rate, bool) or not isinstance(rate, Real) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate: expected a number in [0, 1], got {rate!r}")
    if isinstance(kinds, str) or not kinds or any(k not in ANOMALY_KINDS for k in kinds):
        raise ValueError(f"kinds: expected a non-empty list of {list(ANOMALY_KINDS)}, got {kinds!r}")
    if isinstance(start, bool) or not isinstance(start, Integral) or not 1 <= start <= frames - 1:
        raise ValueError(f"start: expected an int in [1, frames - 1 = {frames - 1}], got {start!r}")
    return tuple(kinds)


def _rotate(velocity: np.ndarray, angle: np.ndarray) -> np.ndarray:
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    row, col = velocity[:, 0:1], velocity[:, 1:2]
    return np.concatenate([cos * row + sin * col, -sin * row + cos * col], 1)


def _anomalous(
    rng: np.random.Generator,
    kind: str,
    velocity: np.ndarray,
    path: np.ndarray,
    onset: np.ndarray,
    limit: float,
) -> np.ndarray:
    """(m, frames, 2) path of the first digit of ``m`` anomalous videos of one kind.

    Args:
        velocity: (m, 2) its velocity; path: (m, frames, 2) its normal path; onset: (m,) first
            anomalous frame.
    """
    m, frames = path.shape[:2]
    t = np.arange(frames)[None] - onset[:, None]
    after = (t >= 0)[:, :, None]
    before = path[np.arange(m), onset - 1]
    if kind == "stop":
        return np.where(after, before[:, None], path)
    if kind == "teleport":
        side = np.where(before < limit / 2, 1.0, -1.0)
        jump = before + side * rng.uniform(limit / 4, limit / 2, size=(m, 2))
        return np.where(after, motion.bounce(jump[:, None], velocity[:, None], t, limit)[:, :, 0], path)
    # turn: at frame onset - 1 the digit lies more than one step plus a pixel from every wall
    margin = min(np.hypot(*velocity[0]) + 1.0, limit / 2)
    corner = rng.uniform(margin, limit - margin, size=(m, 2))
    turn = rng.uniform(math.pi / 2, math.pi, size=m) * rng.choice([-1.0, 1.0], size=m)
    pre = motion.bounce(corner[:, None], velocity[:, None], t + 1, limit)[:, :, 0]
    post = motion.bounce(corner[:, None], _rotate(velocity, turn)[:, None], t + 1, limit)[:, :, 0]
    return np.where(after, post, pre)


def anomalies(
    rng: np.random.Generator, n: int, frames: int, size: int, rate: float, kinds: tuple[str, ...], start: int
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Kinds, onsets (-1 for normal) and (n, frames, 2, 2) positions of the anomaly videos."""
    limit = float(size - motion.DIGIT)
    start_pos = rng.uniform(0.0, limit, size=(n, 2, 2))
    velocity = motion.directions(rng, (n, 2), SPEED * limit)
    positions = motion.bounce(start_pos, velocity, np.arange(frames), limit)
    chosen = rng.permutation(n)[: round(rate * n)]
    kind_of = rng.integers(0, len(kinds), size=len(chosen))
    onsets = np.full(n, -1, dtype=np.int64)
    onsets[chosen] = rng.integers(start, frames, size=len(chosen))
    names = ["normal"] * n
    for k, kind in enumerate(kinds):
        idx = chosen[kind_of == k]
        if len(idx):
            path = _anomalous(rng, kind, velocity[idx, 0], positions[idx, :, 0], onsets[idx], limit)
            positions[idx, :, 0] = path
        for i in idx:
            names[i] = kind
    return names, onsets, positions

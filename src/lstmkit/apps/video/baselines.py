"""Baselines of next-frame prediction that need no training.

Shapes: N videos, L context frames, T future frames, C channels, H x W pixels.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["copy_last", "mean_frame"]


def copy_last(context: Tensor, horizon: int) -> Tensor:
    """The last context frame repeated ``horizon`` times: (N, L, C, H, W) -> (N, T, C, H, W)."""
    if context.dim() != 5:
        raise ValueError(f"context: expected videos (N, L, C, H, W), got shape {tuple(context.shape)}")
    if horizon < 1:
        raise ValueError(f"horizon: expected an int >= 1, got {horizon}")
    return context[:, -1:].expand(-1, horizon, -1, -1, -1).clone()


def mean_frame(context: Tensor, horizon: int) -> Tensor:
    """The mean of the context frames repeated ``horizon`` times: (N, L, C, H, W) -> (N, T, C, H, W)."""
    if context.dim() != 5:
        raise ValueError(f"context: expected videos (N, L, C, H, W), got shape {tuple(context.shape)}")
    return context.mean(1, keepdim=True).expand(-1, horizon, -1, -1, -1).clone()

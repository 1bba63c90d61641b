"""Integrated gradients along a path cut into segments, for
:func:`lstmkit.explain.attributions.integrated_gradients`'s adaptive refinement.

By additivity along the straight path :math:`b + t (x - b)`, the attributions of its segments
:math:`[t_0, t_1]` add up to those of the whole path; :func:`bisect` halves a segment until its
own completeness gap is within its share of the tolerance, so that steep transitions (saturated
units, ReLU kinks) get the quadrature points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from captum.attr import IntegratedGradients
from torch import Tensor

__all__ = ["Path", "batch_rows", "bisect", "check_depth", "scalar_outputs"]


def scalar_outputs(
    forward: Callable[..., Tensor], x: Tensor, args: tuple[Any, ...], target: Tensor | None
) -> Tensor:
    """(N,) the output of each example: forward's (N,) values, or its (N, K) scores at ``target``."""
    with torch.no_grad():
        out = forward(x, *args)
    n = x.shape[0]
    if not isinstance(out, Tensor):
        raise ValueError(f"forward: expected a tensor output, got {type(out).__name__}")
    if target is None:
        if out.shape not in ((n,), (n, 1)):
            raise ValueError(
                f"forward: expected (N,) = ({n},) outputs without a target, got {tuple(out.shape)}; "
                "pass target= to pick a class of (N, K) outputs"
            )
        return out.reshape(n)
    if out.dim() != 2 or out.shape[0] != n:
        raise ValueError(f"forward: expected (N, K) outputs with a target, got {tuple(out.shape)}")
    if bool((target < 0).any()) or bool((target >= out.shape[1]).any()):
        raise ValueError(f"target: expected class indices in [0, {out.shape[1]}), got {target.tolist()}")
    return out.gather(1, target[:, None])[:, 0]


def batch_rows(args: tuple[Any, ...], idx: Tensor, n: int) -> tuple[Any, ...]:
    """``args`` with the tensors of batch size ``n`` cut to the rows ``idx``."""
    return tuple(a[idx] if isinstance(a, Tensor) and a.dim() and a.shape[0] == n else a for a in args)


def check_depth(max_depth: int) -> None:
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or not 0 <= max_depth <= 40:
        raise ValueError(f"max_depth: expected an int in [0, 40], got {max_depth!r}")


@dataclass
class Path:
    """The straight paths ``b + t (x - b)`` of N examples, and the attribution of a batch of
    their segments ``[t0, t1]`` (captum's integrated gradients from ``b + t0 (x - b)`` to
    ``b + t1 (x - b)``; by additivity along the path, segments' attributions add up)."""

    forward: Callable[..., Tensor]
    x: Tensor
    b: Tensor
    target: Tensor | None
    args: tuple[Any, ...]
    n_steps: int
    method: str
    internal_batch_size: int | None

    def point(self, rows: Tensor, t: Tensor) -> Tensor:
        shape = (-1,) + (1,) * (self.x.dim() - 1)
        return self.b[rows] + t.to(self.x).view(shape) * (self.x[rows] - self.b[rows])

    def segments(self, rows: Tensor, t0: Tensor, t1: Tensor) -> tuple[Tensor, Tensor]:
        """Attributions (S, ...) of the segments and their deltas (S,)."""
        lo, hi = self.point(rows, t0), self.point(rows, t1)
        tgt = None if self.target is None else self.target[rows]
        args = batch_rows(self.args, rows, self.x.shape[0])
        with torch.enable_grad():
            values = IntegratedGradients(self.forward).attribute(
                hi,
                baselines=lo,
                target=tgt,
                additional_forward_args=args or None,
                n_steps=self.n_steps,
                method=self.method,
                internal_batch_size=self.internal_batch_size,
            )
        assert isinstance(values, Tensor)
        values = values.detach()
        diff = scalar_outputs(self.forward, hi, args, tgt) - scalar_outputs(self.forward, lo, args, tgt)
        return values, values.reshape(len(rows), -1).sum(1) - diff


def bisect(path: Path, values: Tensor, bad: Tensor, budget: Tensor, max_depth: int) -> Tensor:
    """``values`` with the rows ``bad`` recomputed by adaptive bisection of their paths: a
    segment of length ``w`` is kept once its delta is within ``budget[row] * w`` (or at
    ``max_depth`` halvings), else its halves are computed."""
    values = values.clone()
    values[bad] = 0
    rows = bad.repeat_interleave(2)
    t0 = torch.tensor([0.0, 0.5], dtype=torch.float64).repeat(len(bad))
    width = 0.5
    for depth in range(1, max_depth + 1):
        seg, delta = path.segments(rows, t0, t0 + width)
        ok = (delta.abs() <= budget[rows] * width) | (depth == max_depth) | (len(rows) > 8192)
        values.index_add_(0, rows[ok], seg[ok])
        if bool(ok.all()):
            break
        split = ~ok
        width /= 2
        rows = rows[split].repeat_interleave(2)
        t0 = (t0[split][:, None] + torch.tensor([0.0, width], dtype=torch.float64)).reshape(-1)
    return values

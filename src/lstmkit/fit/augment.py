r"""Sequence augmentation: jitter, scaling, magnitude warping, time warping, window slicing,
cyclic shift; composable and seeded (Um et al. 2017; Le Guennec et al. 2016; Iwana & Uchida 2021).

Every transform takes a batch ``x`` of shape (N, L, C) (batch-first) or one series (L, C), and
optionally

* ``lengths`` (N,): padded batches; each sequence is transformed within its own length and
  its padding stays zero, so lengths are preserved;
* ``target``: per-step targets (N, L, *) (or (L, *)) that must stay aligned with ``x``. Time
  transforms (time warp, window slice, cyclic shift) move them the same way (integer targets,
  e.g. class labels per step, by nearest step; float targets by interpolation); value transforms
  leave them unchanged. Per-sequence labels need no care: no transform touches them;
* ``generator``: a :class:`torch.Generator` for the random draws; without it, the transform's
  own generator seeded by ``seed`` at construction (or torch's global one if ``seed=None``).

Value transforms (per sequence n, channel c, step t):

.. math::

    \text{jitter: } x' = x + \epsilon,\ \epsilon \sim \mathcal N(0, \sigma^2) \qquad
    \text{scaling: } x' = s_{nc}\, x,\ s_{nc} \sim \mathcal N(1, \sigma^2) \qquad
    \text{magnitude warp: } x' = w_{nc}(t)\, x

with :math:`w` a smooth curve (Catmull-Rom spline) through ``knots`` values drawn from
:math:`\mathcal N(1, \sigma^2)` at evenly spaced positions over the sequence.

Time transforms read ``x`` at new, real-valued positions :math:`\tau(t)` (linear interpolation):
time warp uses :math:`\tau(t) = (\ell - 1)\,\frac{\int_0^t v}{\int_0^{\ell-1} v}` with a smooth
positive speed curve :math:`v` (knots from :math:`\mathcal N(1, \sigma^2)`, clamped at 0.1), so
:math:`\tau` is increasing with :math:`\tau(0) = 0, \tau(\ell-1) = \ell-1`; window slice reads a
random window of ``ratio`` of the length stretched to the whole length; cyclic shift rotates each
sequence within its length by a random offset.

Example::

    >>> aug = Compose([Jitter(0.03), RandomApply(TimeWarp(0.2), p=0.5), CyclicShift()], seed=0)
    >>> x_aug = aug(torch.randn(8, 100, 3), lengths=torch.full((8,), 100))
    >>> x_aug, y_aug = aug(x, target=y_per_step)          # keep per-step targets aligned
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "PRESETS",
    "Augmentation",
    "Compose",
    "CyclicShift",
    "Jitter",
    "MagnitudeWarp",
    "RandomApply",
    "Scaling",
    "TimeWarp",
    "WindowSlice",
    "make_augmentation",
    "slice_views",
    "smooth_curve",
]

#: the names :func:`make_augmentation` knows
PRESETS = ("none", "light", "warp")


def _check_float(
    name: str, value: float, low: float, high: float = math.inf, *, open_low: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    ok = (value > low if open_low else value >= low) and value <= high
    if not ok:
        bracket = "(" if open_low else "["
        raise ValueError(f"{name}: expected a value in {bracket}{low}, {high}], got {value}")
    return float(value)


def smooth_curve(knots: Tensor, positions: Tensor) -> Tensor:
    """Catmull-Rom spline through ``knots`` (..., K) at evenly spaced positions 0..1, evaluated
    at ``positions`` (..., L) in [0, 1]. Returns (..., L); with K == 1 the constant."""
    k = knots.shape[-1]
    if k == 1:
        return knots * torch.ones_like(positions)  # (..., 1) broadcast to (..., L)
    u = positions.clamp(0, 1) * (k - 1)  # (..., L)
    i = u.floor().clamp(max=k - 2).long()  # segment index
    s = u - i  # local coordinate in [0, 1]

    def at(j: Tensor) -> Tensor:
        return torch.gather(knots, -1, j.clamp(0, k - 1))

    p0, p1, p2, p3 = at(i - 1), at(i), at(i + 1), at(i + 2)
    s2, s3 = s * s, s * s * s
    return 0.5 * (
        2 * p1 + (p2 - p0) * s + (2 * p0 - 5 * p1 + 4 * p2 - p3) * s2 + (3 * p1 - p0 - 3 * p2 + p3) * s3
    )


class Augmentation:
    """Base: handles shapes, lengths, targets and the random generator; subclasses implement
    :meth:`_values` (value transforms) or :meth:`_positions` (time transforms)."""

    time_transform = False

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._gen: torch.Generator | None = None
        if seed is not None:
            self._gen = torch.Generator().manual_seed(int(seed))

    def reseed(self, seed: int) -> None:
        """Reset the transform's own generator."""
        self.seed = seed
        self._gen = torch.Generator().manual_seed(int(seed))

    # --- subclass hooks: x (N, L, C) float, lengths (N,) int64, gen --------------------------
    def _values(self, x: Tensor, lengths: Tensor, gen: torch.Generator | None) -> Tensor:
        raise NotImplementedError

    def _positions(self, lengths: Tensor, max_len: int, gen: torch.Generator | None) -> Tensor:
        """(N, L) real-valued read positions, each in [0, lengths[n] - 1]."""
        raise NotImplementedError

    # --- the call ------------------------------------------------------------------------------
    def __call__(
        self,
        x: Tensor,
        lengths: Tensor | Sequence[int] | None = None,
        *,
        target: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Any:
        """Augment ``x`` (N, L, C) or (L, C); returns ``x'`` (same shape and dtype), or
        ``(x', target')`` when ``target`` is given."""
        xb, lens, unbatched = _prepare(x, lengths)
        tb = None
        if target is not None:
            tb = _prepare_target(target, xb.shape[0], xb.shape[1], unbatched)
        gen = generator if generator is not None else self._gen
        out, tout = self._apply(xb, lens, tb, gen)
        out = out[0] if unbatched else out
        if target is None:
            return out
        assert tout is not None
        return out, (tout[0] if unbatched else tout)

    def _apply(
        self, x: Tensor, lengths: Tensor, target: Tensor | None, gen: torch.Generator | None
    ) -> tuple[Tensor, Tensor | None]:
        mask = _mask(lengths, x.shape[1], x.device)  # (N, L)
        if not self.time_transform:
            out = self._values(x, lengths, gen)
            return out * mask.unsqueeze(-1).to(out.dtype), target
        pos = self._positions(lengths, x.shape[1], gen).to(x.device)  # (N, L)
        out = _resample(x, pos) * mask.unsqueeze(-1).to(x.dtype)
        if target is not None:
            target = _resample_target(target, pos, mask)
        return out, target

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def _prepare(x: Tensor, lengths: Tensor | Sequence[int] | None) -> tuple[Tensor, Tensor, bool]:
    if not isinstance(x, Tensor):
        raise TypeError(f"x: expected a tensor (N, L, C) or (L, C), got {type(x).__name__}")
    if x.dim() not in (2, 3):
        raise ValueError(f"x: expected shape (N, L, C) or (L, C), got {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"x: expected a floating-point tensor, got dtype {x.dtype}")
    unbatched = x.dim() == 2
    xb = x.unsqueeze(0) if unbatched else x
    n, length = xb.shape[0], xb.shape[1]
    if length == 0:
        raise ValueError("x: expected at least one time step, got an empty series (L = 0)")
    if lengths is None:
        lens = torch.full((n,), length, dtype=torch.int64)
    else:
        lens = torch.as_tensor(lengths).reshape(-1) if not isinstance(lengths, Tensor) else lengths
        if lens.dtype.is_floating_point or lens.dtype == torch.bool:
            raise TypeError(f"lengths: expected integers, got dtype {lens.dtype}")
        if lens.numel() != n:
            raise ValueError(f"lengths: expected {n} values (one per sequence), got {lens.numel()}")
        lens = lens.to("cpu", torch.int64)
        if int(lens.min()) < 1 or int(lens.max()) > length:
            raise ValueError(
                f"lengths: expected values in [1, {length}], got min {int(lens.min())}, max {int(lens.max())}"
            )
    return xb, lens, unbatched


def _prepare_target(target: Tensor, n: int, length: int, unbatched: bool) -> Tensor:
    tb = target.unsqueeze(0) if unbatched else target
    if tb.dim() < 2 or tb.shape[0] != n or tb.shape[1] != length:
        want = f"({length}, ...)" if unbatched else f"({n}, {length}, ...)"
        raise ValueError(
            f"target: expected per-step targets of shape {want} like x, got {tuple(target.shape)}"
        )
    return tb


def _mask(lengths: Tensor, max_len: int, device: torch.device) -> Tensor:
    return torch.arange(max_len, device=device).unsqueeze(0) < lengths.to(device).unsqueeze(1)  # (N, L)


def _relative_positions(lengths: Tensor, max_len: int) -> Tensor:
    """(N, L): t / (l_n - 1) in [0, 1] within each length (0 for length 1; >1 in padding)."""
    t = torch.arange(max_len, dtype=torch.float64).unsqueeze(0)  # (1, L)
    return t / (lengths.to(torch.float64) - 1).clamp(min=1).unsqueeze(1)


def _resample(x: Tensor, pos: Tensor) -> Tensor:
    """x (N, L, C) read at real-valued positions pos (N, L') by linear interpolation."""
    length = x.shape[1]
    lo = pos.floor().clamp(0, length - 1)
    hi = (lo + 1).clamp(max=length - 1)
    frac = (pos - lo).clamp(0, 1).to(x.dtype).unsqueeze(-1)  # (N, L', 1)
    lo_i = lo.long().unsqueeze(-1).expand(-1, -1, x.shape[2])
    hi_i = hi.long().unsqueeze(-1).expand(-1, -1, x.shape[2])
    a = torch.gather(x, 1, lo_i)
    b = torch.gather(x, 1, hi_i)
    return a + (b - a) * frac


def _resample_target(target: Tensor, pos: Tensor, mask: Tensor) -> Tensor:
    flat = target.reshape(target.shape[0], target.shape[1], -1)  # (N, L, D)
    if target.dtype.is_floating_point:
        out = _resample(flat, pos)
    else:  # labels: the nearest step
        idx = pos.round().long().clamp(0, target.shape[1] - 1).unsqueeze(-1).expand(-1, -1, flat.shape[2])
        out = torch.gather(flat, 1, idx)
    out = torch.where(mask.unsqueeze(-1), out, flat)  # padding keeps its (padding) values
    return out.reshape(target.shape)


def _normal(shape: tuple[int, ...], gen: torch.Generator | None, dtype: torch.dtype) -> Tensor:
    return torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)


class Jitter(Augmentation):
    """Add Gaussian noise of standard deviation ``sigma`` to every real element."""

    def __init__(self, sigma: float = 0.03, seed: int | None = None) -> None:
        super().__init__(seed)
        self.sigma = _check_float("sigma", sigma, 0.0)

    def _values(self, x: Tensor, lengths: Tensor, gen: torch.Generator | None) -> Tensor:
        return x + self.sigma * _normal(tuple(x.shape), gen, x.dtype).to(x.device)


class Scaling(Augmentation):
    """Multiply each sequence's channels by a factor drawn from N(1, sigma^2)."""

    def __init__(self, sigma: float = 0.1, seed: int | None = None) -> None:
        super().__init__(seed)
        self.sigma = _check_float("sigma", sigma, 0.0)

    def _values(self, x: Tensor, lengths: Tensor, gen: torch.Generator | None) -> Tensor:
        n, _, c = x.shape
        factor = 1 + self.sigma * _normal((n, 1, c), gen, x.dtype).to(x.device)
        return x * factor


class _KnotCurve(Augmentation):
    """A transform through a smooth random curve of ``knots`` values drawn from N(1, sigma^2)."""

    def __init__(self, sigma: float = 0.2, knots: int = 4, seed: int | None = None) -> None:
        super().__init__(seed)
        self.sigma = _check_float("sigma", sigma, 0.0)
        if isinstance(knots, bool) or not isinstance(knots, int) or knots < 1:
            raise ValueError(f"knots: expected an int >= 1, got {knots!r}")
        self.knots = knots


class MagnitudeWarp(_KnotCurve):
    """Multiply by a smooth random curve through ``knots`` values drawn from N(1, sigma^2),
    one curve per sequence and channel, spread over each sequence's own length."""

    def _values(self, x: Tensor, lengths: Tensor, gen: torch.Generator | None) -> Tensor:
        n, length, c = x.shape
        k = 1 + self.sigma * torch.randn((n, c, self.knots), generator=gen, dtype=torch.float64)
        rel = _relative_positions(lengths, length).unsqueeze(1).expand(n, c, length)  # (N, C, L)
        curve = smooth_curve(k, rel.contiguous())  # (N, C, L)
        return x * curve.transpose(1, 2).to(x.dtype).to(x.device)


class TimeWarp(_KnotCurve):
    """Resample each sequence along a smooth, increasing random time map that keeps its first
    and last step (speed knots from N(1, sigma^2), clamped at 0.1)."""

    time_transform = True

    def _positions(self, lengths: Tensor, max_len: int, gen: torch.Generator | None) -> Tensor:
        n = lengths.shape[0]
        k = (1 + self.sigma * torch.randn((n, self.knots), generator=gen, dtype=torch.float64)).clamp(min=0.1)
        rel = _relative_positions(lengths, max_len)  # (N, L)
        speed = smooth_curve(k, rel).clamp(min=0.1)  # (N, L)
        mask = _mask(lengths, max_len, torch.device("cpu"))
        # tau(t) = sum of the speeds over steps 1..t (trapezoid), rescaled to end at l - 1
        inc = torch.zeros_like(speed)
        inc[:, 1:] = 0.5 * (speed[:, 1:] + speed[:, :-1])
        inc = torch.where(mask, inc, torch.zeros_like(inc))
        tau = inc.cumsum(1)
        end = tau.gather(1, (lengths - 1).unsqueeze(1)).clamp(min=1e-12)  # (N, 1)
        tau = tau / end * (lengths - 1).to(torch.float64).unsqueeze(1)
        return tau


class WindowSlice(Augmentation):
    """Read a window covering ``ratio`` of each sequence and stretch it to the whole length
    (Le Guennec et al. 2016). The window starts at a random place, or, with ``start`` in [0, 1],
    at that fraction of the room left (0: the first steps, 1: the last): the fixed slices that
    :class:`~lstmkit.SequenceClassifier` averages over at test time."""

    time_transform = True

    def __init__(self, ratio: float = 0.9, seed: int | None = None, *, start: float | None = None) -> None:
        super().__init__(seed)
        self.ratio = _check_float("ratio", ratio, 0.0, 1.0, open_low=True)
        self.start = None if start is None else _check_float("start", start, 0.0, 1.0)

    def _positions(self, lengths: Tensor, max_len: int, gen: torch.Generator | None) -> Tensor:
        span = (lengths.to(torch.float64) - 1) * self.ratio  # window covers [start, start + span]
        room = (lengths.to(torch.float64) - 1) - span
        if self.start is None:
            frac = torch.rand(lengths.shape[0], generator=gen, dtype=torch.float64)
        else:
            frac = torch.full((lengths.shape[0],), self.start, dtype=torch.float64)
        start = frac * room  # (N,)
        rel = _relative_positions(lengths, max_len)  # (N, L)
        return start.unsqueeze(1) + rel * span.unsqueeze(1)


class CyclicShift(Augmentation):
    """Rotate each sequence within its length by a random offset in ``[-max_shift, max_shift]``
    (``None``: any offset)."""

    time_transform = True

    def __init__(self, max_shift: int | None = None, seed: int | None = None) -> None:
        super().__init__(seed)
        if max_shift is not None and (
            isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0
        ):
            raise ValueError(f"max_shift: expected an int >= 0 or None, got {max_shift!r}")
        self.max_shift = max_shift

    def _positions(self, lengths: Tensor, max_len: int, gen: torch.Generator | None) -> Tensor:
        n = lengths.shape[0]
        u = torch.rand(n, generator=gen, dtype=torch.float64)
        if self.max_shift is None:
            shift = (u * lengths.to(torch.float64)).floor().long()  # 0 .. l - 1
        else:
            shift = (u * (2 * self.max_shift + 1)).floor().long() - self.max_shift
        t = torch.arange(max_len).unsqueeze(0)  # (1, L)
        return torch.remainder(t + shift.unsqueeze(1), lengths.unsqueeze(1)).to(torch.float64)


class RandomApply(Augmentation):
    """Apply ``transform`` to each sequence with probability ``p`` (others pass unchanged)."""

    def __init__(self, transform: Augmentation, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__(seed)
        if not isinstance(transform, Augmentation):
            raise TypeError(f"transform: expected an Augmentation, got {type(transform).__name__}")
        self.transform = transform
        self.p = _check_float("p", p, 0.0, 1.0)

    def _apply(
        self, x: Tensor, lengths: Tensor, target: Tensor | None, gen: torch.Generator | None
    ) -> tuple[Tensor, Tensor | None]:
        chosen = torch.rand(x.shape[0], generator=gen) < self.p  # (N,)
        tx, tt = self.transform._apply(x, lengths, target, gen if gen is not None else self.transform._gen)
        sel = chosen.to(x.device).view(-1, 1, 1)
        out = torch.where(sel, tx, x)
        if target is not None and tt is not None:
            sel_t = chosen.to(target.device).view(-1, *([1] * (target.dim() - 1)))
            target = torch.where(sel_t, tt, target)
        return out, target


class Compose(Augmentation):
    """Apply transforms in order. With ``seed``, one generator drives all of them (so the whole
    pipeline is reproducible from one seed)."""

    def __init__(self, transforms: Sequence[Augmentation], seed: int | None = None) -> None:
        super().__init__(seed)
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not isinstance(t, Augmentation):
                raise TypeError(f"transforms[{i}]: expected an Augmentation, got {type(t).__name__}")
        self.transforms = transforms

    def _apply(
        self, x: Tensor, lengths: Tensor, target: Tensor | None, gen: torch.Generator | None
    ) -> tuple[Tensor, Tensor | None]:
        for t in self.transforms:
            x, target = t._apply(x, lengths, target, gen if gen is not None else t._gen)
        return x, target


# ---------------------------------------------------------------------- presets
def make_augmentation(name: str, seed: int) -> Augmentation | None:
    """A training-time augmentation preset from :data:`PRESETS`, seeded: ``"none"`` (``None``),
    ``"light"`` (jitter and scaling, each on half the sequences) or ``"warp"`` (also time
    warping and window slicing: shapes, outlines, gestures)."""
    if name == "none":
        return None
    parts = [RandomApply(Jitter(0.03), p=0.5), RandomApply(Scaling(0.1), p=0.5)]
    if name == "warp":
        parts += [RandomApply(TimeWarp(0.2), p=0.5), RandomApply(WindowSlice(0.9), p=0.5)]
    return Compose(parts, seed=seed)


def slice_views(x: Tensor, lengths: Tensor, views: int) -> list[Tensor]:
    """The ``views`` inputs whose predictions test-time augmentation averages: ``x`` itself,
    then ``views - 1`` fixed window slices (90% of each sequence, stretched to its length), Le
    Guennec et al. 2016's test-time slicing: the centre slice for ``views=2``, else starts spread
    evenly from the first to the last steps. ``x`` (N, L, C), ``lengths`` (N,); each view has
    the shape of ``x`` and leaves each sequence's padding zero."""
    if isinstance(views, bool) or not isinstance(views, int) or views < 1:
        raise ValueError(f"views: expected an int >= 1, got {views!r}")
    starts = [0.5] if views == 2 else [j / (views - 2) for j in range(views - 1)]
    return [x] + [WindowSlice(0.9, start=s)(x, lengths=lengths) for s in starts]

"""Checks the task models share: variant names, finite inputs, the networks' own dtype.

Each raises one-line ``ValueError``/``TypeError`` messages that name the argument, so the
``lstmkit`` commands print them as clean errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from lstmkit.core.scan import check_finite

__all__ = ["check_engine_name", "check_variant", "finite", "float32_modules", "robust_mean_std"]


def check_variant(variant: object) -> None:
    """``ValueError`` naming ``variant`` and listing the valid names, unless it names an LSTM
    variant (or is an :class:`~lstmkit.core.cells.lstm.LSTMSpec`)."""
    from lstmkit.core.cells.lstm import resolve_variant

    resolve_variant(variant)  # type: ignore[arg-type]


def check_engine_name(engine: object) -> None:
    """``ValueError`` naming ``engine`` unless it is ``None`` or a known engine."""
    if engine is None:
        return
    from lstmkit.core.engines.select import check_engine

    check_engine(engine)


def finite(
    name: str,
    values: Any,
    *,
    axes: Sequence[str] | None = None,
    valid: np.ndarray | None = None,
    hint: str = "",
) -> None:
    """``ValueError`` naming ``name`` and the first NaN or infinite entry of ``values`` (an
    array or tensor) whose ``valid`` mask (of the leading shape) is true, e.g. ``"series
    'sales': expected finite values, got inf at step 17"``, with ``hint`` appended."""
    x = values if isinstance(values, torch.Tensor) else torch.from_numpy(np.asarray(values, dtype=np.float64))
    mask = None if valid is None else torch.from_numpy(np.asarray(valid, dtype=bool))
    try:
        check_finite(name, x, axes=axes, valid=mask)
    except ValueError as exc:
        if not hint:
            raise
        raise ValueError(f"{exc}; {hint}") from None


def robust_mean_std(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) standard deviation of float64 ``x`` along ``axis``, exact as
    ``x.mean``/``x.std`` on ordinary values and still finite for values whose squares
    overflow or underflow (around 1e200 or 1e-300): those are divided by a power of two first
    (an exact scaling) and the result multiplied back."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        mean, std = x.mean(axis), x.std(axis)
    if x.size == 0:
        return mean, std
    # the plain formulas lost the data: an overflow, or squares that vanished below the tiniest float
    bad = ~np.isfinite(mean) | ~np.isfinite(std) | ((std == 0) & (np.ptp(x, axis) > 0))
    if not np.any(bad):
        return mean, std
    peak = np.abs(x).max(axis)
    exponent = np.frexp(np.where(peak > 0, peak, 1.0))[1]  # peak = f * 2**e, 0.5 <= f < 1
    scaled = np.ldexp(x, -np.expand_dims(exponent, axis))
    mean2 = np.ldexp(scaled.mean(axis), exponent)
    std2 = np.ldexp(scaled.std(axis), exponent)
    return np.where(bad, mean2, mean), np.where(bad, std2, std)


@contextlib.contextmanager
def float32_modules() -> Iterator[None]:
    """Build modules in float32 whatever ``torch.get_default_dtype()`` is: the task models
    feed their networks float32 tensors, and the same seed then draws the same weights."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)

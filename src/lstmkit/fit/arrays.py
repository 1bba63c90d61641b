r"""Array helpers the estimators apply to their inputs before a network sees them.

* :func:`scale_exponent`: the power of two that brings values of extreme magnitude (around
  1e200 or 1e-300) near 1, an exact scaling that float32 networks need;
* :func:`robust_mean_std`: mean and standard deviation that stay finite for such values;
* :func:`sliding_windows`: every window of ``L`` consecutive rows of an array, as a view;
* :func:`as_sequences`, :func:`as_lengths`: a batch of padded sequences and their lengths,
  checked.

Example::

    >>> x = np.array([3e200, 1e200, 2e200])
    >>> k = scale_exponent(x)
    >>> np.ldexp(x, -k).max() < 1.0
    True
    >>> sliding_windows(np.arange(5), 3).shape
    (3, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_lengths", "as_sequences", "robust_mean_std", "scale_exponent", "sliding_windows"]


def scale_exponent(values: np.ndarray) -> int:
    r"""The power of two :math:`k` that brings an array of extreme magnitude to values in
    :math:`[0.5, 1)` by ``np.ldexp(values, -k)``.

    An array is extreme when its largest absolute value is at least :math:`2^{64}` (about
    1.8e19) or below :math:`2^{-24}` (about 6e-8); every other array (and an all-zero one)
    gets 0 and is modelled untouched. Dividing by a power of two is exact, so a model fitted
    on the scaled values and multiplied back gives the result for the values themselves,
    without the overflow of their squares (around 1e200) or their vanishing (around 1e-300).

    Args:
        values: any shape.

    Returns:
        :math:`k`, an int.
    """
    peak = float(np.max(np.abs(values))) if np.size(values) else 0.0
    if peak == 0.0 or 2.0**-24 <= peak < 2.0**64:
        return 0
    return int(np.frexp(peak)[1])


def robust_mean_std(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) standard deviation of float64 ``x`` along ``axis``.

    Exact as ``x.mean``/``x.std`` on ordinary values and still finite for values whose
    squares overflow or underflow (around 1e200 or 1e-300): those are divided by a power of
    two first (an exact scaling) and the result multiplied back.

    Args:
        x: (*) values.
        axis: the axis reduced.

    Returns:
        ``(mean, std)``, each of ``x``'s shape without ``axis``.
    """
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


def sliding_windows(array: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    """All windows of ``length`` consecutive rows, every ``stride`` rows.

    Args:
        array: (T, *) any array.
        length: L, rows per window.
        stride: step between window starts.

    Returns:
        (N, L, *) a read-only view, N = (T - L) // stride + 1.

    Example::

        >>> sliding_windows(np.arange(5), 3)
        array([[0, 1, 2],
               [1, 2, 3],
               [2, 3, 4]])
    """
    if length < 1 or stride < 1:
        raise ValueError(f"length and stride: expected >= 1, got {length} and {stride}")
    if array.shape[0] < length:
        raise ValueError(f"array: expected at least {length} rows for a window, got {array.shape[0]}")
    view = np.lib.stride_tricks.sliding_window_view(array, length, axis=0)  # (T-L+1, *, L)
    view = np.moveaxis(view, -1, 1)  # (T-L+1, L, *)
    return view[::stride]


def as_sequences(x: Any) -> np.ndarray:
    """``x``, a batch of sequences padded to one length, as a float64 (N, L, C) array ((N, L):
    one channel); a one-line error for anything else."""
    try:
        raw = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        kind = type(x).__name__
        raise TypeError(
            f"x: expected numbers as an (N, L, C) or (N, L) array (sequences padded to one length, "
            f"with lengths=...), got a {kind} that is not one"
        ) from None
    if raw.ndim == 2:
        raw = raw[:, :, None]
    if raw.ndim != 3 or raw.shape[0] == 0 or raw.shape[1] == 0 or raw.shape[2] == 0:
        raise ValueError(f"x: expected (N, L, C) or (N, L) sequences, got shape {raw.shape}")
    return raw


def as_lengths(lengths: Any, n: int, length: int) -> np.ndarray:
    """``lengths`` of N sequences padded to L steps as (N,) int64 values in [1, L] (``None``:
    every sequence is L long); a one-line error naming the first bad one."""
    if lengths is None:
        return np.full(n, length, dtype=np.int64)
    given = np.asarray(lengths)
    if given.shape != (n,) or given.dtype.kind not in "iuf" or not np.isfinite(given).all():
        raise ValueError(f"lengths: expected {n} integers in [1, {length}], got shape {given.shape}")
    lens = given.astype(np.int64)
    if (lens != given).any() or (lens < 1).any() or (lens > length).any():
        bad = given[(lens != given) | (lens < 1) | (lens > length)][0]
        raise ValueError(f"lengths: expected {n} integers in [1, {length}], got {bad}")
    return lens

"""The study's statistics: paired comparisons against vanilla and hyperparameter importance.

Trial metrics are lower-is-better. A trial that diverged or ended worse than the task's trivial
baseline counts as that baseline (``clipped``), so that one exploded run does not dominate
means and variances.

Example::

    >>> a, b = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), np.array([1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
    >>> round(paired_test(b, a).median_diff, 2)
    0.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["PairedTest", "clipped", "main_effects", "paired_test"]


def clipped(metric: np.ndarray, baseline: float) -> np.ndarray:
    """``metric`` with NaN (diverged) and values above ``baseline`` replaced by ``baseline``."""
    out = np.asarray(metric, dtype=float).copy()
    out[~np.isfinite(out)] = baseline
    return np.minimum(out, baseline)


@dataclass(frozen=True)
class PairedTest:
    """A variant against vanilla on the trials both ran.

    Attributes:
        n: paired trials.
        median_diff: median of variant - vanilla (positive: the variant is worse).
        p_value: two-sided Wilcoxon signed-rank p (NaN with fewer than 2 pairs; 1 if all equal).
        worse_share: share of pairs where the variant is worse.
    """

    n: int
    median_diff: float
    p_value: float
    worse_share: float


def paired_test(variant: np.ndarray, vanilla: np.ndarray) -> PairedTest:
    """Compare paired trial metrics (same trial index, same hyperparameters) of a variant and
    vanilla with the Wilcoxon signed-rank test."""
    v, b = np.asarray(variant, dtype=float), np.asarray(vanilla, dtype=float)
    if v.shape != b.shape:
        raise ValueError(f"variant: expected the shape of vanilla {b.shape}, got {v.shape}")
    ok = np.isfinite(v) & np.isfinite(b)
    d = v[ok] - b[ok]
    n = len(d)
    if n == 0:
        return PairedTest(0, math.nan, math.nan, math.nan)
    if n < 2:
        p = math.nan
    elif np.all(d == 0):
        p = 1.0
    else:
        p = float(stats.wilcoxon(d, zero_method="wilcox").pvalue)  # pyright: ignore[reportAttributeAccessIssue]
    return PairedTest(n, float(np.median(d)), p, float((d > 0).mean()))


def _bins(values: np.ndarray, bins: int) -> np.ndarray:
    """Each value's bin among ``bins`` equal-count bins; one bin per level for categories (names)
    or for numbers with at most ``bins`` distinct values."""
    levels = np.unique(values)
    if values.dtype.kind not in "iuf" or len(levels) <= bins:
        return np.searchsorted(levels, values)
    edges = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, values, side="right")


def main_effects(factors: dict[str, np.ndarray], metric: np.ndarray, bins: int = 5) -> dict[str, float]:
    """The share of the metric's variance explained by each factor alone (a binned, fANOVA-like
    main effect): sum over bins of n_b (mean_b - mean)^2 over the total sum of squares.

    A factor unrelated to the metric still explains about (bins - 1) / (n - 1) by chance.
    """
    y = np.asarray(metric, dtype=float)
    total = float(((y - y.mean()) ** 2).sum())
    out: dict[str, float] = {}
    for name, values in factors.items():
        values = np.asarray(values)
        if values.shape != y.shape:
            raise ValueError(f"factors[{name!r}]: expected shape {y.shape}, got {values.shape}")
        if total == 0:
            out[name] = 0.0
            continue
        b = _bins(values, bins)
        explained = sum(float((b == k).sum() * (y[b == k].mean() - y.mean()) ** 2) for k in np.unique(b))
        out[name] = explained / total
    return out

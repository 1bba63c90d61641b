r"""Evaluation metrics for forecasts, classifiers and anomaly detectors (NumPy only).

Forecast accuracy, for actuals :math:`y_{1..H}` and point forecasts :math:`\hat y_{1..H}`:

.. math::

    \mathrm{MAE} = \tfrac1H \sum_h |y_h - \hat y_h| \qquad
    \mathrm{RMSE} = \sqrt{\tfrac1H \sum_h (y_h - \hat y_h)^2} \qquad
    \mathrm{sMAPE} = \tfrac{200}{H} \sum_h \frac{|y_h - \hat y_h|}{|y_h| + |\hat y_h|}

    \mathrm{MASE} = \frac{\mathrm{MAE}}{\tfrac{1}{T-m} \sum_{t=m+1}^{T} |x_t - x_{t-m}|}

(sMAPE in percent, 0..200, as in the M4 competition; MASE scaled by the in-sample MAE of
the seasonal naive forecast with period ``m`` on the history ``x_{1..T}``).

Probabilistic accuracy, for predicted quantiles :math:`q_\tau`:

.. math::

    \rho_\tau(y, q) = \max(\tau (y - q), (\tau - 1)(y - q)) \qquad
    \mathrm{CRPS}(F, y) = \int_0^1 2 \rho_\tau(y, F^{-1}(\tau))\, d\tau

:func:`crps_quantiles` approximates the integral by the mean over equally spaced levels (the
"mean weighted quantile loss" of GluonTS); :func:`crps_gaussian` is the closed form.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from math import erf, sqrt

import numpy as np

__all__ = [
    "accuracy_score",
    "confusion_matrix",
    "coverage",
    "crps_gaussian",
    "crps_quantiles",
    "interval_width",
    "mae",
    "mase",
    "mase_scale",
    "pinball_loss",
    "precision_recall_f1",
    "rmse",
    "roc_auc",
    "smape",
    "smape_points",
]


def _pair(y: object, yhat: object, name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y, dtype=np.float64)
    b = np.asarray(yhat, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{name}: expected shape {a.shape} like y_true, got {b.shape}")
    if a.size == 0:
        raise ValueError("y_true: empty")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("y_true/y_pred: contain NaN or infinite values")
    return a, b


def mae(y_true: object, y_pred: object) -> float:
    """Mean absolute error."""
    a, b = _pair(y_true, y_pred)
    return float(np.abs(a - b).mean())


def rmse(y_true: object, y_pred: object) -> float:
    """Root mean squared error."""
    a, b = _pair(y_true, y_pred)
    err = np.abs(a - b)
    top = float(err.max()) if err.size else 0.0
    if not 0.0 < top < np.inf:  # all zero, empty, or already inf/NaN
        return float(np.sqrt((err**2).mean()))
    return top * float(np.sqrt(((err / top) ** 2).mean()))  # no overflow for errors near 1e200


def smape_points(y_true: object, y_pred: object) -> np.ndarray:
    """Symmetric APE of each point in percent (0..200); a step where both are 0 counts as 0."""
    a, b = _pair(y_true, y_pred)
    denom = np.abs(a) + np.abs(b)
    return 200.0 * np.divide(np.abs(a - b), denom, out=np.zeros_like(denom), where=denom > 0)


def smape(y_true: object, y_pred: object) -> float:
    """Symmetric MAPE in percent (0..200): the mean of :func:`smape_points`."""
    return float(smape_points(y_true, y_pred).mean())


def mase_scale(history: object, season: int = 1) -> float:
    """In-sample MAE of the seasonal naive forecast on ``history`` (falls back to ``m = 1`` when
    the history is shorter than two seasons)."""
    x = np.asarray(history, dtype=np.float64).ravel()
    m = season if len(x) > 2 * season else 1
    if len(x) <= m:
        raise ValueError(f"history: MASE needs more than {m} in-sample values, got {len(x)}")
    scale = float(np.abs(x[m:] - x[:-m]).mean())
    if not scale > 0:
        raise ValueError("history: MASE is undefined, the in-sample seasonal differences are all zero")
    return scale


def mase(y_true: object, y_pred: object, history: object, season: int = 1) -> float:
    """Mean absolute scaled error (see the module docstring); < 1 beats the in-sample seasonal naive."""
    return mae(y_true, y_pred) / mase_scale(history, season)


def coverage(y_true: object, lower: object, upper: object) -> float:
    """Fraction of actuals inside ``[lower, upper]``."""
    a, lo = _pair(y_true, lower, "lower")
    _, hi = _pair(y_true, upper, "upper")
    if (lo > hi + 1e-12).any():
        raise ValueError("lower/upper: some lower bounds exceed their upper bounds")
    return float(((a >= lo) & (a <= hi)).mean())


def interval_width(lower: object, upper: object) -> float:
    """Mean width of the intervals."""
    lo, hi = _pair(lower, upper, "upper")
    return float((hi - lo).mean())


def _quantile_args(
    y_true: object, quantiles: object, levels: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64)
    q = np.asarray(quantiles, dtype=np.float64)
    tau = np.asarray(levels, dtype=np.float64)
    if tau.ndim != 1 or ((tau <= 0) | (tau >= 1)).any():
        raise ValueError(f"levels: expected quantile levels in (0, 1), got {list(levels)}")
    if q.shape != (*y.shape, len(tau)):
        raise ValueError(
            f"quantiles: expected shape {(*y.shape, len(tau))} (y's shape, levels), got {q.shape}"
        )
    if not (np.isfinite(y).all() and np.isfinite(q).all()):
        raise ValueError("y_true/quantiles: contain NaN or infinite values")
    return y, q, tau


def pinball_loss(y_true: object, quantiles: object, levels: Sequence[float] | np.ndarray) -> float:
    """Mean pinball (quantile) loss over all values and levels.

    Args:
        y_true: (*) actuals.
        quantiles: (*, Q) predicted quantiles.
        levels: (Q,) their levels in (0, 1).
    """
    y, q, tau = _quantile_args(y_true, quantiles, levels)
    diff = y[..., None] - q  # (*, Q)
    return float(np.maximum(tau * diff, (tau - 1) * diff).mean())


def crps_quantiles(y_true: object, quantiles: object, levels: Sequence[float] | np.ndarray) -> float:
    """CRPS approximated by twice the mean pinball loss over (equally spaced) levels."""
    return 2.0 * pinball_loss(y_true, quantiles, levels)


def crps_gaussian(y_true: object, mean: object, std: object) -> float:
    r"""Closed-form CRPS of :math:`N(\mu, \sigma^2)`, averaged:
    :math:`\sigma [z (2\Phi(z) - 1) + 2\varphi(z) - 1/\sqrt{\pi}]`, :math:`z = (y - \mu)/\sigma`."""
    y, mu = _pair(y_true, mean, "mean")
    _, sd = _pair(y_true, std, "std")
    if (sd <= 0).any():
        raise ValueError("std: expected positive standard deviations")
    z = (y - mu) / sd
    cdf = 0.5 * (1 + np.vectorize(erf)(z / sqrt(2)))
    pdf = np.exp(-0.5 * z**2) / sqrt(2 * np.pi)
    return float((sd * (z * (2 * cdf - 1) + 2 * pdf - 1 / sqrt(np.pi))).mean())


# ---------------------------------------------------------------------- classification
def accuracy_score(y_true: object, y_pred: object) -> float:
    """Fraction of equal labels (``accuracy_score([0, 1, 1], [0, 1, 0])`` is 2/3).

    Named as scikit-learn's; :func:`lstmkit.fit.accuracy` is the trainer's metric of a
    :class:`~lstmkit.fit.StepOutput`."""
    a = np.asarray(y_true)
    b = np.asarray(y_pred)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"y_pred: expected shape {a.shape} like y_true (non-empty), got {b.shape}")
    return float((a == b).mean())


def confusion_matrix(y_true: object, y_pred: object, num_classes: int) -> np.ndarray:
    """(C, C) counts, rows = true class, columns = predicted class."""
    a = np.asarray(y_true, dtype=np.int64)
    b = np.asarray(y_pred, dtype=np.int64)
    if a.shape != b.shape:
        raise ValueError(f"y_pred: expected shape {a.shape} like y_true, got {b.shape}")
    out = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(out, (a, b), 1)
    return out


# ---------------------------------------------------------------------- detection
def _labels(y_true: object) -> np.ndarray:
    a = np.asarray(y_true)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"y_true: expected a non-empty 1-D array of 0/1 labels, got shape {a.shape}")
    if not np.isin(a, (0, 1)).all():
        raise ValueError("y_true: expected binary labels 0/1")
    return a.astype(bool)


def precision_recall_f1(y_true: object, y_pred: object) -> tuple[float, float, float]:
    """Precision, recall and F1 of binary predictions (0 where undefined)."""
    a = _labels(y_true)
    b = np.asarray(y_pred).astype(bool)
    if b.shape != a.shape:
        raise ValueError(f"y_pred: expected shape {a.shape} like y_true, got {b.shape}")
    tp = float((a & b).sum())
    precision = tp / b.sum() if b.sum() else 0.0
    recall = tp / a.sum() if a.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def roc_auc(y_true: object, scores: object) -> float:
    """Area under the ROC curve (Mann-Whitney U; ties count one half)."""
    a = _labels(y_true)
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != a.shape:
        raise ValueError(f"scores: expected shape {a.shape} like y_true, got {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores: contain NaN or infinite values")
    n_pos, n_neg = int(a.sum()), int((~a).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("y_true: ROC-AUC needs both anomalous and normal samples")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    # average ranks over ties
    uniq, start, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = start + (counts + 1) / 2.0  # 1-based average rank of each tie group
    ranks[order] = np.repeat(avg, counts)
    del uniq
    return float((ranks[a].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def __getattr__(name: str) -> object:
    # the old name of accuracy_score, for one release (lstmkit.metrics.accuracy)
    if name == "accuracy":
        warnings.warn(
            "lstmkit.fit.evaluation.accuracy is deprecated: use accuracy_score",
            DeprecationWarning,
            stacklevel=2,
        )
        return accuracy_score
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

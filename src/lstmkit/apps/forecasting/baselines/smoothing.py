r"""Non-seasonal exponential smoothing (additive errors) fitted by least squares, NumPy and SciPy only.

Level :math:`l`, trend :math:`b` and damping :math:`\phi` (:math:`\phi = 1`: Holt's linear
trend; no trend: simple exponential smoothing), in the error-correction form of Hyndman et al.
(2008):

.. math::

    \hat y_t = l_{t-1} + \phi b_{t-1}, \quad e_t = y_t - \hat y_t, \quad
    l_t = l_{t-1} + \phi b_{t-1} + \alpha e_t, \quad b_t = \phi b_{t-1} + \beta e_t,

    \hat y_{n+h|n} = l_n + (\phi + \phi^2 + \dots + \phi^h) b_n.

The smoothing parameters and the initial states :math:`(l_0, b_0)` minimize the in-sample
one-step sum of squared errors (what R's ``ses`` and ``holt``, used by the M4 benchmarks,
minimize: ``ets(opt.crit = "mse")``), within the usual bounds of R's ``forecast`` package:
:math:`\alpha \in [10^{-4}, 0.9999]`, :math:`\beta = \alpha \beta^*` with
:math:`\beta^* \in [10^{-4}, 0.9999]`, :math:`\phi \in [0.8, 0.98]`.

The one-step forecasts are a second-order linear filter of :math:`y` plus terms linear in the
initial states, so for each trial of the parameters the initial states are solved exactly by
least squares, the filter runs as one ``scipy.signal.lfilter`` call, and the gradient with
respect to :math:`(\alpha, \beta, \phi)` comes from one more (adjoint) filter pass.

Example::

    >>> fit = fit_smoothing(np.array([3.0, 4.1, 5.2, 5.9, 7.1, 8.0]), trend="damped")
    >>> fit.forecast(3).shape, fit.std(3).shape
    ((3,), (3,))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import fmin_l_bfgs_b, minimize_scalar
from scipy.signal import lfilter

_FastFilter = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]
_fast_filter: _FastFilter | None
try:  # lfilter without its argument checks (half its time on series this short); SciPy is pinned
    from scipy.signal._sigtools import _linear_filter as _fast_filter
except ImportError:  # pragma: no cover - another SciPy
    _fast_filter = None

__all__ = ["ALPHA_BOUNDS", "PHI_BOUNDS", "TRENDS", "ExpSmoothing", "fit_smoothing"]

#: bounds of alpha and of beta* = beta / alpha
ALPHA_BOUNDS = (1e-4, 0.9999)
#: bounds of the damping phi
PHI_BOUNDS = (0.8, 0.98)
#: ``"none"`` (SES), ``"additive"`` (Holt), ``"damped"``
TRENDS = ("none", "additive", "damped")
_ONE = np.ones(1)


@dataclass(frozen=True)
class ExpSmoothing:
    """A fitted exponential smoothing model (additive errors).

    Attributes:
        trend: ``"none"`` (SES), ``"additive"`` (Holt) or ``"damped"``.
        alpha, beta, phi: smoothing of the level and of the trend (``beta = alpha * beta*``;
            statsmodels' ``smoothing_trend`` is ``beta*``), damping (1 without damping).
        level, slope: the states after the last observation.
        sigma: root mean squared one-step in-sample error.
        initial: (level, slope) before the first observation.
    """

    trend: str
    alpha: float
    beta: float
    phi: float
    level: float
    slope: float
    sigma: float
    initial: tuple[float, float]

    def _damping(self, k: int) -> np.ndarray:
        """(k,) :math:`\\phi + \\dots + \\phi^j`, j = 1..k."""
        steps = np.arange(1, k + 1, dtype=np.float64)
        return steps if self.phi == 1.0 else np.cumsum(self.phi**steps)

    def forecast(self, h: int) -> np.ndarray:
        """(h,) :math:`l_n + (\\phi + \\dots + \\phi^k) b_n`, k = 1..h."""
        return self.level + self._damping(check_h(h)) * self.slope

    def std(self, h: int) -> np.ndarray:
        """(h,) forecast standard deviations, :math:`\\sigma \\sqrt{1 + \\sum_{j<k} c_j^2}` with
        :math:`c_j = \\alpha + \\beta (\\phi + \\dots + \\phi^j)` (Hyndman et al. 2008, table 6.1)."""
        c2 = (self.alpha + self.beta * self._damping(check_h(h) - 1)) ** 2
        return self.sigma * np.sqrt(1.0 + np.concatenate([[0.0], np.cumsum(c2)]))


def as_series(x: np.ndarray) -> np.ndarray:
    """``x`` as a finite 1-D float64 array of at least one value (or a one-line ValueError)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1 or len(arr) < 1:
        raise ValueError(f"x: expected a 1-D array of at least 1 value, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("x: expected finite values, got NaN or inf")
    return arr


def check_h(h: int) -> int:
    """``h`` as an int >= 1 (or a one-line ValueError)."""
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
        raise ValueError(f"h: expected an int >= 1, got {h!r}")
    return int(h)


# ---------------------------------------------------------------------- the filter
def _all_pole(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(R, n) each row of ``rows`` filtered by 1 / A(z)."""
    if _fast_filter is not None:
        return _fast_filter(_ONE, a, rows, 1)
    return np.asarray(lfilter(_ONE, a, rows, axis=1))  # pragma: no cover - another SciPy


def _residuals(
    y: np.ndarray, alpha: float, beta: float, phi: float, trend: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one-step residuals (n,) with the least-squares initial states, those states (2,)
    and the filter's denominator A (3,).

    The one-step forecasts are :math:`\\hat y = A^{-1} w` with
    :math:`A = 1 - (1 - \\alpha + \\phi - \\phi\\beta) z^{-1} + \\phi (1 - \\alpha) z^{-2}` and
    :math:`w_t = (\\alpha + \\phi\\beta) y_{t-1} - \\phi\\alpha y_{t-2}
    + l_0 (\\delta_t - \\phi \\delta_{t-1}) + b_0 \\phi \\delta_t`.
    """
    n = len(y)
    a = np.array([1.0, -(1.0 - alpha + phi - phi * beta), phi * (1.0 - alpha)])
    rows = np.zeros((2, n))
    rows[0, 1:] = (alpha + phi * beta) * y[:-1]
    rows[0, 2:] -= phi * alpha * y[:-2]
    rows[1, 0] = 1.0
    base, g = _all_pole(a, rows)  # (n,) from zero states; (n,) the impulse response of 1 / A
    r = y - base
    u = g.copy()
    u[1:] -= phi * g[:-1]  # (n,) the one-step forecasts of a unit initial level
    uu, ur = float(u @ u), float(u @ r)
    if not trend:
        level = ur / uu
        return r - level * u, np.array([level, 0.0]), a
    v = phi * g  # (n,) those of a unit initial slope
    vv, uv, vr = float(v @ v), float(u @ v), float(v @ r)
    det = uu * vv - uv * uv
    if det > 1e-10 * uu * vv:
        init = np.array([vv * ur - uv * vr, uu * vr - uv * ur]) / det
    else:  # nearly collinear (very short series): the minimum-norm solution
        init = np.linalg.lstsq(np.stack([u, v], axis=1), r, rcond=None)[0]
    return r - init[0] * u - init[1] * v, init, a


def _sse_gradient(y: np.ndarray, alpha: float, beta: float, phi: float) -> tuple[float, np.ndarray]:
    """The concentrated SSE of a trend model and its gradient in (alpha, beta, phi).

    The initial states are at their optimum, so only the filter's dependence counts:
    :math:`\\partial S / \\partial \\theta = -2 \\lambda \\cdot q_\\theta` with the adjoint
    :math:`\\lambda = A^{-T} e` and
    :math:`q_\\theta = \\partial w / \\partial \\theta - (\\partial A / \\partial \\theta) \\hat y`.
    """
    e, (l0, b0), a = _residuals(y, alpha, beta, phi, True)
    if len(y) < 3:
        return float(e @ e), np.zeros(3)
    fitted = y - e
    lam = _all_pole(a, e[None, ::-1])[0, ::-1]  # (n,)
    lam1, lam2 = lam[1:], lam[2:]
    l1e = float(lam1 @ e[:-1])
    d_alpha = l1e - phi * float(lam2 @ e[:-2])
    d_beta = phi * l1e
    d_phi = (
        float(lam1 @ (beta * y[:-1] + (1.0 - beta) * fitted[:-1]))
        - float(lam2 @ (alpha * y[:-2] + (1.0 - alpha) * fitted[:-2]))
        - l0 * lam[1]
        + b0 * lam[0]
    )
    return float(e @ e), -2.0 * np.array([d_alpha, d_beta, d_phi])


def _states(
    y: np.ndarray, alpha: float, beta: float, phi: float, init: np.ndarray
) -> tuple[float, float, float]:
    """The last level and slope and the one-step RMSE, by the recursion itself."""
    level, slope = float(init[0]), float(init[1])
    sse = 0.0
    for value in y.tolist():
        e = value - (level + phi * slope)
        sse += e * e
        level, slope = level + phi * slope + alpha * e, phi * slope + beta * e
    return level, slope, math.sqrt(sse / len(y))


# ---------------------------------------------------------------------- the fit
def _optimize_ses(y: np.ndarray) -> float:
    """alpha minimizing the concentrated SSE: a coarse grid, then Brent's method around its best."""
    lo, hi = ALPHA_BOUNDS
    grid = np.linspace(lo, hi, 7)

    def sse(alpha: float) -> float:
        e = _residuals(y, alpha, 0.0, 0.0, False)[0]
        return float(e @ e)

    values = [sse(float(a)) for a in grid]
    k = int(np.argmin(values))
    res = minimize_scalar(
        sse, bounds=(grid[max(k - 1, 0)], grid[min(k + 1, 6)]), method="bounded", options={"xatol": 1e-5}
    )
    return float(res.x) if float(res.fun) <= values[k] else float(grid[k])


def _optimize_trend(y: np.ndarray, damped: bool) -> tuple[float, float, float]:
    """alpha, beta, phi minimizing the concentrated SSE (L-BFGS-B on alpha, beta* and phi from
    the best of a few starts: the SSE has local minima)."""
    size = 3 if damped else 2

    def objective(p: np.ndarray) -> tuple[float, np.ndarray]:
        phi = float(p[2]) if damped else 1.0
        sse, (g_alpha, g_beta, g_phi) = _sse_gradient(y, p[0], p[0] * p[1], phi)
        grad = np.array([g_alpha + p[1] * g_beta, p[0] * g_beta, g_phi])  # beta = alpha * beta*
        return sse, grad[:size]

    def sse(p: tuple[float, float, float]) -> float:
        e = _residuals(y, p[0], p[0] * p[1], p[2] if damped else 1.0, True)[0]
        return float(e @ e)

    starts = [
        (a, b, p) for a in (0.1, 0.5, 0.9) for b in (0.1, 0.5) for p in ((0.9, 0.98) if damped else (1.0,))
    ]
    bounds = [ALPHA_BOUNDS, ALPHA_BOUNDS, PHI_BOUNDS][:size]
    p = fmin_l_bfgs_b(objective, np.array(min(starts, key=sse)[:size]), bounds=bounds)[0]
    return float(p[0]), float(p[0] * p[1]), float(p[2]) if damped else 1.0


def fit_smoothing(
    x: np.ndarray,
    trend: str = "none",
    alpha: float | None = None,
    beta: float | None = None,
    phi: float | None = None,
    initial: tuple[float, float] | None = None,
) -> ExpSmoothing:
    """Fit exponential smoothing to ``x`` (no seasonal adjustment here).

    Args:
        x: (n,) the series.
        trend: ``"none"`` (SES), ``"additive"`` (Holt) or ``"damped"``.
        alpha, beta, phi: fix the model's parameters (``alpha`` alone for SES, ``alpha`` and
            ``beta`` for Holt, all three for damped), or leave them all ``None`` to minimize
            the one-step SSE; ``beta = alpha * beta*`` (statsmodels' ``smoothing_trend`` is ``beta*``).
        initial: fix (level, slope) before the first observation (default: least squares;
            SES ignores the slope).

    Returns:
        The fitted :class:`ExpSmoothing`.
    """
    x = as_series(x)
    if trend not in TRENDS:
        raise ValueError(f"trend: expected one of {', '.join(TRENDS)}, got {trend!r}")
    scale = float(np.mean(np.abs(x))) or 1.0
    y = x / scale  # the optimizer's tolerances see unit-scale data
    if alpha is None:
        if trend == "none":
            alpha, beta, phi = _optimize_ses(y), 0.0, 1.0
        else:
            alpha, beta, phi = _optimize_trend(y, trend == "damped")
    else:
        beta = 0.0 if trend == "none" else beta
        phi = 1.0 if trend != "damped" else phi
        if beta is None or phi is None:
            raise ValueError(
                f"beta, phi: expected values with alpha for trend {trend!r}, got {beta!r}, {phi!r}"
            )
    if initial is None:  # SES: phi = 0 in the filter, the slope does not exist
        init = _residuals(y, alpha, beta, phi if trend != "none" else 0.0, trend != "none")[1] * scale
    else:
        init = np.array([initial[0], initial[1] if trend != "none" else 0.0], dtype=np.float64)
    level, slope, sigma = _states(x, alpha, beta, phi, init)
    return ExpSmoothing(trend, alpha, beta, phi, level, slope, sigma, (float(init[0]), float(init[1])))

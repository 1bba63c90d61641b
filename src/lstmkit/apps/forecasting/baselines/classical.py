r"""The M3/M4 competitions' statistical benchmarks: array functions (NumPy and SciPy only) and
their :class:`~lstmkit.apps.forecasting.base.ForecastModel` wrappers.

They follow the M4 competition's published benchmark definitions (Makridakis, Spiliotis &
Assimakopoulos 2020; the benchmarks code of the M4 repository): a series of period :math:`m`
is deseasonalized by classical multiplicative decomposition only when the 90% autocorrelation
test at lag :math:`m` finds it seasonal,

.. math::

    |r_m| > 1.645 \sqrt{\frac{1 + 2 \sum_{k=1}^{m-1} r_k^2}{n}},

a method forecasts the adjusted series and its forecasts are multiplied by the seasonal
indices of the cycle positions they fall on. The methods on the adjusted series:

* Naive2: the last value; SES, Holt, Damped: exponential smoothing without, with and with a
  damped trend (:mod:`~lstmkit.apps.forecasting.baselines.smoothing`); Comb: the mean of those three;
* Theta (Assimakopoulos & Nikolopoulos 2000, in the form of Hyndman & Billah 2003, as R's
  ``thetaf``): SES :math:`\tilde y` with drift half the slope :math:`b` of the least-squares line,

.. math::

    \hat y_{n+h|n} = \tilde y_{n+h|n} + \frac{b}{2}\left(h - 1 + \frac{1 - (1 - \alpha)^n}{\alpha}\right).

The seasonal naive forecast repeats the last cycle of the series itself.

Example::

    >>> x = 100 + 10 * np.sin(np.arange(48) * np.pi / 6) + np.arange(48)
    >>> theta(x, h=12, m=12).shape
    (12,)
    >>> ThetaForecaster().fit(TimeSeries(x, season=12)).predict(12).point.shape
    (12,)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from lstmkit.apps.forecasting.base import Forecast, ForecastModel, gaussian_quantiles, scale_exponent
from lstmkit.apps.forecasting.baselines.naive import check_season
from lstmkit.apps.forecasting.baselines.smoothing import (
    TRENDS,
    ExpSmoothing,
    as_series,
    check_h,
    fit_smoothing,
)
from lstmkit.apps.forecasting.series import TimeSeries

__all__ = [
    "METHODS",
    "CombForecaster",
    "DampedForecaster",
    "HoltForecaster",
    "Naive2Forecaster",
    "SESForecaster",
    "Seasonal",
    "ThetaForecaster",
    "benchmark",
    "comb",
    "damped",
    "deseasonalize",
    "holt",
    "m4_benchmarks",
    "naive2",
    "seasonal_indices",
    "seasonal_naive",
    "seasonality_test",
    "ses",
    "theta",
]

log = logging.getLogger("lstmkit.apps.forecasting.baselines")

#: the methods on the adjusted series, as :func:`benchmark` names them
METHODS = ("naive2", "ses", "holt", "damped", "theta", "comb")


def _check_m(m: int) -> int:
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m: expected an int >= 1, got {m!r}")
    return int(m)


# ---------------------------------------------------------------------- seasonality
def seasonality_test(x: np.ndarray, m: int) -> bool:
    """The 90% autocorrelation test at lag ``m``; ``False`` when ``m == 1``, ``n < 3m`` or
    ``x`` is constant.

    Args:
        x: (n,) the series.
        m: the period.
    """
    x, m = as_series(x), _check_m(m)
    n = len(x)
    if m == 1 or n < 3 * m or np.ptp(x) == 0:
        return False
    d = x - x.mean()
    r = np.array([float(d[k:] @ d[: n - k]) for k in range(1, m + 1)]) / float(d @ d)  # (m,) lags 1..m
    limit = 1.645 * np.sqrt((1.0 + 2.0 * float(r[:-1] @ r[:-1])) / n)
    return bool(abs(r[-1]) > limit)


def seasonal_indices(x: np.ndarray, m: int) -> np.ndarray:
    """Classical multiplicative decomposition (centred moving average, as R's ``decompose``
    and statsmodels' ``seasonal_decompose``): the seasonal index of each cycle position.

    Args:
        x: (n,) the series, n >= 2m.
        m: the period.

    Returns:
        (m,) indices with mean 1; ``si[k]`` applies to the times ``t`` (0-based from the start
        of ``x``) with ``t % m == k``: ``x / si[np.arange(n) % m]`` is the adjusted series and
        ``si[np.arange(n, n + h) % m]`` reseasonalizes ``h`` forecasts.
    """
    x, m = as_series(x), _check_m(m)
    if m == 1:
        return np.ones(1)
    if len(x) < 2 * m:
        raise ValueError(f"x: expected at least 2 periods ({2 * m} values), got {len(x)}")
    weights = np.full(m + 1 - m % 2, 1.0 / m)  # 2 x m moving average for even m, m for odd
    if m % 2 == 0:
        weights[[0, -1]] = 0.5 / m
    half = len(weights) // 2
    trend = np.convolve(x, weights, mode="valid")  # (n - 2 half,) centred on t = half, half + 1, ..
    ratio = np.full(len(x) + (-len(x) % m), np.nan)
    ratio[half : half + len(trend)] = x[half : half + len(trend)] / trend
    figure = np.nanmean(ratio.reshape(-1, m), axis=0)  # (m,)
    return figure / figure.mean()


@dataclass(frozen=True)
class Seasonal:
    """A series' seasonal adjustment: ``adjusted = x / indices[np.arange(n) % m]``.

    Attributes:
        indices: (m,) seasonal indices by cycle position (``(1,)`` ones when not seasonal).
        adjusted: (n,) the deseasonalized series.
    """

    indices: np.ndarray
    adjusted: np.ndarray

    @property
    def seasonal(self) -> bool:
        """Whether the series was deseasonalized."""
        return bool(len(self.indices) > 1)

    def future(self, h: int) -> np.ndarray:
        """(h,) the indices of the ``h`` steps after the series."""
        n = len(self.adjusted)
        return self.indices[np.arange(n, n + check_h(h)) % len(self.indices)]


def deseasonalize(x: np.ndarray, m: int) -> Seasonal:
    """``x`` divided by its multiplicative seasonal indices when :func:`seasonality_test`
    passes, ``x`` is positive and every index exceeds 1e-4 (as R's ``thetaf``); else ``x``.

    Args:
        x: (n,) the series.
        m: the period.
    """
    x, m = as_series(x), _check_m(m)
    if seasonality_test(x, m) and (x > 0).all():
        si = seasonal_indices(x, m)
        if (si > 1e-4).all():
            return Seasonal(si, x / si[np.arange(len(x)) % m])
    return Seasonal(np.ones(1), x)


# ---------------------------------------------------------------------- the benchmarks
def _theta_drift(x: np.ndarray, alpha: float, h: int) -> np.ndarray:
    """(h,) Theta's drift: half the least-squares slope of ``x`` times
    :math:`k - 1 + (1 - (1 - \\alpha)^n) / \\alpha`, k = 1..h."""
    n = len(x)
    t = np.arange(n) - (n - 1) / 2
    slope = float(t @ x) / float(t @ t) if n > 1 else 0.0
    return slope / 2 * (np.arange(h) + (1 - (1 - alpha) ** n) / alpha)


def benchmark(x: np.ndarray, h: int, m: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """One of :data:`METHODS` with simple forecast standard deviations (those of the models on
    the adjusted series; Theta: its SES's; Comb: the mean of its three), reseasonalized.

    Args:
        x: (n,) the series.
        h: the horizon.
        m: the period.
        method: ``"naive2"``, ``"ses"``, ``"holt"``, ``"damped"``, ``"theta"`` or ``"comb"``.

    Returns:
        point (h,), std (h,).
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    h = check_h(h)
    season = deseasonalize(x, m)
    y, si = season.adjusted, season.future(h)
    if method == "naive2":
        sigma = float(np.sqrt(np.mean(np.diff(y) ** 2))) if len(y) > 1 else 0.0
        return np.full(h, y[-1]) * si, sigma * np.sqrt(np.arange(1, h + 1)) * si
    trends = {"ses": ("none",), "theta": ("none",), "holt": ("additive",), "damped": ("damped",)}
    fits: list[ExpSmoothing] = [fit_smoothing(y, t) for t in trends.get(method, TRENDS)]
    point = np.mean([f.forecast(h) for f in fits], axis=0)
    if method == "theta":
        point = point + _theta_drift(y, fits[0].alpha, h)
    return point * si, np.mean([f.std(h) for f in fits], axis=0) * si


def ses(x: np.ndarray, h: int, m: int = 1) -> np.ndarray:
    """(h,) simple exponential smoothing of the adjusted series, reseasonalized."""
    return benchmark(x, h, m, "ses")[0]


def holt(x: np.ndarray, h: int, m: int = 1) -> np.ndarray:
    """(h,) Holt's linear trend method on the adjusted series, reseasonalized."""
    return benchmark(x, h, m, "holt")[0]


def damped(x: np.ndarray, h: int, m: int = 1) -> np.ndarray:
    """(h,) the damped trend method on the adjusted series, reseasonalized."""
    return benchmark(x, h, m, "damped")[0]


def theta(x: np.ndarray, h: int, m: int = 1) -> np.ndarray:
    """(h,) the standard Theta method: SES with drift half the linear trend's slope, on the
    adjusted series, reseasonalized."""
    return benchmark(x, h, m, "theta")[0]


def naive2(x: np.ndarray, h: int, m: int = 1) -> np.ndarray:
    """(h,) the last adjusted value, reseasonalized (M3's Naive2)."""
    return benchmark(x, h, m, "naive2")[0]


def comb(x: np.ndarray, h: int, m: int = 1) -> np.ndarray:
    """(h,) the mean of SES, Holt and damped on the adjusted series, reseasonalized (M3's Comb S-H-D)."""
    return benchmark(x, h, m, "comb")[0]


def seasonal_naive(x: np.ndarray, h: int, m: int = 1) -> np.ndarray:
    """(h,) the values of the last cycle, repeated (the last value when ``x`` is shorter than ``m``)."""
    x, h, m = as_series(x), check_h(h), _check_m(m)
    m = m if len(x) >= m else 1
    return x[len(x) - m + np.arange(h) % m]


def m4_benchmarks(x: np.ndarray, h: int, m: int = 1) -> dict[str, np.ndarray]:
    """All the benchmarks of one series, sharing its seasonal adjustment and fits.

    Args:
        x: (n,) the series.
        h: the horizon.
        m: the period.

    Returns:
        name -> (h,) forecasts for ``naive``, ``seasonal_naive``, ``naive2``, ``ses``,
        ``holt``, ``damped``, ``theta`` and ``comb``.
    """
    x, h = as_series(x), check_h(h)
    season = deseasonalize(x, m)
    y, si = season.adjusted, season.future(h)
    fits = {t: fit_smoothing(y, t) for t in TRENDS}
    out = {
        "naive": np.full(h, x[-1]),
        "seasonal_naive": seasonal_naive(x, h, m),
        "naive2": y[-1] * si,
        "ses": fits["none"].forecast(h) * si,
        "holt": fits["additive"].forecast(h) * si,
        "damped": fits["damped"].forecast(h) * si,
        "theta": (fits["none"].forecast(h) + _theta_drift(y, fits["none"].alpha, h)) * si,
    }
    out["comb"] = (out["ses"] + out["holt"] + out["damped"]) / 3
    return out


# ---------------------------------------------------------------------- forecast models
class _Benchmark(ForecastModel):
    """A method of :data:`METHODS` as a local :class:`ForecastModel`: fitted on each series'
    own history when asked to forecast it; Gaussian quantiles around the point forecast with
    the standard deviations of :func:`benchmark`.

    Args:
        season: m, observations per cycle (``None``: the series' own ``TimeSeries.season``).
    """

    method = "theta"

    def __init__(self, season: int | None = None) -> None:
        super().__init__()
        self.season = check_season(season)

    def _forecast(self, series: TimeSeries, horizon: int) -> Forecast:
        exponent = scale_exponent(series.values)  # extreme magnitudes: squares would overflow or vanish
        y = np.ldexp(series.values, -exponent)
        if len(y) < 2:
            raise ValueError(
                f"series: {self.name} needs at least 2 observations, {series.name!r} has {len(y)}"
            )
        point, std = benchmark(y, horizon, self.season or series.season, self.method)
        q = np.ldexp(
            gaussian_quantiles(point, np.maximum(std, 1e-9 * np.abs(point).max(initial=1.0))), exponent
        )
        return Forecast(series.future_index(horizon), np.ldexp(point, exponent), q, series.name, self.name)


class ThetaForecaster(_Benchmark):
    """The standard Theta method (SES with drift half the linear trend's slope) on the
    seasonally adjusted series (see :func:`theta`).

    Example::

        >>> ThetaForecaster().fit(series).predict(12).point
    """

    name = "theta"
    method = "theta"


class Naive2Forecaster(_Benchmark):
    """The naive forecast of the seasonally adjusted series, reseasonalized (M3's Naive2)."""

    name = "naive2"
    method = "naive2"


class SESForecaster(_Benchmark):
    """Simple exponential smoothing of the seasonally adjusted series, reseasonalized."""

    name = "SES"
    method = "ses"


class HoltForecaster(_Benchmark):
    """Holt's linear trend method on the seasonally adjusted series, reseasonalized."""

    name = "Holt"
    method = "holt"


class DampedForecaster(_Benchmark):
    """The damped trend method on the seasonally adjusted series, reseasonalized."""

    name = "damped"
    method = "damped"


class CombForecaster(_Benchmark):
    """The mean of SES, Holt and damped on the seasonally adjusted series, reseasonalized
    (M3's Comb S-H-D)."""

    name = "comb"
    method = "comb"

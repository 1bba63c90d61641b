r"""How the statistical baselines read a series' season and trend: the season they model, the
seasonal strength, the differences the unit-root tests ask for, and Fourier terms.

The STL seasonal strength (Wang, Smith & Hyndman 2006) of a series with seasonal part
:math:`S` and remainder :math:`R` is

.. math::

    F_S = \max\left(0, 1 - \frac{\mathrm{Var}(R)}{\mathrm{Var}(S + R)}\right)

and a seasonal difference is taken when it exceeds 0.64; ordinary differences are taken while
the KPSS test rejects level stationarity at 5% (at most 2), as ``auto.arima`` does.

Example::

    >>> ndiffs(np.cumsum(np.random.default_rng(0).normal(size=200)))
    1
"""

from __future__ import annotations

import warnings

import numpy as np

from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.fit.arrays import scale_exponent

__all__ = [
    "check_policy",
    "exact_period",
    "fourier",
    "modelled_season",
    "ndiffs",
    "nsdiffs",
    "seasonal_strength",
]


def exact_period(series: TimeSeries) -> float:
    """The seasonal period in steps, exact for calendar cycles (weekly data: 365.25/7)."""
    m = series.season
    base = (series.freq or "").split("-")[0]
    if base == "W" and m == 52:
        return 365.25 / 7
    if base == "D" and m == 365:
        return 365.25
    return float(m)


def modelled_season(series: TimeSeries, policy: str) -> int:
    """The seasonal period a baseline models: with ``policy="calendar"`` only calendar seasons
    of date-indexed series (a month in a year, ...); the cycles of integer-indexed yearly data
    (sunspots, lynx) are left to the ARMA dynamics, as Yule (1927) modelled sunspots."""
    if policy == "never":
        return 1
    if policy == "calendar" and series.freq is None:
        return 1
    return series.season


def check_policy(policy: str) -> str:
    """``policy`` if it is ``"calendar"``, ``"always"`` or ``"never"``."""
    if policy not in ("calendar", "always", "never"):
        raise ValueError(f"season_policy: expected 'calendar', 'always' or 'never', got {policy!r}")
    return policy


def seasonal_strength(x: np.ndarray, period: int) -> float:
    """STL seasonal strength :math:`F_S` in [0, 1] (Wang, Smith & Hyndman 2006)."""
    from statsmodels.tsa.seasonal import STL

    res = STL(x, period=period, robust=True).fit()
    resid = np.asarray(res.resid)
    seas = np.asarray(res.seasonal)
    denom = float(np.var(seas + resid))
    return max(0.0, 1.0 - float(np.var(resid)) / denom) if denom > 0 else 0.0


def nsdiffs(x: np.ndarray, period: int) -> int:
    """Seasonal differences needed: 1 if the seasonal strength exceeds 0.64, else 0."""
    if period < 2 or len(x) < 2 * period + 2:
        return 0
    return int(seasonal_strength(x, period) > 0.64)


def ndiffs(x: np.ndarray, max_d: int = 2, alpha: float = 0.05) -> int:
    """Differences needed for level stationarity, by repeated KPSS tests."""
    from statsmodels.tools.sm_exceptions import InterpolationWarning
    from statsmodels.tsa.stattools import kpss

    x = np.asarray(x, dtype=np.float64)
    x = np.ldexp(x, -scale_exponent(x))  # the test is scale-free; extreme values overflow inside it
    d = 0
    while d < max_d and len(x) > 10:
        if np.ptp(x) == 0:
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InterpolationWarning)
            pvalue = kpss(x, regression="c", nlags="auto", result_object=False)[1]
        if pvalue >= alpha:
            break
        x = np.diff(x)
        d += 1
    return d


def fourier(t: np.ndarray, period: float, k: int) -> np.ndarray:
    """(T, 2k) Fourier regressors for time steps t."""
    cols = []
    for j in range(1, k + 1):
        angle = 2 * np.pi * j * t / period
        cols += [np.sin(angle), np.cos(angle)]
    return np.stack(cols, axis=1)

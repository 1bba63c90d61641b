r"""Naive and seasonal naive forecasts, with the intervals of Hyndman & Athanasopoulos (FPP3, 5.5).

Naive: :math:`\hat y_{T+h} = y_T` with :math:`\sigma_h = \sigma \sqrt{h}`.
Seasonal naive: :math:`\hat y_{T+h} = y_{T+h-m(k+1)}`, :math:`k = \lfloor (h-1)/m \rfloor`, with
:math:`\sigma_h = \sigma \sqrt{k+1}`; :math:`\sigma` is the standard deviation of the
in-sample one-step (seasonal) residuals.
"""

from __future__ import annotations

import logging

import numpy as np

from lstmkit.apps.forecasting.base import Forecast, ForecastModel, gaussian_quantiles, scale_exponent
from lstmkit.apps.forecasting.data import TimeSeries

__all__ = ["NaiveForecaster", "SeasonalNaiveForecaster", "check_season"]

log = logging.getLogger("lstmkit.apps.forecasting.baselines")


def check_season(season: int | None) -> int | None:
    """``season`` (observations per cycle, or ``None`` for the series' own), checked."""
    if season is not None and (isinstance(season, bool) or not isinstance(season, int) or season < 1):
        raise ValueError(f"season: expected an int >= 1 or None, got {season!r}")
    return season


def _seasonal_naive(series: TimeSeries, horizon: int, season: int, model: str) -> Forecast:
    exponent = scale_exponent(series.values)  # extreme magnitudes: squares would overflow or vanish
    y = np.ldexp(series.values, -exponent)
    if len(y) < 2:
        raise ValueError(f"series: {model} needs at least 2 observations, {series.name!r} has {len(y)}")
    m = season
    if m > 1 and len(y) <= m:
        log.warning(
            "%s: %r has %d values, not more than one season (%d); using the naive forecast",
            model,
            series.name,
            len(y),
            m,
        )
        m = 1
    h = np.arange(1, horizon + 1)
    k = (h - 1) // m
    point = y[len(y) - m + (h - 1) % m]  # (H,)  y_{T+h-m(k+1)}
    resid = y[m:] - y[:-m]
    sigma = float(np.sqrt(np.mean(resid**2))) if len(resid) else 0.0
    std = np.maximum(sigma * np.sqrt(k + 1), 1e-9)
    q = np.ldexp(gaussian_quantiles(point, std), exponent)
    return Forecast(series.future_index(horizon), np.ldexp(point, exponent), q, series.name, model)


class NaiveForecaster(ForecastModel):
    """The last value, repeated (a random walk's forecast).

    Example::

        >>> NaiveForecaster().fit(series).predict(12).point
    """

    name = "naive"

    def _forecast(self, series: TimeSeries, horizon: int) -> Forecast:
        return _seasonal_naive(series, horizon, 1, self.name)


class SeasonalNaiveForecaster(ForecastModel):
    """The value one season earlier; the season comes from the series (``TimeSeries.season``)
    unless ``season`` is given.

    Args:
        season: m, observations per cycle (``None``: the series' own).
    """

    name = "seasonal naive"

    def __init__(self, season: int | None = None) -> None:
        super().__init__()
        self.season = check_season(season)

    def _forecast(self, series: TimeSeries, horizon: int) -> Forecast:
        return _seasonal_naive(series, horizon, self.season or series.season, self.name)

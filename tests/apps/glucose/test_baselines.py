"""Persistence and the per-patient ARIMA at many origins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.apps.forecasting.baselines import NaiveForecaster
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.glucose import baselines


def _series(n: int = 240) -> TimeSeries:
    rng = np.random.default_rng(0)
    t = np.arange(n)
    y = 130 + 40 * np.sin(2 * np.pi * t / 70) + np.cumsum(rng.normal(0, 1.5, n))
    return TimeSeries(y, pd.date_range("2024-01-01", periods=n, freq="5min"), name="p", season=1)


def test_persistence_is_the_naive_forecast() -> None:
    s = _series()
    out = baselines.persistence(s.values, np.array([100, 150]), [6, 12])
    naive = NaiveForecaster().predict(12, series=s.head(150))
    assert out[12][1] == naive.point[11] == out[6][1]  # type: ignore[union-attr]


def test_arima_forecasts_match_statsmodels_dynamic_prediction() -> None:
    s = _series()
    fit = baselines.fit_arima(s.head(120), (2, 1, 1))
    assert fit.label.startswith("ARIMA(2,1,1)")
    origins = np.array([120, 170, 228])
    out = baselines.arima_forecasts(fit, s.values, origins, [1, 6, 12])
    full = fit.results.apply(s.values)
    for k, o in enumerate(origins):
        expected = full.get_prediction(start=o, end=o + 11, dynamic=True).predicted_mean
        for h in (1, 6, 12):
            assert out[h][k] == pytest.approx(expected[h - 1], rel=1e-9)


def test_the_arima_beats_persistence_on_a_smooth_cycle() -> None:
    s = _series()
    origins = np.arange(130, 228)
    fit = baselines.fit_arima(s.head(120), (2, 1, 0))
    arima = baselines.arima_forecasts(fit, s.values, origins, [6])[6]
    last = baselines.persistence(s.values, origins, [6])[6]
    truth = s.values[origins + 5]
    assert np.sqrt(np.mean((arima - truth) ** 2)) < 0.8 * np.sqrt(np.mean((last - truth) ** 2))


def test_origins_outside_the_series_are_refused() -> None:
    with pytest.raises(ValueError, match=r"origins: expected 1 <= origin and origin \+ 12 <= 240"):
        baselines.persistence(_series().values, np.array([235]), [12])

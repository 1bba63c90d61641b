"""Naive and seasonal naive forecasts: exact values, the interval formulas, the fallback."""

from __future__ import annotations

import numpy as np
import pytest
from tests.apps.forecasting.helpers import monthly_series

from lstmkit.apps.forecasting.base import LEVELS, Forecast
from lstmkit.apps.forecasting.baselines import NaiveForecaster, SeasonalNaiveForecaster


def test_naive_and_seasonal_naive_values_and_intervals() -> None:
    y = np.arange(1.0, 25.0) + 10 * (np.arange(24) % 12 == 0)
    s = monthly_series(y)
    f = NaiveForecaster().fit(s).predict(3)
    assert isinstance(f, Forecast)
    assert f.point.tolist() == [24.0] * 3
    sn = SeasonalNaiveForecaster().fit(s).predict(14)
    assert isinstance(sn, Forecast)
    assert sn.point.tolist() == [*y[12:24].tolist(), *y[12:14].tolist()]
    # FPP3: sigma_h = sigma * sqrt(k + 1), k = floor((h - 1) / m): the width doubles by sqrt(2) in year two
    w = sn.quantiles[:, -1] - sn.quantiles[:, 0]
    assert w[12] / w[0] == pytest.approx(np.sqrt(2))
    assert sn.quantiles.shape == (14, len(LEVELS))


def test_seasonal_naive_falls_back_when_history_is_shorter_than_a_season(caplog) -> None:
    s = monthly_series(np.arange(1.0, 9.0))
    with caplog.at_level("WARNING"):
        f = SeasonalNaiveForecaster().predict(2, series=s)
    assert isinstance(f, Forecast) and f.point.tolist() == [8.0, 8.0]
    assert "using the naive forecast" in caplog.text

"""Baselines: exact naive forecasts, interval formulas, ARIMA/ETS on processes they should capture."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.apps.forecasting.base import LEVELS, Forecast
from lstmkit.apps.forecasting.baselines import (
    ARIMAForecaster,
    ETSForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    make_baseline,
)
from lstmkit.apps.forecasting.baselines.statistical import _Spec, ndiffs, nsdiffs
from lstmkit.apps.forecasting.data import TimeSeries


def monthly_series(values: np.ndarray, name: str = "y") -> TimeSeries:
    return TimeSeries(values, pd.date_range("2000-01", periods=len(values), freq="MS"), name=name)


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


def test_unit_root_tests() -> None:
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=300))
    assert ndiffs(walk) == 1
    assert ndiffs(rng.normal(size=300)) == 0
    t = np.arange(240)
    seasonal = 10 * np.sin(2 * np.pi * t / 12) + rng.normal(size=240) * 0.3
    assert nsdiffs(seasonal, 12) == 1
    assert nsdiffs(rng.normal(size=240), 12) == 0


def test_arima_forecasts_an_ar1_process_like_the_true_model() -> None:
    rng = np.random.default_rng(1)
    phi, n = 0.8, 400
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.normal()
    s = TimeSeries(x + 50.0)  # integer index: no seasonal part
    model = ARIMAForecaster()
    f = model.predict(5, series=s)
    assert isinstance(f, Forecast)
    truth = 50.0 + phi ** np.arange(1, 6) * x[-1]
    assert np.abs(f.point - truth).max() < 0.35 * max(1.0, abs(x[-1]))
    assert "ARIMA(" in model.selected_["y"]
    lo, hi = f.interval(0.95)
    assert ((hi - lo)[0]) == pytest.approx(2 * 1.96, rel=0.15)  # one-step sd is the noise sd, 1


def test_arima_with_drift_extrapolates_a_straight_line() -> None:
    y = np.cumsum(1.0 + np.random.default_rng(0).normal(0, 0.5, 100))  # random walk, drift 1
    for model in (ARIMAForecaster(order=(0, 1, 0), log=False), ARIMAForecaster(log=False)):
        fc = model.fit(TimeSeries(y)).predict(30)
        assert "with drift" in model.selected_["y"], model.selected_
        steps = np.diff(np.r_[y[-1], fc.point])
        assert np.allclose(steps, steps[0], atol=1e-6), steps  # a line, not a parabola
        assert abs(steps[0] - np.diff(y).mean()) < 0.05  # the drift is the mean step


def test_ets_beats_naive_on_a_trending_seasonal_series() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(96)
    y = 100 + 0.5 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(size=96)
    s = monthly_series(y)
    ets = ETSForecaster().backtest(s, 12, start=72, refit=True).metrics()["MASE"]
    naive = NaiveForecaster().backtest(s, 12, start=72).metrics()["MASE"]
    assert ets < 0.5 < naive


def test_backtest_windows_and_refit_counts() -> None:
    s = monthly_series(np.arange(1.0, 61.0))
    r = make_baseline("naive").backtest(s, 6, start=36, stride=6)
    assert [w.origin for w in r.windows] == [36, 42, 48, 54]
    assert all(len(w.actual) == 6 for w in r.windows)
    assert r.metrics()["MAE"] == pytest.approx(3.5)  # a line: errors 1..6
    with pytest.raises(ValueError, match="start: the first origin 58 leaves no room"):
        make_baseline("naive").backtest(s, 6, start=58)
    with pytest.raises(ValueError, match="unknown baseline 'prophet'"):
        make_baseline("prophet")


def test_arima_labels_name_the_orders_the_season_and_the_constant() -> None:
    assert _Spec(1, 1, 0, 0, 0, 0, 1, True).label() == "ARIMA(1,1,0) with drift"
    assert _Spec(1, 0, 2, 1, 1, 0, 12, True).label() == "ARIMA(1,0,2)(1,1,0)[12] with drift"
    assert _Spec(0, 0, 0, 1, 0, 1, 4, True).label() == "ARIMA(0,0,0)(1,0,1)[4] with mean"
    assert _Spec(2, 1, 2, 0, 0, 0, 1, False).label() == "ARIMA(2,1,2)"


@pytest.mark.parametrize("model", [ARIMAForecaster, ETSForecaster])
def test_statistical_models_share_the_log_rule_and_the_season_policy(model) -> None:
    m = model(log=False, season_policy="always")
    assert (m.log, m.season_policy, m.selected_) == (False, "always", {})
    with pytest.raises(ValueError, match="season_policy"):
        model(season_policy="sometimes")

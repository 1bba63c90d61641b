"""ARIMA and ETS on processes they should capture; their labels, log rule and season policy."""

from __future__ import annotations

import numpy as np
import pytest
from tests.apps.forecasting.helpers import monthly_series

from lstmkit.apps.forecasting.base import Forecast
from lstmkit.apps.forecasting.baselines import ARIMAForecaster, ETSForecaster, NaiveForecaster
from lstmkit.apps.forecasting.baselines.statistical import _Spec
from lstmkit.apps.forecasting.data import TimeSeries


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

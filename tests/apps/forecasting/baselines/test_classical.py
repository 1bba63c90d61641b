"""The M3/M4 statistical benchmarks: the seasonality test and decomposition against their
definitions and statsmodels, Theta against statsmodels' ThetaModel, the wrappers, and the
published M3 scores of Theta, Naive2 and Comb."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.seasonal import seasonal_decompose
from statsmodels.tsa.stattools import acf
from tests.apps.forecasting.helpers import monthly_series

from lstmkit.apps.forecasting.base import Forecast
from lstmkit.apps.forecasting.baselines import (
    BASELINES,
    CombForecaster,
    Naive2Forecaster,
    ThetaForecaster,
    make_baseline,
)
from lstmkit.apps.forecasting.baselines import classical as C
from lstmkit.apps.forecasting.baselines.smoothing import fit_smoothing
from lstmkit.apps.forecasting.competitions import load_m3, pooled


def _seasonal(n: int = 72, m: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.3 * t + 15 * np.sin(2 * np.pi * t / m) + rng.normal(0, 2, n)


def test_the_seasonality_test_follows_its_formula() -> None:
    rng = np.random.default_rng(1)
    seasonal, noise = _seasonal(), 100 + rng.normal(0, 1, 72)
    assert C.seasonality_test(seasonal, 12) and not C.seasonality_test(noise, 12)
    for x in (seasonal, noise):  # |r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n), r as statsmodels' acf
        r = np.asarray(acf(x, nlags=12), dtype=np.float64)
        limit = 1.645 * np.sqrt((1 + 2 * np.sum(r[1:12] ** 2)) / len(x))
        assert C.seasonality_test(x, 12) == (abs(r[12]) > limit)
    assert not C.seasonality_test(seasonal, 1)  # m == 1
    assert not C.seasonality_test(seasonal[:35], 12)  # n < 3m
    assert not C.seasonality_test(np.full(40, 5.0), 4)  # constant


@pytest.mark.parametrize(("n", "m"), [(72, 12), (77, 12), (30, 4), (31, 5)])
def test_seasonal_indices_equal_statsmodels_classical_decomposition(n: int, m: int) -> None:
    x = _seasonal(n, m)
    ref = seasonal_decompose(x, model="multiplicative", period=m).seasonal
    si = C.seasonal_indices(x, m)
    assert np.allclose(si[np.arange(n) % m], ref, rtol=1e-12)
    assert si.mean() == pytest.approx(1.0)


def test_deseasonalize_round_trip_and_reseasonalized_forecasts() -> None:
    m, n = 12, 60
    pattern = 1 + 0.3 * np.sin(2 * np.pi * np.arange(m) / m + 0.4)
    x = 200.0 * pattern[np.arange(n) % m]  # a level times a fixed pattern: forecasts continue it exactly
    season = C.deseasonalize(x, m)
    assert season.seasonal and np.allclose(season.adjusted, 200.0)
    assert np.allclose(season.adjusted * season.indices[np.arange(n) % m], x)
    future = 200.0 * pattern[np.arange(n, n + 18) % m]
    for method in C.METHODS:
        assert np.allclose(C.benchmark(x, 18, m, method)[0], future), method
    noise = 100 + np.random.default_rng(2).normal(0, 1, 48)
    assert not C.deseasonalize(noise, 12).seasonal and np.array_equal(
        C.deseasonalize(noise, 12).adjusted, noise
    )
    assert not C.deseasonalize(x - 250, m).seasonal  # multiplicative indices need positive data


def test_theta_equals_statsmodels_theta_model() -> None:
    x, h = _seasonal(48, 1, seed=3)[::-1] + np.linspace(0, 30, 48), 9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ThetaModel(x, deseasonalize=False).fit(use_mle=False)
    alpha = float(
        np.asarray(ref.params)[1]
    )  # statsmodels: SES from the known level x[0], then b0 / 2 * drift
    ses = fit_smoothing(x, "none", alpha=alpha, initial=(x[0], 0.0))
    assert np.allclose(
        ses.forecast(h) + C._theta_drift(x, alpha, h), ref.forecast(h, theta=2), rtol=0, atol=1e-8
    )
    # ours: alpha and l0 by least squares; by hand, SES plus half the least-squares slope
    fit = fit_smoothing(x, "none")
    slope = np.polyfit(np.arange(48), x, 1)[0]
    drift = slope / 2 * (np.arange(h) + (1 - (1 - fit.alpha) ** 48) / fit.alpha)
    assert np.allclose(C.theta(x, h), fit.forecast(h) + drift)


def test_benchmarks_by_hand_on_a_non_seasonal_series() -> None:
    x, h = _seasonal(30, 1, seed=4), 5
    fits = {t: fit_smoothing(x, t) for t in ("none", "additive", "damped")}
    assert np.allclose(C.naive2(x, h), x[-1]) and np.allclose(C.seasonal_naive(x, h, 1), x[-1])
    assert np.allclose(C.ses(x, h), fits["none"].forecast(h))
    assert np.allclose(C.holt(x, h), fits["additive"].forecast(h))
    assert np.allclose(C.damped(x, h), fits["damped"].forecast(h))
    assert np.allclose(C.comb(x, h), np.mean([f.forecast(h) for f in fits.values()], axis=0))
    both = C.m4_benchmarks(x, h)
    assert all(
        np.allclose(both[k], getattr(C, k)(x, h))
        for k in ("naive2", "ses", "holt", "damped", "theta", "comb")
    )
    assert np.array_equal(C.seasonal_naive(np.arange(10.0), 5, 4), [6, 7, 8, 9, 6])
    with pytest.raises(ValueError, match="method: expected one of naive2"):
        C.benchmark(x, h, 1, "arima")
    with pytest.raises(ValueError, match="m: expected an int >= 1, got 0"):
        C.theta(x, h, 0)


def test_the_wrappers_forecast_what_the_functions_do() -> None:
    s = monthly_series(_seasonal(60))
    for name in ("theta", "naive2", "ses", "holt", "damped", "comb"):
        assert name in BASELINES
        model = make_baseline(name)
        f = model.fit(s).predict(14)
        assert isinstance(f, Forecast)
        assert np.allclose(f.point, getattr(C, name)(s.values, 14, 12))
        assert (np.diff(f.quantiles, axis=1) >= 0).all() and (f.quantiles[:, -1] > f.quantiles[:, 0]).all()
    yearly = ThetaForecaster(season=1).fit(s).predict(6)
    assert isinstance(yearly, Forecast) and np.allclose(yearly.point, C.theta(s.values, 6, 1))
    huge = monthly_series(_seasonal(60) * 2.0**900)  # squares would overflow: scaled by a power of two
    big = CombForecaster().fit(huge).predict(6)
    assert isinstance(big, Forecast) and np.allclose(big.point / 2.0**900, C.comb(s.values, 6, 12))
    with pytest.raises(ValueError, match="season: expected an int >= 1 or None, got 0"):
        Naive2Forecaster(season=0)
    with pytest.raises(ValueError, match="needs at least 2 observations"):
        Naive2Forecaster().fit(monthly_series(np.ones(1))).predict(3)


def test_m3_scores_of_theta_naive2_and_comb_are_the_published_ones() -> None:
    """Published (Makridakis & Hibon 2000), sMAPE over all 3,003 series and horizons:
    Theta 13.01, Naive2 15.47, Comb S-H-D 13.52. Our Naive2 gives 15.39 and Comb 13.24: the
    competition's own smoothing software fitted differently from least squares."""
    m3 = load_m3()
    runs = [C.m4_benchmarks(s.train, s.horizon, s.period) for s in m3]
    score = {k: pooled(m3, [r[k] for r in runs])["overall"]["sMAPE"] for k in ("theta", "naive2", "comb")}
    assert score["theta"] == pytest.approx(13.01, abs=0.15)
    assert score["naive2"] == pytest.approx(15.47, abs=0.15)
    assert score["comb"] == pytest.approx(13.52, abs=0.35)
    yearly = pooled(m3, [r["naive2"] for r in runs])["yearly"]["sMAPE"]
    assert yearly == pytest.approx(17.88, abs=0.005)  # yearly: no seasonality, Naive2 is naive

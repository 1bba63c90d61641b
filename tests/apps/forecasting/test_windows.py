"""Windows, scaling and calendar features against hand computations and references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.apps.forecasting.windows import SeriesScaler, calendar_features, sliding_windows, window_origins


def test_sliding_windows_are_the_consecutive_slices() -> None:
    a = np.arange(20).reshape(10, 2)
    w = sliding_windows(a, 4, stride=3)
    assert w.shape == (3, 4, 2)
    for k in range(3):
        assert (w[k] == a[3 * k : 3 * k + 4]).all()


def test_window_origins_and_too_short_series() -> None:
    o = window_origins(30, window=12, horizon=6, stride=5)
    assert o[-1] == 24 and o[0] >= 12 and (np.diff(o) == 5).all()
    with pytest.raises(
        ValueError, match="series too short: 10 steps cannot hold an input window of 8 and a horizon of 6"
    ):
        window_origins(10, 8, 6)


def test_scaler_round_trip_and_auto_log() -> None:
    y = np.exp(np.linspace(0, 3, 50))  # max/min = e^3 > 3: log
    sc = SeriesScaler.fit(y, season=12)
    assert sc.log
    z = sc.transform(y)
    win = z[None, -24:]
    lvl = sc.levels(win)
    assert np.isclose(lvl[0], z[-12:].mean())  # window level: mean of the last season
    u = sc.normalize(win, lvl)
    assert np.allclose(sc.denormalize(u, lvl), y[-24:])
    assert not SeriesScaler.fit(np.linspace(10, 12, 50)).log  # mild growth: no log
    with pytest.raises(ValueError, match="needs positive values"):
        SeriesScaler.fit(np.array([-1.0, 2.0, 3.0]), log=True)


def test_calendar_features_encode_the_month() -> None:
    idx = pd.date_range("2021-01-01", periods=12, freq="MS")
    f = calendar_features(idx, "MS")
    assert f.shape == (12, 4)
    assert np.allclose(f[0, :2], [0.0, 1.0])  # January: angle 0
    assert np.allclose(f[3, :2], [1.0, 0.0], atol=1e-12)  # April: a quarter turn
    assert calendar_features(pd.RangeIndex(5), None).shape == (5, 0)


def test_auto_normalization_follows_the_kpss_test() -> None:
    rng = np.random.default_rng(3)
    walk = 100 + np.cumsum(rng.normal(size=300))  # a stochastic trend: window level
    noise = 100 + rng.normal(size=300)  # level-stationary: global level
    assert SeriesScaler.fit(walk, normalize="auto", log=False).level_span > 0
    assert SeriesScaler.fit(noise, normalize="auto", log=False).level_span == 0


def test_last_value_normalization_makes_zero_the_naive_forecast() -> None:
    rng = np.random.default_rng(4)
    flat, wild = 50 + rng.normal(0, 0.1, 40), np.exp(np.cumsum(rng.normal(0, 0.5, 40)))
    for y in (flat, wild):
        sc = SeriesScaler.fit(y, normalize="last", log=True)
        win = sc.transform(y)[None, -8:]
        lvl = sc.levels(win)
        assert np.isclose(lvl[0], np.log(y[-1]))
        assert np.allclose(sc.denormalize(np.zeros((1, 3)), lvl), y[-1])  # zero output: naive
        # one scale for every series in logs: a 10% rise is the same input anywhere
        assert np.isclose(sc.normalize(np.log(np.array([[1.1 * y[-1]]])), lvl)[0, 0], np.log(1.1) / 0.1)
    assert SeriesScaler.fit(flat, normalize="last", log=False).scale == pytest.approx(flat.std())
    with pytest.raises(
        ValueError, match="normalize: expected one of auto, window, global, last, got 'first'"
    ):
        SeriesScaler.fit(flat, normalize="first")

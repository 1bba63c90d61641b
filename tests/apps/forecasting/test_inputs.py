"""The forecaster's inputs: the panel layout, per-series statistics, windows and their split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.apps.forecasting.inputs import (
    continues,
    panel_layout,
    prepare,
    series_stats,
    split_origins,
    stack_windows,
    window_inputs,
    window_targets,
)
from lstmkit.apps.forecasting.series import TimeSeries


def daily(values: np.ndarray, **kw) -> TimeSeries:
    return TimeSeries(values, pd.date_range("2020-01-01", periods=len(values), freq="D"), **kw)


def test_windows_of_a_series() -> None:
    y = daily(10 + np.sin(np.arange(80) / 3), name="a")
    layout = panel_layout([y], calendar=True, window=14, horizon=5, recursive=False)
    assert layout["window"] == 14 and layout["past"] == [] and layout["calendar"]
    stats = series_stats(y, log="auto", normalize="window", season=layout["season"])
    assert continues(y.values, stats) and not continues(y.values[1:], stats)
    p = prepare(y, 5, layout, stats)
    assert p.future_feats.shape[0] == 85  # the calendar of 5 known-future rows too
    origins = np.array([14, 40, 75])
    past, future, level = window_inputs(p, origins, 14, 5, "window")
    cal = len(layout["calendar"]) and p.future_feats.shape[1]
    assert past.shape == (3, 14, 2 + cal) and future.shape == (3, 5, cal) and level.shape == (3,)
    target = window_targets(p, origins, 5, level)
    assert target.shape == (3, 5)
    # the normalized target of the step after the window, in the window's own level
    assert np.allclose(target[:, :1], p.scaler.normalize(p.z[origins][:, None], level))
    data = stack_windows([(past, future, target), (past, future, target)])
    assert data is not None and len(data) == 6 and stack_windows([]) is None


def test_validation_origins_are_the_last_steps_and_need_patience() -> None:
    y = daily(np.arange(100.0), name="a")
    train, val = split_origins(y, 10, 5, val_size=20, patience=3)
    assert val.min() == 80 and train.max() == 75  # training targets end before the validation ones
    all_, none = split_origins(y, 10, 5, val_size=20, patience=None)
    assert len(none) == 0 and all_.tolist() == list(range(10, 96))
    with pytest.raises(ValueError, match="too short for an input window of 90 and a horizon of 20"):
        split_origins(y, 90, 20, None, None)


def test_a_panel_must_share_its_covariates_and_frequency() -> None:
    a = daily(np.ones(30), name="a")
    b = TimeSeries(np.ones(30), pd.date_range("2020-01-01", periods=30, freq="W"), name="b")
    with pytest.raises(ValueError, match="calendar features need one frequency"):
        panel_layout([a, b], calendar=True, window=None, horizon=3, recursive=False)
    assert panel_layout([a, b], calendar=False, window=8, horizon=3, recursive=False)["window"] == 8
    c = daily(np.ones(30), name="c", past_covariates=np.ones((30, 1)))
    with pytest.raises(ValueError, match="same past_covariate"):
        panel_layout([a, c], calendar=False, window=8, horizon=3, recursive=False)
    with pytest.raises(ValueError, match="the recursive strategy cannot roll past covariates"):
        panel_layout([c], calendar=False, window=8, horizon=3, recursive=True)


def test_a_short_series_in_a_panel_gets_one_padded_window() -> None:
    from lstmkit.apps.forecasting.inputs import prepare, series_stats, window_inputs

    short = daily(np.arange(1.0, 9.0), name="short")  # 8 steps: window 6 + horizon 4 needs 10
    train, val = split_origins(short, 6, 4, None, 3, pad=True)
    assert train.tolist() == [4] and len(val) == 0  # the one origin whose targets fit
    with pytest.raises(ValueError, match="needs at least 5"):
        split_origins(daily(np.arange(1.0, 5.0), name="tiny"), 6, 4, None, 3, pad=True)
    layout = {"window": 6, "freq": "D", "calendar": [], "past": [], "future": [], "season": 1}
    stats = series_stats(short, log=False, normalize="global", season=1)
    p = prepare(short, 0, layout, stats)
    past, _, _ = window_inputs(p, train, 6, 4, "global")
    u = past[0, :, 0] * p.scaler.scale + p.scaler.mean
    assert np.allclose(u, [1, 1, 1, 2, 3, 4])  # the two steps before the start repeat the first

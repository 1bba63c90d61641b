"""Forecaster explanations: completeness of integrated gradients on real data, attributions and
permutation importance that find the covariate driving a synthetic target, the report files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit import Forecaster
from lstmkit.apps.datasets import sources
from lstmkit.apps.forecasting.explain import explain_forecaster, permutation_importance
from lstmkit.apps.forecasting.series import TimeSeries

N = 300


@pytest.fixture(scope="module")
def driven() -> tuple[Forecaster, TimeSeries]:
    """y_t = 10 + 2 x_{t-2} + noise: the past covariate ``drive`` decides the target two steps
    ahead, ``noise`` is noise; a forecaster of horizon 2 trained on all but the last 40 steps."""
    rng = np.random.default_rng(0)
    drive, noise = rng.normal(size=N), rng.normal(size=N)
    y = 10 + 2 * np.r_[0.0, 0.0, drive[:-2]] + 0.1 * rng.normal(size=N)
    s = TimeSeries(
        y,
        pd.date_range("2020-01-01", periods=N, freq="D"),
        past_covariates=np.c_[drive, noise],
        past_covariate_names=("drive", "noise"),
    )
    fc = Forecaster(
        2, window=8, ensemble=1, max_epochs=60, patience=10, hidden_size=32, calendar=False, progress=False
    )
    return fc.fit(s.head(N - 40)), s


def test_permutation_importance_finds_the_driving_covariate(driven) -> None:
    fc, s = driven
    imp = permutation_importance(fc, s, windows=20, repeats=3)
    assert imp.names == ["past: drive", "past: noise"]
    assert imp.base_mase < 0.4, imp.base_mase  # trained: an untrained network errs far more
    drive, noise = imp.mean
    assert drive > 0.3, imp.mean  # shuffling the driver ruins the forecast
    assert abs(noise) < 0.1 * drive, imp.mean


def test_attributions_point_at_the_driver_two_and_one_steps_back(driven) -> None:
    fc, s = driven
    ex = explain_forecaster(fc, s, importance=False)
    assert ex.integrated.shape == (2, 8, 4) and ex.occlusion.shape == (2, 8, 4)
    assert ex.max_gap <= 0.01, ex.gap
    drive = ex.channels.index("past: drive")
    # horizon step 1 (y_t) is 2 x_{t-2}: input step L-2; step 2 (y_{t+1}) is 2 x_{t-1}: step L-1
    for h, step in ((0, 6), (1, 7)):
        mag = np.abs(ex.integrated[h])
        assert mag[step, drive] > 0.5 * mag.sum(), (h, mag.round(3))
        occ = np.abs(ex.occlusion[h])
        assert occ[step, drive] > 0.5 * occ.sum(), (h, occ.round(3))


@pytest.mark.parametrize("strategy", ["direct", "seq2seq"])
def test_integrated_gradients_are_complete_on_airline(strategy: str) -> None:
    y = sources.load_series("airline")
    fc = Forecaster(12, strategy=strategy, ensemble=2, max_epochs=3, hidden_size=16, progress=False)
    ex = explain_forecaster(fc.fit(y), y)
    assert ex.integrated.shape == (12, fc.layout_["window"], len(ex.channels))
    assert ex.max_gap <= 0.01, ex.gap
    assert np.abs(ex.output - ex.baseline_output).min() > 0  # something was attributed
    assert ex.importance is None  # no covariates


def test_write_gives_pictures_and_sections(driven, tmp_path) -> None:
    fc, s = driven
    ex = explain_forecaster(fc, s, windows=2, repeats=1)
    sections = ex.write(tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [
        "forecast_attribution_channels.png",
        "forecast_attribution_horizon.png",
        "forecast_occlusion_channels.png",
        "forecast_permutation_importance.png",
    ]
    html = "".join(body for _, body in sections)
    assert all(f"src='{name}'" in html for name in files)
    assert "past: drive" in html and set(ex.metrics()["permutation_importance"]) == {
        "past: drive",
        "past: noise",
    }


def test_bad_arguments_are_named(driven) -> None:
    fc, s = driven
    with pytest.raises(ValueError, match="windows: 200 windows of 2 steps"):
        permutation_importance(fc, s, windows=200)
    with pytest.raises(ValueError, match="repeats: expected an int >= 1, got 0"):
        permutation_importance(fc, s, repeats=0)
    with pytest.raises(ValueError, match="has no covariates to permute"):
        plain = TimeSeries(s.values, s.index)
        permutation_importance(
            Forecaster(2, window=8, ensemble=1, max_epochs=1, progress=False).fit(plain), plain
        )
    with pytest.raises(RuntimeError, match="call fit"):
        explain_forecaster(Forecaster(2), s)

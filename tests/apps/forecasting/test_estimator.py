"""The LSTM forecaster: accuracy on real and synthetic data (short budgets, real thresholds),
strategies, covariates, multiple series, save/load, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit import Forecaster
from lstmkit.apps.datasets import sources
from lstmkit.apps.forecasting.base import Forecast
from lstmkit.apps.forecasting.baselines import SeasonalNaiveForecaster
from lstmkit.apps.forecasting.data import TimeSeries

FAST = {"ensemble": 1, "max_epochs": 60, "patience": 10, "hidden_size": 32, "progress": False}


def daily(values: np.ndarray, **kw) -> TimeSeries:
    return TimeSeries(values, pd.date_range("2020-01-01", periods=len(values), freq="D"), **kw)


@pytest.mark.slow
def test_airline_backtest_beats_seasonal_naive() -> None:
    y = sources.load_series("airline")
    lstm = Forecaster(12, **{**FAST, "ensemble": 2}).backtest(y, 12, start=-24, refit=False)
    snaive = SeasonalNaiveForecaster().backtest(y, 12, start=-24)
    m_lstm, m_sn = lstm.metrics()["MASE"], snaive.metrics()["MASE"]
    assert m_lstm < 0.9 * m_sn, (m_lstm, m_sn)  # an untrained network is far worse than 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("strategy", "likelihood"), [("seq2seq", "gaussian"), ("recursive", "gaussian"), ("direct", "point")]
)
def test_strategies_learn_a_noisy_weekly_cycle(strategy: str, likelihood: str) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(300)
    y = 10 + 3 * np.sin(2 * np.pi * t / 7) + 0.3 * rng.normal(size=300)
    s = daily(y)
    fc = (
        Forecaster(7, strategy=strategy, likelihood=likelihood, **FAST)
        .fit(s.head(286))
        .predict(series=s.head(286))
    )
    assert isinstance(fc, Forecast)
    err = np.abs(fc.point - y[286:293]).mean()
    assert err < 0.8, err  # the cycle's amplitude is 3: a flat forecast errs by ~1.9
    lo, hi = fc.interval(0.8)
    assert (lo <= fc.point).all() and (fc.point <= hi).all()


@pytest.mark.slow
def test_known_future_covariates_are_used() -> None:
    rng = np.random.default_rng(1)
    n = 260
    promo = (rng.random(n + 7) < 0.3).astype(float)
    y = 20 + 6 * promo[:n] + 0.3 * rng.normal(size=n)
    with_cov = daily(y, future_covariates=promo[:, None], future_covariate_names=("promo",))
    without = daily(y)
    kw = {**FAST, "calendar": False}
    f1 = Forecaster(7, **kw).fit(with_cov).predict()
    f0 = Forecaster(7, **kw).fit(without).predict()
    assert isinstance(f1, Forecast) and isinstance(f0, Forecast)
    truth = 20 + 6 * promo[n:]
    assert np.abs(f1.point - truth).mean() < 1.0 < np.abs(f0.point - truth).mean() + 1.0
    assert np.abs(f1.point - truth).mean() < 0.5 * np.abs(f0.point - truth).mean()


@pytest.mark.slow
def test_multiple_series_and_save_load_round_trip(tmp_path) -> None:
    panel = sources.load_panel("stocks")
    model = Forecaster(6, **{**FAST, "max_epochs": 5}).fit(panel)
    preds = model.predict()
    assert isinstance(preds, list) and [f.name for f in preds] == [s.name for s in panel]
    path = tmp_path / "m.pt"
    model.save(path)
    loaded = Forecaster.load(path, device="cpu")
    with pytest.raises(ValueError, match="pass series="):
        loaded.predict()  # a saved model keeps no data
    again = loaded.predict(series=panel)
    assert isinstance(again, list)
    for a, b in zip(preds, again):
        assert np.array_equal(a.quantiles, b.quantiles)
    payload = torch.load(path, weights_only=True)  # plain tensors and values only
    assert payload["format"] == "lstmkit.Forecaster"
    assert all(t.device.type == "cpu" for m in payload["members"] for t in m.values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU: a CPU-saved model loaded on CUDA")
def test_load_on_gpu(tmp_path) -> None:  # pragma: no cover - CPU machines
    s = daily(np.sin(np.arange(100) / 3) + 5)
    m = Forecaster(5, **{**FAST, "max_epochs": 2}).fit(s)
    m.save(tmp_path / "m.pt")
    g = Forecaster.load(tmp_path / "m.pt", device="cuda")
    a, b = m.predict(), g.predict(series=s)  # a loaded model keeps no data
    assert isinstance(a, Forecast) and isinstance(b, Forecast)
    assert np.allclose(a.point, b.point, rtol=1e-4)


def test_bad_input() -> None:
    s = daily(np.arange(20.0) + 1)
    with pytest.raises(ValueError, match="too short for an input window of 16 and a horizon of 7"):
        Forecaster(7, window=16, **FAST).fit(s)
    with pytest.raises(ValueError, match="strategy: expected one of"):
        Forecaster(7, strategy="magic")
    with pytest.raises(ValueError, match="recursive strategy feeds its own outputs back"):
        Forecaster(7, strategy="recursive", likelihood="quantile")
    with pytest.raises(TypeError, match="expected a lstmkit TimeSeries"):
        Forecaster(7, **FAST).fit(np.arange(10.0))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="call fit"):
        Forecaster(7).predict()
    cov = daily(np.arange(60.0), past_covariates=np.ones((60, 1)))
    with pytest.raises(ValueError, match="recursive strategy cannot roll past covariates forward"):
        Forecaster(7, strategy="recursive", likelihood="point", **FAST).fit(cov)
    with pytest.raises(ValueError, match=r"val_size: expected at least the horizon \(7\).*got 3"):
        Forecaster(7, val_size=3)


@pytest.mark.slow
def test_horizon_and_covariate_mismatch_at_predict() -> None:
    s = daily(np.sin(np.arange(120) / 2) + 3)
    m = Forecaster(5, **{**FAST, "max_epochs": 2}).fit(s)
    with pytest.raises(ValueError, match="trained for 5 steps, got 9"):
        m.predict(9)
    other = daily(np.arange(120.0), past_covariates=np.ones((120, 1)))
    with pytest.raises(ValueError, match="differ from the fitted ones"):
        m.predict(series=other)
    fut = daily(np.arange(120.0) + 1, future_covariates=np.ones((122, 1)))
    m2 = Forecaster(5, **{**FAST, "max_epochs": 2}).fit(fut.head(100))
    with pytest.raises(ValueError, match="knows 2 future rows, the forecast needs 5"):
        m2.predict(series=fut)


@pytest.mark.slow
def test_recursive_forecasts_beyond_its_training_horizon() -> None:
    t = np.arange(200)
    s = daily(10 + 3 * np.sin(2 * np.pi * t / 7))
    m = Forecaster(3, strategy="recursive", likelihood="point", **FAST).fit(s.head(180))
    fc = m.predict(14, series=s.head(180))
    assert isinstance(fc, Forecast) and len(fc) == 14
    assert np.abs(fc.point - s.values[180:194]).mean() < 0.8  # the day-of-week cycle carries on


def test_a_new_series_with_a_fitted_name_is_scaled_by_its_own_level(monkeypatch) -> None:
    t = np.arange(120)
    a = daily(10 + np.sin(2 * np.pi * t / 7))
    b = daily(100 + 10 * np.sin(2 * np.pi * t / 7))  # same default name "y", ten times the level
    assert a.name == b.name
    m = Forecaster(7, **{**FAST, "max_epochs": 5}).fit(a)
    on_b = m.predict(series=b)
    assert isinstance(on_b, Forecast)
    assert 80 < on_b.point.mean() < 120, on_b.point  # not a's level (~10)
    # the fitted series itself, grown by new observations, keeps the statistics it was fitted with
    from lstmkit.apps.forecasting.windows import SeriesScaler

    longer = daily(10 + np.sin(2 * np.pi * np.arange(130) / 7))

    def no_refit(*args, **kwargs):
        raise AssertionError("statistics refitted for the fitted series")

    monkeypatch.setattr(SeriesScaler, "fit", no_refit)
    assert 8 < m.predict(series=longer).point.mean() < 12


def test_refit_runs_as_many_epochs_as_the_best_weights_had(monkeypatch) -> None:
    calls: list[tuple[int, int | None]] = []
    train_one = Forecaster._train_one

    def spy(self, k, train, val, epochs, bar):
        net, hist = train_one(self, k, train, val, epochs, bar)
        calls.append((epochs, hist.best_epoch))
        return net, hist

    monkeypatch.setattr(Forecaster, "_train_one", spy)
    s = daily(np.sin(np.arange(120) / 3) + 5 + 0.3 * np.random.default_rng(0).normal(size=120))
    Forecaster(5, **{**FAST, "max_epochs": 12, "patience": 3}).fit(s)
    (_, best0), (refit_epochs, _) = calls
    assert best0 is not None
    assert refit_epochs == best0 + 1  # best_epoch counts from 0


def test_backtest_of_a_panel_leaves_out_series_too_short_for_early_origins() -> None:
    t = np.arange(120)
    long = TimeSeries(5 + np.sin(t / 3), pd.date_range("2000-01-01", periods=120, freq="D"), name="long")
    short = TimeSeries(5 + np.cos(t[:46] / 3), long.index[-46:], name="short")
    assert long.index[-1] == short.index[-1]  # same end date
    cfg = {**FAST, "max_epochs": 2, "window": 24}
    bt = Forecaster(6, **cfg).backtest([long, short], 6, start=-18)  # short: 28, 34, 40 steps
    per_series = [w.series for w in bt.windows]
    assert per_series.count("long") == 3
    assert per_series.count("short") == 2  # from the first origin where it holds 24 + 6 steps


def test_a_file_saved_by_the_first_format_still_loads() -> None:
    """``saved/forecaster_v1.pt``: Forecaster(3, window=14, ensemble=1, max_epochs=2, hidden_size=4)
    fitted on 60 days of ``10 + sin(2 pi t / 7)`` by lstmkit before the estimator base."""
    from pathlib import Path

    t = np.arange(60)
    s = daily(10 + np.sin(2 * np.pi * t / 7), name="weekly")
    model = Forecaster.load(Path(__file__).parent / "saved" / "forecaster_v1.pt")
    assert (model.config.architecture, model.name) == ("lstm", "LSTM")  # no architecture saved: an LSTM
    point = model.predict(series=s).point
    assert np.allclose(point, [9.877233184710066, 10.043534694243226, 9.765595257513564], rtol=1e-6, atol=0)


def test_every_argument_reaches_the_settings() -> None:
    from dataclasses import asdict, fields

    from lstmkit.apps.forecasting.estimator import ForecasterConfig

    values = {
        "window": 9, "strategy": "seq2seq", "likelihood": "gaussian", "architecture": "gru",
        "hidden_size": 7, "num_layers": 2, "dropout": 0.2, "variant": "cifg", "engine": "reference",
        "num_heads": 7, "kernel_size": 5, "log": False, "normalize": "global",
        "calendar": False, "ensemble": 3, "max_epochs": 4, "patience": 5, "batch_size": 6, "lr": 0.01,
        "weight_decay": 0.02, "val_size": 8, "refit": False, "num_samples": 10, "seed": 11, "device": "cpu",
        "level_penalty": 3.0,
    }  # fmt: skip
    assert {f.name for f in fields(ForecasterConfig)} == {"horizon", *values}
    assert asdict(Forecaster(4, **values, progress=False).config) == {"horizon": 4, **values}


def test_a_global_model_relative_to_the_last_value_beats_naive_on_m3_other() -> None:
    from lstmkit.apps.forecasting.competitions import load_m3, pooled
    from lstmkit.apps.forecasting.explain import channel_names

    m3 = load_m3("other")  # 174 short series, horizon 8
    naive = pooled(m3, [np.full(s.horizon, s.train[-1]) for s in m3])["other"]["sMAPE"]  # published 6.30
    model = Forecaster(8, window=8, calendar=False, likelihood="point", normalize="last", log=True,
                       hidden_size=16, max_epochs=12, patience=None, progress=False, seed=0)  # fmt: skip
    model.fit([s.series() for s in m3])
    assert channel_names(model) == ["target (scaled)"]  # no window-level channel
    preds = model.predict(series=[s.series() for s in m3])
    assert isinstance(preds, list)
    score = pooled(m3, [f.point for f in preds])["other"]["sMAPE"]
    assert score < naive - 0.8, (score, naive)


def test_a_series_shorter_than_the_window_in_a_panel_is_padded_not_refused() -> None:
    rng = np.random.default_rng(0)
    panel = [TimeSeries(50 + np.cumsum(rng.normal(0, 1, n)), name=f"s{n}", season=1) for n in (60, 50, 12)]
    model = Forecaster(6, window=24, normalize="last", likelihood="point", calendar=False, max_epochs=2,
                       patience=None, ensemble=1, progress=False)  # fmt: skip
    preds = model.fit(panel).predict(series=panel)  # 12 steps < 24 + 6: one padded window
    assert isinstance(preds, list) and abs(preds[2].point[0] - panel[2].values[-1]) < 5
    with pytest.raises(ValueError, match="too short for an input window of 24 and a horizon of 6"):
        Forecaster(6, window=24, max_epochs=1, progress=False).fit(panel[2])  # alone: refused

"""The forecasting jobs as a library: run (backtest, final fit, forecast, report) and forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.apps.forecasting.job import (
    ForecasterSettings,
    ForecastJobConfig,
    ForecastJobResult,
    RunJobConfig,
    RunJobResult,
    SeriesSource,
    backtest_start,
    default_horizon,
    forecast,
    load_series,
    run,
)
from lstmkit.apps.forecasting.series import TimeSeries

FAST = ForecasterSettings(horizon=3, ensemble=1, max_epochs=1)


@pytest.fixture
def sales(tmp_path) -> SeriesSource:
    t = np.arange(48)
    frame = pd.DataFrame(
        {"month": pd.date_range("2010-01", periods=48, freq="MS"), "sales": 50 + 0.3 * t + 8 * np.sin(t / 2)}
    )
    frame.to_csv(tmp_path / "sales.csv", index=False)
    return SeriesSource(csv=str(tmp_path / "sales.csv"), target="sales", time="month")


def test_run_returns_the_metrics_and_writes_the_report(sales, tmp_path) -> None:
    config = RunJobConfig(
        sales, FAST, windows=2, baselines=("seasonal_naive", "naive"), out=str(tmp_path / "runs")
    )
    result = run(config)
    assert isinstance(result, RunJobResult) and result.folder == str(tmp_path / "runs" / "sales")
    assert [r["model"] for r in result.rows] == ["LSTM", "seasonal naive", "naive"]
    assert (result.horizon, result.stride, result.windows) == (3, 3, 2)
    assert all(np.isfinite(r["MASE"]) for r in result.rows) and len(result.forecast.point) == 3
    assert {p.name for p in (tmp_path / "runs" / "sales").iterdir()} >= {
        "index.html",
        "metrics.json",
        "model.pt",
    }


def test_run_without_out_writes_nothing(sales, tmp_path, capsys) -> None:
    result = run(RunJobConfig(sales, FAST, windows=1, baselines=(), out=None))
    assert result.folder is None and [r["model"] for r in result.rows] == ["LSTM"]
    assert capsys.readouterr().out == ""  # echo is off: a library call prints nothing


def test_forecast_fits_saves_and_backtests(sales, tmp_path) -> None:
    path = tmp_path / "m.pt"
    result = forecast(ForecastJobConfig(sales, FAST, save=str(path), backtest=1))
    assert isinstance(result, ForecastJobResult) and path.is_file()
    assert [r["model"] for r in result.backtest_rows] == ["LSTM", "seasonal naive", "ARIMA", "ETS"]
    again = forecast(ForecastJobConfig(sales, ForecasterSettings(), load=str(path)))
    assert again.backtest_rows == [] and len(again.forecast.point) == 3


def test_load_series_checks_the_source(sales) -> None:
    with pytest.raises(ValueError, match="--csv and --dataset"):
        load_series(SeriesSource(dataset="airline", csv=sales.csv, target="sales"))
    with pytest.raises(ValueError, match="--time: only used with --csv"):
        load_series(SeriesSource(dataset="airline", time="month"))
    with pytest.raises(ValueError, match="--dataset or --csv"):
        load_series(SeriesSource(default_dataset=None))
    with pytest.raises(ValueError, match="--device"):
        load_series(SeriesSource(), device="tpu")
    panel, name = load_series(SeriesSource(dataset="stocks"))
    assert name == "stocks" and isinstance(panel, list) and len(panel) == 5
    series, name = load_series(SeriesSource(dataset="AirPassengers", season=6))
    assert name == "airline" and isinstance(series, TimeSeries) and series.season == 6


def test_horizon_and_first_origin() -> None:
    monthly = TimeSeries(np.arange(100.0), pd.date_range("2000-01", periods=100, freq="MS"))
    assert default_horizon(monthly) == 12
    assert default_horizon(TimeSeries(np.arange(100.0))) == 10
    assert backtest_start(monthly, 12, 3, 12, "--windows") == 100 - 12 - 24
    with pytest.raises(ValueError, match="too short for 7 backtest windows"):
        backtest_start(monthly, 12, 7, 12, "--windows")
    with pytest.raises(ValueError, match="--windows: expected at least 1 window"):
        backtest_start(monthly, 12, 0, 12, "--windows")

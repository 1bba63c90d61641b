"""The report of `lstmkit run`: the printed summary and the run folder."""

from __future__ import annotations

import json

import pytest

from lstmkit.apps.forecasting.job import ForecasterSettings, RunJobConfig, SeriesSource, run
from lstmkit.apps.forecasting.report import METRIC_COLUMNS, summary, write_report


@pytest.fixture(scope="module")
def result():
    settings = ForecasterSettings(horizon=6, ensemble=1, max_epochs=1)
    return run(
        RunJobConfig(
            SeriesSource(dataset="shampoo"), settings, windows=1, baselines=("seasonal_naive",), out=None
        )
    )


def test_summary_is_the_table_with_its_verdict(result) -> None:
    lines = summary(result).splitlines()
    assert lines[0].startswith("sales: backtest over 1 windows of 6 steps (stride 6)")
    assert lines[1].split() == METRIC_COLUMNS
    assert lines[-1].startswith("LSTM vs seasonal naive: MASE")


def test_write_report_writes_every_file(result, tmp_path) -> None:
    folder = tmp_path / "shampoo"
    write_report(result, str(folder))
    names = {p.name for p in folder.iterdir()}
    expected = {"index.html", "forecast.png", "backtest.png", "loss.png", "metrics.csv", "metrics.json"}
    assert expected | {"forecast.csv", "backtest.csv", "model.pt"} <= names
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["series"] == "sales" and metrics["horizon"] == 6 and len(metrics["metrics"]) == 2
    page = (folder / "index.html").read_text()
    assert "Backtest metrics" in page and "LSTM gates and cell states" in page
    assert (
        "The layer encoder.layer (LSTM(" in page and "of the last 4 forecast origins, 6 steps apart" in page
    )
    assert {"gates_saturation.png", "gates_heatmaps.png"} <= names


def test_another_architecture_is_named_in_the_table_and_the_report(tmp_path) -> None:
    settings = ForecasterSettings(horizon=6, ensemble=1, max_epochs=1, architecture="tcn", kernel_size=2)
    tcn = run(
        RunJobConfig(
            SeriesSource(dataset="shampoo"), settings, windows=1, baselines=("seasonal_naive",), out=None
        )
    )
    assert (tcn.final.config.architecture, tcn.final.config.kernel_size) == ("tcn", 2)
    assert [r["model"] for r in tcn.rows] == ["TCN", "seasonal naive"]
    assert summary(tcn).splitlines()[-1].startswith("TCN vs seasonal naive: MASE")
    write_report(tcn, str(tmp_path / "tcn"))
    page = (tmp_path / "tcn" / "index.html").read_text()
    assert "TCN forecaster: strategy direct" in page and "LSTM gates" not in page  # no LSTM, no gates

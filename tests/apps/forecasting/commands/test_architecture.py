"""`lstmkit run` and `lstmkit forecast` with --architecture: the options reach the forecaster,
and a saved forecaster records its architecture."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit import Forecaster
from lstmkit.apps.forecasting.commands.options import model_settings
from lstmkit.cli import build_parser, main


def test_the_architecture_options_reach_the_forecaster() -> None:
    for verb in ("run", "forecast"):
        args = build_parser().parse_args(
            [verb, "--architecture", "transformer", "--heads", "2", "--hidden", "8"]
        )
        config = model_settings(args).build(6, progress=False).config
        assert (config.architecture, config.num_heads, config.hidden_size) == ("transformer", 2, 8)
    args = build_parser().parse_args(["forecast", "--architecture", "tcn", "--kernel-size", "4"])
    assert (model_settings(args).architecture, model_settings(args).kernel_size) == ("tcn", 4)
    default = model_settings(build_parser().parse_args(["forecast"])).build(6, progress=False)
    assert (default.config.architecture, default.name, default.config.normalize) == ("lstm", "LSTM", "auto")
    args = build_parser().parse_args(["forecast", "--architecture", "es-lstm", "--normalize", "last"])
    config = model_settings(args).build(6, progress=False).config
    assert (config.architecture, config.normalize) == ("es-lstm", "last")


def test_an_unknown_architecture_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["forecast", "--architecture", "lstm-fcn"])
    assert "invalid choice: 'lstm-fcn'" in capsys.readouterr().err


def test_forecast_saves_a_gru_forecaster_that_loads_back(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = np.arange(60)
    y = 20 + 5 * np.sin(2 * np.pi * t / 12)
    csv = tmp_path / "y.csv"
    pd.DataFrame({"month": pd.date_range("2010-01", periods=60, freq="MS"), "y": y}).to_csv(csv, index=False)
    saved = tmp_path / "gru.pt"
    argv = ["forecast", "--csv", str(csv), "--target", "y", "--time", "month", "--architecture", "gru"]
    argv += ["--hidden", "8", "--ensemble", "1", "--max-epochs", "2", "--save", str(saved), "--no-progress"]
    assert main(argv) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 12  # the header, one season
    loaded = Forecaster.load(saved)
    assert (loaded.config.architecture, loaded.name, loaded.config.hidden_size) == ("gru", "GRU", 8)

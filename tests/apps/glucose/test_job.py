"""The glucose job end to end on a tiny cohort, the split by patient, the command's errors and help."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from lstmkit.apps.glucose.clarke import rmse
from lstmkit.apps.glucose.job import GlucoseJobConfig, run, split_patients
from lstmkit.apps.glucose.simulate import GROUPS, patient_group
from lstmkit.cli import main

from .conftest import TINY_DAYS


def test_the_split_holds_out_patients_of_every_group() -> None:
    names = [f"{g}#{k:03d}" for k in range(1, 11) for g in GROUPS]
    train, test = split_patients(names, 0.3, seed=0)
    assert sorted(train + test) == sorted(names) and not set(train) & set(test)
    for g in GROUPS:
        assert sum(patient_group(n) == g for n in test) == 3
    assert split_patients(names, 0.3, seed=0) == (train, test)
    assert split_patients(names, 0.3, seed=1) != (train, test)
    assert split_patients(["adult#001", "adolescent#001", "child#001"], 0.3, 0)[1] == ["child#001"]


@pytest.mark.slow
def test_the_global_lstm_learns_to_forecast_an_unseen_patient(tiny_cache, tmp_path, capsys) -> None:
    config = GlucoseJobConfig(
        patients=1,
        days=TINY_DAYS,
        horizons=(30,),
        window=24,
        epochs=20,
        patience=20,
        ensemble=1,
        batch_size=128,
        cache=str(tiny_cache),
        out=str(tmp_path),
        name="tiny",
        progress=False,
        echo=True,
    )
    result = run(config)
    assert result.train == ["adult#001", "adolescent#001"] and result.test == ["child#001"]
    rows = {row["model"]: row for row in result.rows}
    # what a network that learned nothing could do at best: the test patient's mean, known in advance
    s = result.series[0]
    origins = result.origins[s.name]
    truth = s.values[origins + 5]
    constant = rmse(truth, np.full(len(truth), s.values[: origins[0]].mean()))
    assert rows["LSTM"]["RMSE"] < 0.75 * constant, (rows["LSTM"]["RMSE"], constant)
    assert rows["LSTM"]["RMSE"] < 1.3 * rows["persistence"]["RMSE"]
    assert rows["LSTM"]["A+B"] > 90  # one epoch at lr 1e-5 misses this and the bound on the RMSE
    for row in result.rows:
        assert sum(row[z] for z in "ABCDE") == pytest.approx(100)
    out = capsys.readouterr().out
    assert "test patients (1): child#001" in out and "persistence       30" in out
    folder = tmp_path / "tiny"
    for name in ("index.html", "metrics.json", "clarke_30.png", "day_30.png"):
        assert (folder / name).is_file(), name
    metrics = json.loads((folder / "metrics.json").read_text())
    assert [r["model"] for r in metrics["rows"]] == ["persistence", "ARIMA", "LSTM"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--horizons", "30", "7"], "--horizons: expected minutes, multiples of 5, got [30, 7]"),
        (["--patients", "0"], "--patients: expected patients per group, an int in 1..10, got 0"),
        (["--test-share", "1"], "--test-share: expected a fraction in (0, 1), got 1.0"),
        (["--patients", "1", "--days", "0.1"], "--days: a test trace of 29 steps leaves no forecast origin"),
    ],
)
def test_the_command_reports_bad_settings_in_one_line(flags, message, tiny_cache, tmp_path, caplog) -> None:
    argv = ["glucose", *flags, "--cache", str(tiny_cache), "--out", str(tmp_path), "--no-progress"]
    with caplog.at_level(logging.ERROR):
        assert main(argv) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith(message) and "\n" not in errors[0]


def test_help(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["glucose", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--patients", "--days", "--horizons", "--quick", "--cache", "--no-covariates"):
        assert flag in out

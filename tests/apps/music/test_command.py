"""``lstmkit music``: help, a tiny train-then-generate run on a few chorales, one-line errors."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest

from lstmkit.apps.music import data
from lstmkit.cli import main

pytest.importorskip("music21")

TINY = [
    "--hidden",
    "8",
    "--epochs",
    "2",
    "--patience",
    "1",
    "--length",
    "12",
    "--primer",
    "4",
    "--no-progress",
]


@pytest.fixture
def few_chorales(tmp_path, monkeypatch) -> None:
    """Ten chorales (6 train, 2 valid, 2 test), parsed into a cache under ``tmp_path``."""
    names = data.chorale_names()[:10]
    monkeypatch.setattr(data, "chorale_names", lambda: names)
    monkeypatch.setenv("LSTMKIT_DATA", str(tmp_path / "data"))


def test_help(capsys) -> None:
    for argv in (["music", "--help"], ["music", "train", "--help"], ["music", "generate", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--temperature" in out and "--model" in out and "--resolution" in out


@pytest.mark.usefixtures("few_chorales")
def test_train_then_generate(tmp_path, capsys) -> None:
    from lstmkit.apps.music.midi import read_midi

    runs = tmp_path / "runs"
    assert main(["music", "train", *TINY, "--out", str(runs), "--name", "t"]) == 0
    out = capsys.readouterr().out
    assert "LSTM" in out and "per-pitch marginal" in out and "repeat previous frame" in out
    rows = json.loads((runs / "t" / "metrics.json").read_text())["rows"]
    assert len(rows) == 3 and all(math.isfinite(r["test_nll"]) for r in rows)
    for name in ("index.html", "model.pt", "chorale.png", "loss.png", "sample.png", "sample.mid"):
        assert (runs / "t" / name).is_file(), name
    model = str(runs / "t" / "model.pt")
    argv = ["music", "generate", "--model", model, "--length", "16", "--primer", "0", "--seed", "3"]
    assert main([*argv, "--out", str(runs), "--name", "g", "--no-progress"]) == 0
    assert "generated 16 frames" in capsys.readouterr().out
    summary = json.loads((runs / "g" / "metrics.json").read_text())
    assert summary["task"] == "generate" and (runs / "g" / "sample.png").is_file()
    roll = read_midi(runs / "g" / "sample.mid")
    assert len(roll) <= 16 and np.isin(roll, (0, 1)).all()


def test_errors_are_one_line(tmp_path, caplog) -> None:
    user_file = tmp_path / "not-a-model.pt"
    user_file.write_text("mine")
    with caplog.at_level(logging.ERROR):
        assert (
            main(["music", "generate", "--model", str(tmp_path / "missing.pt"), "--out", str(tmp_path)]) == 1
        )
        assert main(["music", "train", "--primer", "20", "--length", "10", "--out", str(tmp_path)]) == 1
        assert main(["music", "generate", "--model", str(user_file), "--out", str(tmp_path)]) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 3 and all("\n" not in e for e in errors)
    assert errors[0].startswith("--model: no such file") and errors[1].startswith("--primer: expected")
    assert "not a saved lstmkit ChoraleLSTM" in errors[2]
    assert user_file.read_text() == "mine"


@pytest.mark.usefixtures("few_chorales")
def test_bad_chorale_index_before_training(tmp_path, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        assert main(["music", "train", *TINY, "--chorale", "99", "--out", str(tmp_path)]) == 1
    (error,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.startswith("--chorale: expected a test chorale index in 0..1, got 99")
    assert not (tmp_path / "music").exists()


@pytest.mark.usefixtures("few_chorales")
def test_train_a_transformer_at_the_lstms_size(tmp_path, capsys, caplog) -> None:
    tiny = [a for a in TINY if a not in ("--hidden", "8")]
    with caplog.at_level(logging.INFO, logger="lstmkit.music"):
        argv = ["music", "train", "--architecture", "transformer", *tiny, "--out", str(tmp_path)]
        assert main([*argv, "--name", "tf"]) == 0
    assert "Transformer" in capsys.readouterr().out
    size = json.loads((tmp_path / "tf" / "metrics.json").read_text())["size"]
    assert size["num_layers"] == 2 and abs(size["params"] / size["lstm_128_params"] - 1) <= 0.10
    assert any("parameters (an LSTM of 128 units" in r.getMessage() for r in caplog.records)
    argv = ["music", "generate", "--model", str(tmp_path / "tf" / "model.pt"), "--length", "10"]
    assert main([*argv, "--out", str(tmp_path), "--name", "g", "--no-progress"]) == 0

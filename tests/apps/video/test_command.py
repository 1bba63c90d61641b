"""``lstmkit video``: help, a tiny end-to-end run, one-line errors."""

from __future__ import annotations

import json
import logging
import math

import pytest

from lstmkit.cli import main

TINY = [
    "--train",
    "16",
    "--test",
    "8",
    "--frames",
    "6",
    "--context",
    "3",
    "--epochs",
    "1",
    "--hidden",
    "4",
    "--num-layers",
    "1",
    "--no-progress",
]


def test_help(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["video", "--help"])
    assert exc.value.code == 0
    assert "predict" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["video", "detect", "--help"])
    assert "--architecture" in capsys.readouterr().out


def test_predict_end_to_end(tmp_path, capsys) -> None:
    assert main(["video", "predict", *TINY, "--out", str(tmp_path), "--name", "run"]) == 0
    out = capsys.readouterr().out
    assert "convlstm" in out and "copy-last" in out
    rows = json.loads((tmp_path / "run" / "metrics.json").read_text())["rows"]
    assert all(math.isfinite(r["mse"]) and math.isfinite(r["ssim"]) for r in rows)
    assert (tmp_path / "run" / "index.html").is_file() and (tmp_path / "run" / "model.pt").is_file()
    assert (
        main(["video", "predict", *TINY, "--out", str(tmp_path), "--name", "run"]) == 0
    )  # own run: replaced


def test_errors_are_one_line(tmp_path, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        assert main(["video", "classify", "--architecture", "fc-lstm", "--out", str(tmp_path)]) == 1
        assert main(["video", "predict", "--train", "1", "--out", str(tmp_path)]) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and all("\n" not in e for e in errors)
    assert errors[0].startswith("--architecture: expected one of") and errors[1].startswith("--train:")

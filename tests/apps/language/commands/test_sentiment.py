"""`lstmkit sentiment train|predict` end to end, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstmkit.cli import main


def test_sentiment_cli_train_predict_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    run = tmp_path / "sent"
    rc = main(
        [
            "sentiment",
            "train",
            "--embed-dim",
            "8",
            "--hidden-size",
            "8",
            "--max-steps",
            "3",
            "--epochs",
            "1",
            "--run-dir",
            str(run),
            "--no-progress",
            "--no-baseline",
            "--ensemble",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "test acc" in out and "ensemble of 2" in out
    rc = main(
        ["sentiment", "predict", "--checkpoint", str(run), "--attention", "a gorgeous film", "zzqx ☃ " * 300]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and len(lines) == 2
    assert lines[0].split("\t")[0] in ("negative", "positive") and "attention:" in lines[0]
    assert main(["sentiment", "predict", "--checkpoint", str(run), ""]) == 1
    assert "non-empty text" in caplog.text
    assert main(["textgen", "sample", "--checkpoint", str(run)]) == 1  # a sentiment model is no LM
    assert "is not an lstmkit lm model" in caplog.text

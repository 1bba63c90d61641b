"""`lstmkit translate train|predict` end to end, with the attention heat map."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstmkit.cli import main


def test_translate_cli_train_predict_with_attention_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "tr"
    rc = main(
        [
            "translate",
            "train",
            "--embed-dim",
            "16",
            "--hidden-size",
            "16",
            "--bpe-merges",
            "200",
            "--max-steps",
            "3",
            "--epochs",
            "1",
            "--eval-limit",
            "12",
            "--beam",
            "2",
            "--run-dir",
            str(run),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "BLEU" in out and "FreeDict word-by-word" in out
    assert (run / "attention.png").read_bytes()[:4] == b"\x89PNG" and (run / "report.html").is_file()
    png = tmp_path / "att.png"
    rc = main(
        [
            "translate",
            "predict",
            "--checkpoint",
            str(run),
            "--beam",
            "1",
            "--attention-png",
            str(png),
            "Open the file",
            "",
            "x" * 2000,
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert rc == 0 and len(lines) == 3 and png.read_bytes()[:4] == b"\x89PNG"

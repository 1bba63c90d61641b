"""`--architecture` of `lstmkit textgen|sentiment|translate train`: a comparison model trains, is
saved and is used by the other subcommand; an option of another architecture is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstmkit.apps.language.bundle import load_bundle
from lstmkit.cli import main


def test_textgen_cli_transformer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    text = tmp_path / "tiny.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    common = ["--text-file", str(text), "--embed-dim", "8", "--hidden-size", "16", "--layers", "1",
              "--bptt", "16", "--batch-size", "4", "--max-steps", "3", "--no-progress",
              "--sample-length", "20", "--ngram-orders", ""]  # fmt: skip
    run = tmp_path / "gpt"
    rc = main(
        ["textgen", "train", *common, "--architecture", "transformer", "--heads", "2", "--run-dir", str(run)]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "Transformer 1x16, emb 8" in out
    bundle, _ = load_bundle(run, "lm")
    assert bundle["config"]["architecture"] == "transformer" and bundle["config"]["context"] == 16
    assert bundle["config"]["num_heads"] == 2
    rc = main(
        ["textgen", "sample", "--checkpoint", str(run), "--prime", "the ", "--length", "40", "--seed", "1"]
    )
    assert rc == 0 and capsys.readouterr().out.startswith("the ")
    assert main(["textgen", "train", *common, "--context", "64", "--run-dir", str(tmp_path / "x")]) == 1
    assert "--context: a Transformer's option" in caplog.text
    assert main(["textgen", "train", *common, "--architecture", "gru", "--weight-drop", "0.5",
                 "--run-dir", str(tmp_path / "y")]) == 1  # fmt: skip
    assert "weight_drop: an option of 'lstm' only" in caplog.text
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_sentiment_cli_transformer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    run = tmp_path / "sent"
    common = ["sentiment", "train", "--embed-dim", "8", "--hidden-size", "8", "--max-steps", "3",
              "--epochs", "1", "--no-progress", "--no-baseline"]  # fmt: skip
    rc = main([*common, "--architecture", "transformer", "--heads", "2", "--run-dir", str(run)])
    out = capsys.readouterr().out
    assert rc == 0 and "Transformer 8 + mean pooling" in out
    bundle, _ = load_bundle(run, "sentiment")
    assert bundle["config"]["architecture"] == "transformer" and "input_dropout" not in bundle["config"]
    rc = main(["sentiment", "predict", "--checkpoint", str(run), "a gorgeous film", "a dull one"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and len(lines) == 2 and lines[0].split("\t")[0] in ("negative", "positive")
    assert (
        main([*common, "--architecture", "tcn", "--input-dropout", "0.3", "--run-dir", str(tmp_path / "x")])
        == 1
    )
    assert "input_dropout: an option of ('lstm', 'gru', 'rnn') only, got 0.3" in caplog.text


def test_translate_cli_transformer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    run = tmp_path / "tr"
    common = ["translate", "train", "--pairs", "numbers-en-fr", "--tokenizer", "word", "--embed-dim", "16",
              "--hidden-size", "16", "--max-steps", "3", "--epochs", "1", "--eval-limit", "8", "--beam", "2",
              "--no-progress", "--no-baseline"]  # fmt: skip
    rc = main(
        [*common, "--architecture", "transformer", "--heads", "2", "--layers", "2", "--run-dir", str(run)]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "Transformer greedy" in out and "Transformer beam 2" in out
    assert (run / "attention.png").is_file()
    bundle, _ = load_bundle(run, "translate")
    assert bundle["config"]["architecture"] == "transformer" and bundle["config"]["num_layers"] == 2
    png = tmp_path / "a.png"
    rc = main(["translate", "predict", "--checkpoint", str(run), "--beam", "2", "--attention-png", str(png),
               "twenty one", "three hundred"])  # fmt: skip
    assert rc == 0 and len(capsys.readouterr().out.strip().splitlines()) == 2 and png.is_file()
    assert (
        main(
            [
                *common,
                "--architecture",
                "transformer",
                "--attention",
                "luong",
                "--run-dir",
                str(tmp_path / "x"),
            ]
        )
        == 1
    )
    assert "attention: an LSTM decoder's" in caplog.text

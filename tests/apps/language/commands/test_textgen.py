"""`lstmkit textgen train|sample` end to end, and a failed run that changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstmkit.cli import main


def test_textgen_cli_train_and_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    text = tmp_path / "tiny.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    run = tmp_path / "run"
    rc = main(
        [
            "textgen",
            "train",
            "--text-file",
            str(text),
            "--embed-dim",
            "8",
            "--hidden-size",
            "16",
            "--layers",
            "1",
            "--bptt",
            "16",
            "--batch-size",
            "4",
            "--max-steps",
            "3",
            "--run-dir",
            str(run),
            "--no-progress",
            "--sample-length",
            "20",
            "--ngram-orders",
            "3",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "valid bits/char" in out and "Kneser-Ney 3-gram" in out
    assert (run / "model.pt").is_file()
    rc = main(
        [
            "textgen",
            "sample",
            "--checkpoint",
            str(run),
            "--prime",
            "the ☃ fox",
            "--length",
            "15",
            "--seed",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and out.startswith("the ☃ fox") and len(out.strip()) >= len("the ☃ fox") + 5
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 ".encode("latin-1") * 100)
    assert main(["textgen", "train", "--text-file", str(bad), "--run-dir", str(tmp_path / "r2")]) == 1
    assert "not valid utf-8" in caplog.text
    assert main(["textgen", "sample", "--checkpoint", str(tmp_path / "nothing")]) == 1


def test_a_failed_textgen_run_leaves_the_previous_run_as_it_was(tmp_path: Path, monkeypatch) -> None:
    import lstmkit.apps.language.textgen as textgen

    text = tmp_path / "tiny.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    run = tmp_path / "run"
    cmd = ["textgen", "train", "--text-file", str(text), "--embed-dim", "8", "--hidden-size", "16",
           "--layers", "1", "--bptt", "16", "--batch-size", "4", "--max-steps", "3", "--run-dir", str(run),
           "--no-progress", "--sample-length", "5", "--ngram-orders", "3"]  # fmt: skip
    assert main(cmd) == 0
    before = {f.name: f.read_bytes() for f in run.iterdir() if f.is_file()}
    assert "model.pt" in before

    def late_failure(*args, **kwargs):
        raise ValueError("disk quota exceeded (simulated, after training)")

    monkeypatch.setattr(textgen, "sample_text", late_failure)
    assert main(cmd) == 1
    assert {f.name: f.read_bytes() for f in run.iterdir() if f.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "tiny.txt"]  # no temporary left

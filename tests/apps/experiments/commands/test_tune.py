"""`lstmkit tune`: help and a small search that writes its results."""

from __future__ import annotations

import json

import pytest

from lstmkit.cli import build_parser, main


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["tune", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    parser = sub.choices["tune"]  # type: ignore[union-attr]
    for action in parser._actions:
        for flag in action.option_strings:
            assert flag in text
        if action.option_strings and action.dest != "help":
            assert action.help, f"tune {action.option_strings} has no help"


def test_tune_cli_writes_results(tmp_path, capsys):
    out = tmp_path / "tune"
    argv = ["tune", "adding", "-T", "12", "--trials", "3", "--epochs", "2", "--sequences-per-epoch", "64"]
    argv += ["--val-size", "32", "--hidden", "4", "8", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "best: trial" in text and "3 trials" in text
    best = json.loads((out / "best.json").read_text())
    assert best["best_params"]["hidden"] in (4, 8) and best["best_value"] > 0
    assert len((out / "trials.csv").read_text().splitlines()) == 4

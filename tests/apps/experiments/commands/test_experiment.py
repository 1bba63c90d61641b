"""`lstmkit experiment`: help, bad input, and a real (fast) success."""

from __future__ import annotations

import json
import re

import pytest

from lstmkit.apps.experiments.registry import EXPERIMENTS
from lstmkit.cli import build_parser, main


def _help(command: str, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["experiment"])
def test_help_documents_every_option(command, capsys):
    text = _help(command, capsys)
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    parser = sub.choices[command]  # type: ignore[union-attr]
    for action in parser._actions:
        for flag in action.option_strings:
            assert flag in text
        if action.option_strings and action.dest != "help":
            assert action.help, f"{command} {action.option_strings} has no help"
    if command == "experiment":
        for name in EXPERIMENTS:
            assert name in text


def test_bad_input_exits_nonzero(caplog):
    assert main(["experiment", "parity"]) == 1
    assert "NAME: expected one of" in caplog.text
    assert main(["experiment", "reber", "--length", "50", "--seeds", "1"]) == 1  # reber has no T
    assert "--length" in caplog.text
    with pytest.raises(SystemExit):
        main(["experiment", "reber", "--cell", "mamba"])


@pytest.mark.slow
def test_experiment_reber_reaches_full_success(tmp_path, capsys):
    out = tmp_path / "reber.json"
    code = main(["experiment", "reber", "--seeds", "2", "--max-sequences", "80000", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("reber "))
    assert re.search(r"\b100%", row), text
    data = json.loads(out.read_text())[0]
    assert data["success_rate"] == 1.0
    for seed in data["seeds"]:
        assert seed["success"] and seed["test_wrong"] == 0 and seed["sequences"] <= 80000
    assert "Adam" in text and "8,440" in text  # the protocol and the paper's number are shown
    assert "solved when all 256 training and 256 test strings are right" in text


def test_continual_reber_test_size_sets_its_streams(capsys):
    args = ["experiment", "continual-reber", "--seeds", "1", "--max-sequences", "50", "--test-size", "768"]
    assert main(args) == 0
    assert "test error on 3 test streams of 1000 strings" in capsys.readouterr().out

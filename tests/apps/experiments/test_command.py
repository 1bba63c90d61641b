"""`lstmkit experiment` and `lstmkit tune`: help, bad input, and a real (fast) success."""

from __future__ import annotations

import json
import re

import pytest

from lstmkit.apps.experiments.commands.experiment import EXPERIMENTS, run_experiment
from lstmkit.cli import build_parser, main


def _help(command: str, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["experiment", "tune"])
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
        main(["experiment", "reber", "--cell", "transformer"])


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


def test_reber_test_size_sets_its_fixed_test_set(capsys):
    res = run_experiment("reber", cell="rnn", seeds=1, hidden=2, max_sequences=200, test_size=40)
    assert res.seeds[0].test_size == 40 and res.settings["task"]["n_test"] == 40
    args = ["experiment", "continual-reber", "--seeds", "1", "--max-sequences", "50", "--test-size", "768"]
    assert main(args) == 0
    assert "test error on 3 test streams of 100 strings" in capsys.readouterr().out


@pytest.mark.slow
def test_an_unsolved_run_is_reported_as_failure():
    # an Elman net with 2 units and 2,000 sequences cannot predict the embedded Reber grammar
    res = run_experiment("reber", cell="rnn", seeds=1, hidden=2, max_sequences=2000)
    assert res.success_rate == 0.0 and res.mean_sequences is None
    assert res.seeds[0].stop == "max_sequences" and res.seeds[0].test_wrong > 0


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


def test_continual_reber_is_one_stream_checked_every_eval_every_strings(monkeypatch):
    import lstmkit.apps.experiments.commands.experiment as exp

    checks, fresh_states = [], []
    judge_stream = exp._judge_stream
    forward = exp.SequenceModel.forward

    def counting_judge(model, task, stream):
        checks.append(len(stream))
        return judge_stream(model, task, stream)

    def watching_forward(self, x, state=None, lengths=None):
        if self.training:
            fresh_states.append(state is None)
        return forward(self, x, state, lengths)

    monkeypatch.setattr(exp, "_judge_stream", counting_judge)
    monkeypatch.setattr(exp.SequenceModel, "forward", watching_forward)
    res = run_experiment("continual-reber", cell="classic", seeds=[0], hidden=4, max_sequences=6000,
                         eval_every=2000, time_limit=120)  # fmt: skip
    seed = res.seeds[0]
    assert not seed.success and 6000 <= seed.sequences < 6100
    # checks at 2,000, 4,000 and 6,000 strings (5 streams each), then the test streams
    assert checks[:3] == [5, 5, 5] and len(checks) == 4
    assert fresh_states[0] and not any(fresh_states[1:])  # the stream never restarts

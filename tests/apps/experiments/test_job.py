"""The experiments job: run_experiment judged by the paper's criteria, and run (several cells,
the task's options, the printed report and the JSON)."""

from __future__ import annotations

import json

import pytest

from lstmkit.apps.experiments.job import ExperimentJobConfig, ExperimentResult, run, run_experiment


def test_reber_test_size_sets_its_fixed_test_set():
    res = run_experiment("reber", cell="rnn", seeds=1, hidden=2, max_sequences=200, test_size=40)
    assert res.seeds[0].test_size == 40 and res.settings["task"]["n_test"] == 40


@pytest.mark.slow
def test_an_unsolved_run_is_reported_as_failure():
    # an Elman net with 2 units and 2,000 sequences cannot predict the embedded Reber grammar
    res = run_experiment("reber", cell="rnn", seeds=1, hidden=2, max_sequences=2000)
    assert res.success_rate == 0.0 and res.mean_sequences is None
    assert res.seeds[0].stop == "max_sequences" and res.seeds[0].test_wrong > 0


def test_run_trains_each_cell_and_writes_the_json(tmp_path, capsys):
    out = tmp_path / "adding.json"
    config = ExperimentJobConfig(
        "4",
        cells=("classic", "gru"),
        length=12,
        json=str(out),
        echo=True,
        settings={"seeds": 1, "hidden": 4, "max_sequences": 256, "test_size": 64},
    )
    results = run(config)
    assert [r.cell for r in results] == ["classic", "gru"]
    assert all(isinstance(r, ExperimentResult) and r.name == "adding" for r in results)
    assert results[0].settings["task"]["T"] == 12 and results[0].seeds[0].sequences >= 256
    text = capsys.readouterr().out
    assert "exp. 4, adding problem" in text and "adding            classic" in text
    assert [d["cell"] for d in json.loads(out.read_text())] == ["classic", "gru"]


def test_run_refuses_an_option_the_task_has_not():
    with pytest.raises(ValueError, match="--q: experiment 'adding' has no option q"):
        run(ExperimentJobConfig("adding", q=3))

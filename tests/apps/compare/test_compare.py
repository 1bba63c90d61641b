"""The comparison app: equal sizes, the rate search, an end-to-end study that learns, latency,
the report's findings and the command line."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import pytest

from lstmkit.apps.compare.base import ARCHITECTURES, CompareTask, Metric, Score, Size
from lstmkit.apps.compare.latency import stream_latency
from lstmkit.apps.compare.registry import NOT_WIRED, TASKS, make_task
from lstmkit.apps.compare.report import lstm_losses, text_table
from lstmkit.apps.compare.sizing import match_sizes
from lstmkit.apps.compare.study import pick_rate, study_model, study_task
from lstmkit.apps.compare.synthetic import SyntheticTask, tcn_blocks
from lstmkit.cli import main


@pytest.mark.parametrize("name", [t for t in TASKS if t not in ("kjv", "en-fr")])
def test_every_architecture_within_ten_percent_of_the_lstm(name: str) -> None:
    task = make_task(name)
    assert task.width == make_task(name, quick=True).width  # a smoke run cuts budgets, not sizes
    sizes = match_sizes(task, task.architectures)
    bad = {a: round(s.ratio, 3) for a, s in sizes.items() if not s.matched}
    assert not bad, f"{name}: {bad}"


def test_kjv_sizes_within_ten_percent() -> None:
    pytest.importorskip("lstmkit.apps.language.corpora")
    try:
        task = make_task("kjv")
    except Exception as exc:  # the corpus is a Debian package (make data-nlp)
        pytest.skip(f"KJV corpus missing: {exc}")
    for t in (task, make_task("kjv", quick=True)):
        assert all(s.matched for s in match_sizes(t, ARCHITECTURES).values())


def test_tcn_blocks_cover_the_sequence() -> None:
    assert tcn_blocks(55) == 4 and tcn_blocks(1101) == 9
    assert 1 + 4 * (2 ** tcn_blocks(300) - 1) >= 300 > 1 + 4 * (2 ** (tcn_blocks(300) - 1) - 1)


@dataclasses.dataclass(frozen=True)
class _Rigged(CompareTask):
    """Validation prefers lr 0.1; the test split would prefer lr 0.001; lr 1 diverges."""

    def count(self, architecture: str, width: int, layers: int) -> int:
        return width

    def train(self, size: Size, lr: float, seed: int, split: str) -> Score:
        if lr == 1.0:
            return Score(math.nan, 0.0)
        valid = {0.001: 0.5, 0.1: 0.1}[lr]
        return Score(valid if split == "valid" else 1.0 - valid, 0.0)


def test_rate_search_picks_by_validation_never_by_test() -> None:
    task = _Rigged("rigged", "", Metric("loss", False), 1, "steps", (0.001, 0.1, 1.0), 8)
    row = study_model(task, Size("lstm", 8, 1, 8, 8), seeds=2)
    assert row["lr"] == 0.1 and row["mean"] == pytest.approx(0.9)
    assert pick_rate(task, {0.001: math.nan, 0.1: math.nan, 1.0: math.nan}) == 0.1  # all diverged: middle


def test_quick_study_learns_and_beats_an_untrained_model() -> None:
    task = SyntheticTask(
        name="adding-10",
        title="adding, T = 10",
        metric=Metric("test MSE", False),
        budget=6000,
        budget_unit="sequences",
        lrs=(1e-2,),
        width=16,
        depth=(("transformer", 2), ("tcn", tcn_blocks(12))),
        input_size=2,
        T=10,
        test_size=512,
    )
    study = study_task(task, models=("lstm", "tcn"), seeds=1, lengths=(4, 8), repeats=3)
    untrained = dataclasses.replace(task, budget=1)
    for row in study["models"]:
        size = match_sizes(task, (row["model"],))[row["model"]]
        before = untrained.train(size, 1e-2, 0, "test").value
        assert row["mean"] < 0.5 * before, (row["model"], row["mean"], before)
        assert row["matched"]
    assert "adding-10" in text_table(study)


def test_latency_positive_and_only_the_transformer_state_grows() -> None:
    lengths = (8, 64, 256)
    lstm = stream_latency(Size("lstm", 16, 1, 0, 0), 2, lengths, repeats=3)
    gpt = stream_latency(Size("transformer", 16, 2, 0, 0), 2, lengths, repeats=3)
    tcn = stream_latency(Size("tcn", 8, 3, 0, 0), 2, lengths, repeats=3)
    for rows in (lstm, gpt, tcn):
        assert all(r["median_ms"] > 0 and r["param_bytes"] > 0 for r in rows)
    assert len({r["state_bytes"] for r in lstm}) == 1
    assert lstm[0]["state_bytes"] == 2 * 16 * 4  # h and c, float32
    kv = [r["state_bytes"] for r in gpt]
    assert kv == sorted(kv) and kv[-1] == kv[0] * lengths[-1] // lengths[0]
    assert tcn[1]["state_bytes"] == tcn[2]["state_bytes"]  # its receptive field, once L covers it


def test_lstm_losses_come_from_the_numbers() -> None:
    def row(model: str, mean: float, std: float, seconds: float) -> dict[str, object]:
        return {"model": model, "kind": "neural", "mean": mean, "std": std, "train_seconds": seconds,
                "runs": [], "params": 1, "param_ratio": 1.0, "matched": True, "lr": 0.01}  # fmt: skip

    study = {
        "task": "t", "metric": "MSE", "higher_better": False, "seeds": 3, "budget": 1, "budget_unit": "steps",
        "models": [row("lstm", 0.10, 0.01, 10.0), row("gru", 0.05, 0.01, 5.0), row("tcn", 0.2, 0.0, 20.0)],
        "latency": {"lstm": [{"length": 64, "median_ms": 1.0, "state_bytes": 8}],
                    "gru": [{"length": 64, "median_ms": 0.5, "state_bytes": 4}]},
    }  # fmt: skip
    found = lstm_losses(study)
    assert any("gru MSE 0.05" in f and "clearly" in f for f in found)
    assert any("gru trains in 5.0 s" in f for f in found)
    assert any("gru streams a step" in f for f in found)
    assert not any("tcn" in f for f in found)


def test_cli_help_bad_task_and_a_tiny_run(
    tmp_path: os.PathLike[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--help"])
    assert exc.value.code == 0 and "--seeds" in capsys.readouterr().out
    assert main(["compare", "nope"]) == 1
    assert not NOT_WIRED and main(["compare", "vader", "--models", "ngram"]) == 1  # not a model of vader
    assert main(["compare", "adding-50", "--seeds", "0"]) == 1
    out = os.path.join(tmp_path, "cmp")
    argv = ["compare", "adding-50", "--quick", "--models", "lstm", "gru", "--seeds", "1", "--lrs", "0.01",
            "--budget", "64", "--lengths", "4", "--repeats", "2", "--out", out, "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert "lstm" in capsys.readouterr().out
    for name in ("results.json", "table.txt", "index.html", "metric_vs_time.png", "latency.png"):
        assert os.path.exists(os.path.join(out, name)), name
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        assert [m["model"] for m in json.load(f)["models"]] == ["lstm", "gru"]

"""The comparison's language tasks: VADER sentiment (every architecture and the bag of words)
and en->fr translation (the LSTM and the Transformer, the two Seq2Seq architectures): equal
sizes without the shared embeddings, and tiny studies whose trained networks beat untrained
ones on the task's metric."""

from __future__ import annotations

import dataclasses

import pytest

from lstmkit.apps.compare.base import ARCHITECTURES, CompareTask, Metric
from lstmkit.apps.compare.registry import make_task
from lstmkit.apps.compare.sentiment import SentimentTask
from lstmkit.apps.compare.sizing import match_sizes
from lstmkit.apps.compare.study import study_task
from lstmkit.apps.compare.translation import TranslationTask
from lstmkit.apps.language.seq2seq import ARCHITECTURES as SEQ2SEQ


def _task(name: str, quick: bool) -> CompareTask:
    try:
        return make_task(name, quick=quick)
    except Exception as exc:  # the corpora are Debian packages (make data-nlp)
        pytest.skip(f"{name} data missing: {exc}")


@pytest.mark.parametrize("quick", [True, False])
def test_language_sizes_within_ten_percent(quick: bool) -> None:
    vader, en_fr = _task("vader", quick), _task("en-fr", quick)
    assert vader.architectures == ARCHITECTURES and "bow" in vader.models
    assert en_fr.architectures == SEQ2SEQ == ("lstm", "transformer") and "gru" not in en_fr.models
    for task in (vader, en_fr):
        sizes = match_sizes(task, task.architectures)
        assert all(s.matched for s in sizes.values()), {a: s.ratio for a, s in sizes.items()}


def _vader(**kw: object) -> SentimentTask:
    _task("vader", True)
    base = SentimentTask(
        name="vader-tiny", title="", metric=Metric("accuracy", True), budget=2, budget_unit="epochs",
        lrs=(1e-2,), width=16, depth=(("transformer", 1), ("tcn", 3)), baselines=("bow",),
        input_size=64, train_texts=2000,
    )  # fmt: skip
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("architecture", ["lstm", "transformer"])
def test_vader_trained_beats_untrained(architecture: str) -> None:
    task = _vader()
    size = match_sizes(task, (architecture,))[architecture]
    trained = task.train(size, 1e-2, 0, "test").value
    untrained = dataclasses.replace(task, lrs=(1e-9,)).train(size, 1e-9, 0, "test").value  # no step moves
    assert trained > max(untrained, 0.55) + 0.05, (architecture, trained, untrained)


def test_vader_study_with_the_bag_of_words() -> None:
    study = study_task(_vader(budget=1), models=("lstm", "bow"), seeds=1, lengths=(4,), repeats=2)
    rows = {r["model"]: r for r in study["models"]}
    assert rows["bow"]["kind"] == "baseline" and 0.6 < rows["bow"]["mean"] <= 1.0
    assert rows["lstm"]["matched"] and 0.0 <= rows["lstm"]["mean"] <= 1.0
    assert study["metric"] == "accuracy" and study["higher_better"]


def _numbers(**kw: object) -> TranslationTask:
    base = TranslationTask(
        name="numbers", title="", metric=Metric("BLEU", True), budget=4, budget_unit="epochs",
        lrs=(1e-2,), width=32, baselines=("dictionary",), input_size=64, architectures=SEQ2SEQ,
        pairs="numbers-en-fr", tokenizer="word", train_pairs=1200, eval_pairs=100,
    )  # fmt: skip
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_translation_trained_beats_untrained() -> None:
    task = _numbers()
    size = match_sizes(task, ("lstm",))["lstm"]
    trained = task.train(size, 1e-2, 0, "test").value
    untrained = task.train(size, 1e-9, 0, "test").value
    assert trained > untrained + 5.0, (trained, untrained)


def test_translation_refuses_an_architecture_seq2seq_lacks() -> None:
    task = _numbers()
    with pytest.raises(ValueError, match="models: expected some of lstm, transformer, dictionary"):
        study_task(task, models=("gru",), seeds=1)

"""The time budget of the language trainings."""

from __future__ import annotations

from lstmkit.apps.language.corpora import load_text_corpus
from lstmkit.apps.language.text import CharTokenizer
from lstmkit.apps.language.textgen import train_language_model


def test_time_budget_stops_training() -> None:
    c = load_text_corpus("pydoc")
    res = train_language_model(
        c.train[:20_000],
        c.valid[:2_000],
        CharTokenizer(),
        model_kwargs={"embed_dim": 8, "hidden_size": 16, "num_layers": 1},
        batch_size=4,
        bptt=16,
        epochs=5,
        time_budget=1e-6,
        progress=False,
    )
    assert res.steps == 1 and res.cpu_seconds > 0 and res.wall_seconds > 0

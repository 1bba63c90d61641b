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


def test_the_trainers_take_training_options_or_their_fields_one_by_one() -> None:
    import pytest

    from lstmkit.apps.language.textgen import TRAINING
    from lstmkit.apps.language.training import TrainOptions, train_options

    options = TrainOptions(lr=1e-2, batch_size=4, epochs=5, max_steps=3, progress=False)
    assert train_options(options, {"epochs": 1, "seed": 7}) == TrainOptions(
        lr=1e-2, batch_size=4, epochs=1, max_steps=3, seed=7, progress=False
    )
    with pytest.raises(TypeError, match="threads"):
        train_options(options, {"threads": 2})  # the job's, not a trainer's
    c = load_text_corpus("pydoc")
    model_kwargs = {"embed_dim": 8, "hidden_size": 16, "num_layers": 1}
    by_keywords = train_language_model(
        c.train[:20_000],
        c.valid[:2_000],
        CharTokenizer(),
        model_kwargs=model_kwargs,
        bptt=16,
        lr=1e-2,
        batch_size=4,
        epochs=5,
        max_steps=3,
        progress=False,
    )
    by_options = train_language_model(
        c.train[:20_000],
        c.valid[:2_000],
        CharTokenizer(),
        model_kwargs=model_kwargs,
        bptt=16,
        training=options,
    )
    assert by_keywords.steps == by_options.steps == 3
    assert by_keywords.valid_bits == by_options.valid_bits
    assert TrainOptions(lr=3e-3, batch_size=32, epochs=1) == TRAINING  # the documented defaults

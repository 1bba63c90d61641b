"""The translation job: a short real training and the job as a library."""

from __future__ import annotations

import pytest

from lstmkit.apps.language.corpora import ParallelSplits, load_parallel
from lstmkit.apps.language.translate import corpus_scores, train_translator, translate_texts


@pytest.mark.slow
def test_translator_learns_short_pairs() -> None:
    full = load_parallel()
    short = [(s, t) for s, t in full.train if len(s.split()) <= 2 and len(t.split()) <= 3][:1500]
    data = ParallelSplits("short", "en", "fr", short, short[:64], [])
    res = train_translator(
        data,
        tokenizer="word",
        vocab_size=3000,
        model_kwargs={"embed_dim": 64, "hidden_size": 96},
        lr=5e-3,
        batch_size=32,
        epochs=12,
        patience=None,
        progress=False,
    )
    probe = short[:150]
    outs = translate_texts(res.model, res.src_tok, res.tgt_tok, [s for s, _ in probe], beam_size=1)
    scores = corpus_scores([o for o, _ in outs], [t for _, t in probe])
    assert scores["chrf"] > 60, scores  # an untrained decoder scores ~5, 4 epochs ~12, 12 epochs ~95


def test_the_train_and_predict_jobs_as_a_library(tmp_path) -> None:
    from lstmkit.apps.language.training import TrainOptions
    from lstmkit.apps.language.translate import PredictJobConfig, TranslateJobConfig, predict, run

    options = TrainOptions(
        lr=2e-3, batch_size=64, epochs=1, max_steps=2, run_dir=str(tmp_path / "t"), progress=False
    )
    model = {"embed_dim": 8, "hidden_size": 8, "attention": "luong"}
    config = TranslateJobConfig(options, pairs="numbers-en-fr", tokenizer="word", model=model, beam=2,
                                eval_limit=6, baseline=False)  # fmt: skip
    result = run(config)
    assert [r["system"].split()[2] for r in result.rows] == ["greedy", "beam"]
    assert len(result.samples) == 6 and (tmp_path / "t" / "attention.png").is_file()
    outs = predict(PredictJobConfig(str(tmp_path / "t"), ["twenty one", "three"], beam=1))
    assert len(outs) == 2 and all(isinstance(text, str) for text, _ in outs)


def test_a_beam_below_one_is_refused_before_training() -> None:
    from lstmkit.apps.language.translate import TranslateJobConfig, run

    with pytest.raises(ValueError, match="--beam"):
        run(TranslateJobConfig(beam=0))

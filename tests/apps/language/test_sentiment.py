"""The sentiment job: a short real training, macro F1 and the job as a library."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.language.corpora import load_vader
from lstmkit.apps.language.sentiment import classify, f1_macro, train_classifier


@pytest.mark.slow
def test_sentiment_classifier_learns_vader_movies() -> None:
    d = load_vader("movies")
    res = train_classifier(
        d,
        model_kwargs={"embed_dim": 32, "hidden_size": 32, "dropout": 0.3},
        lr=5e-3,
        batch_size=32,
        epochs=1,
        max_steps=200,
        vocab_size=8000,
        progress=False,
    )
    pred, probs = classify(res.model, res.tokenizer, d.test.texts)
    acc = sum(p == g for p, g in zip(pred, d.test.labels)) / len(pred)
    assert acc > 0.64, acc  # chance is 0.5 on this balanced set
    assert f1_macro(pred, d.test.labels, 2) > 0.6
    torch.testing.assert_close(probs.sum(1), torch.ones(len(pred)))


def test_f1_macro() -> None:
    assert f1_macro([1, 1, 0, 0], [1, 0, 0, 0], 2) == pytest.approx((2 / 3 + 0.8) / 2)
    assert f1_macro([1, 1], [1, 1], 2) == pytest.approx(0.5)


def test_the_train_and_predict_jobs_as_a_library(tmp_path) -> None:
    from lstmkit.apps.language.sentiment import PredictJobConfig, SentimentJobConfig, predict, run
    from lstmkit.apps.language.training import TrainOptions

    options = TrainOptions(
        lr=2e-3, batch_size=32, epochs=1, max_steps=2, run_dir=str(tmp_path / "s"), progress=False
    )
    model = {"embed_dim": 8, "hidden_size": 8, "pooling": "attention"}
    result = run(SentimentJobConfig(options, model=model, ensemble=2, baseline=False))
    assert len(result.members) == 2 and 0 <= result.test_acc <= 1 and 0 <= result.test_f1 <= 1
    assert result.lines[-1].startswith("ensemble of 2")
    page = (tmp_path / "s" / "report.html").read_text()
    assert "LSTM gates and cell states" in page and "ensemble member, on the first 4 test" in page
    assert (tmp_path / "s" / "gates_saturation.png").is_file()
    lines = predict(PredictJobConfig(str(tmp_path / "s"), ["a gorgeous film", "dull"], attention=True))
    assert len(lines) == 2 and all(line.split("\t")[0] in ("negative", "positive") for line in lines)
    assert "attention:" in lines[0]

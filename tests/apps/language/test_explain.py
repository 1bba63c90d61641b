"""Sentiment explanations: completeness of token attributions on a briefly trained VADER model,
attention beside them with Spearman agreement, the HTML."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.language.corpora import load_vader
from lstmkit.apps.language.explain import explain_sentiment
from lstmkit.apps.language.sentiment import train_classifier
from lstmkit.explain.attributions import rank_agreement

TEXTS = ["a gorgeous, moving and funny film", "dull, tedious and far too long", "not bad at all"]


@pytest.fixture(scope="module")
def trained():
    d = load_vader("movies")
    return train_classifier(
        d,
        model_kwargs={"embed_dim": 16, "hidden_size": 16},
        lr=5e-3,
        batch_size=32,
        epochs=1,
        max_steps=400,
        vocab_size=4000,
        progress=False,
    )


def test_token_attributions_are_complete_and_shown_beside_attention(trained, tmp_path) -> None:
    ex = explain_sentiment(trained.model, trained.tokenizer, TEXTS, classes=["negative", "positive"])
    assert ex.max_gap <= 0.01, [t.gap for t in ex.texts]
    first, second = ex.texts[0], ex.texts[1]
    assert (first.target, second.target) == (1, 0)  # trained: an untrained model guesses
    for t in ex.texts:
        assert t.attention is not None
        assert t.attribution.shape == t.attention.shape == (len(t.tokens),)
        assert t.agreement == pytest.approx(rank_agreement(np.abs(t.attribution), t.attention))
        np.testing.assert_allclose(t.attention.sum(), 1.0, rtol=1e-5)
    # the sentiment words push towards the predicted class (a briefly trained model: the sum)
    for t, words in ((first, {"gorgeous", "moving", "funny"}), (second, {"dull", "tedious"})):
        assert sum(a for w, a in zip(t.tokens, t.attribution) if w in words) > 0, t
    html = ex.write(tmp_path, limit=1)[0][1]
    assert html.count("<span title=") == 2 * sum(len(t.tokens) for t in ex.texts)
    assert (tmp_path / "sentiment_tokens_0.png").stat().st_size > 1000 and "sentiment_tokens_0.png" in html
    assert not (tmp_path / "sentiment_tokens_1.png").exists()
    assert "Attention is not explanation" in html


def test_bad_arguments_are_named(trained) -> None:
    with pytest.raises(ValueError, match="model: expected a TextClassifier"):
        explain_sentiment([], trained.tokenizer, TEXTS)
    with pytest.raises(ValueError, match="texts: expected a non-empty list"):
        explain_sentiment(trained.model, trained.tokenizer, "a text")

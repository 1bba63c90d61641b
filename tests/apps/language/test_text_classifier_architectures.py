"""The text classifier's comparison architectures (GRU, RNN, Transformer, TCN): each learns a
sentiment task with negation that no bag of words solves, padding changes nothing, save/load,
old LSTM checkpoints, refused options."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from lstmkit.apps.language.bundle import save_bundle
from lstmkit.apps.language.corpora import LabelledSplits
from lstmkit.apps.language.corpora.vader import LabelledText
from lstmkit.apps.language.sentiment import PredictJobConfig, classify, predict, train_classifier
from lstmkit.apps.language.text_classifier import POOLINGS, TextClassifier
from lstmkit.apps.language.tokenizers import Tokenizer
from lstmkit.core.layers.encoder import ARCHITECTURES

GOOD = ["good", "great", "wonderful", "superb", "lovely", "moving"]
BAD = ["bad", "awful", "boring", "dull", "terrible", "clumsy"]
NOUNS = ["movie", "film", "plot", "cast", "story", "ending", "script", "score"]
FRAMES = [
    "the {n} was {neg}{a}",
    "i thought the {n} was {neg}{a}",
    "honestly the {n} is {neg}{a} and long",
    "a {neg}{a} {n}",
    "this {n} felt {neg}{a} to me",
]


def _reviews(n: int, rng: random.Random) -> LabelledText:
    """Short reviews: positive when a good word is not negated or a bad word is ("not dull"), an
    exclusive or of two words' presence that a linear bag of words cannot fit."""
    texts, labels = [], []
    for _ in range(n):
        good, negated = rng.random() < 0.5, rng.random() < 0.4
        adjective = rng.choice(GOOD if good else BAD)
        frame = rng.choice(FRAMES)
        texts.append(frame.format(n=rng.choice(NOUNS), a=adjective, neg="not " if negated else ""))
        labels.append(int(good != negated))
    return LabelledText(texts, labels)


def _data() -> LabelledSplits:
    rng = random.Random(0)
    return LabelledSplits(
        "reviews", ("negative", "positive"), _reviews(800, rng), _reviews(200, rng), _reviews(200, rng)
    )


def _accuracy(model: TextClassifier, tokenizer: Tokenizer, part: LabelledText) -> float:
    pred, _ = classify(model, tokenizer, part.texts)
    return sum(p == g for p, g in zip(pred, part.labels)) / len(pred)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_each_architecture_learns_negated_sentiment(architecture: str, tmp_path: Path) -> None:
    data = _data()
    kwargs = {"embed_dim": 16, "hidden_size": 32, "architecture": architecture}
    if architecture in ("transformer", "tcn"):  # two heads; a receptive field of 13 tokens
        kwargs |= {"num_heads": 2} if architecture == "transformer" else {"num_layers": 2}
    res = train_classifier(data, model_kwargs=kwargs, epochs=8, lr=5e-3, patience=None, progress=False)
    untrained = TextClassifier(**res.model.config())
    assert res.model.config()["architecture"] == architecture
    assert _accuracy(untrained, res.tokenizer, data.test) < 0.75
    assert _accuracy(res.model, res.tokenizer, data.test) >= 0.9
    # save and load through the predict job: the same probabilities
    extra = {"classes": list(data.classes)}
    save_bundle(
        tmp_path / "model.pt",
        kind="sentiment",
        model=res.model,
        tokenizers={"text": res.tokenizer},
        extra=extra,
    )
    texts = data.test.texts[:6]
    lines = predict(PredictJobConfig(str(tmp_path), texts=texts))
    preds, probs = classify(res.model, res.tokenizer, texts)
    assert lines == [f"{data.classes[p]}\t{float(pr[p]):.3f}\t{t}" for t, p, pr in zip(texts, preds, probs)]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_padding_changes_nothing(architecture: str) -> None:
    for pooling in (None, *POOLINGS):
        model = TextClassifier(50, 3, 8, 16, 2, architecture=architecture, pooling=pooling).eval()
        tokens = torch.randint(1, 50, (4, 7))
        tokens[1, 4:] = 0
        logits, weights = model(tokens, return_attention=True)
        torch.testing.assert_close(logits[1:2], model(tokens[1:2, :4]), atol=1e-5, rtol=1e-5)
        if weights is not None:
            assert torch.all(weights[1, 4:] == 0)
    assert TextClassifier(**model.config()).config() == model.config()


def test_defaults_old_checkpoints_and_refused_options() -> None:
    for architecture in ("transformer", "tcn"):
        model = TextClassifier(50, 2, 8, 16, architecture=architecture)
        assert model.pooling == "mean" and not model.bidirectional
    assert TextClassifier(50, 2, 8, 16, architecture="gru").bidirectional
    lstm = TextClassifier(50, 2, 8, 16)
    config = lstm.config()
    assert (
        config.pop("architecture") == "lstm" and config["bidirectional"] and config["pooling"] == "attention"
    )
    old = TextClassifier(**config)  # a checkpoint from before the other architectures
    old.load_state_dict(lstm.state_dict())
    assert old.architecture == "lstm"
    with pytest.raises(ValueError, match=r"bidirectional: an option of \('lstm', 'gru', 'rnn'\) only"):
        TextClassifier(50, 2, architecture="transformer", bidirectional=True)
    with pytest.raises(ValueError, match="input_dropout: an option of"):
        TextClassifier(50, 2, architecture="tcn", input_dropout=0.3)
    with pytest.raises(ValueError, match="weight_drop: an option of 'lstm' only"):
        TextClassifier(50, 2, architecture="rnn", weight_drop=0.3)

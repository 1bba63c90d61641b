"""The VADER sentiment task: binary sentiment of VADER's human-rated movie-review snippets
(Hutto & Gilbert 2014), next to a bag-of-words logistic regression.

Every network is a :class:`~lstmkit.apps.language.text_classifier.TextClassifier` of that
architecture as the sentiment app builds it (a bidirectional LSTM, GRU or RNN with attention
pooling; a non-causal Transformer or a TCN with mean pooling) over the same word embeddings
(one lowercasing word vocabulary fitted on the training texts), trained by
:func:`~lstmkit.apps.language.sentiment.train_classifier` for the same number of epochs without
early stopping (the weights of the epoch best on the validation split are kept, as the app
does; the rating loss of the app's job, weight 0.1). The metric is accuracy on the test split,
the one the sentiment app reports first; the rate search scores the validation split.

Parameters: the word embedding (the same ``V x E`` table in every network) is not counted; the
sizes match the rest (the body, the pooling and the head).

The baseline is the app's TF-IDF 1-2-gram logistic regression
(:class:`~lstmkit.apps.language.bow.BagOfWordsClassifier`, its ``C`` chosen on validation).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from typing import Any

from lstmkit.apps.compare.base import (
    CompareTask,
    Metric,
    Score,
    Size,
    embedding_parameters,
    heads_for,
    used_parameters,
)
from lstmkit.apps.language.bow import BagOfWordsClassifier
from lstmkit.apps.language.corpora import LabelledSplits, load_vader
from lstmkit.apps.language.sentiment import classify, train_classifier
from lstmkit.apps.language.text_classifier import TextClassifier
from lstmkit.apps.language.tokenizers import Tokenizer, WordTokenizer
from lstmkit.apps.language.training import TrainOptions

__all__ = ["SentimentTask", "epoch_training", "vader"]

EMBED = 64  # the word embedding's width (every architecture)
RATING_WEIGHT = 0.1  # the sentiment job's rating loss


def epoch_training(task: CompareTask, batch_size: int, lr: float, seed: int) -> TrainOptions:
    """The language apps' training options for one run of ``task``: its budget in epochs (and
    its wall-time bound), no progress bar."""
    return TrainOptions(
        lr=lr,
        batch_size=batch_size,
        epochs=int(task.budget),
        time_budget=task.time_limit,
        budget_clock="wall",
        seed=seed,
        progress=False,
    )


@functools.lru_cache(maxsize=4)
def _data(subset: str, train_texts: int | None) -> LabelledSplits:
    d = load_vader(subset, binary=True)
    if train_texts is None:
        return d
    train = dataclasses.replace(
        d.train,
        texts=d.train.texts[:train_texts],
        labels=d.train.labels[:train_texts],
        scores=d.train.scores[:train_texts],
    )
    return dataclasses.replace(d, train=train)


@functools.lru_cache(maxsize=4)
def _tokenizer(subset: str, train_texts: int | None, vocab_size: int) -> Tokenizer:
    return WordTokenizer(lowercase=True).fit(_data(subset, train_texts).train.texts, max_size=vocab_size)


@dataclass(frozen=True)
class SentimentTask(CompareTask):
    """Binary sentiment of the VADER set ``subset``; test accuracy."""

    subset: str = "movies"
    train_texts: int | None = None  # the first N training texts (None: all)
    vocab_size: int = 8000
    batch_size: int = 32

    def _parts(self) -> tuple[LabelledSplits, Tokenizer]:
        return _data(self.subset, self.train_texts), _tokenizer(
            self.subset, self.train_texts, self.vocab_size
        )

    def _model_kwargs(self, architecture: str, width: int, layers: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"architecture": architecture, "embed_dim": EMBED}
        kwargs |= {"hidden_size": width, "num_layers": layers}
        return kwargs | ({"num_heads": heads_for(width)} if architecture == "transformer" else {})

    def count(self, architecture: str, width: int, layers: int) -> int:
        data, tok = self._parts()
        net = TextClassifier(
            len(tok.vocab), len(data.classes), **self._model_kwargs(architecture, width, layers)
        )
        return used_parameters(net, 10**9) - embedding_parameters(net)

    def train(self, size: Size, lr: float, seed: int, split: str) -> Score:
        data, tok = self._parts()
        start = time.perf_counter()
        result = train_classifier(
            data,
            tokenizer=tok,
            model_kwargs=self._model_kwargs(size.architecture, size.width, size.layers),
            rating_weight=RATING_WEIGHT,
            patience=None,
            training=epoch_training(self, self.batch_size, lr, seed),
        )
        seconds = time.perf_counter() - start
        part = data.valid if split == "valid" else data.test
        pred, _ = classify(result.model, tok, part.texts)
        accuracy = sum(p == g for p, g in zip(pred, part.labels)) / len(pred)
        return Score(accuracy, seconds, float(result.epochs))

    def baseline(self, name: str, seed: int, split: str) -> Score:
        if name != "bow":
            return super().baseline(name, seed, split)
        data, _ = self._parts()
        start = time.perf_counter()
        bow = BagOfWordsClassifier().fit(
            data.train.texts, data.train.labels, data.valid.texts, data.valid.labels
        )
        seconds = time.perf_counter() - start
        part = data.valid if split == "valid" else data.test
        pred = bow.predict(part.texts)
        return Score(sum(p == g for p, g in zip(pred, part.labels)) / len(pred), seconds)


def vader(budget: int, quick: bool) -> SentimentTask:
    """VADER movie-review snippets, binary (a bag-of-words logistic regression its baseline)."""
    d = _data("movies", None)
    train = 2000 if quick else len(d.train)
    return SentimentTask(
        name="vader",
        title=f"VADER movie-review snippets, binary sentiment: {train} training / {len(d.valid)} "
        f"validation / {len(d.test)} test texts (test accuracy; parameters without the shared "
        f"{EMBED}-wide word embedding)",
        metric=Metric("accuracy", higher_better=True),
        budget=1 if quick else budget,
        budget_unit="epochs",
        lrs=(1e-3, 3e-3, 1e-2),
        width=32,
        depth=(("transformer", 2), ("tcn", 3)),
        baselines=("bow",),
        input_size=EMBED,
        time_limit=600.0,
        train_texts=2000 if quick else None,
    )

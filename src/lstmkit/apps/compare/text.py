"""The text tasks: the KJV character language model (next to a Kneser-Ney n-gram model).

Every network is a :class:`~lstmkit.apps.language.lm.LanguageModel` of that architecture
(tied 32-wide character embeddings; a Transformer attends to the ``bptt`` characters it is
trained on) trained by :func:`~lstmkit.apps.language.textgen.train_language_model` for the same
number of optimizer steps (truncated BPTT of ``bptt`` characters; a recurrent network carries
its state across windows, a Transformer or TCN reads each afresh). The metric is bits per
character on the first ``test_chars`` characters of the test split; the rate search scores the
validation split. The baseline is an interpolated Kneser-Ney 5-gram model of the same
characters (its discount tuned on the validation split).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from lstmkit.apps.compare.base import CompareTask, Metric, Score, Size, heads_for, used_parameters
from lstmkit.apps.language.corpora import load_text_corpus
from lstmkit.apps.language.lm import LanguageModel, bits_per_token, stream_nll
from lstmkit.apps.language.ngram import ngram_baseline
from lstmkit.apps.language.textgen import train_language_model
from lstmkit.apps.language.tokenizers import CharTokenizer
from lstmkit.apps.language.training import TrainOptions

__all__ = ["LanguageTask", "kjv"]

EMBED = 32  # the character embedding's width (every architecture)


@functools.lru_cache(maxsize=4)
def _texts(corpus: str, train_chars: int, eval_chars: int) -> tuple[str, str, str]:
    c = load_text_corpus(corpus)
    return c.train[:train_chars], c.valid[:eval_chars], (c.test or c.valid)[:eval_chars]


@functools.lru_cache(maxsize=4)
def _vocab_size(corpus: str, train_chars: int, eval_chars: int) -> int:
    return len(CharTokenizer().fit([_texts(corpus, train_chars, eval_chars)[0]]).vocab)


@dataclass(frozen=True)
class LanguageTask(CompareTask):
    """A character language model of ``corpus``; bits per character."""

    corpus: str = "kjv"
    train_chars: int = 1_000_000
    eval_chars: int = 100_000
    bptt: int = 64
    batch_size: int = 32
    order: int = 5

    def _texts(self) -> tuple[str, str, str]:
        return _texts(self.corpus, self.train_chars, self.eval_chars)

    def _model_kwargs(self, architecture: str, width: int, layers: int) -> dict[str, object]:
        return {
            "architecture": architecture,
            "embed_dim": EMBED,
            "hidden_size": width,
            "num_layers": layers,
            "num_heads": heads_for(width),
            "context": self.bptt,
        }

    def count(self, architecture: str, width: int, layers: int) -> int:
        vocab = _vocab_size(self.corpus, self.train_chars, self.eval_chars)
        net = LanguageModel(vocab, **self._model_kwargs(architecture, width, layers))  # type: ignore[arg-type]
        return used_parameters(net, self.bptt)

    def train(self, size: Size, lr: float, seed: int, split: str) -> Score:
        train, valid, test = self._texts()
        start = time.perf_counter()
        result = train_language_model(
            train,
            valid,
            CharTokenizer(),
            model_kwargs=self._model_kwargs(size.architecture, size.width, size.layers),
            bptt=self.bptt,
            training=TrainOptions(
                lr=lr,
                batch_size=self.batch_size,
                epochs=10**6,
                max_steps=int(self.budget),
                time_budget=self.time_limit,
                budget_clock="wall",
                seed=seed,
                progress=False,
            ),
        )
        seconds = time.perf_counter() - start
        if split == "valid":
            return Score(result.valid_bits, seconds, float(result.steps))
        ids = result.tokenizer.encode(test)
        bits = bits_per_token(stream_nll(result.model, ids, batch_size=8, bptt=256))
        return Score(bits, seconds, float(result.steps))

    def baseline(self, name: str, seed: int, split: str) -> Score:
        if name != "ngram":
            return super().baseline(name, seed, split)
        train, valid, test = self._texts()
        tokenizer = CharTokenizer().fit([train])
        row = ngram_baseline(tokenizer, train, valid, test, self.order)
        return Score(row["valid_bits" if split == "valid" else "test_bits"], row["seconds"])


def kjv(budget: int, quick: bool) -> LanguageTask:
    """The KJV character language model (a 5-gram model its baseline)."""
    return LanguageTask(
        name="kjv",
        title="KJV Bible, characters: bits per character of the test text",
        metric=Metric("bits/char", higher_better=False),
        budget=30 if quick else budget,
        budget_unit="steps",
        lrs=(1e-3, 3e-3, 1e-2),
        width=64 if quick else 128,
        depth=(("transformer", 2), ("tcn", 5)),
        baselines=("ngram",),
        input_size=EMBED,
        train_chars=50_000 if quick else 1_000_000,
        eval_chars=5_000 if quick else 100_000,
    )

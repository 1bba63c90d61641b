"""The Kneser-Ney n-gram language model: a distribution, entropy extremes and order, bad input, its row."""

from __future__ import annotations

import math
import random

import pytest

from lstmkit.apps.language.corpora import load_text_corpus
from lstmkit.apps.language.ngram import KneserNeyLM
from lstmkit.apps.language.text import CharTokenizer


def test_kneser_ney_is_a_distribution() -> None:
    text = load_text_corpus("pydoc").train[:20_000]
    lm = KneserNeyLM(order=4, discount=0.7).fit(text)
    symbols = [*sorted(lm.vocab), "\x00unseen"]
    for context in ("the ", "def", "zzq", "", "x"):
        total = sum(lm.prob(context, s) for s in symbols)
        assert total == pytest.approx(1.0, abs=1e-9)
        assert all(lm.prob(context, s) > 0 for s in symbols)


def test_kneser_ney_entropy_extremes_and_order() -> None:
    periodic = "abcd" * 500
    lm = KneserNeyLM(order=3).fit(periodic)
    assert lm.bits_per_symbol("abcdabcd", history="abcd") < 0.2  # fully predictable
    rng = random.Random(0)
    noise = "".join(rng.choice("abcdefgh") for _ in range(20_000))
    lm = KneserNeyLM(order=3).fit(noise[:18_000])
    assert lm.bits_per_symbol(noise[18_000:]) == pytest.approx(3.0, abs=0.1)  # log2(8): nothing to learn
    c = load_text_corpus("pydoc")
    train, valid = c.train[:150_000], c.valid[:5_000]
    bits = {n: KneserNeyLM(order=n).fit(train).bits_per_symbol(valid) for n in (1, 3, 5)}
    assert bits[5] < bits[3] < bits[1] < math.log2(100)


def test_kneser_ney_bad_input() -> None:
    with pytest.raises(ValueError, match="order"):
        KneserNeyLM(order=0)
    with pytest.raises(ValueError, match="discount"):
        KneserNeyLM(discount=1.5)
    with pytest.raises(ValueError, match="at least order"):
        KneserNeyLM(order=5).fit("abc")
    with pytest.raises(ValueError, match="not fitted"):
        KneserNeyLM().prob("ab", "c")


def test_kneser_ney_row_counts_ngrams() -> None:
    from lstmkit.apps.language.ngram import ngram_baseline

    text = "abracadabra " * 20
    row = ngram_baseline(CharTokenizer().fit([text]), text, text[:60], None, 3)
    # distinct n-grams of orders 1 to 3 in the training text ("a", ..., "ab", ..., "abr", ...)
    distinct = {text[i : i + n] for n in (1, 2, 3) for i in range(len(text) - n + 1)}
    assert row["ngrams"] == len(distinct)

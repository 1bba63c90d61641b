"""The vocabulary: specials, frequency order, limits."""

from __future__ import annotations

import pytest

from lstmkit.apps.language.vocab import BOS, EOS, PAD, UNK, Vocab


def test_vocab_specials_frequency_order_limits() -> None:
    v = Vocab.build([["b", "a", "a", "c", "c", "c"], ["d"]], max_size=6)
    assert v.itos[:4] == [PAD, UNK, BOS, EOS]
    assert v.itos[4:] == ["c", "a"]  # two most frequent fill the 6 ids
    assert v.lookup(["a", "b", "zzz"]) == [5, 1, 1]
    assert Vocab.build([["x", "y", "y"]], min_freq=2).itos[4:] == ["y"]
    with pytest.raises(ValueError, match="ids: expected ids in"):
        v.tokens([99])
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build([["a"]], max_size=3)
    with pytest.raises(ValueError, match="duplicate or reserved"):
        Vocab(["a", "a"])

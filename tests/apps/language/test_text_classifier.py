"""The text classifier: a padded batch equals each text alone, bad input."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.language.text import pad_sequences
from lstmkit.apps.language.text_classifier import TextClassifier


@pytest.mark.parametrize("pooling", ["attention", "last", "mean", "max"])
def test_classifier_padded_batch_equals_each_alone(pooling: str) -> None:
    clf = TextClassifier(40, 3, 8, 6, pooling=pooling).eval()
    texts = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]]
    tokens, lengths = pad_sequences(texts)
    batch = clf(tokens, lengths)
    for i, t in enumerate(texts):
        torch.testing.assert_close(batch[i : i + 1], clf(torch.tensor([t])), atol=1e-6, rtol=1e-5)
    if pooling == "attention":
        _, w = clf(tokens, return_attention=True)  # lengths inferred from the padding
        assert torch.all(w[1, 2:] == 0) and torch.allclose(w.sum(1), torch.ones(3))


def test_classifier_bad_input() -> None:
    clf = TextClassifier(40, 2, 8, 6)
    with pytest.raises(ValueError, match=r"tokens: expected ids in \[0, 40\), got range \[1, 40\]"):
        clf(torch.tensor([[1, 40]]))
    with pytest.raises(ValueError, match="int64 tensor"):
        clf(torch.randn(2, 3))
    with pytest.raises(ValueError, match="at least one token"):
        clf(torch.zeros(2, 3, dtype=torch.long))  # all padding: empty texts
    with pytest.raises(ValueError, match="num_classes"):
        TextClassifier(40, 1)
    with pytest.raises(ValueError, match="pooling"):
        TextClassifier(40, 2, pooling="sum")

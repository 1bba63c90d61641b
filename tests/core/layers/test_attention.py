"""The attention layers: masked softmax, padding ignored, attention pooling."""

from __future__ import annotations

import pytest
import torch

from lstmkit.core.layers.attention import (
    AdditiveAttention,
    AttentionPooling,
    MultiplicativeAttention,
    masked_softmax,
)


def test_masked_softmax() -> None:
    scores = torch.randn(3, 5)
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 1, 0, 1]], dtype=torch.bool)
    w = masked_softmax(scores, mask)
    assert torch.all(w[~mask] == 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(3))
    torch.testing.assert_close(w[0, :2], torch.softmax(scores[0, :2], -1))
    with pytest.raises(ValueError, match="all-False row"):
        masked_softmax(scores, torch.zeros(3, 5, dtype=torch.bool))


@pytest.mark.parametrize(
    "att", [AdditiveAttention(6, 8), MultiplicativeAttention(6, 8), MultiplicativeAttention(8, 8, "dot")]
)
def test_attention_ignores_padding(att: torch.nn.Module) -> None:
    q_size = 8 if getattr(att, "score", "") == "dot" else 6
    keys, query = torch.randn(2, 7, 8), torch.randn(2, 3, q_size)
    mask = torch.tensor([[True] * 4 + [False] * 3, [True] * 7])
    ctx, w = att(query, keys, mask)
    alone_ctx, alone_w = att(query[:1], keys[:1, :4])
    torch.testing.assert_close(ctx[:1], alone_ctx)
    torch.testing.assert_close(w[:1, :, :4], alone_w)
    assert torch.all(w[0, :, 4:] == 0)
    keys2 = keys.clone()
    keys2[0, 4:] = 100.0  # garbage in padding changes nothing
    torch.testing.assert_close(att(query, keys2, mask)[0], ctx)
    c1, _w1 = att(query[:, 0], keys, mask)  # single query step
    torch.testing.assert_close(c1, ctx[:, 0])
    with pytest.raises(ValueError, match="keys: expected"):
        att(query, keys[..., :3], mask)


def test_attention_pooling_masks() -> None:
    pool = AttentionPooling(4)
    x = torch.randn(2, 5, 4)
    mask = torch.tensor([[True, True, False, False, False], [True] * 5])
    pooled, w = pool(x, mask)
    alone, _ = pool(x[:1, :2])
    torch.testing.assert_close(pooled[:1], alone)
    assert torch.all(w[0, 2:] == 0)

"""The language model: tied weights, carried state, regularizers, generation, sampling filters, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from lstmkit.apps.language.lm import LanguageModel, bits_per_token, filter_logits, perplexity, stream_nll


def test_lm_tied_weights_and_projection() -> None:
    lm = LanguageModel(50, 16, 16, 2)
    assert lm.decoder.weight is lm.embedding.weight and lm.project is None
    lm2 = LanguageModel(50, 16, 32, 1)
    assert lm2.decoder.weight is lm2.embedding.weight and lm2.project is not None
    untied = LanguageModel(50, 16, 32, 1, tie_weights=False)
    assert untied.decoder.weight is not untied.embedding.weight
    n_tied = sum(p.numel() for p in lm.parameters())
    n_untied = sum(p.numel() for p in LanguageModel(50, 16, 16, 2, tie_weights=False).parameters())
    assert n_untied - n_tied == 50 * 16
    assert LanguageModel(**lm.config()).config() == lm.config()


def test_lm_chunks_with_carried_state_equal_one_pass() -> None:
    lm = LanguageModel(30, 8, 12, 2).eval()
    x = torch.randint(0, 30, (3, 20))
    whole, _ = lm(x)
    a, state = lm(x[:, :7])
    b, _ = lm(x[:, 7:], state)
    torch.testing.assert_close(torch.cat([a, b], 1), whole)
    ids = torch.randint(0, 30, (500,))
    assert stream_nll(lm, ids, batch_size=4, bptt=7) == pytest.approx(
        stream_nll(lm, ids, batch_size=4, bptt=200)
    )
    assert bits_per_token(math.log(2)) == pytest.approx(1.0) and perplexity(math.log(5)) == pytest.approx(5.0)


def test_lm_regularizers_train_only_and_seeded() -> None:
    lm = LanguageModel(30, 8, 12, 2, dropout=0.3, embed_dropout=0.3, input_dropout=0.3,
                       recurrent_dropout=0.3, weight_drop=0.3)  # fmt: skip
    x = torch.randint(0, 30, (2, 6))
    lm.train()
    torch.manual_seed(1)
    a, _ = lm(x)
    torch.manual_seed(1)
    b, _ = lm(x)
    c, _ = lm(x)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    lm.eval()
    torch.testing.assert_close(lm(x)[0], lm(x)[0])


def test_lm_generation_streams_and_greedy_matches_argmax() -> None:
    torch.manual_seed(0)
    lm = LanguageModel(20, 8, 16, 1)
    gen = lm.generate([4, 5, 6], 8, temperature=0)
    first = next(gen)  # a generator: tokens come one at a time
    rest = list(gen)
    seq = [4, 5, 6]
    for _ in range(9):
        logits, _ = lm.eval()(torch.tensor([seq]))
        seq.append(int(logits[0, -1].argmax()))
    assert [first, *rest] == seq[3:11]
    g1 = list(lm.generate([], 10, top_k=3, generator=torch.Generator().manual_seed(5)))
    g2 = list(lm.generate([], 10, top_k=3, generator=torch.Generator().manual_seed(5)))
    assert g1 == g2 and len(g1) == 10
    assert list(lm.generate([4], 50, temperature=0, stop_ids=range(20)))[-1] in range(20)
    assert len(list(lm.generate([4], 50, temperature=0, stop_ids=range(20)))) == 1
    only7 = list(
        lm.generate([4], 30, suppress_ids=[i for i in range(20) if i != 7], generator=torch.Generator())
    )
    assert only7 == [7] * 30
    with pytest.raises(ValueError, match="suppress_ids"):
        list(lm.generate([4], 3, suppress_ids=[25]))


def test_filter_logits() -> None:
    logits = torch.log(torch.tensor([0.05, 0.1, 0.15, 0.3, 0.4]))
    k = filter_logits(logits, top_k=2)
    assert torch.isinf(k[:3]).all() and torch.isfinite(k[3:]).all()
    p = filter_logits(logits, top_p=0.6)  # 0.4 + 0.3 reaches 0.6: two tokens
    assert torch.isfinite(p).tolist() == [False, False, False, True, True]
    p = filter_logits(logits, top_p=0.3)  # the most likely token alone is 0.4 >= 0.3
    assert torch.isfinite(p).tolist() == [False, False, False, False, True]
    t = filter_logits(logits, temperature=0.5)
    torch.testing.assert_close(t, logits * 2)
    wide = torch.randn(50_000) * 5  # a float32 cumulative sum reaches 1 before the tail
    assert torch.equal(filter_logits(wide, top_p=1.0), wide)  # top_p = 1 keeps every token
    for bad in ({"temperature": 0.0}, {"top_k": 0}, {"top_p": 1.5}):
        with pytest.raises(ValueError):
            filter_logits(logits, **bad)  # type: ignore[arg-type]


def test_lm_bad_input() -> None:
    lm = LanguageModel(20, 8, 8, 1)
    with pytest.raises(ValueError, match=r"tokens: expected ids in \[0, 20\)"):
        lm(torch.tensor([[3, 25]]))
    with pytest.raises(ValueError, match="int64 tensor"):
        lm(torch.randn(2, 3))
    with pytest.raises(ValueError, match="max_new_tokens"):
        list(lm.generate([1], -1))

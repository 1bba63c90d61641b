"""Language models, text classifier, seq2seq and attention: equivalences, masks, decoding, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from lstmkit.apps.language.lm import LanguageModel, bits_per_token, filter_logits, perplexity, stream_nll
from lstmkit.apps.language.seq2seq import Seq2Seq
from lstmkit.apps.language.text import pad_sequences
from lstmkit.apps.language.text_classifier import TextClassifier
from lstmkit.core.layers.attention import (
    AdditiveAttention,
    AttentionPooling,
    MultiplicativeAttention,
    masked_softmax,
)


# --- attention
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


# --- language model
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


# --- classifier
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


# --- seq2seq
@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_seq2seq_teacher_forcing_equals_stepwise_decoding(attention: str) -> None:
    m = Seq2Seq(30, 40, 8, 12, 2, attention=attention).eval()
    src, src_len = pad_sequences([[5, 6, 7, 3], [8, 9, 3]])
    tgt_in, _ = pad_sequences([[2, 5, 6, 7, 8], [2, 9, 10, 0, 0]])
    logits, w = m(src, src_len, tgt_in, return_attention=True)
    enc = m.encode(src, src_len)
    state, steps = enc.state, []
    for t in range(tgt_in.shape[1]):
        lg, state, _ = m.decode_step(tgt_in[:, t], state, enc)
        steps.append(lg)
    torch.testing.assert_close(torch.stack(steps, 1), logits, atol=1e-5, rtol=1e-5)
    assert torch.all(w[1, :, 3:] == 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 5))
    # the padded source batch gives each sentence what it gives alone
    alone = m(src[1:, :3], src_len[1:], tgt_in[1:])
    torch.testing.assert_close(logits[1:], alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_seq2seq_decoding(attention: str) -> None:
    torch.manual_seed(0)
    m = Seq2Seq(30, 40, 8, 12, attention=attention)
    src, src_len = pad_sequences([[5, 6, 7, 3], [8, 9, 3]])
    greedy = m.greedy(src, src_len, max_len=6)
    beam1 = m.beam_search(src, src_len, beam_size=1, max_len=6)
    assert [h.tokens for h in greedy] == [h.tokens for h in beam1]
    for h, s_len in zip(greedy, (4, 3)):
        assert h.attention.shape[1] == s_len and 3 not in h.tokens
        torch.testing.assert_close(h.attention.sum(-1), torch.ones(h.attention.shape[0]))
    beam = m.beam_search(src, src_len, beam_size=4, max_len=6, length_penalty=0.0)
    for b, g in zip(beam, greedy):
        assert len(b.tokens) <= 6 and b.attention.shape[1] == g.attention.shape[1]
    # the greedy score is the sum of the chosen tokens' log-probabilities (teacher-forced check)
    h = greedy[1]
    tgt_in = torch.tensor([[2, *h.tokens]])
    with torch.no_grad():
        logp = torch.log_softmax(m.eval()(src[1:, :3], src_len[1:], tgt_in), -1)[0]
    out = [*h.tokens, 3] if h.attention.shape[0] > len(h.tokens) else h.tokens
    expected = sum(float(logp[t, tok]) for t, tok in enumerate(out))
    assert h.score == pytest.approx(expected, abs=1e-4)


def test_beam_search_ranks_unfinished_hypotheses_at_max_len() -> None:
    m = Seq2Seq(30, 40, 8, 12)
    real_step = m.decode_step

    def scripted(prev: torch.Tensor, state, enc):  # <eos> (3) is likely after <bos> only
        logits, state, w = real_step(prev, state, enc)
        first = (prev == m.bos_id)[:, None]
        table = torch.full((40,), -30.0)
        table[7], table[8] = 0.0, -3.0
        start = table.clone()
        start[3], start[8] = -1.0, -2.0
        return torch.where(first, start, table).expand_as(logits), state, w

    m.decode_step = scripted  # type: ignore[method-assign]
    src, src_len = pad_sequences([[5, 6, 7, 3]])
    (hyp,) = m.beam_search(src, src_len, beam_size=2, max_len=5, length_penalty=0.0)
    # "<eos>" at once finishes one hypothesis (score -1.41); none other ends before max_len,
    # where five 7s (-0.41 - 4 x 0.05) score higher and win
    assert hyp.tokens == [7] * 5
    later = float(torch.log_softmax(torch.tensor([0.0, -3.0] + [-30.0] * 38), 0)[0])
    first = float(torch.log_softmax(torch.tensor([0.0, -1.0, -2.0] + [-30.0] * 37), 0)[0])
    assert hyp.score == pytest.approx(first + 4 * later, abs=1e-5)


def test_seq2seq_bad_input() -> None:
    m = Seq2Seq(30, 40, 8, 12)
    with pytest.raises(ValueError, match="src: expected ids"):
        m(torch.tensor([[31]]), None, torch.tensor([[2]]))
    with pytest.raises(ValueError, match="at least one token"):
        m.encode(torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="batch size"):
        m(torch.tensor([[4, 3]]), None, torch.tensor([[2], [2]]))
    with pytest.raises(ValueError, match="attention"):
        Seq2Seq(30, 40, attention="transformer")
    with pytest.raises(ValueError, match="beam_size"):
        m.beam_search(torch.tensor([[4, 3]]), beam_size=0)
    with pytest.raises(ValueError, match=r"length_penalty: expected a value >= 0, got -0\.5"):
        m.beam_search(torch.tensor([[4, 3]]), length_penalty=-0.5)

"""Seq2seq with attention: teacher forcing equals stepwise decoding, greedy and beam search, bad input."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.language.seq2seq import Seq2Seq
from lstmkit.apps.language.text import pad_sequences


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

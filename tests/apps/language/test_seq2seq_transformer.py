"""The Transformer encoder-decoder: teacher forcing equals decoding with the KV cache, padding
changes nothing, greedy and beam search, it learns to reverse sequences, save/load, old LSTM
checkpoints, refused options."""

from __future__ import annotations

import importlib
import random
import sys
from pathlib import Path

import pytest
import torch

from lstmkit.apps.language.bundle import save_bundle
from lstmkit.apps.language.corpora import ParallelSplits
from lstmkit.apps.language.seq2seq import Seq2Seq
from lstmkit.apps.language.text import pad_sequences
from lstmkit.apps.language.translate import PredictJobConfig, predict, train_translator, translate_texts
from lstmkit.core.layers.transformer import DecoderState, TransformerDecoder

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _reversals(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """Digit-name sequences of 3 to 6 words and the same words reversed."""
    pairs = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 6))]
        pairs.append((" ".join(words), " ".join(reversed(words))))
    return pairs


def test_teacher_forcing_equals_decoding_with_the_cache() -> None:
    m = Seq2Seq(30, 40, 8, 16, 2, architecture="transformer").eval()
    src, src_len = pad_sequences([[5, 6, 7, 3], [8, 9, 3]])
    tgt_in, _ = pad_sequences([[2, 5, 6, 7, 8], [2, 9, 10, 0, 0]])
    logits, w = m(src, src_len, tgt_in, return_attention=True)
    enc = m.encode(src, src_len)
    state, steps, weights = enc.state, [], []
    for t in range(tgt_in.shape[1]):
        lg, state, wt = m.decode_step(tgt_in[:, t], state, enc)
        steps.append(lg)
        weights.append(wt)
    assert isinstance(state, DecoderState) and state.length == 5 and enc.memory.shape == (2, 4, 16)
    torch.testing.assert_close(torch.stack(steps, 1), logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.stack(weights, 1), w, atol=1e-5, rtol=1e-5)
    assert torch.all(w[1, :, 3:] == 0)  # no weight on the source's padding
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 5))
    alone = m(src[1:, :3], src_len[1:], tgt_in[1:])  # a padded batch gives each pair its own
    torch.testing.assert_close(logits[1:], alone, atol=1e-5, rtol=1e-5)
    changed = tgt_in.clone()
    changed[0, 3:] = 11  # a later target token changes nothing before it (causal decoder)
    torch.testing.assert_close(m(src, src_len, changed)[0, :3], logits[0, :3])


def test_greedy_and_beam_search() -> None:
    m = Seq2Seq(30, 40, 8, 16, architecture="transformer", num_heads=2, positions="learned")
    src, src_len = pad_sequences([[5, 6, 7, 3], [8, 9, 3]])
    greedy = m.greedy(src, src_len, max_len=6)
    assert [h.tokens for h in greedy] == [
        h.tokens for h in m.beam_search(src, src_len, beam_size=1, max_len=6)
    ]
    for h, s_len in zip(greedy, (4, 3)):
        assert h.attention.shape[1] == s_len and 3 not in h.tokens
    beam = m.beam_search(src, src_len, beam_size=4, max_len=6, length_penalty=0.0)
    for b, g in zip(beam, greedy):
        assert len(b.tokens) <= 6 and b.score >= g.score - 1e-4  # a wider beam finds no worse
    h = greedy[1]
    with torch.no_grad():
        logp = torch.log_softmax(m.eval()(src[1:, :3], src_len[1:], torch.tensor([[2, *h.tokens]])), -1)[0]
    out = [*h.tokens, 3] if h.attention.shape[0] > len(h.tokens) else h.tokens
    assert h.score == pytest.approx(sum(float(logp[t, tok]) for t, tok in enumerate(out)), abs=1e-4)


def test_the_transformer_learns_to_reverse(tmp_path: Path) -> None:
    rng = random.Random(0)
    data = ParallelSplits(
        "reverse", "en", "en", _reversals(1500, rng), _reversals(100, rng), _reversals(100, rng)
    )
    kwargs = {"embed_dim": 32, "hidden_size": 32, "architecture": "transformer"}
    res = train_translator(data, tokenizer="word", model_kwargs=kwargs, epochs=4, lr=3e-3, batch_size=32,
                           patience=None, progress=False)  # fmt: skip
    sources, targets = [s for s, _ in data.test], [t for _, t in data.test]
    untrained = Seq2Seq(**res.model.config())
    before = translate_texts(untrained, res.src_tok, res.tgt_tok, sources, beam_size=1)
    after = translate_texts(res.model, res.src_tok, res.tgt_tok, sources, beam_size=1)
    assert sum(o == t for (o, _), t in zip(before, targets)) / len(targets) < 0.05
    assert sum(o == t for (o, _), t in zip(after, targets)) / len(targets) >= 0.7
    tokenizers = {"src": res.src_tok, "tgt": res.tgt_tok}
    save_bundle(tmp_path / "model.pt", kind="translate", model=res.model, tokenizers=tokenizers, extra={})
    loaded = predict(PredictJobConfig(str(tmp_path), texts=sources[:10], beam=3))
    beam = translate_texts(res.model, res.src_tok, res.tgt_tok, sources[:10], beam_size=3)
    assert [o for o, _ in loaded] == [o for o, _ in beam]


def test_old_lstm_config_and_refused_options() -> None:
    lstm = Seq2Seq(30, 40, 8, 12)
    config = lstm.config()
    assert config.pop("architecture") == "lstm" and config["attention"] == "luong"
    old = Seq2Seq(**config)  # a checkpoint from before the Transformer
    old.load_state_dict(lstm.state_dict())
    assert old.architecture == "lstm" and old.config()["bidirectional_encoder"]
    transformer = Seq2Seq(30, 40, 8, 16, 2, architecture="transformer", num_heads=2)
    assert Seq2Seq(**transformer.config()).config() == transformer.config()
    with pytest.raises(ValueError, match="a Transformer encoder-decoder is architecture='transformer'"):
        Seq2Seq(30, 40, attention="transformer")
    with pytest.raises(ValueError, match="attention: an LSTM decoder's"):
        Seq2Seq(30, 40, 8, 16, architecture="transformer", attention="bahdanau")
    with pytest.raises(ValueError, match="weight_drop: an option of 'lstm' only"):
        Seq2Seq(30, 40, 8, 16, architecture="transformer", weight_drop=0.2)
    with pytest.raises(ValueError, match="bidirectional: an option of"):
        Seq2Seq(30, 40, 8, 16, architecture="transformer", bidirectional_encoder=True)
    with pytest.raises(
        ValueError, match=r"architecture: expected one of \('lstm', 'transformer'\), got 'gru'"
    ):
        Seq2Seq(30, 40, architecture="gru")
    with pytest.raises(ValueError, match="num_heads"):
        Seq2Seq(30, 40, 8, 10, architecture="transformer", num_heads=4)


def test_the_decoder_s_old_path_warns_and_gives_the_core_classes() -> None:
    sys.modules.pop("lstmkit.apps.language.transformer_decoder", None)
    with pytest.warns(DeprecationWarning, match="use lstmkit.core.layers.transformer"):
        old = importlib.import_module("lstmkit.apps.language.transformer_decoder")
    assert old.TransformerDecoder is TransformerDecoder and old.DecoderState is DecoderState

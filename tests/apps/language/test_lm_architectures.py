"""The language model's comparison architectures (GRU, RNN, causal Transformer, TCN): each learns a
repeating text and continues it, generation with a KV cache or a receptive field equals
recomputation, evaluation, save/load, old LSTM checkpoints, refused options."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lstmkit.apps.language.bundle import save_bundle
from lstmkit.apps.language.lm import LanguageModel, bits_per_token, stream_nll
from lstmkit.apps.language.text import CharTokenizer
from lstmkit.apps.language.textgen import SampleJobConfig, sample, sample_text, train_language_model
from lstmkit.apps.language.units import lm_unit_activations
from lstmkit.core.layers.encoder import ARCHITECTURES

TEXT = "the quick brown fox jumps over the lazy dog. "


def _greedy_reference(lm: LanguageModel, prime: list[int], n: int, window: int | None) -> list[int]:
    """Greedy tokens from a whole forward pass over (the last ``window`` of) the tokens so far."""
    seq = list(prime)
    for _ in range(n):
        with torch.no_grad():
            logits, _ = lm.eval()(torch.tensor([seq[-window:] if window else seq]))
        seq.append(int(logits[0, -1].argmax()))
    return seq[len(prime) :]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_each_architecture_learns_a_repeating_text_and_continues_it(
    architecture: str, tmp_path: Path
) -> None:
    kwargs = {"embed_dim": 16, "hidden_size": 32, "num_layers": 2, "architecture": architecture}
    lr = 1e-2
    if architecture == "transformer":
        kwargs["num_heads"], lr = 2, 3e-3  # context: the bptt, 32 tokens
    res = train_language_model(TEXT * 60, TEXT * 20, CharTokenizer(), model_kwargs=kwargs, bptt=32,
                               batch_size=8, max_steps=200, epochs=1000, lr=lr, progress=False)  # fmt: skip
    untrained = LanguageModel(**res.model.config())
    tok = res.tokenizer
    before = bits_per_token(stream_nll(untrained, tok.encode(TEXT * 20), batch_size=4, bptt=64))
    assert res.model.config()["architecture"] == architecture
    assert before > 3.0 and res.valid_bits < 0.5, (before, res.valid_bits)
    # 80 characters: past the Transformer's context of 32 (it reads the last 16 again) and the
    # TCN's receptive field of 13
    text = sample_text(res.model, tok, "the quick ", 80, temperature=0)
    expected = (TEXT * 3)[len("the quick ") :][:80]
    assert sum(a == b for a, b in zip(text, expected)) >= 72, text
    # save and load: the same model, the same sample
    save_bundle(tmp_path / "model.pt", kind="lm", model=res.model, tokenizers={"text": tok}, extra={})
    loaded = sample(SampleJobConfig(str(tmp_path), prime="the quick ", length=80, temperature=0))
    assert loaded == text


@pytest.mark.parametrize("architecture", ["transformer", "tcn", "gru"])
def test_generation_equals_recomputation(architecture: str) -> None:
    lm = LanguageModel(20, 8, 16, 2, architecture=architecture, context=64)
    window = lm.window if architecture == "tcn" else None  # the TCN sees its receptive field only
    got = list(lm.generate([4, 5, 6], 30, temperature=0))
    assert got == _greedy_reference(lm, [4, 5, 6], 30, window)
    # beyond its context a Transformer starts again from the last context // 2 tokens
    short = LanguageModel(20, 8, 16, 1, architecture="transformer", context=8)
    assert len(list(short.generate(list(range(4, 19)), 25, temperature=0))) == 25
    with pytest.raises(ValueError, match="learned positions"):
        short(torch.randint(0, 20, (1, 9)))


def test_tcn_and_transformer_streams() -> None:
    ids = torch.randint(0, 30, (600,))
    tcn = LanguageModel(30, 8, 12, 3, architecture="tcn").eval()
    # the receptive field read again before each chunk: any chunk length gives one pass' value
    rows = ids[: 600 // 4 * 4].view(4, -1)
    with torch.no_grad():
        logits, _ = tcn(rows[:, :-1])
    whole = torch.nn.functional.cross_entropy(logits.reshape(-1, 30), rows[:, 1:].reshape(-1))
    for bptt in (7, 50, 400):
        assert stream_nll(tcn, ids, batch_size=4, bptt=bptt) == pytest.approx(whole.item(), rel=1e-5)
    gpt = LanguageModel(30, 8, 16, 1, architecture="transformer", context=16)
    assert gpt.window == 16 and not gpt.carries_state and tcn.window == tcn.encoder.layer.receptive_field
    assert 4.0 < bits_per_token(stream_nll(gpt, ids, batch_size=4, bptt=512)) < 6.0  # 600 tokens, 16 at most


def test_old_lstm_config_and_refused_options() -> None:
    lm = LanguageModel(30, 8, 12, 1)
    config = lm.config()
    assert config.pop("architecture") == "lstm"
    old = LanguageModel(**config)  # a checkpoint from before the other architectures
    old.load_state_dict(lm.state_dict())
    assert old.architecture == "lstm" and old.carries_state and old.window is None
    with pytest.raises(ValueError, match="weight_drop: an option of 'lstm' only"):
        LanguageModel(30, 8, 12, architecture="gru", weight_drop=0.3)
    with pytest.raises(
        ValueError, match=r"input_dropout: an option of .* only, got 0\.2 with architecture='tcn'"
    ):
        LanguageModel(30, 8, 12, architecture="tcn", input_dropout=0.2)
    with pytest.raises(ValueError, match="architecture: expected one of"):
        LanguageModel(30, architecture="cnn")
    gru = LanguageModel(30, 8, 12, architecture="gru", recurrent_dropout=0.2, input_dropout=0.1)
    assert gru.config()["recurrent_dropout"] == 0.2 and LanguageModel(**gru.config()).config() == gru.config()
    with pytest.raises(ValueError, match="bptt: a Transformer reads at most context=16"):
        train_language_model(TEXT * 20, TEXT * 5, CharTokenizer(), bptt=32,
                             model_kwargs={"architecture": "transformer", "context": 16})  # fmt: skip
    tok = CharTokenizer()
    tok.fit([TEXT])
    gpt = LanguageModel(len(tok.vocab), 8, 16, 1, architecture="transformer")
    with pytest.raises(ValueError, match="units are an LSTM's cells"):
        lm_unit_activations(gpt, tok, TEXT)

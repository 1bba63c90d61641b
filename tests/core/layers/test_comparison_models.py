"""The comparison models (Transformer, TCN) and the one encoder of every architecture."""

from __future__ import annotations

import pytest
import torch

from lstmkit.core.layers.encoder import ARCHITECTURES, EncoderSettings, count_parameters, last_step
from lstmkit.core.layers.tcn import TCN
from lstmkit.core.layers.transformer import Transformer, TransformerDecoder


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_transformer_is_causal(positions: str) -> None:
    model = Transformer(3, d_model=16, num_layers=2, num_heads=4, positions=positions).eval()
    x = torch.randn(2, 12, 3)
    y, _ = model(x)
    x2 = x.clone()
    x2[:, 7:] = torch.randn(2, 5, 3)  # the future changes
    y2, _ = model(x2)
    torch.testing.assert_close(y2[:, :7], y[:, :7])
    assert not torch.allclose(y2[:, 7:], y[:, 7:])


@pytest.mark.parametrize("chunks", [(12,), (5, 7), (1,) * 12, (4, 1, 7)])
def test_transformer_cache_streams_like_the_whole_sequence(chunks: tuple[int, ...]) -> None:
    model = Transformer(3, d_model=16, num_layers=2, num_heads=2).eval()
    x = torch.randn(2, 12, 3)
    whole, cache = model(x)
    parts, stream, t = [], None, 0
    for size in chunks:
        y, stream = model(x[:, t : t + size], cache=stream)
        parts.append(y)
        t += size
    torch.testing.assert_close(torch.cat(parts, 1), whole, atol=1e-5, rtol=1e-5)
    assert stream is not None and stream.length == 12 == cache.length


@pytest.mark.parametrize("causal", [True, False])
def test_transformer_padded_batch_equals_each_alone(causal: bool) -> None:
    model = Transformer(3, d_model=16, num_layers=2, num_heads=4, causal=causal).eval()
    lengths = torch.tensor([9, 4, 1])
    x = torch.randn(3, 9, 3)
    y, _ = model(x, lengths)
    for n, length in enumerate(lengths.tolist()):
        alone, _ = model(x[n : n + 1, :length])
        torch.testing.assert_close(y[n, :length], alone[0], atol=1e-5, rtol=1e-5)
        assert bool((y[n, length:] == 0).all())


def test_transformer_non_causal_sees_the_future() -> None:
    model = Transformer(3, d_model=16, num_layers=1, num_heads=4, causal=False).eval()
    x = torch.randn(1, 6, 3)
    x2 = x.clone()
    x2[:, -1] += 1.0
    assert not torch.allclose(model(x)[0][:, 0], model(x2)[0][:, 0])


def test_transformer_gradcheck_float64() -> None:
    model = Transformer(2, d_model=8, num_layers=1, num_heads=2).double()
    x = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: model(v)[0], (x,))


def test_transformer_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="num_heads"):
        Transformer(3, d_model=10, num_heads=4)
    with pytest.raises(ValueError, match="positions"):
        Transformer(3, positions="rotary")
    model = Transformer(3, d_model=8, num_heads=2, max_len=5)
    with pytest.raises(ValueError, match="max_len=5"):
        model(torch.randn(1, 6, 3))
    with pytest.raises(ValueError, match="cache"):
        Transformer(3, d_model=8, num_heads=2, causal=False)(
            torch.randn(1, 2, 3), cache=model(torch.randn(1, 2, 3))[1]
        )


def test_tcn_and_transformer_sizes_are_checked_alike() -> None:
    for make, name in (
        (lambda: TCN(3, hidden_size=0), "hidden_size"),
        (lambda: TCN(3, kernel_size=True), "kernel_size"),
        (lambda: Transformer(2.0, d_model=8, num_heads=2), "input_size"),  # type: ignore[arg-type]
        (lambda: TransformerDecoder(3, d_model=8, num_layers=0, num_heads=2), "num_layers"),
    ):
        with pytest.raises(ValueError, match=f"{name}: expected an int >= 1, got"):
            make()
    with pytest.raises(ValueError, match="num_heads: expected an int >= 1 dividing d_model=10, got 4"):
        TransformerDecoder(3, d_model=10, num_heads=4)


def _older_keys(state: dict[str, torch.Tensor], renames: dict[str, str]) -> dict[str, torch.Tensor]:
    """A state dict as the blocks wrote it before they shared their self-attention."""
    out = {}
    for key, value in state.items():
        for new, old in renames.items():
            key = key.replace(new, old)
        out[key] = value
    return out


def test_transformer_and_decoder_load_their_older_state_dicts() -> None:
    model = Transformer(3, d_model=8, num_layers=2, num_heads=2).eval()
    old = _older_keys(model.state_dict(), {".attn.qkv.": ".qkv.", ".attn.out.": ".out."})
    assert "blocks.1.qkv.weight" in old and "blocks.1.out.bias" in old
    torch.manual_seed(1)
    again = Transformer(3, d_model=8, num_layers=2, num_heads=2).eval()
    again.load_state_dict(old)
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(again(x)[0], model(x)[0], rtol=0, atol=0)
    dec = TransformerDecoder(4, d_model=8, num_layers=2, num_heads=2).eval()
    old = _older_keys(dec.state_dict(), {".attn.qkv.": ".qkv.", ".attn.out.": ".self_out."})
    torch.manual_seed(1)
    dec2 = TransformerDecoder(4, d_model=8, num_layers=2, num_heads=2).eval()
    dec2.load_state_dict(old)
    y, memory, mask = torch.randn(2, 3, 4), torch.randn(2, 6, 8), torch.ones(2, 6, dtype=torch.bool)
    for a, b in zip(dec2(y, memory, mask)[:2], dec(y, memory, mask)[:2]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_tcn_is_causal_with_its_receptive_field() -> None:
    tcn = TCN(2, hidden_size=8, num_layers=3, kernel_size=3, weight_norm=False)
    with torch.no_grad():
        for p in tcn.parameters():
            p.normal_()  # weights of 1, not 0.01: the far edge's product of six stays visible
    R = tcn.receptive_field
    assert R == 1 + 2 * 2 * 7
    t = 50
    x = torch.randn(16, 60, 2, requires_grad=True)
    tcn(x)[:, t].sum().backward()
    assert x.grad is not None
    reach = x.grad.abs().sum((0, 2))  # (L,): how much each step moves output t
    assert bool((reach[t + 1 :] == 0).all()) and bool((reach[: t - R + 1] == 0).all())
    assert reach[t] > 0 and reach[t - R + 1] > 0


def test_tcn_padded_outputs_are_zero_and_real_ones_unchanged() -> None:
    tcn = TCN(2, hidden_size=8, num_layers=2).eval()
    x = torch.randn(2, 10, 2)
    y = tcn(x, torch.tensor([10, 6]))
    torch.testing.assert_close(y[1, :6], tcn(x[1:2, :6])[0])
    assert bool((y[1, 6:] == 0).all())


def test_tcn_gradcheck_float64() -> None:
    tcn = TCN(2, hidden_size=4, num_layers=2, weight_norm=False).double()
    x = torch.randn(1, 7, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(tcn, (x,))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_encoder_last_step_reads_each_sequence_alone(architecture: str) -> None:
    enc = EncoderSettings(architecture, hidden_size=8, num_layers=2, num_heads=2).encoder(3).eval()
    x, lengths = torch.randn(3, 7, 3), torch.tensor([7, 3, 5])
    out, _ = enc(x, None, lengths)
    summary = last_step(out, lengths)
    for n, length in enumerate(lengths.tolist()):
        alone, _ = enc(x[n : n + 1, :length])
        torch.testing.assert_close(summary[n], alone[0, -1], atol=1e-5, rtol=1e-5)
    assert enc.output_size == 8 and count_parameters(enc) > 0


def test_encoder_rejects_what_an_architecture_cannot_do() -> None:
    with pytest.raises(ValueError, match="architecture"):
        EncoderSettings("mamba")
    with pytest.raises(ValueError, match="bidirectional"):
        EncoderSettings("tcn").encoder(3, bidirectional=True)
    assert EncoderSettings("lstm", hidden_size=8).encoder(3, bidirectional=True).output_size == 16


def test_encoder_passes_recurrent_dropouts_and_max_len() -> None:
    gru = EncoderSettings("gru", hidden_size=8).encoder(3, input_dropout=0.2, recurrent_dropout=0.3).layer
    assert (gru.input_dropout, gru.recurrent_dropout) == (0.2, 0.3)
    transformer = EncoderSettings("transformer", hidden_size=8, num_heads=2).encoder(3, max_len=7).layer
    assert isinstance(transformer, Transformer) and transformer.max_len == 7
    with pytest.raises(ValueError, match="recurrent_dropout: only for"):
        EncoderSettings("tcn").encoder(3, recurrent_dropout=0.1)

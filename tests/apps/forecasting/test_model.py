"""The forecasting network: shapes, monotone quantiles, teacher forcing equals the roll-out, for
every encoder architecture."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.forecasting.base import LEVELS
from lstmkit.apps.forecasting.estimator import ForecastNet as ReExported
from lstmkit.apps.forecasting.model import ForecastNet
from lstmkit.core.cells import VARIANTS
from lstmkit.core.layers.encoder import ARCHITECTURES, RECURRENT


def test_forecast_net_shapes_and_monotone_quantiles() -> None:
    net = ForecastNet(4, 3, 6, strategy="direct", likelihood="quantile", hidden_size=8)
    out = net(torch.randn(5, 10, 4), torch.randn(5, 6, 3))
    assert out.shape == (5, 6, len(LEVELS))
    assert (out.diff(dim=-1) >= 0).all()
    rec = ForecastNet(4, 3, 6, strategy="recursive", likelihood="gaussian", hidden_size=8)
    assert rec(torch.randn(5, 10, 4), torch.randn(5, 6, 3)).shape == (5, 6, 2)
    # teacher forcing with the model's own medians equals the greedy roll-out
    with torch.no_grad():
        past, fut = torch.randn(2, 10, 4), torch.randn(2, 6, 3)
        greedy = rec(past, fut)
        forced = rec(past, fut, target=greedy[..., 0])
    assert torch.allclose(greedy, forced, atol=1e-5)


def test_the_estimator_module_re_exports_the_network() -> None:
    assert ReExported is ForecastNet


def test_lstm_settings_are_keywords_shared_by_encoder_and_decoder() -> None:
    net = ForecastNet(3, 1, 4, strategy="seq2seq", hidden_size=6, num_layers=2, variant="cifg")
    for lstm in (net.encoder.layer, net.decoder.layer):
        assert (lstm.hidden_size, lstm.num_layers, lstm.spec) == (6, 2, VARIANTS["cifg"])
    assert ForecastNet(3, 1, 4).encoder.layer.hidden_size == 64  # the network's default
    with pytest.raises(ValueError, match="strategy: expected one of"):
        ForecastNet(3, 1, 4, strategy="mimo")


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("likelihood", ["point", "gaussian"])
def test_every_architecture_rolls_out_as_it_is_taught(architecture: str, likelihood: str) -> None:
    """The recursive roll-out (state carried, a Transformer's key-value cache, a TCN re-reading
    the steps seen) equals teacher forcing on the roll-out's own medians."""
    torch.manual_seed(0)
    net = ForecastNet(
        4, 2, 5, strategy="recursive", likelihood=likelihood, architecture=architecture, hidden_size=8
    ).eval()
    past, fut = torch.randn(3, 9, 4), torch.randn(3, 5, 2)
    with torch.no_grad():
        greedy = net(past, fut)
        forced = net(past, fut, target=net.point(greedy))
    assert greedy.shape == (3, 5, 1 if likelihood == "point" else 2)
    torch.testing.assert_close(forced, greedy, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_the_direct_head_reads_the_last_input_step(architecture: str) -> None:
    """Changing the inputs only before the last step changes the forecast (the head reads the
    encoder's last output), and for a recurrent encoder that output is its last layer's final h."""
    torch.manual_seed(0)
    net = ForecastNet(3, 1, 4, architecture=architecture, hidden_size=8, num_layers=2).eval()
    past, fut = torch.randn(2, 12, 3), torch.randn(2, 4, 1)
    out, state = net.encoder(past)
    if architecture in RECURRENT:
        h = getattr(state, "h", state)
        assert torch.equal(out[:, -1], h[-1])  # the LSTM's head input is unchanged: h[-1]
    with torch.no_grad():
        y = net(past, fut)
        changed = past.clone()
        changed[:, -2] += 1.0
        assert not torch.allclose(net(changed, fut), y)


@pytest.mark.parametrize("architecture", ["gru", "rnn", "transformer"])
def test_seq2seq_decoders_start_from_the_encoder(architecture: str) -> None:
    torch.manual_seed(0)
    net = ForecastNet(
        3, 2, 6, strategy="seq2seq", likelihood="gaussian", architecture=architecture, hidden_size=8
    ).eval()
    assert net.decoder.architecture == architecture
    past, fut = torch.randn(2, 10, 3), torch.randn(2, 6, 2)
    with torch.no_grad():
        y = net(past, fut)
        assert y.shape == (2, 6, 2)
        shorter = net(past, fut[:, :4])  # a decoder forecasts fewer steps alike
        torch.testing.assert_close(shorter, y[:, :4], atol=1e-5, rtol=1e-5)
        assert not torch.allclose(net(past + 1.0, fut), y)  # the decoder reads the past's state


def test_a_tcn_has_no_seq2seq_and_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"strategy: 'seq2seq' starts a decoder .* architecture 'tcn'"):
        ForecastNet(3, 1, 4, strategy="seq2seq", architecture="tcn")
    with pytest.raises(ValueError, match="architecture: expected one of"):
        ForecastNet(3, 1, 4, architecture="lstm-fcn")

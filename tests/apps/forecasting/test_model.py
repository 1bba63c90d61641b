"""The forecasting network: shapes, monotone quantiles, teacher forcing equals the roll-out."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.forecasting.base import LEVELS
from lstmkit.apps.forecasting.estimator import ForecastNet as ReExported
from lstmkit.apps.forecasting.model import ForecastNet
from lstmkit.core.cells import VARIANTS


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
    for lstm in (net.encoder, net.decoder):
        assert (lstm.hidden_size, lstm.num_layers, lstm.spec) == (6, 2, VARIANTS["cifg"])
    assert ForecastNet(3, 1, 4).encoder.hidden_size == 64  # the network's default
    with pytest.raises(ValueError, match="strategy: expected one of"):
        ForecastNet(3, 1, 4, strategy="mimo")

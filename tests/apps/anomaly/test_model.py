"""Anomaly-detection networks: shapes and the next-step predictor's state."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.anomaly.model import LSTMAutoencoder, NextStepLSTM


def test_autoencoder_shapes() -> None:
    ae = LSTMAutoencoder(2, 16, hidden_size=8)
    assert ae(torch.randn(3, 16, 2)).shape == (3, 16, 2)
    with pytest.raises(ValueError, match=r"x: expected \(N, 16, 2\)"):
        ae(torch.randn(3, 10, 2))


def test_next_step_lstm_carries_its_state() -> None:
    net = NextStepLSTM(2, hidden_size=8).eval()
    x = torch.randn(3, 20, 2)
    whole, _ = net(x)
    first, state = net(x[:, :12])
    rest, _ = net(x[:, 12:], state)
    torch.testing.assert_close(torch.cat([first, rest], 1), whole)
    with pytest.raises(ValueError, match=r"x: expected \(N, L, 2\)"):
        net(torch.randn(3, 20, 3))


def test_lstm_settings_keywords() -> None:
    assert NextStepLSTM(2).lstm.hidden_size == 32
    assert LSTMAutoencoder(2, 16, num_layers=2).decoder.num_layers == 2
    with pytest.raises(TypeError, match="hiden_size"):
        NextStepLSTM(2, hiden_size=8)  # type: ignore[call-arg]

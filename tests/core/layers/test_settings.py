"""LSTMSettings: the LSTM a task network builds."""

from __future__ import annotations

import torch

from lstmkit.core.cells import VARIANTS
from lstmkit.core.layers import LSTM
from lstmkit.core.layers.settings import LSTMSettings


def test_layer_is_batch_first_with_forget_bias_one() -> None:
    lstm = LSTMSettings(hidden_size=4, num_layers=2, variant="vanilla").layer(3, dropout=0.2)
    assert isinstance(lstm, LSTM)
    assert lstm.batch_first and lstm.dropout == 0.2 and lstm.spec == VARIANTS["vanilla"]
    forget = lstm.bias_ih_l0[4:8]  # gate blocks i, f, g, o: f is the second
    torch.testing.assert_close(forget, torch.ones(4))
    assert lstm(torch.randn(5, 7, 3))[0].shape == (5, 7, 4)


def test_one_layer_gets_no_dropout() -> None:
    assert LSTMSettings(num_layers=1).layer(3, dropout=0.5).dropout == 0.0

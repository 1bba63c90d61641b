"""The Elman layer: torch's RNN math and parameters for both nonlinearities."""

from __future__ import annotations

import pytest
import torch
from tests.helpers import assert_close
from torch import nn

from lstmkit import RNN


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_is_torch_rnn_with_copied_weights(nonlinearity: str) -> None:
    ref = nn.RNN(3, 5, nonlinearity=nonlinearity, dtype=torch.float64)
    ours = RNN.from_torch(ref)
    assert ours.nonlinearity == nonlinearity and ours.to_torch().nonlinearity == nonlinearity
    x = torch.randn(6, 4, 3, dtype=torch.float64)
    for engine in ("native", "reference"):
        ours.engine = engine
        (out, h), (ref_out, ref_h) = ours(x), ref(x)
        assert_close(out, ref_out, 1e-12, f"{engine} output")
        assert_close(h, ref_h, 1e-12, f"{engine} h_n")
    assert repr(ours).endswith("nonlinearity='relu')") == (nonlinearity == "relu")


def test_rnn_refuses_an_unknown_nonlinearity() -> None:
    with pytest.raises(ValueError, match=r"nonlinearity: expected one of \['relu', 'tanh'\], got 'gelu'"):
        RNN(3, 4, nonlinearity="gelu")

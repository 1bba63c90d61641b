"""The layers whose state is h (GRU, Elman): torch's native kernel against the reference loop, and
the engine each call runs."""

from __future__ import annotations

import pytest
import torch
from tests.helpers import assert_close

from lstmkit import GRU, RNN
from lstmkit.core.engines.base import Call
from lstmkit.core.engines.native import NATIVE

LAYERS = [
    (GRU, {}),
    (RNN, {"nonlinearity": "tanh"}),
    (RNN, {"nonlinearity": "relu"}),
]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("cls,kwargs", LAYERS, ids=["gru", "rnn_tanh", "rnn_relu"])
def test_native_equals_reference_padded_bidirectional(cls, kwargs, batch_first) -> None:
    ref = cls(3, 5, num_layers=2, bidirectional=True, batch_first=batch_first, engine="reference",
              dtype=torch.float64, **kwargs)  # fmt: skip
    nat = cls(3, 5, num_layers=2, bidirectional=True, batch_first=batch_first, engine="native",
              dtype=torch.float64, **kwargs)  # fmt: skip
    nat.load_state_dict(ref.state_dict())
    lengths = torch.tensor([6, 0, 3, 1])  # a zero-length sequence keeps its initial state
    x = (
        torch.randn(4, 6, 3, dtype=torch.float64)
        if batch_first
        else torch.randn(6, 4, 3, dtype=torch.float64)
    )
    h0 = torch.randn(4, 4, 5, dtype=torch.float64)
    results = {}
    for name, layer in (("reference", ref), ("native", nat)):
        xi, hi = x.clone().requires_grad_(), h0.clone().requires_grad_()
        out, h = layer(xi, hi, lengths=lengths)
        w = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
        ((out * w).sum() + (h * h).sum()).backward()
        grads = [xi.grad, hi.grad, *(p.grad for p in layer.parameters())]
        results[name] = (out, h, *grads)
    for i, (a, b) in enumerate(zip(results["native"], results["reference"])):
        assert_close(a, b, 1e-10, f"native vs reference, value {i}")
    assert_close(results["native"][1][:, 1], h0[:, 1], 0.0, "zero-length sequence keeps h0")


def test_dispatch_native_only_where_it_computes_the_same(monkeypatch) -> None:
    calls: list[str] = []
    real = NATIVE.run

    def spy(call: Call):
        calls.append("native")
        return real(call)

    monkeypatch.setattr(NATIVE, "run", spy)
    x = torch.randn(5, 2, 3)
    layer = GRU(3, 4, recurrent_dropout=0.3)
    layer.eval()(x)
    assert calls == ["native"], "evaluation has no dropout: torch's kernel"
    layer.train()(x)
    assert calls == ["native"], "variational dropout in training: the reference loop"
    mask = torch.tensor([[True, False], [False, True], [True, True], [True, True], [True, True]])
    GRU(3, 4)(x, mask=mask)
    assert calls == ["native"], "a mask with holes: the reference loop"
    GRU(3, 4, engine="reference")(x)
    assert calls == ["native"]
    with pytest.raises(ValueError, match=r"engine='native'.*variational dropout"):
        GRU(3, 4, input_dropout=0.2, engine="native").train()(x)
    with pytest.raises(ValueError, match=r"engine='native'.*holes"):
        RNN(3, 4, engine="native")(x, mask=mask)
    with pytest.raises(ValueError, match="engine: expected one of"):
        GRU(3, 4, engine="fused")

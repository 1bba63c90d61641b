"""float64 gradcheck of every cell variant and option, through the layer.

Regularizers are checked in training mode with their masks fixed: the checked function
reseeds the generator, so every evaluation draws the same masks.
"""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck
from torch.func import functional_call

from lstmkit import GRU, LSTM, RNN
from lstmkit.core.cells import VARIANTS

CASES = [{"variant": name} for name in sorted(VARIANTS)] + [
    {"variant": "classic", "layer_norm": True},
    {"variant": "vanilla", "layer_norm": True, "proj_size": 2},
    {"variant": "classic", "proj_size": 2},
    {"variant": "fgr", "proj_size": 2, "bidirectional": True},
    {"variant": "cifg", "num_layers": 2, "bidirectional": True},
    {"variant": "classic", "recurrent_dropout": 0.3, "input_dropout": 0.3, "_train": True},
    {"variant": "vanilla", "zoneout": (0.3, 0.2), "_train": True},
    {"variant": "classic", "zoneout": 0.25},  # evaluation: expectation blend
    {"variant": "nog", "weight_drop": 0.4, "_train": True},
    {"variant": "classic", "dropout": 0.3, "num_layers": 2, "_train": True},
]


def _id(case: dict) -> str:
    return "-".join(f"{k}={v}" for k, v in case.items())


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_gradcheck_lstm(case: dict) -> None:
    case = dict(case)
    train = case.pop("_train", False)
    layer = LSTM(3, 4, dtype=torch.float64, **case).train(train)
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    state = layer.initial_state(2)
    state = type(state)(*(torch.randn_like(s).requires_grad_() for s in state))
    lengths = torch.tensor([4, 2])

    def fn(x, *tensors):
        n = len(params)
        with torch.random.fork_rng():
            torch.manual_seed(7)
            out, final = functional_call(
                layer, dict(zip(names, tensors[:n])), (x, type(state)(*tensors[n:])), {"lengths": lengths}
            )
        return (out, *final)

    assert gradcheck(fn, (x, *params, *state), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("engine", ["reference", "native"])
@pytest.mark.parametrize("cls", [GRU, RNN])
def test_gradcheck_gru_rnn(cls, engine) -> None:
    layer = cls(3, 4, num_layers=2, bidirectional=True, engine=engine, dtype=torch.float64)
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 4, dtype=torch.float64, requires_grad=True)

    def fn(x, h0, *tensors):
        return functional_call(layer, dict(zip(names, tensors)), (x, h0), {"lengths": [5, 3]})

    assert gradcheck(fn, (x, h0, *params), eps=1e-6, atol=1e-5, rtol=1e-4)

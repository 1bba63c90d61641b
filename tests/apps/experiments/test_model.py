"""The experiments' network: its gate-bias options act on the gates they name."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.experiments.model import SequenceModel


@pytest.mark.parametrize("cell", ["classic", "original1997"])
def test_input_bias_closes_the_input_gate_at_the_start(cell: str) -> None:
    torch.manual_seed(0)
    closed = SequenceModel(cell, 2, 8, 1, input_bias=-6.0, engine="reference")
    torch.manual_seed(0)
    plain = SequenceModel(cell, 2, 8, 1, engine="reference")
    x = torch.randn(3, 20, 2)
    with torch.no_grad():
        gates_closed = closed.rnn(x, None, None, return_gates=True)[2]
        gates_plain = plain.rnn(x, None, None, return_gates=True)[2]
    assert float(gates_closed.i.mean()) < 0.01 < float(gates_plain.i.mean())
    # the cell barely moves while the input gate is closed (the paper's remedy for state drift)
    assert float(gates_closed.c.abs().mean()) < 0.1 * float(gates_plain.c.abs().mean())


def test_input_bias_needs_an_input_gate() -> None:
    with pytest.raises(ValueError, match="input_bias"):
        SequenceModel("nig", 2, 8, 1, input_bias=-3.0)


def test_init_range_is_uniform_and_keeps_the_gate_biases_asked_for() -> None:
    model = SequenceModel("classic", 2, 8, 1, init_range=0.1, memory_bias=5.0, input_bias=-2.0)
    bias = dict(model.named_parameters())["rnn.bias_ih_l0"].detach()
    i, f, g, o = bias.chunk(4)
    assert bool((i == -2.0).all()) and bool((f == 5.0).all())
    assert float(o.abs().max()) <= 0.1
    others = [p for n, p in model.named_parameters() if n != "rnn.bias_ih_l0"]
    assert all(float(p.detach().abs().max()) <= 0.1 for p in others) and float(g.abs().max()) <= 0.1


def test_shortcut_reads_the_input_directly() -> None:
    # with every recurrent weight and bias zero, h stays 0 (g = tanh(0)): only the shortcut
    # lets the step's input reach the output
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3)
    for shortcut in (False, True):
        model = SequenceModel("classic", 3, 4, 2, shortcut=shortcut)
        with torch.no_grad():
            for p in model.rnn.parameters():
                p.zero_()
        y, _ = model(x)
        if shortcut:
            expected = x @ model.head.weight[:, 4:].T + model.head.bias
            torch.testing.assert_close(y, expected)
        else:
            torch.testing.assert_close(y, model.head.bias.expand_as(y))

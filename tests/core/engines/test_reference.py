"""The reference engine is the runner stepping the cell: the same numbers as a hand-written loop
for each family, with the regularizers applied where the module docstring says."""

from __future__ import annotations

import pytest
import torch
from tests.helpers import assert_close

from lstmkit.core.cells import (
    VARIANTS,
    GRUParams,
    LSTMParams,
    RNNParams,
    gru_cell,
    lstm_cell,
    lstm_initial_state,
    lstm_param_shapes,
    rnn_cell,
)
from lstmkit.core.engines.base import Call, Regularizers
from lstmkit.core.engines.reference import REFERENCE
from lstmkit.core.regularizers import zoneout


def _loop(step, x: torch.Tensor, state):
    outs = []
    for x_t in x:
        state = step(x_t, state)
        outs.append(state if isinstance(state, torch.Tensor) else state[0])
    return torch.stack(outs), state


@pytest.mark.parametrize("cell", ["gru", "rnn_tanh", "rnn_relu"])
def test_gru_and_elman_equal_a_loop_of_the_cell(cell: str) -> None:
    blocks = 3 if cell == "gru" else 1
    kind = GRUParams if cell == "gru" else RNNParams
    params = kind(*(torch.randn(s, dtype=torch.float64) for s in ((blocks * 4, 3), (blocks * 4, 4))))
    x, h0 = torch.randn(5, 2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    res = REFERENCE.run(Call(cell, x, h0, params, return_states=True))
    if cell == "gru":
        out, h = _loop(lambda x_t, h: gru_cell(x_t, h, params), x, h0)  # type: ignore[arg-type]
    else:
        nonlinearity = cell.removeprefix("rnn_")
        out, h = _loop(lambda x_t, h: rnn_cell(x_t, h, params, nonlinearity), x, h0)
    assert_close(res.output, out, 1e-12, "output")
    assert_close(res.state, h, 1e-12, "final h")
    assert_close(res.states, out, 1e-12, "every step's h")


def test_lstm_with_dropout_masks_and_zoneout_in_evaluation() -> None:
    spec = VARIANTS["vanilla"]
    shapes = lstm_param_shapes(spec, 3, 4)
    params = LSTMParams(**{k: torch.randn(s, dtype=torch.float64) for k, s in shapes.items()})
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    x_mask, h_mask = torch.rand(2, 3, dtype=torch.float64), torch.rand(2, 4, dtype=torch.float64)
    state = lstm_initial_state(spec, (2,), 4, dtype=torch.float64)
    regs = Regularizers(x_mask, h_mask, zoneout=(0.2, 0.3))
    res = REFERENCE.run(Call(spec, x, state, params, regularizers=regs, training=False))

    def step(x_t: torch.Tensor, s):
        new = lstm_cell(x_t, s, params, spec, x_mask, h_mask)
        return new._replace(
            h=zoneout(s.h, new.h, torch.tensor(0.2, dtype=torch.float64)),
            c=zoneout(s.c, new.c, torch.tensor(0.3, dtype=torch.float64)),
        )

    out, final = _loop(step, x, state)
    assert_close(res.output, out, 1e-12, "output")
    assert_close(res.state.c, final.c, 1e-12, "final c")

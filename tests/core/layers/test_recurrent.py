"""Recurrent: a user-defined cell runs through the reference runner as a layer."""

from __future__ import annotations

import torch
from tests.helpers import assert_close
from torch import nn

from lstmkit.core.layers.recurrent import Recurrent


class LeakyCell(nn.Module):
    """A user-defined cell: leaky integrator with a tuple state (h, running sum)."""

    def __init__(self, n_in: int, n_hidden: int) -> None:
        super().__init__()
        self.lin = nn.Linear(n_in + n_hidden, n_hidden)

    def initial_state(self, batch, dtype=None, device=None):
        z = torch.zeros(batch, self.lin.out_features, dtype=dtype, device=device)
        return (z, z)

    def forward(self, x, state):
        h, total = state
        h = 0.5 * h + 0.5 * torch.tanh(self.lin(torch.cat([x, h], -1)))
        return (h, total + h)


def test_user_defined_cell_runs_through_the_runner() -> None:
    cell = LeakyCell(3, 4).double()
    layer = Recurrent(cell, batch_first=True)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    out, (_, total) = layer(x, lengths=[5, 3])
    for n, length in enumerate((5, 3)):
        state = cell.initial_state(1, dtype=torch.float64)
        outs = []
        for t in range(length):
            state = cell(x[n : n + 1, t], state)
            outs.append(state[0])
        assert_close(out[n, :length], torch.cat(outs), 1e-12, "user cell output")
        assert torch.all(out[n, length:] == 0)
        assert_close(total[n : n + 1], state[1], 1e-12, "user cell final state")

"""Bidirectional as a combinator: a user's Recurrent(cell) made bidirectional equals running it
forward and on each sequence reversed within its length; the stacked layers' bidirectional
layers are the same combinator over their two directions."""

from __future__ import annotations

import pytest
import torch
from tests.helpers import assert_close
from torch import nn

from lstmkit import LSTM, Bidirectional, Recurrent
from lstmkit.core.layers.bidirectional import bidirectional
from lstmkit.core.scan import lengths_to_mask
from lstmkit.core.tree import map_state


class Leaky(nn.Module):
    """A user's cell with a tuple state (h, running sum of h) and an ``output``."""

    def __init__(self, n_in: int, n: int) -> None:
        super().__init__()
        self.lin = nn.Linear(n_in + n, n, dtype=torch.float64)
        self.n = n

    def initial_state(self, batch: int, dtype: torch.dtype | None = None, device: object = None):
        zeros = torch.zeros(batch, self.n, dtype=dtype)
        return (zeros, zeros)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h, total = state
        h = 0.5 * h + 0.5 * torch.tanh(self.lin(torch.cat([x, h], -1)))
        return (h, total + h)

    def output(self, state: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return state[0] * 2


def _flip_within_lengths(x: torch.Tensor, lengths: list[int]) -> torch.Tensor:
    out = x.clone()
    for n, length in enumerate(lengths):
        out[:length, n] = x[:length, n].flip(0)
    return out


def test_recurrent_made_bidirectional_equals_forward_and_reversed_runs() -> None:
    torch.manual_seed(0)
    fwd, bwd = Recurrent(Leaky(3, 4)), Recurrent(Leaky(3, 5))
    layer = Bidirectional(fwd, bwd)
    lengths = [6, 2, 4, 1]
    x = torch.randn(6, 4, 3, dtype=torch.float64)
    x[lengths_to_mask(torch.tensor(lengths), 6).logical_not()] = float("nan")  # padding never leaks
    out, (state_f, state_b) = layer(x, lengths=lengths)
    assert out.shape == (6, 4, 9)
    ahead, ahead_state = fwd(x, lengths=lengths)
    flipped = _flip_within_lengths(torch.nan_to_num(x), lengths)
    behind, behind_state = bwd(flipped, lengths=lengths)
    assert_close(out[..., :4], ahead, 0.0, "forward half")
    assert_close(out[..., 4:], _flip_within_lengths(behind, lengths), 1e-12, "backward half")
    for got, expected in zip((*state_f, *state_b), (*ahead_state, *behind_state)):
        assert_close(got, expected, 1e-12, "final states")
    for n, length in enumerate(lengths):
        assert torch.all(out[length:, n] == 0), "padded steps output zeros"


def test_batch_first_mask_and_given_state() -> None:
    torch.manual_seed(1)
    layer = Bidirectional(Recurrent(nn.GRUCell(3, 5)), Recurrent(nn.GRUCell(3, 5)))
    x = torch.randn(6, 2, 3)
    h0 = (torch.randn(2, 5), torch.randn(2, 5))
    expected, expected_state = layer(x, h0, lengths=[6, 3])
    layer.batch_first = True
    mask = torch.arange(6).unsqueeze(0) < torch.tensor([6, 3]).unsqueeze(1)  # (N, L)
    out, state = layer(x.transpose(0, 1), h0, mask=mask)
    assert_close(out.transpose(0, 1), expected, 0.0, "batch-first output")
    for a, b in zip(state, expected_state):
        assert_close(a, b, 0.0, "final states")


def test_stacked_layers_are_the_combinator_over_their_directions() -> None:
    torch.manual_seed(2)
    layer = LSTM(3, 4, bidirectional=True, variant="vanilla", dtype=torch.float64).eval()
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    lengths = [5, 1, 3]
    expected, (h, c) = layer(x, lengths=lengths)
    start = (
        map_state(lambda s: s[0], layer.initial_state(3)),
        map_state(lambda s: s[1], layer.initial_state(3)),
    )
    mask = lengths_to_mask(torch.tensor(lengths), 5)
    res = bidirectional(layer.direction(0, 0), layer.direction(0, 1), x * mask.unsqueeze(-1), start, mask)
    assert_close(res.output, expected, 0.0, "output")
    assert_close(torch.stack([res.state[0].h, res.state[1].h]), h, 0.0, "h_n")
    assert_close(torch.stack([res.state[0].c, res.state[1].c]), c, 0.0, "c_n")


def test_errors_name_the_argument() -> None:
    with pytest.raises(TypeError, match="backward_layer: expected a runner"):
        Bidirectional(Recurrent(nn.GRUCell(3, 5)), nn.Linear(3, 5))
    layer = Bidirectional(Recurrent(nn.GRUCell(3, 5)), Recurrent(nn.GRUCell(3, 5)))
    with pytest.raises(ValueError, match="state: required"):
        layer(torch.randn(6, 2, 3))
    with pytest.raises(ValueError, match="input: expected"):
        layer(torch.randn(6, 3))

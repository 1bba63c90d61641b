"""States as trees of tensors: mapping keeps their types, stacking and detaching field by field."""

from __future__ import annotations

import torch
from tests.helpers import assert_close

from lstmkit import LSTM, detach_state
from lstmkit.core.cells import LSTMState
from lstmkit.core.tree import map_state, stack_states, tree_map


def test_detach_state_cuts_the_graph() -> None:
    layer = LSTM(3, 4)
    _, state = layer(torch.randn(5, 2, 3))
    assert state.h.requires_grad
    cut = detach_state(state)
    assert type(cut) is type(state) and not cut.h.requires_grad and not cut.c.requires_grad
    assert_close(cut.c, state.c, 0.0, "detached values")


def test_map_state_keeps_named_tuple_types() -> None:
    state = LSTM(2, 3).initial_state(4)
    doubled = map_state(lambda t: t + 1, state)
    assert type(doubled) is type(state) and torch.all(doubled.c == 1)


def test_stack_states_field_by_field() -> None:
    a = LSTMState(torch.zeros(2, 3), torch.ones(2, 5))
    b = LSTMState(torch.ones(2, 3), torch.zeros(2, 5))
    stacked = stack_states([a, b], dim=1)
    assert type(stacked) is LSTMState and stacked.h.shape == (2, 2, 3) and stacked.c.shape == (2, 2, 5)
    assert torch.equal(stacked.h[:, 1], b.h) and torch.equal(stacked.c[:, 0], a.c)
    assert stack_states([torch.zeros(2), torch.ones(2)]).tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_tree_map_walks_every_container() -> None:
    nest = {"s": LSTMState(torch.ones(1), torch.ones(1)), "l": [torch.ones(1), "text"], "t": (torch.ones(1),)}
    out = tree_map(lambda t: t * 2, nest)
    assert type(out["s"]) is LSTMState and out["s"].c.item() == 2
    assert out["l"][0].item() == 2 and out["l"][1] == "text" and out["t"][0].item() == 2
    assert map_state(torch.add, torch.ones(2), torch.ones(2)).tolist() == [2.0, 2.0]

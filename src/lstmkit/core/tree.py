"""Recurrent states as trees of tensors: map, stack and detach them field by field.

A *state* is a tensor or a tuple (usually a NamedTuple such as
:class:`~lstmkit.core.cells.LSTMState`) of tensors whose first dimension is the batch. These
functions treat every such structure alike, so the runner, the layers and the trainer never
ask which cell made a state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from torch import Tensor

__all__ = ["State", "detach_state", "map_state", "stack_states", "tree_map"]

State = Any  # a Tensor or a (Named)tuple of Tensors
S = TypeVar("S")


def map_state(fn: Callable[..., Tensor], *states: State) -> State:
    """Apply ``fn`` field by field to one or more states of the same structure.

    Args:
        fn: takes one tensor per state (the same field of each) and returns a tensor.
        states: states of one structure: tensors, or tuples/NamedTuples of tensors.

    Returns:
        A state of that structure (the same NamedTuple type) holding ``fn``'s results.

    Example::

        >>> from lstmkit.core.cells import LSTMState
        >>> s = LSTMState(torch.ones(2, 3), torch.zeros(2, 3))
        >>> map_state(torch.add, s, s).h
        tensor([[2., 2., 2.],
                [2., 2., 2.]])
    """
    first = states[0]
    if isinstance(first, Tensor):
        return fn(*states)
    fields = [fn(*parts) for parts in zip(*states)]
    return type(first)._make(fields) if hasattr(first, "_make") else type(first)(fields)


def tree_map(fn: Callable[[Tensor], Any], obj: Any) -> Any:
    """Apply ``fn`` to every tensor in a nest of tuples, NamedTuples, lists and dicts
    (anything else passes through unchanged).

    Example::

        >>> tree_map(lambda t: t * 2, {"a": torch.ones(1), "b": [torch.ones(1), "text"]})
        {'a': tensor([2.]), 'b': [tensor([2.]), 'text']}
    """
    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, tuple):
        items = [tree_map(fn, o) for o in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    if isinstance(obj, list):
        return [tree_map(fn, o) for o in obj]
    if isinstance(obj, dict):
        return {k: tree_map(fn, v) for k, v in obj.items()}
    return obj


def detach_state(state: S) -> S:
    """Detach every tensor of a state (or any nest of states) from the graph, for truncated
    backpropagation through time.

    Example::

        >>> out, state = lstm(chunk, state)
        >>> state = detach_state(state)   # the next chunk starts a new graph
    """
    return tree_map(lambda t: t.detach(), state)


def stack_states(states: Sequence[State], dim: int = 0) -> State:
    """Stack states of one structure field by field along a new dimension ``dim``.

    Example::

        >>> stack_states([torch.zeros(2, 3), torch.ones(2, 3)]).shape
        torch.Size([2, 2, 3])
    """
    return map_state(lambda *parts: torch.stack(parts, dim), *states)

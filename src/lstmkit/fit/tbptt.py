r"""Truncated backpropagation through time: the window plan and batch slicing.

TBPTT(k1, k2) (Williams & Peng 1990; Sutskever 2013, sec. 2.8.6) runs ``k1`` steps forward
between parameter updates and backpropagates ``k2 >= k1`` steps at each update. For a batch of
length L, update u covers the loss on steps ``[u k1, t_u)`` with ``t_u = min((u + 1) k1, L)``,
and its graph starts at ``s_u = max(0, t_u - k2)`` from the *detached* state at ``s_u``.
With ``k2 = k1`` the windows are disjoint chunks; with ``k2 > k1`` each window re-runs the
``k2 - k1`` steps before its loss part (the cost of the longer backward window), starting from
a state saved during the previous window.

The model (or the user's step) must be *stateful*: ``model(x_chunk, state) -> (output, state)``
with ``state=None`` meaning the model's initial state, ``output`` laid out like ``x_chunk``
along the time dimension, and ``state`` any nest of tensors (a tensor, tuples/NamedTuples such
as :class:`~lstmkit.core.cells.LSTMState`, lists or dicts of them).
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from lstmkit.core.tree import tree_map

__all__ = [
    "Piece",
    "Window",
    "slice_time",
    "tbptt_windows",
    "time_length",
    "window_pieces",
]


@dataclass(frozen=True)
class Window:
    """One update of TBPTT: the loss covers ``[loss_start, stop)``, the graph starts at
    ``graph_start`` and the next window's graph starts at ``next_graph_start``."""

    graph_start: int
    loss_start: int
    stop: int
    next_graph_start: int


@dataclass(frozen=True)
class Piece:
    """A stretch ``[start, stop)`` run by one model call; ``in_loss``: its outputs enter the
    loss; ``save_after``: the (detached) state at ``stop`` starts the next window."""

    start: int
    stop: int
    in_loss: bool
    save_after: bool


def tbptt_windows(length: int, k1: int, k2: int | None = None) -> list[Window]:
    """The updates of TBPTT(k1, k2) over ``length`` steps (see the module docstring)."""
    k2 = k1 if k2 is None else k2
    if k1 < 1 or k2 < k1:
        raise ValueError(f"tbptt: expected 1 <= k1 <= k2, got k1={k1}, k2={k2}")
    if length < 1:
        raise ValueError(f"length: expected at least one time step, got {length}")
    stops = [min(u * k1 + k1, length) for u in range((length + k1 - 1) // k1)]
    starts = [max(0, t - k2) for t in stops]
    out = []
    for u, t in enumerate(stops):
        nxt = starts[u + 1] if u + 1 < len(stops) else t
        out.append(Window(starts[u], u * k1, t, nxt))
    return out


def window_pieces(w: Window) -> list[Piece]:
    """Split a window at its loss start and at the next window's graph start."""
    cuts = sorted({w.graph_start, w.loss_start, w.stop} | ({w.next_graph_start} - {w.graph_start}))
    cuts = [c for c in cuts if w.graph_start <= c <= w.stop]
    return [Piece(a, b, a >= w.loss_start, b == w.next_graph_start) for a, b in itertools.pairwise(cuts)]


def _time_tensors(batch: Any, time_dim: int) -> list[Tensor]:
    found: list[Tensor] = []
    tree_map(lambda t: found.append(t) if t.dim() > time_dim else None, batch)
    return found


def time_length(batch: Any, time_dim: int) -> int:
    """The common length L of the tensors of ``batch`` along ``time_dim``."""
    tensors = _time_tensors(batch, time_dim)
    if not tensors:
        raise ValueError(
            f"batch: truncated BPTT needs tensors with a time dimension {time_dim} (config.time_dim), "
            "found none"
        )
    lengths = {t.shape[time_dim] for t in tensors}
    if len(lengths) != 1:
        shapes = [tuple(t.shape) for t in tensors]
        raise ValueError(
            f"batch: truncated BPTT needs every tensor to have the same length along time_dim="
            f"{time_dim}, got shapes {shapes}"
        )
    return lengths.pop()


def slice_time(batch: Any, start: int, stop: int, time_dim: int) -> Any:
    """The steps ``[start, stop)`` of every tensor of ``batch`` along ``time_dim``."""

    def cut(t: Tensor) -> Tensor:
        return t.narrow(time_dim, start, stop - start) if t.dim() > time_dim else t

    return tree_map(cut, batch)


_NT = "__namedtuple__"


def encode_state(obj: Any) -> Any:
    """A (nested) state in plain containers, so a checkpoint loads with ``weights_only``:
    NamedTuples become ``{"__namedtuple__": "module:qualname", "fields": [...]}``."""
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        cls = type(obj)
        return {_NT: f"{cls.__module__}:{cls.__qualname__}", "fields": [encode_state(o) for o in obj]}
    if isinstance(obj, (tuple, list)):
        return type(obj)(encode_state(o) for o in obj)
    if isinstance(obj, dict):
        return {k: encode_state(v) for k, v in obj.items()}
    return obj


def decode_state(obj: Any) -> Any:
    """Undo :func:`encode_state`. A NamedTuple class is looked up among the modules already
    imported (nothing is imported from a checkpoint); if absent, a plain tuple comes back."""
    if isinstance(obj, dict) and _NT in obj:
        fields = [decode_state(o) for o in obj["fields"]]
        module, _, qualname = str(obj[_NT]).partition(":")
        cls: Any = sys.modules.get(module)
        for part in qualname.split("."):
            cls = getattr(cls, part, None)
        if isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields"):
            return cls(*fields)
        return tuple(fields)
    if isinstance(obj, (tuple, list)):
        return type(obj)(decode_state(o) for o in obj)
    if isinstance(obj, dict):
        return {k: decode_state(v) for k, v in obj.items()}
    return obj

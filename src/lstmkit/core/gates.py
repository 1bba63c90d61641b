"""Gate traces: what every gate of every layer did at every step (``return_gates=True``).

An LSTM layer called with ``return_gates=True`` returns a :class:`GateTrace` beside its output
and state. Its fields are the activations of the four gates and the two states,
:math:`i_t, f_t, g_t, o_t, c_t, h_t` of the module docstring of
:mod:`lstmkit.core.cells.lstm`, for each layer and direction. A gate a variant has not is the
constant it stands for: NIG's i = 1, NFG's and the 1997 cell's f = 1, CIFG's f = 1 - i, NOG's
o = 1; padded steps are zero in every field.

The engines return the activations they compute anyway (the fused kernels save them for the
backward pass; :func:`lstmkit.core.cells.lstm_gate_step` in the reference loop); this module
only lays them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils import _pytree

from lstmkit.core.cells.lstm import LSTMSpec
from lstmkit.core.tree import State

__all__ = ["GateTrace", "gate_trace", "step_trace"]


class GateTrace(NamedTuple):
    """Every step's gates and states of every layer and direction of an LSTM.

    Each field is (L, N, K, H) in the layer's time layout ((N, L, K, H) with ``batch_first``,
    (L, K, H) for an unbatched input, the packed data (sum of lengths, K, H) for a
    :class:`~torch.nn.utils.rnn.PackedSequence`), where K = num_layers * num_directions in the
    order of the state's first dimension (layer-major: ``k = layer * num_directions +
    direction``) and H = hidden_size; ``h`` has H_out = proj_size or hidden_size features.

    Attributes:
        i: input gate; f: forget gate; g: candidate (block input); o: output gate;
        c: cell state :math:`c_t`; h: hidden state :math:`h_t` (the layer's output).
    """

    i: Tensor
    f: Tensor
    g: Tensor
    o: Tensor
    c: Tensor
    h: Tensor


# torch.export.save writes the output structure of a program: name the trace for it
_pytree._register_namedtuple(GateTrace, serialized_type_name="lstmkit.GateTrace")


def _fields(spec: LSTMSpec, act: Tensor, states: State, mask: Tensor | None) -> dict[str, Tensor]:
    """The (L, N, H) fields of one layer and direction from its gate activations (L, N, G*H)
    (blocks of ``spec.gates``) and every step's state."""
    blocks = dict(zip(spec.gates, act.chunk(spec.num_gates, dim=-1)))
    g = blocks["g"]
    # the constant of an absent gate (zero at padded steps)
    real = torch.ones_like(g) if mask is None else mask.unsqueeze(-1).to(g.dtype).expand_as(g)
    i = blocks.get("i", real)
    f = blocks.get("f", (1 - i) * real if spec.coupled else real)
    o = blocks.get("o", real)
    return {"i": i, "f": f, "g": g, "o": o, "c": states[1], "h": states[0]}


def step_trace(spec: LSTMSpec, act: Tensor, h: Tensor, c: Tensor) -> GateTrace:
    """The :class:`GateTrace` of one streaming step: ``act`` (N, K, G*H) the gate activations
    (blocks of ``spec.gates``), ``h`` (N, K, H_out) and ``c`` (N, K, H) the new state, K layers."""
    return GateTrace(**_fields(spec, act, (h, c), None))


def gate_trace(spec: LSTMSpec, records: Sequence[tuple[Tensor, State]], mask: Tensor | None) -> GateTrace:
    """A time-major :class:`GateTrace` from what the engines returned.

    Args:
        spec: the layers' cell.
        records: per layer and direction, layer-major: ``(gate activations (L, N, G*H), every
            step's state)`` (:attr:`~lstmkit.core.scan.RunResult.gates` and ``states``).
        mask: (L, N) bool, true at real steps, or ``None``.
    """
    parts = [_fields(spec, act, states, mask) for act, states in records]

    def join(name: str) -> Tensor:
        if len(parts) == 1:
            return parts[0][name].unsqueeze(2)  # a view: nothing copied for one layer
        return torch.stack([p[name] for p in parts], dim=2)

    return GateTrace(*(join(name) for name in GateTrace._fields))

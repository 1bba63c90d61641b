"""One layer and direction of a stacked layer as a runner, and what a stacked layer's forward
pass returns before the layout is restored (:class:`LayerResult`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

from lstmkit.core.engines.base import Call
from lstmkit.core.engines.select import run_call
from lstmkit.core.scan import RunResult
from lstmkit.core.tree import State

if TYPE_CHECKING:
    from lstmkit.core.layers.stacked import StackedRecurrent

__all__ = ["Direction", "LayerResult", "per_direction"]


def per_direction(found: Any, bidirectional: bool) -> list[Any]:
    """A layer's per-step records (states or gate activations) as a list, one per direction
    (empty where the engines returned none)."""
    if found is None:
        return []
    return list(found) if bidirectional else [found]


class LayerResult(NamedTuple):
    """What :meth:`StackedRecurrent._forward` returns, laid out like the input: the output, the
    final state, every step's cell state of the last layer (``return_states``) and the gate
    trace (``return_gates``), ``None`` where not asked for."""

    output: Tensor | PackedSequence
    state: State
    cells: Tensor | None
    gates: Any


class Direction:
    """One layer and direction of a stacked layer as a runner: its call goes to the engine the
    layer's ``engine`` setting and the policy table pick."""

    def __init__(
        self, module: StackedRecurrent, layer: int, direction: int, return_states: bool, return_gates: bool
    ) -> None:
        self.module, self.layer, self.index, self.return_states = module, layer, direction, return_states
        self.return_gates = return_gates

    def call(self, x: Tensor, state: State, mask: Tensor | None = None, reverse: bool = False) -> Call:
        """This layer and direction over the time-major ``x`` (L, N, H_in) as the engines take it
        (the regularizers of the call drawn now, in training)."""
        module = self.module
        params, regularizers = module._prepare(self.layer, self.index, x)
        keep, training = self.return_states, module.training
        gates = self.return_gates
        return Call(module._cell(), x, state, params, mask, reverse, keep, training, regularizers, gates)

    def run(self, x: Tensor, state: State, *, mask: Tensor | None = None, reverse: bool = False) -> RunResult:
        return run_call(self.module.engine, self.call(x, state, mask, reverse))

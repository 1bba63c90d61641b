"""The base of the layers whose state is the tensor h: :class:`~lstmkit.core.layers.GRU` and
:class:`~lstmkit.core.layers.RNN`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

from lstmkit.core.cells.gru import GRUParams
from lstmkit.core.cells.rnn import RNNParams
from lstmkit.core.engines.base import CellParams, Regularizers
from lstmkit.core.layers.stacked import StackedRecurrent

__all__ = ["SHAPES_DOC", "HiddenStateLayer"]

SHAPES_DOC = """
    Engines: each layer and direction of a call runs on the engine that the policy table of
    :mod:`lstmkit.core.engines.select` picks for it (``engine="auto"``, the default: torch's own
    kernel wherever it computes the same thing, else the reference loop), or on the one
    ``engine`` names (``"native"``, ``"reference"``). Both are tested against each other,
    outputs and gradients.

    ``check_finite=True`` makes ``forward`` and ``step`` raise ``ValueError`` naming the first
    NaN or +-inf in the input (padded steps are not checked) or in a given h_0. Off by default
    (it reads every value once); then a NaN in the input gives NaN outputs, and an inf may give
    NaN gradients, without an error. Padding past ``lengths`` or where the mask is false is
    never read, checked or not. ``dropout`` acts between layers only: with ``num_layers=1`` it
    has no effect, and a ``UserWarning`` says so.

    Inputs: ``input`` (L, N, H_in) / (N, L, H_in) / unbatched (L, H_in) / PackedSequence,
    ``state`` h_0 (D * num_layers, N, H) (zeros if omitted), ``lengths`` (N,) or ``mask``.
    Outputs: ``output`` (L, N, D * H) laid out like the input, zero at padded steps, and
    ``h_n`` (D * num_layers, N, H), each sequence's state at its last real step.

    where N = batch size, L = sequence length, D = 2 if bidirectional else 1.
"""


class HiddenStateLayer(StackedRecurrent):
    """Base of the layers whose state is the tensor h; a subclass names its cell
    (:meth:`_cell`: also the name of torch's kernel) and its parameters (:attr:`_params_type`)."""

    _params_type: type[GRUParams] | type[RNNParams]

    def _cudnn_weights(self, layer: int, direction: int) -> tuple[str, list[Tensor]] | None:
        return str(self._cell()), list(self.layer_params(layer, direction).values())

    def _prepare(self, layer: int, direction: int, x: Tensor) -> tuple[CellParams, Regularizers]:
        params = self._params_type(**self.layer_params(layer, direction))
        return params, Regularizers(*self._dropout_masks(layer, x.shape[1], x))

    def forward(
        self,
        input: Tensor | PackedSequence,
        state: Tensor | None = None,
        lengths: Tensor | Sequence[int] | None = None,
        *,
        mask: Tensor | None = None,
    ) -> tuple[Any, Tensor]:
        """Run the layer: ``(output, h_n)``; shapes in the class docstring."""
        output, final = self._forward(input, state, lengths, mask, False)[:2]
        return output, final

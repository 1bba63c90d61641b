"""The GRU layer, with the same machinery as :class:`~lstmkit.core.layers.LSTM`."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lstmkit.core.cells.gru import GRUParams, gru_param_shapes
from lstmkit.core.layers.hidden import SHAPES_DOC, HiddenStateLayer
from lstmkit.core.layers.options import LayerOptions

__all__ = ["GRU"]


class GRU(HiddenStateLayer):
    __doc__ = (
        r"""A multi-layer GRU with :class:`torch.nn.GRU`'s parameters and math, plus lengths/masks
    and variational dropout. For each layer and step (:mod:`lstmkit.core.cells.gru`):

    .. math::

        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Args: as :class:`~lstmkit.core.layers.LSTM` (``input_size``, ``hidden_size``, ``num_layers``,
    ``bias``, ``batch_first``, ``bidirectional``, ``dropout``, ``input_dropout``,
    ``recurrent_dropout``, ``engine``, ``check_finite``, ``device``, ``dtype``).

    Example::

        >>> gru = GRU(10, 20, num_layers=2, batch_first=True)
        >>> out, h = gru(torch.randn(3, 7, 10), lengths=[7, 5, 2])
        >>> out.shape, h.shape
        (torch.Size([3, 7, 20]), torch.Size([2, 3, 20]))
"""
        + SHAPES_DOC
    )

    _torch_class = nn.GRU
    _family = "gru"
    _params_type = GRUParams

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bias: bool = True,
        batch_first: bool = False,
        bidirectional: bool = False,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        engine: str = "auto",
        check_finite: bool = False,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(LayerOptions.of(locals()))
        self._register_parameters(device, dtype)
        self.reset_parameters()

    def _cell(self) -> str:
        return "gru"

    def _param_shapes(self, layer: int) -> dict[str, tuple[int, ...]]:
        return gru_param_shapes(self.layer_input_size(layer), self.hidden_size, self.bias)

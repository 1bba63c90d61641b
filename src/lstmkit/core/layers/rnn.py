"""The Elman RNN layer, with the same machinery as :class:`~lstmkit.core.layers.LSTM`."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lstmkit.core.cells.rnn import NONLINEARITIES, RNNParams, rnn_param_shapes
from lstmkit.core.layers.hidden import SHAPES_DOC, HiddenStateLayer
from lstmkit.core.layers.options import LayerOptions

__all__ = ["RNN"]


class RNN(HiddenStateLayer):
    __doc__ = (
        r"""A multi-layer Elman RNN with :class:`torch.nn.RNN`'s parameters and math, plus
    lengths/masks and variational dropout. For each layer and step (:mod:`lstmkit.core.cells.rnn`):

    .. math::

        h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}), \qquad
        \phi = \tanh \text{ or } \mathrm{relu}

    Args: as :class:`~lstmkit.core.layers.GRU`, plus ``nonlinearity`` (``"tanh"`` or ``"relu"``).

    Example::

        >>> rnn = RNN(10, 20, nonlinearity="relu", bidirectional=True)
        >>> out, h = rnn(torch.randn(7, 3, 10))
        >>> out.shape, h.shape
        (torch.Size([7, 3, 40]), torch.Size([2, 3, 20]))
"""
        + SHAPES_DOC
    )

    _torch_class = nn.RNN
    _family = "rnn"
    _params_type = RNNParams

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        nonlinearity: str = "tanh",
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
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity: expected one of {sorted(NONLINEARITIES)}, got {nonlinearity!r}")
        super().__init__(LayerOptions.of(locals()))
        self.nonlinearity = nonlinearity
        self._register_parameters(device, dtype)
        self.reset_parameters()

    def _cell(self) -> str:
        return f"rnn_{self.nonlinearity}"

    def _param_shapes(self, layer: int) -> dict[str, tuple[int, ...]]:
        return rnn_param_shapes(self.layer_input_size(layer), self.hidden_size, self.bias)

    @classmethod
    def _torch_kwargs(cls, module: nn.Module) -> dict[str, Any]:
        return {"nonlinearity": module.nonlinearity}

    def _to_torch_kwargs(self) -> dict[str, Any]:
        return {"nonlinearity": self.nonlinearity}

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")

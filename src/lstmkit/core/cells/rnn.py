r"""The Elman RNN cell, exactly as :class:`torch.nn.RNN` computes it (Elman, 1990).

.. math::

    h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}), \qquad \phi \in \{\tanh, \mathrm{relu}\}

``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih``/``bias_hh`` (H,). The state is ``h`` (N, H).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "NONLINEARITIES",
    "RNNParams",
    "rnn_cell",
    "rnn_input_projection",
    "rnn_param_shapes",
    "rnn_step",
    "torch_param_shapes",
]

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}


class RNNParams(NamedTuple):
    """Tensors of one Elman layer and direction; shapes in the module docstring."""

    weight_ih: Tensor
    weight_hh: Tensor
    bias_ih: Tensor | None = None
    bias_hh: Tensor | None = None


def torch_param_shapes(
    blocks: int, input_size: int, hidden_size: int, bias: bool = True
) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of one layer and direction of torch's Elman (1 gate block)
    or GRU (3 blocks) layer, in PyTorch's order."""
    shapes: dict[str, tuple[int, ...]] = {
        "weight_ih": (blocks * hidden_size, input_size),
        "weight_hh": (blocks * hidden_size, hidden_size),
    }
    if bias:
        shapes["bias_ih"] = (blocks * hidden_size,)
        shapes["bias_hh"] = (blocks * hidden_size,)
    return shapes


def rnn_param_shapes(input_size: int, hidden_size: int, bias: bool = True) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of one Elman layer and direction, in PyTorch's order."""
    return torch_param_shapes(1, input_size, hidden_size, bias)


def rnn_input_projection(x: Tensor, params: RNNParams, x_mask: Tensor | None = None) -> Tensor:
    """``W_ih (x * x_mask) + b_ih``: (*, I) -> (*, H)."""
    if x_mask is not None:
        x = x * x_mask
    return F.linear(x, params.weight_ih, params.bias_ih)


def rnn_step(
    xw: Tensor, h: Tensor, params: RNNParams, nonlinearity: str = "tanh", h_mask: Tensor | None = None
) -> Tensor:
    """One Elman step from the input projection ``xw`` (N, H) and ``h`` (N, H)."""
    h_in = h if h_mask is None else h * h_mask
    return NONLINEARITIES[nonlinearity](xw + F.linear(h_in, params.weight_hh, params.bias_hh))


def rnn_cell(x: Tensor, h: Tensor, params: RNNParams, nonlinearity: str = "tanh") -> Tensor:
    """One full Elman step from the raw input ``x`` (N, I)."""
    return rnn_step(rnn_input_projection(x, params), h, params, nonlinearity)

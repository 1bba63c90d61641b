r"""The GRU cell, exactly as :class:`torch.nn.GRU` computes it (Cho et al., 2014).

.. math::

    r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
    z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
    n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

Gate blocks are stored in PyTorch's order r, z, n: ``weight_ih`` (3H, I), ``weight_hh``
(3H, H), ``bias_ih``/``bias_hh`` (3H,). The state is the tensor ``h`` (N, H).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lstmkit.core.cells.rnn import RNNParams, rnn_input_projection, torch_param_shapes

__all__ = ["GRUParams", "gru_cell", "gru_input_projection", "gru_param_shapes", "gru_step"]


class GRUParams(RNNParams):
    """Tensors of one GRU layer and direction (the fields of :class:`RNNParams`, each gate block
    r, z, n in turn); shapes in the module docstring."""


def gru_param_shapes(input_size: int, hidden_size: int, bias: bool = True) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of one GRU layer and direction, in PyTorch's order."""
    return torch_param_shapes(3, input_size, hidden_size, bias)


def gru_input_projection(x: Tensor, params: GRUParams, x_mask: Tensor | None = None) -> Tensor:
    """``W_ih (x * x_mask) + b_ih``: (*, I) -> (*, 3H), for one step or all steps at once."""
    return rnn_input_projection(x, params, x_mask)


def gru_step(xw: Tensor, h: Tensor, params: GRUParams, h_mask: Tensor | None = None) -> Tensor:
    """One GRU step from the input projection ``xw`` (N, 3H) and ``h`` (N, H) to the new h."""
    h_in = h if h_mask is None else h * h_mask
    xr, xz, xn = xw.chunk(3, dim=-1)
    hr, hz, hn = F.linear(h_in, params.weight_hh, params.bias_hh).chunk(3, dim=-1)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return n + z * (h - n)


def gru_cell(x: Tensor, h: Tensor, params: GRUParams) -> Tensor:
    """One full GRU step from the raw input ``x`` (N, I)."""
    return gru_step(gru_input_projection(x, params), h, params)

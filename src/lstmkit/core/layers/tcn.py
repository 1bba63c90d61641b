r"""A temporal convolutional network (Bai, Kolter & Koltun 2018): the convolutional comparison
model of the LSTM.

Residual blocks of two dilated causal convolutions (kernel k, dilation :math:`2^b` in block b,
weight normalization, ReLU, dropout), a 1x1 convolution on the skip path when the width
changes:

.. math::

    z_{b+1} = \mathrm{ReLU}\big(z_b + \mathrm{drop}(\mathrm{ReLU}(\mathrm{conv}_{2}(
        \mathrm{drop}(\mathrm{ReLU}(\mathrm{conv}_{1}(z_b))))))\big)

Step t sees steps :math:`t - R + 1 .. t` with the receptive field
:math:`R = 1 + 2 (k - 1)(2^B - 1)` (:attr:`TCN.receptive_field`); a right-padded batch needs no
mask (padded outputs are set to zero, as the recurrent layers do).

Shapes (batch first): x (N, L, C_in) -> y (N, L, H).

Example::

    >>> tcn = TCN(3, hidden_size=16, num_layers=4, kernel_size=3)
    >>> tcn.receptive_field
    61
    >>> tcn(torch.randn(2, 100, 3)).shape
    torch.Size([2, 100, 16])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

from lstmkit.core.layers.options import check_int
from lstmkit.core.scan import lengths_to_mask

__all__ = ["TCN"]


class _CausalConv(nn.Module):
    """A dilated convolution padded on the left only: output t reads inputs up to t."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, normalize: bool) -> None:
        super().__init__()
        conv = nn.Conv1d(c_in, c_out, kernel_size, dilation=dilation)
        nn.init.normal_(conv.weight, std=0.01)
        self.conv = weight_norm(conv) if normalize else conv
        self.left = (kernel_size - 1) * dilation

    def forward(self, x: Tensor) -> Tensor:  # (N, C_in, L) -> (N, C_out, L)
        return self.conv(F.pad(x, (self.left, 0)))


class _Block(nn.Module):
    def __init__(
        self, c_in: int, c_out: int, kernel_size: int, dilation: int, dropout: float, normalize: bool
    ) -> None:
        super().__init__()
        self.conv1 = _CausalConv(c_in, c_out, kernel_size, dilation, normalize)
        self.conv2 = _CausalConv(c_out, c_out, kernel_size, dilation, normalize)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:  # (N, C_in, L) -> (N, C_out, L)
        z = self.drop(torch.relu(self.conv1(x)))
        z = self.drop(torch.relu(self.conv2(z)))
        return torch.relu(z + self.skip(x))


class TCN(nn.Module):
    r"""Dilated causal residual convolutions over (N, L, C_in) -> (N, L, H).

    Args:
        input_size: C_in, features per step.
        hidden_size: H, channels of every block.
        num_layers: B residual blocks (dilations 1, 2, 4, ...).
        kernel_size: k.
        dropout: after each convolution (Bai et al.'s spatial dropout is plain dropout here).
        weight_norm: weight-normalize the convolutions (as Bai et al.).

    Inputs: ``x`` (N, L, C_in), optional ``lengths`` (N,) (padded outputs are zero).
    Output: ``y`` (N, L, H).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 64,
        num_layers: int = 4,
        *,
        kernel_size: int = 3,
        dropout: float = 0.0,
        weight_norm: bool = True,
    ) -> None:
        super().__init__()
        check_int("input_size", input_size)
        check_int("hidden_size", hidden_size)
        check_int("num_layers", num_layers)
        check_int("kernel_size", kernel_size)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a float in [0, 1), got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers, self.kernel_size = (
            input_size,
            hidden_size,
            num_layers,
            kernel_size,
        )
        self.blocks = nn.Sequential(
            *(
                _Block(
                    input_size if b == 0 else hidden_size,
                    hidden_size,
                    kernel_size,
                    2**b,
                    dropout,
                    weight_norm,
                )
                for b in range(num_layers)
            )
        )

    @property
    def output_size(self) -> int:
        return self.hidden_size

    @property
    def receptive_field(self) -> int:
        """R, the steps an output sees (itself included)."""
        return 1 + 2 * (self.kernel_size - 1) * (2**self.num_layers - 1)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x: expected (N, L, {self.input_size}), got {tuple(x.shape)}")
        y = self.blocks(x.transpose(1, 2)).transpose(1, 2)  # (N, L, H)
        if lengths is not None:
            y = y * lengths_to_mask(lengths, x.shape[1], x.device).T.unsqueeze(-1).to(y.dtype)
        return y

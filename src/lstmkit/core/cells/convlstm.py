r"""The convolutional LSTM cell (Shi et al., 2015): the LSTM's gates with convolutions for products.

The state is a stack of feature maps, ``h`` and ``c`` (N, F, \*S) with F hidden channels over
the spatial dimensions S (one, two or three of them), and one step reads

.. math::

    z_t &= W_{ih} \ast x_t + b_{ih} + W_{hh} \ast h_{t-1} + b_{hh}
           \quad(\text{blocks } z^i, z^f, z^g, z^o \text{ of F channels each})\\
    i_t &= \sigma(z^i_t + p_i \odot c_{t-1}), \qquad f_t = \sigma(z^f_t + p_f \odot c_{t-1}),
           \qquad g_t = \tanh(z^g_t)\\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    o_t &= \sigma(z^o_t + p_o \odot c_t), \qquad h_t = o_t \odot \tanh(c_t)

where :math:`\ast` is a convolution (cross-correlation, as :func:`torch.nn.functional.conv2d`)
and the Hadamard peepholes :math:`p_i, p_f, p_o` (each (F, \*S): a weight per channel and
position, as in the paper) exist only with ``peepholes``. The input convolution has the
spec's stride, padding and dilation; the recurrent one always has stride 1 and "same" padding,
so that :math:`W_{hh} \ast h` has the shape of h.

With ``layer_norm``, each gate block of each product is normalized over its channels and
positions (group norm with one group per gate), and so is :math:`c_t` before the output
:math:`\tanh`, as :mod:`lstmkit.core.cells.lstm` does for the vector cell:

.. math::

    z_t = \alpha_{ih} \odot \mathrm{LN}_4(W_{ih} \ast x_t) + b_{ih}
        + \alpha_{hh} \odot \mathrm{LN}_4(W_{hh} \ast h_{t-1}) + b_{hh},\qquad
    h_t = o_t \odot \tanh(\alpha_c \odot \mathrm{LN}(c_t) + \beta_c).

Parameters follow PyTorch's names and the gate order i, f, g, o:
``weight_ih`` (4F, C_in, \*k), ``weight_hh`` (4F, F, \*k), ``bias_ih`` and ``bias_hh`` (4F,),
``weight_ch`` (3, F, \*S) (the peepholes of i, f, o).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from lstmkit.core.cells.lstm import LSTMState

__all__ = [
    "ConvLSTMParams",
    "ConvLSTMSpec",
    "conv_output_size",
    "convlstm_gates",
    "convlstm_input_projection",
    "convlstm_param_shapes",
    "convlstm_pointwise",
    "convlstm_step",
]

_CONV: dict[int, Callable[..., Tensor]] = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@dataclass(frozen=True)
class ConvLSTMSpec:
    """One layer's cell: the geometry of its input convolution and its options.

    Attributes:
        dims: the number of spatial dimensions (1, 2 or 3).
        kernel_size: the kernel of both convolutions, one size per spatial dimension.
        stride: the input convolution's stride per dimension.
        padding: ``"same"``, ``"valid"`` or explicit zero padding per dimension, of the input
            convolution.
        dilation: the input convolution's dilation per dimension.
        peepholes: Hadamard peepholes from c to i, f (c_{t-1}) and o (c_t).
        layer_norm: normalize the two products and the cell (module docstring).
        layer_norm_eps: the epsilon of those norms.
    """

    dims: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: str | tuple[int, ...]
    dilation: tuple[int, ...]
    peepholes: bool = False
    layer_norm: bool = False
    layer_norm_eps: float = 1e-5

    @property
    def fuses_input(self) -> bool:
        """Whether the input convolution has the recurrent one's geometry (stride 1, "same"
        padding, dilation 1), so that one convolution of ``[x_t, h_{t-1}]`` computes both."""
        ones = (1,) * self.dims
        return self.stride == ones and self.dilation == ones and self.padding == "same"


class ConvLSTMParams(NamedTuple):
    """The parameters of one layer and direction (module docstring; ``None`` where absent)."""

    weight_ih: Tensor
    weight_hh: Tensor
    bias_ih: Tensor | None = None
    bias_hh: Tensor | None = None
    weight_ch: Tensor | None = None
    ln_ih_weight: Tensor | None = None
    ln_hh_weight: Tensor | None = None
    ln_c_weight: Tensor | None = None
    ln_c_bias: Tensor | None = None


def conv_output_size(spec: ConvLSTMSpec, size: tuple[int, ...]) -> tuple[int, ...]:
    """The spatial size of the state for input frames of spatial ``size`` (the input
    convolution's output size)."""
    if spec.padding == "same":
        pads = tuple(d * (k - 1) for k, d in zip(spec.kernel_size, spec.dilation))  # both sides
    elif spec.padding == "valid":
        pads = (0,) * spec.dims
    else:
        assert not isinstance(spec.padding, str)
        pads = tuple(2 * p for p in spec.padding)
    return tuple(
        (n + p - d * (k - 1) - 1) // s + 1
        for n, p, k, s, d in zip(size, pads, spec.kernel_size, spec.stride, spec.dilation)
    )


def convlstm_param_shapes(
    spec: ConvLSTMSpec, in_channels: int, hidden: int, bias: bool, spatial: tuple[int, ...] | None
) -> dict[str, tuple[int, ...]]:
    """Name -> shape of one layer's parameters (``spatial``: the state's spatial size, needed
    with peepholes)."""
    k = spec.kernel_size
    shapes: dict[str, tuple[int, ...]] = {
        "weight_ih": (4 * hidden, in_channels, *k),
        "weight_hh": (4 * hidden, hidden, *k),
    }
    if bias:
        shapes |= {"bias_ih": (4 * hidden,), "bias_hh": (4 * hidden,)}
    if spec.peepholes:
        assert spatial is not None, "peepholes need the state's spatial size"
        shapes["weight_ch"] = (3, hidden, *spatial)
    if spec.layer_norm:
        shapes |= {
            "ln_ih_weight": (4 * hidden,),
            "ln_hh_weight": (4 * hidden,),
            "ln_c_weight": (hidden,),
            "ln_c_bias": (hidden,),
        }
    return shapes


def _conv(spec: ConvLSTMSpec, x: Tensor, weight: Tensor, bias: Tensor | None, recurrent: bool) -> Tensor:
    conv = _CONV[spec.dims]
    if recurrent:
        return conv(x, weight, bias, padding="same")
    return conv(x, weight, bias, stride=spec.stride, padding=spec.padding, dilation=spec.dilation)


def _norm_gates(z: Tensor, weight: Tensor | None, eps: float) -> Tensor:
    """Each of the four gate blocks of ``z`` (N, 4F, *S) normalized over its channels and
    positions, scaled by ``weight`` (4F,)."""
    return F.group_norm(z, 4, weight, None, eps)


def convlstm_input_projection(
    x: Tensor, params: ConvLSTMParams, spec: ConvLSTMSpec, x_mask: Tensor | None = None
) -> Tensor:
    """:math:`W_{ih} \\ast x_t + b_{ih}` (normalized with ``layer_norm``) for every step in one
    convolution over the L*N frames.

    Args:
        x: (L, N, C_in, *S_in) time-major input.
        x_mask: (N, C_in, *S_in) variational dropout mask, the same at every step, or ``None``.

    Returns (L, N, 4F, *S).
    """
    if x_mask is not None:
        x = x * x_mask
    frames = x.reshape(-1, *x.shape[2:])  # (L*N, C_in, *S_in)
    if spec.layer_norm:
        z = _norm_gates(
            _conv(spec, frames, params.weight_ih, None, False), params.ln_ih_weight, spec.layer_norm_eps
        )
        z = z if params.bias_ih is None else z + params.bias_ih.view(-1, *([1] * spec.dims))
    else:
        z = _conv(spec, frames, params.weight_ih, params.bias_ih, False)  # (L*N, 4F, *S)
    return z.view(x.shape[0], x.shape[1], *z.shape[1:])


def convlstm_gates(
    xp_t: Tensor, h: Tensor, params: ConvLSTMParams, spec: ConvLSTMSpec, h_mask: Tensor | None = None
) -> Tensor:
    """The pre-activations :math:`z_t` (N, 4F, *S) from the step's input projection ``xp_t``
    (N, 4F, *S) and ``h`` (N, F, *S) (``h_mask``: its variational dropout mask)."""
    if h_mask is not None:
        h = h * h_mask
    if spec.layer_norm:
        zh = _norm_gates(
            _conv(spec, h, params.weight_hh, None, True), params.ln_hh_weight, spec.layer_norm_eps
        )
        zh = zh if params.bias_hh is None else zh + params.bias_hh.view(-1, *([1] * spec.dims))
    else:
        zh = _conv(spec, h, params.weight_hh, params.bias_hh, True)
    return xp_t + zh


def convlstm_pointwise(z: Tensor, c: Tensor, params: ConvLSTMParams, spec: ConvLSTMSpec) -> LSTMState:
    """The gate math of one step from the pre-activations ``z`` (N, 4F, *S) and ``c_{t-1}``
    (N, F, *S): ``LSTMState(h_t, c_t)``."""
    zi, zf, zg, zo = z.chunk(4, 1)
    p = params.weight_ch
    if p is not None:
        zi, zf = zi + p[0] * c, zf + p[1] * c
    i, f, g = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg)
    c_new = f * c + i * g
    if p is not None:
        zo = zo + p[2] * c_new
    o = torch.sigmoid(zo)
    squashed = c_new
    if spec.layer_norm:
        squashed = F.group_norm(c_new, 1, params.ln_c_weight, params.ln_c_bias, spec.layer_norm_eps)
    h = o * torch.tanh(squashed)
    return LSTMState(h, c_new)


def convlstm_step(
    xp_t: Tensor, state: LSTMState, params: ConvLSTMParams, spec: ConvLSTMSpec, h_mask: Tensor | None = None
) -> LSTMState:
    """One step (module docstring): ``xp_t`` (N, 4F, *S) the step's input projection
    (:func:`convlstm_input_projection`), ``state`` the previous ``(h, c)``, each (N, F, *S)."""
    z = convlstm_gates(xp_t, state[0], params, spec, h_mask)
    return convlstm_pointwise(z, state[1], params, spec)

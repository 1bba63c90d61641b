r"""The fused ConvLSTM step: torch's convolutions and lstmkit's C++ kernel for the gate math.

One step of :func:`lstmkit.core.cells.convlstm.convlstm_step` is a convolution and a dozen
elementwise operations, each a pass over (N, 4F, \*S) floats and an autograd record. Here

* the convolutions are torch's; when the input convolution has the recurrent one's geometry
  (:attr:`~lstmkit.core.cells.convlstm.ConvLSTMSpec.fuses_input`), one convolution of
  ``[x_t, h_{t-1}]`` with ``[W_ih, W_hh]`` computes both products (the same arithmetic as two,
  without the (L, N, 4F, \*S) tensor of every step's input product and the per-step sum); else
  the input product of every step is one convolution over the L*N frames first;
* a first step from the zero state (the default) convolves ``x_0`` alone: ``W_hh * 0`` is 0;
* the gate math is one pass of :class:`ConvLSTMPointwise` forward (the pre-activations become
  the activations in place: nothing else is saved) and one pass backward (``csrc/convlstm.h``),
  over the maps in torch's default (NCHW) layout: channels-last maps made oneDNN's convolution
  backward slower here.

:func:`convlstm_fused` runs a layer and direction through :func:`~lstmkit.core.scan.scan`, so
padding, reversal and every step's state follow the runner's rules exactly as the reference
engine does. Layer norm is not fused (the reference engine runs it).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lstmkit.core.cells.convlstm import ConvLSTMParams, ConvLSTMSpec, _conv, convlstm_input_projection
from lstmkit.core.cells.lstm import LSTMState
from lstmkit.core.engines.base import Call
from lstmkit.core.engines.fused.build import load_extension
from lstmkit.core.scan import RunResult, scan

__all__ = ["ConvLSTMPointwise", "convlstm_fused", "convlstm_fused_unsupported"]


def convlstm_fused_unsupported(call: Call) -> str | None:
    """Why the fused step cannot run ``call`` (``None`` when it can)."""
    spec, x = call.cell, call.x
    assert isinstance(spec, ConvLSTMSpec)
    if spec.layer_norm:
        return "layer_norm is not fused"
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return f"the fused ConvLSTM step runs float32 / float64 on the CPU, got {x.dtype} on {x.device.type}"
    if torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export():
        return "the fused ConvLSTM step is not a traceable operator"
    return None


def _kernels() -> Any:
    """The loaded extension (the engine runs only where it is available)."""
    ext = load_extension()
    assert ext is not None, "the fused extension is unavailable"
    return ext


def _rows(t: Tensor) -> Tensor:
    """A map (N, K, *S) as the kernel's rows (N, K * prod(S)) (a view of a contiguous map)."""
    return t.reshape(t.shape[0], -1)


class ConvLSTMPointwise(torch.autograd.Function):
    """``(h_t, c_t)`` from the pre-activations ``z`` (N, 4F, *S) and ``c_{t-1}`` (N, F, *S),
    with the peepholes ``weight_ch`` (3, F, *S) or ``None`` (the math of
    :func:`~lstmkit.core.cells.convlstm.convlstm_pointwise` without layer norm). ``z`` is
    consumed: the kernel writes the activations over it."""

    @staticmethod
    def forward(ctx: Any, z: Tensor, c: Tensor, peep: Tensor | None) -> tuple[Tensor, Tensor]:
        z, c = z.contiguous(), c.contiguous()
        n = c.shape[0]
        act, c_rows = z.view(n, 4, -1), _rows(c)  # (N, 4, F*S), (N, F*S)
        pr = None if peep is None else peep.reshape(3, 1, -1).contiguous()  # (3, 1, F*S)
        h, c_new = _kernels().convlstm_pointwise_forward(act, c_rows, pr)
        ctx.save_for_backward(act, c_rows, c_new, peep, pr)
        ctx.z_shape, ctx.c_shape = z.shape, c.shape
        return h.view(c.shape), c_new.view(c.shape)

    @staticmethod
    def backward(ctx: Any, dh: Tensor | None, dc: Tensor | None) -> tuple[Tensor | None, ...]:
        act, c_rows, c_new, peep, pr = ctx.saved_tensors
        dh_r = torch.zeros_like(c_new) if dh is None else _rows(dh.contiguous())
        dc_r = torch.zeros_like(c_new) if dc is None else _rows(dc.contiguous())
        dz, dc_prev = _kernels().convlstm_pointwise_backward(act, c_rows, c_new, dh_r, dc_r, pr)
        d_peep = None
        if peep is not None and ctx.needs_input_grad[2]:
            di, df, _, do = dz.unbind(1)  # (N, F*S) each
            grads = [(di * c_rows).sum(0), (df * c_rows).sum(0), (do * c_new).sum(0)]
            d_peep = torch.stack(grads).view_as(peep)
        return dz.view(ctx.z_shape), dc_prev.view(ctx.c_shape), d_peep


def _pad_channels(x: Tensor, weight_ih: Tensor, hidden: int) -> tuple[Tensor, Tensor]:
    """``x`` (L, N, C_in, *S) and ``weight_ih`` (4F, C_in, *k) with zero input channels added so
    that C_in + F is a multiple of 8: oneDNN computes convolutions in blocks of 8 channels, and a
    remainder block made the convolution of ``[x_t, h]`` 30% slower (backward) for C_in = 1."""
    pad = -(x.shape[2] + hidden) % 8
    if not pad:
        return x, weight_ih
    x = torch.cat([x, x.new_zeros(*x.shape[:2], pad, *x.shape[3:])], 2)
    weight_ih = torch.cat([weight_ih, weight_ih.new_zeros(weight_ih.shape[0], pad, *weight_ih.shape[2:])], 1)
    return x, weight_ih


def _fused_step(call: Call) -> tuple[Any, Tensor]:
    """The step function of a call and what it walks over (every step's input, or input product)."""
    spec, params, regs = call.cell, call.params, call.regularizers
    assert isinstance(spec, ConvLSTMSpec) and isinstance(params, ConvLSTMParams)
    x = call.x if regs.x_mask is None else call.x * regs.x_mask
    h_mask, peep = regs.h_mask, params.weight_ch
    h0 = call.state[0]
    # the first step from a zero state that needs no gradient: W_hh * h_0 = 0 (one step's walk)
    skip = [not h0.requires_grad and not bool(h0.any())]

    def recurrent(h: Tensor) -> Tensor | None:
        if skip[0]:
            skip[0] = False
            return None
        return h if h_mask is None else h * h_mask

    if spec.fuses_input:
        # zero input channels up to a multiple of 8 channels in all: oneDNN's blocked layouts
        x, w_ih = _pad_channels(x, params.weight_ih, params.weight_hh.shape[1])
        weight = torch.cat([w_ih, params.weight_hh], 1)
        bias = None if params.bias_ih is None or params.bias_hh is None else params.bias_ih + params.bias_hh

        def step(x_t: Tensor, state: LSTMState) -> LSTMState:
            h = recurrent(state[0])
            if h is None:  # the input's half of the kernel alone
                z = _conv(spec, x_t, weight[:, : x_t.shape[1]], bias, True)
            else:
                z = _conv(spec, torch.cat([x_t, h], 1), weight, bias, True)  # (N, 4F, *S)
            return LSTMState(*ConvLSTMPointwise.apply(z, state[1], peep))

        return step, x
    xp = convlstm_input_projection(x, params, spec)  # (L, N, 4F, *S)

    def step_projected(xp_t: Tensor, state: LSTMState) -> LSTMState:
        h = recurrent(state[0])
        if h is None:
            # a new tensor: the kernel overwrites z
            z = xp_t.clone() if params.bias_hh is None else xp_t + params.bias_hh.view(-1, *([1] * spec.dims))
        else:
            z = _conv(spec, h, params.weight_hh, params.bias_hh, True) + xp_t
        return LSTMState(*ConvLSTMPointwise.apply(z, state[1], peep))

    return step_projected, xp


def convlstm_fused(call: Call) -> RunResult:
    """Run one ConvLSTM layer and direction (a :class:`~lstmkit.core.engines.base.Call` whose
    ``x`` is (L, N, C_in, *S_in)) with the fused step: ``(output (L, N, F, *S), final
    LSTMState, every step's state or None)``."""
    step, inputs = _fused_step(call)
    state = LSTMState(call.state[0], call.state[1])
    return scan(step, inputs, state, mask=call.mask, reverse=call.reverse, return_states=call.return_states)

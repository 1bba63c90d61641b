r"""The fused ConvLSTM step: torch's convolutions and lstmkit's C++ kernel for the gate math.

One step of :func:`lstmkit.core.cells.convlstm.convlstm_step` is a convolution and a dozen
elementwise operations, each a pass over (N, 4F, \*S) floats and an autograd record. Here

* the convolutions are torch's; when the input convolution has the recurrent one's geometry
  (:attr:`~lstmkit.core.cells.convlstm.ConvLSTMSpec.fuses_input`), one convolution of
  ``[x_t, h_{t-1}]`` with ``[W_ih, W_hh]`` computes both products (the same arithmetic as two,
  without the (L, N, 4F, \*S) tensor of every step's input product and the per-step sum); else
  the input product of every step is one convolution over the L*N frames first;
* 2-D and 3-D maps are kept channels-last, the layout oneDNN's CPU convolutions run fastest;
* the gate math is one pass of :class:`ConvLSTMPointwise` forward (the pre-activations become
  the activations in place: nothing else is saved) and one pass backward (``csrc/convlstm.h``).

:func:`convlstm_fused` runs a layer and direction through :func:`~lstmkit.core.scan.scan`, so
padding, reversal and every step's state follow the runner's rules exactly as the reference
engine does. Layer norm is not fused (the reference engine runs it).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lstmkit.core.cells.convlstm import ConvLSTMParams, ConvLSTMSpec, _conv
from lstmkit.core.cells.lstm import LSTMState
from lstmkit.core.engines.base import Call
from lstmkit.core.engines.fused.build import load_extension
from lstmkit.core.scan import RunResult, scan

__all__ = ["ConvLSTMPointwise", "convlstm_fused", "convlstm_fused_unsupported"]

_FORMATS = {2: torch.channels_last, 3: torch.channels_last_3d}


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


def _rows(t: Tensor, channels_last: bool) -> Tensor:
    """A map (N, K, *S) as the kernel's rows: (N, K * prod(S)) in NCHW, (N * prod(S), K)
    channels-last (a view; the map must be contiguous in its format)."""
    if channels_last:
        return t.movedim(1, -1).reshape(-1, t.shape[1])
    return t.reshape(t.shape[0], -1)


def _peep_rows(p: Tensor, channels_last: bool) -> Tensor:
    """The peepholes (3, F, *S) as the kernel's [3, P, J]."""
    if channels_last:
        return p.movedim(1, -1).reshape(3, -1, p.shape[1]).contiguous()  # (3, prod(S), F)
    return p.reshape(3, 1, -1).contiguous()  # (3, 1, F * prod(S))


class ConvLSTMPointwise(torch.autograd.Function):
    """``(h_t, c_t)`` from the pre-activations ``z`` (N, 4F, *S) and ``c_{t-1}`` (N, F, *S),
    with the peepholes ``weight_ch`` (3, F, *S) or ``None`` (the math of
    :func:`~lstmkit.core.cells.convlstm.convlstm_pointwise` without layer norm). ``z`` is
    consumed: the kernel writes the activations over it."""

    @staticmethod
    def forward(
        ctx: Any, z: Tensor, c: Tensor, peep: Tensor | None, channels_last: bool
    ) -> tuple[Tensor, Tensor]:
        ext = _kernels()
        memory = _FORMATS[c.dim() - 2] if channels_last else torch.contiguous_format
        z, c = z.contiguous(memory_format=memory), c.contiguous(memory_format=memory)
        n, f = c.shape[0], c.shape[1]
        zr = _rows(z, channels_last).view(-1, 4, f) if channels_last else z.view(n, 4, -1)
        rows = _rows(c, channels_last)
        pr = None if peep is None else _peep_rows(peep, channels_last)
        h, c_new = ext.convlstm_pointwise_forward(zr, rows, pr)
        ctx.save_for_backward(zr, rows, c_new, peep, pr)
        ctx.shape, ctx.channels_last, ctx.memory = c.shape, channels_last, memory
        return _unrows(h, c.shape, channels_last), _unrows(c_new, c.shape, channels_last)

    @staticmethod
    def backward(ctx: Any, dh: Tensor | None, dc: Tensor | None) -> tuple[Any, ...]:
        act, c_rows, c_new, peep, pr = ctx.saved_tensors
        shape, cl, memory = ctx.shape, ctx.channels_last, ctx.memory
        dh_r = torch.zeros_like(c_new) if dh is None else _rows(dh.contiguous(memory_format=memory), cl)
        dc_r = torch.zeros_like(c_new) if dc is None else _rows(dc.contiguous(memory_format=memory), cl)
        dz, dc_prev = _kernels().convlstm_pointwise_backward(act, c_rows, c_new, dh_r, dc_r, pr)
        n, f = shape[0], shape[1]
        dz_map = _unrows(dz.view(-1, 4 * f) if cl else dz.view(n, -1), (n, 4 * f, *shape[2:]), cl)
        d_peep = None
        if peep is not None and ctx.needs_input_grad[2]:
            di, df, _, do = dz_map.chunk(4, 1)
            c_prev, c_now = _unrows(c_rows, shape, cl), _unrows(c_new, shape, cl)
            d_peep = torch.stack([(di * c_prev).sum(0), (df * c_prev).sum(0), (do * c_now).sum(0)])
        return dz_map, _unrows(dc_prev, shape, cl), d_peep, None


def _unrows(rows: Tensor, shape: tuple[int, ...] | torch.Size, channels_last: bool) -> Tensor:
    """The inverse of :func:`_rows`: rows back to a map of ``shape`` (N, K, *S) (a view)."""
    if channels_last:
        n, k, *spatial = shape
        return rows.view(n, *spatial, k).movedim(-1, 1)
    return rows.view(*shape)


def _fused_step(call: Call) -> tuple[Any, Tensor]:
    """The step function of a call and what it walks over (every step's input, or input product)."""
    spec, params, regs = call.cell, call.params, call.regularizers
    assert isinstance(spec, ConvLSTMSpec) and isinstance(params, ConvLSTMParams)
    channels_last = spec.dims in _FORMATS
    memory = _FORMATS[spec.dims] if channels_last else torch.contiguous_format
    x = call.x if regs.x_mask is None else call.x * regs.x_mask
    h_mask, peep = regs.h_mask, params.weight_ch
    if spec.fuses_input:
        weight = torch.cat([params.weight_ih, params.weight_hh], 1).contiguous(memory_format=memory)
        bias = None if params.bias_ih is None or params.bias_hh is None else params.bias_ih + params.bias_hh

        def step(x_t: Tensor, state: LSTMState) -> LSTMState:
            h = state[0] if h_mask is None else state[0] * h_mask
            both = torch.cat([x_t, h], 1).contiguous(memory_format=memory)  # (N, C_in + F, *S)
            z = _conv(spec, both, weight, bias, True)  # (N, 4F, *S)
            return LSTMState(*ConvLSTMPointwise.apply(z, state[1], peep, channels_last))

        return step, x
    frames = x.reshape(-1, *x.shape[2:])
    xp = _conv(spec, frames, params.weight_ih, params.bias_ih, False)  # (L*N, 4F, *S)
    xp = xp.view(x.shape[0], x.shape[1], *xp.shape[1:])
    weight_hh = params.weight_hh.contiguous(memory_format=memory)

    def step_projected(xp_t: Tensor, state: LSTMState) -> LSTMState:
        h = state[0] if h_mask is None else state[0] * h_mask
        z = _conv(spec, h.contiguous(memory_format=memory), weight_hh, params.bias_hh, True) + xp_t
        return LSTMState(*ConvLSTMPointwise.apply(z, state[1], peep, channels_last))

    return step_projected, xp


def convlstm_fused(call: Call) -> RunResult:
    """Run one ConvLSTM layer and direction (a :class:`~lstmkit.core.engines.base.Call` whose
    ``x`` is (L, N, C_in, *S_in)) with the fused step: ``(output (L, N, F, *S), final
    LSTMState, every step's state or None)``."""
    step, inputs = _fused_step(call)
    state = LSTMState(call.state[0], call.state[1])
    return scan(step, inputs, state, mask=call.mask, reverse=call.reverse, return_states=call.return_states)

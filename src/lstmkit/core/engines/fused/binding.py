r"""The fused path for the LSTM family: one layer and direction over a whole sequence.

:func:`lstm_fused` computes exactly what the reference path computes (the runner
:func:`lstmkit.core.engines.run` stepping :func:`lstmkit.core.cells.lstm_step`, with the same masks,
zoneout, reverse direction and initial state) in compiled code (``csrc/lstm_fused.cpp``):

* forward: the input product :math:`X W_{ih}^\top` of all steps in one matrix product, one
  recurrent product per step, then all pointwise gate math of the step in one pass per
  batch row; the gate activations are saved once;
* backward (:class:`FusedLSTMFunction`, a hand-written backward through time): per step one
  pointwise pass and the product :math:`dZ_t W_{hh}`; :math:`dW_{ih}, dW_{hh}, dW_{hr},
  dW_{gh}` and :math:`dX` as large products after the loop.

The boundary is ``kernel (C++) -> FusedLSTMFunction (autograd) -> lstm_fused -> nn.LSTM``; a
GPU kernel would slot in at the first arrow (see docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

from lstmkit.core.cells.lstm import FGRState, LSTMParams, LSTMSpec, LSTMState
from lstmkit.core.engines.fused.build import require_extension
from lstmkit.core.scan import RunResult, State

__all__ = ["SUPPORTED_DTYPES", "FusedLSTMFunction", "fused_unsupported", "lstm_fused"]

SUPPORTED_DTYPES = (torch.float32, torch.float64)
# Activation ids of csrc/lstm_math.h (enum Act).
_ACTIVATION_IDS = {"tanh": 0, "sigmoid": 1, "identity": 2, "hs97_g": 3, "hs97_h": 4}
# Order of the tensors the kernel takes after (x, h0, c0, a0).
_PARAM_FIELDS = (
    "weight_ih",
    "weight_hh",
    "bias_ih",
    "bias_hh",
    "weight_ch",
    "weight_gh",
    "weight_hr",
    "ln_ih_weight",
    "ln_hh_weight",
    "ln_c_weight",
    "ln_c_bias",
)


def fused_unsupported(spec: LSTMSpec, x: Tensor) -> str | None:
    """Why the fused kernel cannot run this spec on this input (``None`` if it can)."""
    if x.device.type != "cpu":
        return f"the fused kernel runs on the CPU only, got input on {x.device}"
    if x.dtype not in SUPPORTED_DTYPES:
        return f"the fused kernel supports float32 and float64, got {x.dtype}"
    for name in (spec.cell_activation, spec.output_activation):
        if name not in _ACTIVATION_IDS:
            return f"the fused kernel has no activation {name!r}"
    return None


def _flags(spec: LSTMSpec, reverse: bool) -> list[int]:
    return [
        int(spec.input_gate),
        int(spec.forget_gate),
        int(spec.output_gate),
        int(spec.coupled),
        int(spec.peepholes),
        int(spec.full_gate_recurrence),
        int(spec.layer_norm),
        _ACTIVATION_IDS[spec.cell_activation],
        _ACTIVATION_IDS[spec.output_activation],
        int(reverse),
    ]


@dataclass(frozen=True)
class KernelConfig:
    """The non-tensor arguments of one kernel call.

    ``flags``/``eps`` describe the cell (see :func:`kernel_config`), ``need_states`` asks for
    every step's state, ``zoneout`` is ``(z_h, z_c)`` and ``seeds`` four 32-bit integers when
    the kernel draws the zoneout keep weights itself (empty otherwise).
    """

    flags: tuple[int, ...]
    eps: float
    need_states: bool = False
    zoneout: tuple[float, float] = (0.0, 0.0)
    seeds: tuple[int, ...] = ()


def kernel_config(
    spec: LSTMSpec,
    *,
    reverse: bool = False,
    need_states: bool = False,
    zoneout: tuple[float, float] = (0.0, 0.0),
    seeds: Sequence[int] = (),
) -> KernelConfig:
    """The :class:`KernelConfig` of a cell, a direction and the zoneout draws."""
    if seeds and len(seeds) != 4:
        raise ValueError(f"seeds: expected 4 integers, got {len(seeds)}")
    return KernelConfig(
        tuple(_flags(spec, reverse)),
        float(spec.layer_norm_eps),
        bool(need_states),
        (float(zoneout[0]), float(zoneout[1])),
        tuple(int(s) & 0xFFFFFFFF for s in seeds),
    )


def _call_args(cfg: KernelConfig) -> tuple[list[int], float, list[float], list[int]]:
    return list(cfg.flags), cfg.eps, list(cfg.zoneout), list(cfg.seeds)


class FusedLSTMFunction(torch.autograd.Function):
    """Autograd wrapper of the fused kernel: forward over all steps, backward through time.

    ``apply(cfg, x, h0, c0, a0, *params, h_mask, keep_h, keep_c, mask)`` with ``cfg`` a
    :class:`KernelConfig` and ``params`` in the order of :class:`~lstmkit.core.cells.LSTMParams`
    (``weight_ih, weight_hh, bias_ih, bias_hh, weight_ch, weight_gh, weight_hr, ln_ih_weight,
    ln_hh_weight, ln_c_weight, ln_c_bias``; ``None`` where absent). Returns
    ``(output, h_n, c_n, a_n, h_states, c_states, a_states)`` (``None`` where absent).
    Masks and zoneout keep weights are constants (no gradient). Not twice differentiable.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        cfg: KernelConfig,
        x: Tensor,
        h0: Tensor,
        c0: Tensor,
        a0: Tensor | None,
        *rest: Tensor | None,
    ) -> tuple[Tensor | None, ...]:
        ext = require_extension()
        params, (h_mask, keep_h, keep_c, mask) = rest[:11], rest[11:]
        flags, eps, zone, seeds = _call_args(cfg)
        out = ext.forward(
            x,
            h0,
            c0,
            a0,
            *params,
            h_mask,
            keep_h,
            keep_c,
            mask,
            flags,
            eps,
            zone,
            seeds,
            True,
            cfg.need_states,
        )
        y, hn, cn, an, hs, cs, as_, hbuf, cbuf, abuf, act, stats, p_ln, rec_ln = out
        ctx.set_materialize_grads(False)
        saved: list[Any] = [
            x,
            *params,
            h_mask,
            keep_h,
            keep_c,
            mask,
            hbuf,
            cbuf,
            abuf,
            act,
            stats,
            p_ln,
            rec_ln,
        ]
        ctx.save_for_backward(*saved)  # None entries are allowed
        ctx.cfg = cfg  # type: ignore[attr-defined]
        return y, hn, cn, an, hs, cs, as_

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, *grads: Tensor | None) -> tuple[Tensor | None, ...]:
        ext = require_extension()
        saved = ctx.saved_tensors
        x, params, rest = saved[0], saved[1:12], saved[12:]
        # inputs: cfg, x, h0, c0, a0, 11 params, 4 masks
        need = [bool(n) for n in ctx.needs_input_grad[1:16]]
        flags, eps, zone, seeds = _call_args(ctx.cfg)
        out = ext.backward(*grads, x, *params, *rest, flags, eps, zone, seeds, need)
        out = [g if n else None for g, n in zip(out, need)]
        return (None, *out, None, None, None, None)


def zoneout_keep_of_seeds(
    shape: tuple[int, int, int], z: float, seeds: Sequence[int], dtype: torch.dtype = torch.float32
) -> Tensor:
    """The (L, N, D) zoneout keep weights the kernel draws for probability ``z`` and the two
    32-bit ``seeds`` of one state (h: seeds[0:2], c: seeds[2:4] of :class:`KernelConfig`)."""
    L, N, D = shape
    return require_extension().zoneout_keep(L, N, D, float(z), [int(s) & 0xFFFFFFFF for s in seeds], dtype)


def lstm_fused(
    x: Tensor,
    state: State,
    params: LSTMParams,
    spec: LSTMSpec,
    *,
    x_mask: Tensor | None = None,
    h_mask: Tensor | None = None,
    keep_h: Tensor | None = None,
    keep_c: Tensor | None = None,
    zoneout: tuple[float, float] | None = None,
    seeds: Sequence[int] = (),
    mask: Tensor | None = None,
    reverse: bool = False,
    return_states: bool = False,
) -> RunResult:
    r"""Run one LSTM layer and direction over a sequence with the fused kernel.

    Same result as the reference path (``run`` over :func:`~lstmkit.core.cells.lstm_step`):

    Args:
        x: (L, N, H_in) time-major input.
        state: :class:`~lstmkit.core.cells.LSTMState` ``(h (N, H_out), c (N, H))``, or an
            :class:`~lstmkit.core.cells.FGRState` for the FGR variant.
        params: the layer's :class:`~lstmkit.core.cells.LSTMParams` (DropConnect already applied).
        spec: the cell's :class:`~lstmkit.core.cells.LSTMSpec`.
        x_mask: (N, H_in) variational dropout mask on the input.
        h_mask: (N, H_out) variational dropout mask on :math:`h_{t-1}`.
        keep_h, keep_c: zoneout keep weights, (L, N, H_out) and (L, N, H) (an expanded
            constant in evaluation mode).
        zoneout, seeds: instead of ``keep_h``/``keep_c``, let the kernel draw the keep weights,
            Bernoulli(z_h) and Bernoulli(z_c) per element from a counter-based hash of four
            32-bit ``seeds`` (no mask is stored; :func:`zoneout_keep_of_seeds` gives them).
        mask: (L, N) bool, true at real steps; padded steps keep the state and output 0, and
            their input is read as zeros (whatever it holds reaches no output or gradient).
        reverse: walk the steps from last to first.
        return_states: also return every step's state.

    Returns:
        :class:`~lstmkit.core.engines.RunResult` ``(output (L, N, H_out), final state, states)``.

    Example::

        >>> from lstmkit.core.cells import VARIANTS, LSTMParams, lstm_param_shapes, lstm_initial_state
        >>> spec = VARIANTS["vanilla"]
        >>> p = LSTMParams(**{k: torch.randn(s) * 0.1 for k, s in lstm_param_shapes(spec, 3, 4).items()})
        >>> res = lstm_fused(torch.randn(5, 2, 3), lstm_initial_state(spec, (2,), 4), p, spec)
        >>> res.output.shape
        torch.Size([5, 2, 4])
    """
    reason = fused_unsupported(spec, x)
    if reason is not None:
        raise ValueError(f"lstm_fused: {reason}")
    if zoneout is not None and (keep_h is not None or keep_c is not None):
        raise ValueError(
            "zoneout, keep_h/keep_c: give the keep weights or let the kernel draw them, not both"
        )
    if zoneout is not None and not seeds:
        raise ValueError("seeds: the kernel's zoneout draws need 4 seeds")
    if mask is not None:
        x = torch.where(mask.unsqueeze(-1), x, x.new_zeros(()))  # (L, N, H_in): padding read as 0
    if x_mask is not None:
        x = x * x_mask  # (L, N, H_in), as lstm_input_projection does
    fgr = spec.full_gate_recurrence
    a0 = state[2] if fgr else None
    tensors = (x, state[0], state[1], a0, *(getattr(params, f) for f in _PARAM_FIELDS))
    masks = (h_mask, keep_h, keep_c, mask)
    cfg = kernel_config(
        spec,
        reverse=reverse,
        need_states=return_states,
        zoneout=zoneout or (0.0, 0.0),
        seeds=seeds if zoneout is not None else (),
    )
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
        y, hn, cn, an, hs, cs, as_ = FusedLSTMFunction.apply(cfg, *tensors, *masks)
    else:
        flags, eps, zone, seed_list = _call_args(cfg)
        out = require_extension().forward(*tensors, *masks, flags, eps, zone, seed_list, False, return_states)
        y, hn, cn, an, hs, cs, as_ = out[:7]
    final: State = FGRState(hn, cn, an) if fgr else LSTMState(hn, cn)
    states: State | None = None
    if return_states:
        states = FGRState(hs, cs, as_) if fgr else LSTMState(hs, cs)
    return RunResult(y, final, states)

r"""The fused path for the LSTM family: one layer and direction over a whole sequence.

:func:`lstm_fused` computes exactly what the reference path computes (the runner
:func:`lstmkit.core.engines.run` stepping :func:`lstmkit.core.cells.lstm_step`, with the same masks,
zoneout, reverse direction and initial state) in compiled code (``csrc/``):

* forward (``csrc/forward.cpp``): the input product :math:`X W_{ih}^\top` of all steps in one
  matrix product, one recurrent product per step, then all pointwise gate math of the step in
  one pass per batch row; the gate activations are saved once;
* backward (``csrc/backward.cpp``, through :class:`FusedLSTMFunction`, a hand-written backward
  through time): per step one pointwise pass and the product :math:`dZ_t W_{hh}`;
  :math:`dW_{ih}, dW_{hh}, dW_{hr}, dW_{gh}` and :math:`dX` as large products after the loop.

The boundary is ``kernel (C++) -> FusedLSTMFunction (autograd) -> lstm_fused -> nn.LSTM``; a
GPU kernel would slot in at the first arrow (see docs/performance.md). What crosses it has
names (``csrc/bind.cpp`` lists every field with its shape): a :class:`KernelConfig`, the
weights as the dict of :class:`~lstmkit.core.cells.LSTMParams`, the :class:`KernelMasks`, and
dicts of named results (:data:`OUTPUTS`, :data:`GRADIENTS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

from lstmkit.core.cells.lstm import FGRState, LSTMParams, LSTMSpec, LSTMState
from lstmkit.core.engines.fused.build import require_extension
from lstmkit.core.engines.fused.ops import GRADIENTS, OUTPUTS, run_op
from lstmkit.core.scan import RunResult, State

__all__ = [
    "GRADIENTS",
    "KERNEL_ACTIVATIONS",
    "OUTPUTS",
    "SUPPORTED_DTYPES",
    "FusedLSTMFunction",
    "KernelConfig",
    "KernelMasks",
    "fused_unsupported",
    "kernel_config",
    "lstm_fused",
    "zoneout_keep_of_seeds",
]

SUPPORTED_DTYPES = (torch.float32, torch.float64)
#: The activations the kernels compute (``csrc/lstm_math.h``).
KERNEL_ACTIVATIONS = ("tanh", "sigmoid", "identity", "hs97_g", "hs97_h")


def fused_unsupported(spec: LSTMSpec, x: Tensor) -> str | None:
    """Why the fused kernel cannot run this spec on this input (``None`` if it can)."""
    if x.device.type != "cpu":
        return f"the fused kernel runs on the CPU only, got input on {x.device}"
    if x.dtype not in SUPPORTED_DTYPES:
        return f"the fused kernel supports float32 and float64, got {x.dtype}"
    for name in (spec.cell_activation, spec.output_activation):
        if name not in KERNEL_ACTIVATIONS:
            return f"the fused kernel has no activation {name!r}"
    return None


@dataclass(frozen=True)
class KernelConfig:
    """The non-tensor arguments of one kernel call; the kernel reads each field by its name
    (``csrc/config.h``: ``KernelConfig``).

    Attributes:
        spec: the cell (its fields cross as they are).
        reverse: walk the steps from last to first.
        need_states: also return every step's state.
        need_gates: also return every step's gate activations (``gate_states``).
        zoneout_h, zoneout_c: the zoneout probabilities of h and c. With ``seeds`` the kernel
            draws the keep weights itself; the streaming runtime uses them as its
            evaluation-mode keep weights.
        seeds: empty, or four 32-bit integers: the keys of the h draws, then of the c draws.
    """

    spec: LSTMSpec
    reverse: bool = False
    need_states: bool = False
    need_gates: bool = False
    zoneout_h: float = 0.0
    zoneout_c: float = 0.0
    seeds: tuple[int, ...] = ()


def kernel_config(
    spec: LSTMSpec,
    *,
    reverse: bool = False,
    need_states: bool = False,
    need_gates: bool = False,
    zoneout: tuple[float, float] = (0.0, 0.0),
    seeds: Sequence[int] = (),
) -> KernelConfig:
    """The :class:`KernelConfig` of a cell, a direction and the zoneout draws.

    Example::

        >>> from lstmkit.core.cells import VARIANTS
        >>> kernel_config(VARIANTS["vanilla"], reverse=True).reverse
        True
    """
    if seeds and len(seeds) != 4:
        raise ValueError(f"seeds: expected 4 integers, got {len(seeds)}")
    return KernelConfig(
        spec,
        bool(reverse),
        bool(need_states),
        bool(need_gates),
        float(zoneout[0]),
        float(zoneout[1]),
        tuple(int(s) & 0xFFFFFFFF for s in seeds),
    )


class KernelMasks(NamedTuple):
    """The constant tensors of a kernel call (no gradient), ``None`` where absent.

    Shapes: ``h_mask`` (N, H_out) the variational dropout mask on :math:`h_{t-1}`; ``keep_h``
    (L, N, H_out) and ``keep_c`` (L, N, H) zoneout keep weights; ``mask`` (L, N) bool, true at
    real steps.
    """

    h_mask: Tensor | None = None
    keep_h: Tensor | None = None
    keep_c: Tensor | None = None
    mask: Tensor | None = None


def _save_named(ctx: Any, cfg: KernelConfig, groups: dict[str, dict[str, Tensor | None]]) -> None:
    """Keep ``cfg`` and groups of named tensors for the backward pass (``None`` entries allowed)."""
    ctx.set_materialize_grads(False)
    ctx.cfg = cfg
    ctx.saved_names = [(group, tuple(named)) for group, named in groups.items()]
    tensors: list[Tensor | None] = []
    for named in groups.values():
        tensors += named.values()
    ctx.save_for_backward(*tensors)


def _saved_named(ctx: Any) -> dict[str, dict[str, Tensor | None]]:
    """The groups of :func:`_save_named`."""
    tensors, groups, start = ctx.saved_tensors, {}, 0
    for group, names in ctx.saved_names:
        groups[group] = dict(zip(names, tensors[start : start + len(names)]))
        start += len(names)
    return groups


_in_output_order = itemgetter(*OUTPUTS)
_in_gradient_order = itemgetter(*GRADIENTS)


class FusedLSTMFunction(torch.autograd.Function):
    """Autograd wrapper of the fused kernel: forward over all steps, backward through time.

    ``apply(cfg, x, h0, c0, a0, *params, h_mask, keep_h, keep_c, mask)`` with ``cfg`` a
    :class:`KernelConfig` and ``params`` the fields of :class:`~lstmkit.core.cells.LSTMParams` in
    their order (``None`` where absent). Returns the :data:`OUTPUTS` ``(output, h_n, c_n, a_n,
    h_states, c_states, a_states, gate_states)`` (``None`` where absent; ``gate_states`` without
    gradient). Masks and zoneout keep weights are
    constants (no gradient). Not twice differentiable.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        cfg: KernelConfig,
        x: Tensor,
        h0: Tensor,
        c0: Tensor,
        a0: Tensor | None,
        *constants: Any,
    ) -> tuple[Tensor | None, ...]:
        n = len(LSTMParams._fields)  # constants: the weights in LSTMParams' order, then KernelMasks'
        weights = LSTMParams(*constants[:n])._asdict()
        masks = KernelMasks(*constants[n:])._asdict()
        outputs, saved = require_extension().forward(cfg, x, h0, c0, a0, weights, masks, True)
        _save_named(ctx, cfg, {"input": {"x": x}, "weights": weights, "masks": masks, "saved": saved})
        if outputs["gate_states"] is not None:  # the activations as they are: no gradient
            ctx.mark_non_differentiable(outputs["gate_states"])
        return _in_output_order(outputs)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, *grad_outputs: Tensor | None) -> tuple[Tensor | None, ...]:
        saved = _saved_named(ctx)
        wanted = [name for name, need in zip(GRADIENTS, ctx.needs_input_grad[1:]) if need]
        grads = require_extension().backward(
            ctx.cfg,
            dict(zip(OUTPUTS, grad_outputs)),
            saved["input"]["x"],
            saved["weights"],
            saved["masks"],
            saved["saved"],
            wanted,
        )
        return (None, *_in_gradient_order(grads), *KernelMasks())  # (cfg, inputs, masks: no gradient)


def zoneout_keep_of_seeds(
    shape: tuple[int, int, int], z: float, seeds: Sequence[int], dtype: torch.dtype = torch.float32
) -> Tensor:
    """The (L, N, D) zoneout keep weights the kernel draws for probability ``z`` and the two
    32-bit ``seeds`` of one state (h: seeds[0:2], c: seeds[2:4] of :class:`KernelConfig`)."""
    L, N, D = shape
    return require_extension().zoneout_keep(L, N, D, float(z), [int(s) & 0xFFFFFFFF for s in seeds], dtype)


def _call_config(
    spec: LSTMSpec,
    x: Tensor,
    masks: KernelMasks,
    zoneout: tuple[float, float] | None,
    seeds: Sequence[int],
    *,
    reverse: bool,
    return_states: bool,
    return_gates: bool,
) -> KernelConfig:
    """The :class:`KernelConfig` of an :func:`lstm_fused` call, its arguments checked."""
    reason = fused_unsupported(spec, x)
    if reason is not None:
        raise ValueError(f"lstm_fused: {reason}")
    if zoneout is not None and (masks.keep_h is not None or masks.keep_c is not None):
        raise ValueError(
            "zoneout, keep_h/keep_c: give the keep weights or let the kernel draw them, not both"
        )
    if zoneout is not None and not seeds:
        raise ValueError("seeds: the kernel's zoneout draws need 4 seeds")
    drawn = zoneout is not None
    return kernel_config(
        spec,
        reverse=reverse,
        need_states=return_states,
        need_gates=return_gates,
        zoneout=zoneout or (0.0, 0.0),
        seeds=seeds if drawn else (),
    )


def _kernel_input(x: Tensor, x_mask: Tensor | None, mask: Tensor | None) -> Tensor:
    """The input as the kernel reads it: zeros at padded steps, the dropout mask applied."""
    if mask is not None:
        x = torch.where(mask.unsqueeze(-1), x, x.new_zeros(()))  # (L, N, H_in): padding read as 0
    if x_mask is not None:
        x = x * x_mask  # (L, N, H_in), as lstm_input_projection does
    return x


def _run_kernel(
    cfg: KernelConfig, x: Tensor, state: State, params: LSTMParams, masks: KernelMasks
) -> dict[str, Any]:
    """The kernel's :data:`OUTPUTS` by name, through :class:`FusedLSTMFunction` when a gradient
    is needed."""
    h0, c0, a0 = state[0], state[1], state[2] if cfg.spec.full_gate_recurrence else None
    needs_grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (x, h0, c0, a0, *params)
    )
    if torch.compiler.is_compiling():  # one operator node in the traced graph (ops.py)
        # an exported program is for inference: it saves nothing for a backward pass
        return run_op(cfg, x, state, params, masks, needs_grad and not torch.compiler.is_exporting())
    if needs_grad:
        return dict(zip(OUTPUTS, FusedLSTMFunction.apply(cfg, x, h0, c0, a0, *params, *masks)))
    outputs, _ = require_extension().forward(cfg, x, h0, c0, a0, params._asdict(), masks._asdict(), False)
    return outputs


def _run_result(cfg: KernelConfig, outputs: dict[str, Any]) -> RunResult:
    """The :class:`~lstmkit.core.engines.RunResult` of the kernel's named outputs."""

    def state(h: str, c: str, a: str) -> State:
        if cfg.spec.full_gate_recurrence:
            return FGRState(outputs[h], outputs[c], outputs[a])
        return LSTMState(outputs[h], outputs[c])

    states = state("h_states", "c_states", "a_states") if cfg.need_states else None
    return RunResult(outputs["output"], state("h_n", "c_n", "a_n"), states, outputs["gate_states"])


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
    return_gates: bool = False,
) -> RunResult:
    r"""Run one LSTM layer and direction over a sequence with the fused kernel.

    Same result as the reference path (``run`` over :func:`~lstmkit.core.cells.lstm_step`).

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
        return_gates: also return every step's gate activations (L, N, G*H), the blocks of
            ``spec.gates``, zero at padded steps: those the kernel computes (and saves for the
            backward pass); they carry no gradient.

    Returns:
        :class:`~lstmkit.core.engines.RunResult` ``(output (L, N, H_out), final state, states,
        gates)``.

    Example::

        >>> from lstmkit.core.cells import VARIANTS, LSTMParams, lstm_param_shapes, lstm_initial_state
        >>> spec = VARIANTS["vanilla"]
        >>> p = LSTMParams(**{k: torch.randn(s) * 0.1 for k, s in lstm_param_shapes(spec, 3, 4).items()})
        >>> res = lstm_fused(torch.randn(5, 2, 3), lstm_initial_state(spec, (2,), 4), p, spec)
        >>> res.output.shape
        torch.Size([5, 2, 4])
    """
    masks = KernelMasks(h_mask, keep_h, keep_c, mask)
    returns = dict(return_states=return_states, return_gates=return_gates)
    cfg = _call_config(spec, x, masks, zoneout, seeds, reverse=reverse, **returns)
    outputs = _run_kernel(cfg, _kernel_input(x, x_mask, mask), state, params, masks)
    return _run_result(cfg, outputs)

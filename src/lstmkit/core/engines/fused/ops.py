r"""The fused kernels as torch custom operators: what ``torch.compile``, ``torch.export`` and FX see.

Two operators, registered with :func:`torch.library.custom_op` (schemas below), each with a fake
implementation (shapes only, symbolic sizes welcome) and the forward one with its autograd formula
(the backward operator), so that a traced graph holds **one node per layer and direction** and
its sequence length and batch size stay symbolic (``torch.export.Dim``)::

    lstmkit::fused_forward(str config, Tensor x, Tensor h0, Tensor c0, Tensor? a0,
                           Tensor weight_ih, Tensor weight_hh, Tensor? bias_ih, Tensor? bias_hh,
                           Tensor? weight_ch, Tensor? weight_gh, Tensor? weight_hr,
                           Tensor? ln_ih_weight, Tensor? ln_hh_weight, Tensor? ln_c_weight,
                           Tensor? ln_c_bias, Tensor? h_mask, Tensor? keep_h, Tensor? keep_c,
                           Tensor? mask, bool save) -> (Tensor x 15)
    lstmkit::fused_backward(str config, Tensor?[8] grads, Tensor x, Tensor?[11] weights,
                            Tensor?[4] masks, Tensor?[7] saved, bool[15] wanted) -> Tensor[15]

``config`` is a :class:`~lstmkit.core.engines.fused.binding.KernelConfig` as JSON
(:func:`encode_config`). The forward returns the kernel's :data:`~.binding.OUTPUTS` then its
:data:`SAVED` tensors (what the backward pass needs, with ``save``); an absent tensor is an empty
(0,) tensor, since an operator returns tensors only. Shapes are those of ``csrc/bind.cpp``.

Eager calls do not come here: :mod:`~lstmkit.core.engines.fused.binding` calls the extension
through its :class:`~.binding.FusedLSTMFunction` (no dispatcher round trip); it takes these
operators while torch compiles or exports (:func:`torch.compiler.is_compiling`). Both call the
same C++ functions; ``tests/core/engines/fused/test_ops.py`` checks they agree and runs
:func:`torch.library.opcheck` on every variant.
"""

from __future__ import annotations

import json
from dataclasses import fields
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor

from lstmkit.core.cells.lstm import LSTMParams, LSTMSpec
from lstmkit.core.engines.fused.build import require_extension

__all__ = [
    "GRADIENTS",
    "OUTPUTS",
    "SAVED",
    "decode_config",
    "encode_config",
    "fused_backward",
    "fused_forward",
    "run_op",
]

#: what the forward saves for the backward pass (``csrc/tensors.h``: ``Saved``)
SAVED = ("h_all", "c_all", "a_all", "gates", "ln_stats", "x_product", "h_product")
_STEP_RECORDS = ("gates", "ln_stats", "x_product", "h_product")  # (L, N, .) saved per step
#: The kernel's outputs, in the order the operator (and ``FusedLSTMFunction``) returns them.
OUTPUTS = ("output", "h_n", "c_n", "a_n", "h_states", "c_states", "a_states", "gate_states")
_WEIGHTS = LSTMParams._fields
_MASKS = ("h_mask", "keep_h", "keep_c", "mask")
#: The kernel's gradients: of x, of the initial state, then of each weight.
GRADIENTS = ("x", "h0", "c0", "a0", *_WEIGHTS)


_SPEC_FIELDS = tuple(f.name for f in fields(LSTMSpec))
_CALL_FIELDS = ("reverse", "need_states", "need_gates", "zoneout_h", "zoneout_c")


def _json(value: bool | float | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else f'"{value}"'


def encode_config(cfg: Any) -> str:
    """A :class:`~.binding.KernelConfig` as the JSON string the operators take (written by hand
    from the fields: ``torch.compile`` traces this, and it traces no ``json.dumps``)."""
    spec = ", ".join(f'"{name}": {_json(getattr(cfg.spec, name))}' for name in _SPEC_FIELDS)
    call = ", ".join(f'"{name}": {_json(getattr(cfg, name))}' for name in _CALL_FIELDS)
    seeds = ", ".join(str(int(v)) for v in cfg.seeds)
    return f'{{"spec": {{{spec}}}, {call}, "seeds": [{seeds}]}}'


@lru_cache(maxsize=256)
def decode_config(text: str) -> Any:
    """The :class:`~.binding.KernelConfig` of :func:`encode_config`'s string."""
    from lstmkit.core.engines.fused.binding import KernelConfig  # binding imports this module

    fields = json.loads(text)
    spec = LSTMSpec(**fields.pop("spec"))
    return KernelConfig(spec=spec, **{**fields, "seeds": tuple(fields["seeds"])})


def _absent(ref: Tensor) -> Tensor:
    return ref.new_empty((0,))


def _fresh(tensors: list[Tensor | None], ref: Tensor, inputs: tuple[Tensor | None, ...]) -> list[Tensor]:
    """The tensors with ``None`` as empty ones, each copied where it is a view (the kernel returns
    views of its state buffers) or its memory is an input's or an earlier result's: an operator's
    outputs alias nothing and are laid out as its fake implementation says (contiguous)."""
    seen = {t.untyped_storage().data_ptr() for t in inputs if t is not None and t.numel()}
    out = []
    for t in tensors:
        if t is None:
            out.append(_absent(ref))
            continue
        ptr = t.untyped_storage().data_ptr()
        if t.numel() and (ptr in seen or t.storage_offset() or not t.is_contiguous()):
            t = t.clone()
            ptr = t.untyped_storage().data_ptr()
        seen.add(ptr)
        out.append(t)
    return out


def _present(t: Tensor | None) -> Tensor | None:
    return None if t is None or (t.dim() == 1 and t.numel() == 0) else t


def _forward_schema() -> str:
    """The forward operator's schema, its tensors named as :class:`LSTMParams` and
    :class:`~.binding.KernelMasks` name them (``weight_ih`` and ``weight_hh`` always present)."""
    weights = [f"Tensor{'' if name in ('weight_ih', 'weight_hh') else '?'} {name}" for name in _WEIGHTS]
    inputs = ["str config", "Tensor x", "Tensor h0", "Tensor c0", "Tensor? a0", *weights]
    inputs += [f"Tensor? {name}" for name in _MASKS] + ["bool save"]
    return f"({', '.join(inputs)}) -> ({', '.join(['Tensor'] * (len(OUTPUTS) + len(SAVED)))})"


@torch.library.custom_op("lstmkit::fused_forward", mutates_args=(), schema=_forward_schema())
def fused_forward(
    config: str, x: Tensor, h0: Tensor, c0: Tensor, a0: Tensor | None, *constants: Any
) -> tuple[Tensor, ...]:
    """``constants``: the 11 weights of :class:`LSTMParams`, the 4 masks, then ``save``."""
    weights = dict(zip(_WEIGHTS, constants[:11]))
    masks = dict(zip(_MASKS, constants[11:15]))
    save, mask = constants[15], masks["mask"]
    outputs, saved = require_extension().forward(decode_config(config), x, h0, c0, a0, weights, masks, save)
    inputs = (x, h0, c0, a0, *weights.values(), *masks.values())
    if mask is not None:  # the kernel leaves the step records of padded steps unwritten
        rows = mask.unsqueeze(-1)
        saved |= {k: torch.where(rows, saved[k], 0) for k in _STEP_RECORDS if saved[k] is not None}
    found = [outputs[k] for k in OUTPUTS] + [saved[k] for k in SAVED]
    return tuple(_fresh(found, x, inputs))


@fused_forward.register_fake
def _(
    config: str, x: Tensor, h0: Tensor, c0: Tensor, a0: Tensor | None, weight_ih: Tensor, *rest: Any
) -> Any:
    cfg, save = decode_config(config), rest[-1]
    L, N, GH = x.shape[0], x.shape[1], weight_ih.shape[0]
    Hout, H = h0.shape[-1], c0.shape[-1]
    fgr, ln, states = cfg.spec.full_gate_recurrence, cfg.spec.layer_norm, cfg.need_states
    SH = a0.shape[-1] if a0 is not None else 0

    def new(present: bool, *shape: Any) -> Tensor:
        return x.new_empty(shape) if present else _absent(x)

    outputs = [
        new(True, L, N, Hout),
        new(True, N, Hout),
        new(True, N, H),
        new(fgr, N, SH),
        new(states, L, N, Hout),
        new(states, L, N, H),
        new(states and fgr, L, N, SH),
        new(cfg.need_gates, L, N, GH),
    ]
    saved = [
        new(save, L + 1, N, Hout),
        new(save, L + 1, N, H),
        new(save and fgr, L + 1, N, SH),
        new(save, L, N, GH),
        new(save and ln, L, N, 6),
        new(save and ln, L, N, GH),
        new(save and ln, L, N, GH),
    ]
    return (*outputs, *saved)


@torch.library.custom_op("lstmkit::fused_backward", mutates_args=())
def fused_backward(
    config: str,
    grads: list[Tensor | None],
    x: Tensor,
    weights: list[Tensor | None],
    masks: list[Tensor | None],
    saved: list[Tensor | None],
    wanted: list[bool],
) -> list[Tensor]:
    named = require_extension().backward(
        decode_config(config),
        dict(zip(OUTPUTS, map(_present, grads))),
        x,
        dict(zip(_WEIGHTS, map(_present, weights))),
        dict(zip(_MASKS, masks)),
        dict(zip(SAVED, map(_present, saved))),
        [name for name, want in zip(GRADIENTS, wanted) if want],
    )
    return _fresh([named[k] for k in GRADIENTS], x, (x, *weights, *masks, *saved, *grads))


@fused_backward.register_fake
def _(config: str, grads: Any, x: Tensor, weights: list[Tensor | None], *constants: Any) -> list[Tensor]:
    saved, wanted = constants[1], constants[2]  # (after the masks)
    h_all, c_all, a_all = saved[0], saved[1], saved[2]
    assert h_all is not None and c_all is not None
    N = x.shape[1]
    like: list[Any] = [x, (N, h_all.shape[-1]), (N, c_all.shape[-1])]
    a = _present(a_all)
    like.append((N, a.shape[-1]) if a is not None else None)
    like += list(weights)
    out = []
    for want, ref in zip(wanted, like):
        if not want or ref is None or (isinstance(ref, Tensor) and _present(ref) is None):
            out.append(_absent(x))
        else:
            out.append(x.new_empty(ref.shape if isinstance(ref, Tensor) else ref))
    return out


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
    config, x, *tensors = inputs[:-1]  # tensors: h0, c0, a0, the 11 weights, the 4 masks
    ctx.config = config
    ctx.set_materialize_grads(False)
    ctx.mark_non_differentiable(output[OUTPUTS.index("gate_states")], *output[len(OUTPUTS) :])
    constants = tensors[3:]  # the weights and the masks
    ctx.present = [t is not None for t in constants]
    ctx.save_for_backward(x, *(t for t in constants if t is not None), *output[len(OUTPUTS) :])


def _backward(ctx: Any, *grads: Tensor | None) -> tuple[Tensor | None, ...]:
    x, *rest = ctx.saved_tensors
    n = sum(ctx.present)
    if _present(rest[n]) is None:
        raise RuntimeError(
            "lstmkit::fused_forward: this graph was traced for inference (torch.export) and saved "
            "nothing for a backward pass; train the eager model or a torch.compile'd one"
        )
    given = iter(rest[:n])
    constants = [next(given) if here else None for here in ctx.present]
    needs = list(ctx.needs_input_grad[1:16])  # x, h0, c0, a0, the weights
    weights, masks, saved = constants[:11], constants[11:], list(rest[n:])
    got = fused_backward(ctx.config, list(grads[: len(OUTPUTS)]), x, weights, masks, saved, needs)
    return (None, *(g if need else None for g, need in zip(got, needs)), None, None, None, None, None)


fused_forward.register_autograd(_backward, setup_context=_setup_context)


def run_op(cfg: Any, x: Tensor, state: Any, params: LSTMParams, masks: Any, save: bool) -> dict[str, Any]:
    """The kernel's :data:`~.binding.OUTPUTS` by name, through :func:`fused_forward`."""
    h0, c0 = state[0], state[1]
    a0 = state[2] if cfg.spec.full_gate_recurrence else None
    out = fused_forward(encode_config(cfg), x, h0, c0, a0, *params, *masks, save)
    return {name: _present(t) for name, t in zip(OUTPUTS, out)}

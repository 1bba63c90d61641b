"""Which engine runs a layer call: the policy table of lstmkit (the only copy).

Every layer (:class:`~lstmkit.core.layers.LSTM`, :class:`~lstmkit.core.layers.GRU`,
:class:`~lstmkit.core.layers.RNN`) describes each layer and direction of its forward pass as a
:class:`~lstmkit.core.engines.base.Call` and hands it to :func:`run_call` with its ``engine``
setting:

* ``engine="auto"`` (the default) walks :data:`POLICY` from the top and runs the first row whose
  engine runs the cell's family, can run the call (its
  :meth:`~lstmkit.core.engines.base.Engine.unsupported` is ``None``) and whose condition holds.
  When it ends on the reference row because the fused kernel cannot run an LSTM call, one
  ``RuntimeWarning`` (per process) says why. Where torch's CPU kernel turns out not to compute
  a low-precision dtype on this machine (bfloat16 / float16 without hardware support, also
  under autocast; :class:`~lstmkit.core.engines.native.NativeKernelError`), the call runs on
  the reference path instead, with one ``RuntimeWarning``.
* ``engine="native"`` / ``"fused"`` insist on that engine: ``ValueError`` naming the reason where
  it cannot run the call (``RuntimeError`` where torch's kernel fails for the dtype); the fused
  engine, when its extension is unavailable on this machine (no compiler,
  ``LSTMKIT_DISABLE_EXTENSION=1``), runs the reference path with one warning.
* ``engine="reference"`` always runs the plain loop.

A layer names only the engines that run its cell's family (:func:`engine_names`): the GRU and
RNN layers take ``"auto"``, ``"native"`` and ``"reference"``.

A custom regularizer is *active* when it changes the math of the call: variational dropout and
DropConnect in training mode only, zoneout always (evaluation uses its expectation).

The table (:data:`POLICY`, printed by ``python -m lstmkit.core.engines``; measured
speeds in docs/performance.md):

"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch

from lstmkit.core.cells.lstm import LSTMSpec
from lstmkit.core.engines.base import Call, Engine, EngineFailure, Unavailable
from lstmkit.core.engines.fused.build import warn_unavailable
from lstmkit.core.engines.fused_engine import FUSED
from lstmkit.core.engines.native import NATIVE
from lstmkit.core.engines.reference import REFERENCE
from lstmkit.core.scan import RunResult

__all__ = [
    "ENGINES",
    "POLICY",
    "Rule",
    "check_engine",
    "engine_names",
    "first_rule",
    "onnx_lstm_fits",
    "onnx_native_lstm",
    "policy_table",
    "run_call",
    "select",
]

#: every engine name a layer may be given (a layer takes those of its cell family)
ENGINES = ("auto", "native", "fused", "reference")
_BY_NAME: dict[str, Engine] = {e.name: e for e in (NATIVE, FUSED, REFERENCE)}
_warned_unsupported = False


def _fused_is_faster(call: Call) -> bool:
    """On the CPU, training (gradients on), padded or float64: the fused kernel beats torch's
    there (torch's packed and float64 paths are slow, and it saves more for backward)."""
    cpu, x = call.x.device.type == "cpu", call.x
    faster = cpu and (torch.is_grad_enabled() or call.mask is not None or x.dtype == torch.float64)
    return faster and call.family in NATIVE.families and NATIVE.unsupported(call) is None


@dataclass(frozen=True)
class Rule:
    """One row of :data:`POLICY`: ``engine`` runs the call when it can and ``applies(call)``."""

    engine: str
    when: str
    applies: Callable[[Call], bool] = lambda call: True


def _onnx_exporting(call: Call) -> bool:
    """While ``torch.onnx.export`` traces: lstmkit's C++ kernels have no ONNX form."""
    return torch.onnx.is_in_onnx_export()


_ONNX_NATIVE: ContextVar[bool] = ContextVar("lstmkit_onnx_native_lstm", default=False)


@contextmanager
def onnx_native_lstm() -> Iterator[None]:
    """While in this block, an ONNX export writes the LSTM calls that ONNX's own ``LSTM``
    operator computes as lstmkit's fused operator, for a translation table that maps it to that
    operator (:func:`lstmkit.export.to_onnx` does both)."""
    token = _ONNX_NATIVE.set(True)
    try:
        yield
    finally:
        _ONNX_NATIVE.reset(token)


def onnx_lstm_fits(spec: LSTMSpec) -> bool:
    """Whether ONNX's ``LSTM`` operator computes this cell: gates i, f (or CIFG's coupled f,
    its ``input_forget``), o, with or without peepholes (its input ``P``), sigmoid and tanh."""
    plain = spec.input_gate and spec.forget_gate and spec.output_gate and not spec.full_gate_recurrence
    squash = spec.cell_activation == spec.output_activation == "tanh"
    return plain and squash and not spec.layer_norm


def _onnx_native(call: Call) -> bool:
    """Inside :func:`onnx_native_lstm` while torch.onnx exports, an LSTM call that ONNX's operator
    computes: its cell fits, no padding, projection, every-step states or active regularizer."""
    if not (_onnx_exporting(call) and _ONNX_NATIVE.get() and isinstance(call.cell, LSTMSpec)):
        return False
    plain = call.mask is None and not call.return_states and not call.regularizers.active
    return plain and onnx_lstm_fits(call.cell) and getattr(call.params, "weight_hr", None) is None


def _exporting(call: Call) -> bool:
    """While ``torch.export`` traces: torch's own recurrent kernels decompose into one node per
    step there, which fixes the sequence length of the program."""
    return torch.compiler.is_exporting()


#: The policy of ``engine="auto"``: the first row that can run a call runs it.
POLICY: tuple[Rule, ...] = (
    Rule(
        "fused",
        "while lstmkit.export.to_onnx exports: an LSTM call ONNX's LSTM operator computes (the "
        "classic cell, peepholes, CIFG; no padding, projection, layer norm or active regularizer), "
        "as lstmkit's operator that to_onnx writes as ONNX's LSTM",
        _onnx_native,
    ),
    Rule(
        "reference",
        "while torch.onnx exports: every call (the cell's step as the body of one ONNX Scan over "
        "time, lstmkit.core.scan; torch's exporter fixes the length of its own LSTM operator, "
        "lstmkit.export.to_onnx picks ONNX's LSTM operator where it fits)",
        _onnx_exporting,
    ),
    Rule(
        "fused",
        "while torch.export traces: an LSTM call on the CPU in float32 / float64 (one lstmkit "
        "operator node, the length symbolic)",
        _exporting,
    ),
    Rule(
        "reference",
        "while torch.export traces: every other call (torch's scan operator over the step; torch's "
        "own kernels would unroll the steps and fix the length)",
        _exporting,
    ),
    Rule(
        "fused",
        "what torch's kernel runs too (the classic cell), on the CPU with gradients on (training), "
        "padding or float64: faster there, and less memory saved for backward",
        _fused_is_faster,
    ),
    Rule(
        "native",
        "the classic LSTM, GRU and Elman cells, unless the call has an active custom regularizer, "
        "asks for every step's state or has a mask with holes: so the LSTM's inference in float32 "
        "without padding, on any GPU and in other dtypes",
    ),
    Rule(
        "fused",
        "every other LSTM call (any variant or option: peepholes, CIFG, FGR, the 1997 cell, layer "
        "norm, zoneout, variational dropout, DropConnect, return_cell_states, return_gates, masks "
        "with holes) on the CPU in float32 / float64; a ConvLSTM call there without layer norm "
        "(torch's convolutions, lstmkit's gate kernel)",
    ),
    Rule(
        "reference",
        "the rest: variational dropout in training for a GRU / RNN, masks with holes for them; "
        "a ConvLSTM with layer norm, on a GPU (cuDNN's convolutions) or while torch traces; "
        "the fused extension unavailable (no compiler, LSTMKIT_DISABLE_EXTENSION=1; a warning); an "
        "LSTM variant on a GPU or in another dtype (a warning)",
    ),
)


def policy_table() -> str:
    """:data:`POLICY` as a table of text (one row per rule, first match wins)."""
    lines = ["| # | engine | runs (engine='auto') |", "|---|---|---|"]
    lines += [f"| {i} | {rule.engine} | {rule.when} |" for i, rule in enumerate(POLICY, 1)]
    return "\n".join(lines)


def engine_names(family: str = "lstm") -> tuple[str, ...]:
    """The ``engine=`` names of a cell family: ``"auto"`` and the engines that run it."""
    return tuple(n for n in ENGINES if n == "auto" or family in _BY_NAME[n].families)


def check_engine(engine: object, family: str = "lstm") -> str:
    """Validate an engine name for a cell family; ``ValueError`` naming ``engine`` otherwise."""
    names = engine_names(family)
    if not isinstance(engine, str) or engine not in names:
        raise ValueError(f"engine: expected one of {names}, got {engine!r}")
    return engine


def _warn_fallback(reason: str) -> None:
    """One warning (per process) that an LSTM call takes the reference path, and why."""
    global _warned_unsupported
    if isinstance(reason, Unavailable):
        warn_unavailable()
        return
    if _warned_unsupported:
        return
    _warned_unsupported = True
    warnings.warn(
        f"lstmkit: no fast path for this LSTM call ({reason}); using the reference path",
        RuntimeWarning,
        stacklevel=5,
    )


def _insist(name: str, call: Call) -> Engine:
    engine = _BY_NAME[name]
    reason = engine.unsupported(call)
    if reason is None:
        return engine
    if isinstance(reason, Unavailable):
        _warn_fallback(reason)
        return REFERENCE
    raise ValueError(f"engine={name!r}: {reason}; use engine='auto' or 'reference'")


def first_rule(call: Call) -> tuple[int, str | None]:
    """The row of :data:`POLICY` that runs ``call`` with ``engine="auto"`` (its index), and why
    the fused engine could not run it, when the walk passed over a fused row for that reason."""
    fused_reason = None
    for index, rule in enumerate(POLICY):
        candidate = _BY_NAME[rule.engine]
        if call.family not in candidate.families or not rule.applies(call):
            continue
        reason = candidate.unsupported(call)
        if reason is None:
            return index, fused_reason
        if candidate is FUSED:
            fused_reason = reason
    raise AssertionError("the reference row runs every call")  # pragma: no cover


def select(engine: str, call: Call) -> Engine:
    """The engine that runs ``call`` when the layer asks for ``engine`` (module docstring).

    Args:
        engine: the layer's ``engine`` setting, one of :func:`engine_names` of the call's family.
        call: the :class:`~lstmkit.core.engines.base.Call`.

    Raises:
        ValueError: an unknown name, or an engine asked for by name that cannot run the call.
    """
    check_engine(engine, call.family)
    if engine != "auto" and not _onnx_exporting(call):  # the C++ kernels have no ONNX form
        return _insist(engine, call)
    index, fused_reason = first_rule(call)
    chosen = _BY_NAME[POLICY[index].engine]
    if chosen is REFERENCE and fused_reason is not None:
        _warn_fallback(fused_reason)
    return chosen


def run_call(engine: str, call: Call) -> RunResult:
    """Run ``call`` on the engine :func:`select` picks; with ``engine="auto"``, an
    :class:`~lstmkit.core.engines.base.EngineFailure` (torch's kernel and a low-precision
    dtype) reruns it on the reference path, warning once.

    Raises:
        ValueError: as :func:`select`.
        EngineFailure: the engine asked for by name cannot compute this call on this machine.
    """
    chosen = select(engine, call)
    try:
        return chosen.run(call)
    except EngineFailure as err:
        if engine != "auto":
            raise type(err)(
                f"engine={engine!r}: {err}; use engine='auto' or 'reference', or float32", first=False
            ) from None
        if err.first:
            warnings.warn(f"lstmkit: {err}; using the reference path", RuntimeWarning, stacklevel=5)
        return REFERENCE.run(call)


__doc__ = f"{__doc__}{policy_table()}\n"

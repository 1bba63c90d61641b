"""Which engine runs an LSTM layer: torch's native kernel, the fused kernel or the reference loop.

``engine="auto"`` (the default of :class:`lstmkit.core.layers.LSTM`) picks, per call:

=========================================================  ===========================
case                                                       engine
=========================================================  ===========================
classic cell, no active custom regularizer, float32,       ``native`` (torch.nn.LSTM's
no padding, gradients off (inference); or a GPU /          kernel, oneDNN / cuDNN)
another dtype
classic cell, no active custom regularizer, CPU, with      ``fused`` (faster there:
gradients on (training), padded (``lengths``/prefix        training 0.7x torch's time and
mask) or float64                                           0.4x its saved memory; torch's
                                                           packed and float64 paths slow)
any other cell or option (variants, layer norm, FGR,       ``fused``
projection with regularizers, zoneout, variational
dropout, DropConnect, ``return_cell_states``, masks
with holes), CPU float32/float64
the fused kernel unavailable (no compiler, or              ``reference`` (one warning)
``LSTMKIT_DISABLE_EXTENSION=1``) or the input on a GPU /
in another dtype
=========================================================  ===========================

A regularizer is *active* when it changes the math of this call: variational dropout and
DropConnect in training mode only, zoneout always (evaluation uses its expectation).
``engine="native"`` insists on torch's kernel and raises ``ValueError`` where it cannot
run; ``engine="fused"`` insists on the fused kernel (``ValueError`` for an unsupported
dtype/device, the reference path with one warning when the extension is unavailable);
``engine="reference"`` always runs the plain PyTorch loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

from lstmkit.core.cells.lstm import VARIANTS, LSTMSpec
from lstmkit.core.engines.fused.binding import fused_unsupported
from lstmkit.core.engines.fused.build import load_extension, warn_unavailable
from lstmkit.core.engines.native import mask_lengths

__all__ = ["ENGINES", "check_engine", "native_unsupported", "select_engine"]

ENGINES = ("auto", "native", "fused", "reference")
_warned_unsupported = False


def check_engine(engine: object) -> str:
    """Validate an engine name; ``ValueError`` naming ``engine`` otherwise."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, got {engine!r}")
    return engine


def native_unsupported(
    spec: LSTMSpec,
    *,
    regularizers: Sequence[str] = (),
    mask: Tensor | None = None,
    return_states: bool = False,
) -> str | None:
    """Why torch's native kernel cannot run this call (``None`` if it can)."""
    if spec != VARIANTS["classic"]:
        return "torch's kernel has only the classic cell, this layer's cell is " + _spec_name(spec)
    if regularizers:
        return f"torch's kernel has no {', '.join(regularizers)}"
    if return_states:
        return "torch's kernel does not return every step's cell state (return_cell_states=True)"
    if mask is not None and mask_lengths(mask) is None:
        return "torch's kernel needs lengths (a prefix mask); this mask has holes"
    return None


def _spec_name(spec: LSTMSpec) -> str:
    name = next((k for k, v in VARIANTS.items() if v == spec), None)
    return repr(name) if name else repr(spec)


def _warn_unsupported(reason: str) -> None:
    global _warned_unsupported
    if _warned_unsupported:
        return
    _warned_unsupported = True
    warnings.warn(
        f"lstmkit: no fast path for this LSTM call ({reason}); using the reference path",
        RuntimeWarning,
        stacklevel=4,
    )


def select_engine(
    engine: str,
    spec: LSTMSpec,
    x: Tensor,
    *,
    regularizers: Sequence[str] = (),
    mask: Tensor | None = None,
    return_states: bool = False,
) -> str:
    """The engine (``"native"``, ``"fused"`` or ``"reference"``) that runs one layer call.

    Args:
        engine: the requested engine, one of :data:`ENGINES`.
        spec: the cell.
        x: the (L, N, H_in) input (its dtype and device matter).
        regularizers: names of the custom regularizers active in this call.
        mask: (L, N) bool mask of real steps, or ``None``.
        return_states: whether every step's state is asked for.
    """
    check_engine(engine)
    if engine == "reference":
        return "reference"
    native_reason = native_unsupported(
        spec, regularizers=regularizers, mask=mask, return_states=return_states
    )
    if engine == "native":
        if native_reason is not None:
            raise ValueError(f"engine='native': {native_reason}; use engine='auto' or 'fused'")
        return "native"
    fused_reason = fused_unsupported(spec, x)
    if engine == "fused" and fused_reason is not None:
        raise ValueError(f"engine='fused': {fused_reason}; use engine='auto' or 'reference'")
    if engine == "auto" and native_reason is None:
        prefer_fused = x.device.type == "cpu" and (
            torch.is_grad_enabled() or mask is not None or x.dtype == torch.float64
        )
        if not (prefer_fused and fused_reason is None and load_extension() is not None):
            return "native"
    if fused_reason is not None:
        _warn_unsupported(fused_reason)
        return "reference"
    if load_extension() is None:
        warn_unavailable()
        return "reference"
    return "fused"

"""The native path: torch's own recurrent kernels (oneDNN on CPU, cuDNN on GPU).

:func:`native_run` runs one layer and direction of torch's LSTM, GRU or Elman kernel
(``torch._VF.lstm``/``gru``/``rnn_tanh``/``rnn_relu``, the functions behind torch.nn's
layers) with lstmkit's parameters passed in directly, so gradients flow to them as usual, and
with the reference path's semantics: padded batches (a prefix mask, i.e. ``lengths``) are
packed, so outputs past a sequence's end are zero and the final state is the state at its last
real step (sequences of length 0 keep their initial state); ``reverse`` walks each sequence
backwards from its own last step. :func:`lstm_native` is its form for the classic LSTM cell,
and :data:`NATIVE` the engine (:mod:`lstmkit.core.engines.base`) the layers reach it through;
:func:`native_unsupported` says what torch's kernels cannot run (another cell than the classic
LSTM, GRU and Elman ones, lstmkit's own regularizers, every step's state, a mask with holes).

Where torch's CPU kernel cannot compute a low-precision dtype on this machine (oneDNN without
bfloat16 / float16 support, also under :func:`torch.autocast`), :func:`native_run` raises
:class:`NativeKernelError`, a one-line ``RuntimeError`` naming the dtype, and remembers it:
later calls for that kernel and dtype raise it at once, without trying the kernel again. With
``engine="auto"`` the layers then take the reference path instead (a fast path first, the
fallback outside the math: :func:`lstmkit.core.engines.select.run_call`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstmkit.core.cells.lstm import VARIANTS, LSTMParams, LSTMSpec, LSTMState, variant_name
from lstmkit.core.engines.base import Call, Cell, CellParams, EngineFailure
from lstmkit.core.scan import RunResult, lengths_to_mask
from lstmkit.core.tree import State

__all__ = [
    "NATIVE",
    "NativeEngine",
    "NativeKernelError",
    "compute_dtype",
    "lstm_native",
    "mask_lengths",
    "native_run",
    "native_unsupported",
]

# (kernel, device type, compute dtype) -> why torch's kernel cannot run it on this machine
_failures: dict[tuple[str, str, torch.dtype], str] = {}
# the custom regularizers as torch's kernel lacks them, for the reason of a refusal
_LACKS = {
    "input_dropout": "variational dropout (input_dropout)",
    "recurrent_dropout": "variational dropout (recurrent_dropout)",
    "weight_drop": "DropConnect (weight_drop)",
}


class NativeKernelError(EngineFailure):
    """torch's kernel cannot compute this dtype on this machine; the message is one line.

    ``first`` is true when the kernel was just tried and failed, false when the failure was
    already known (so a caller warns once).
    """


class Kernel(NamedTuple):
    """What one call of ``torch._VF.<kind>`` takes besides the sequence and the state: the
    weights in torch's order (``weight_ih, weight_hh[, bias_ih, bias_hh][, weight_hr]``),
    whether the biases are among them, and the training flag (no dropout here)."""

    kind: str
    weights: list[Tensor]
    has_bias: bool
    training: bool


def compute_dtype(x: Tensor) -> torch.dtype:
    """The dtype torch's kernel computes ``x`` in: autocast's where it is on for ``x``'s
    device (and ``x`` is float32), else ``x``'s own."""
    device = x.device.type
    if (
        x.dtype == torch.float32
        and torch.amp.is_autocast_available(device)
        and torch.is_autocast_enabled(device)
    ):
        return torch.get_autocast_dtype(device)
    return x.dtype


def _guarded_call(
    kernel: Kernel, x: Tensor, batch_sizes: Tensor | None, hx: Sequence[Tensor]
) -> tuple[Tensor, list[Tensor]]:
    """:func:`_call`, with a failure for a CPU dtype other than float32/float64 turned into
    a remembered :class:`NativeKernelError` (any other failure is raised as it is)."""
    key = (kernel.kind, x.device.type, compute_dtype(x))
    if key in _failures:
        raise NativeKernelError(_failures[key], first=False)
    try:
        return _call(kernel, x, batch_sizes, hx)
    except RuntimeError as err:
        if key[1] != "cpu" or key[2] in (torch.float32, torch.float64):
            raise
        detail = str(err).strip().splitlines()[0].split(". ")[0] if str(err).strip() else type(err).__name__
        _failures[key] = f"torch's {kernel.kind} kernel cannot compute {key[2]} on this CPU ({detail})"
        raise NativeKernelError(_failures[key], first=True) from None


def _call(
    kernel: Kernel, x: Tensor, batch_sizes: Tensor | None, hx: Sequence[Tensor]
) -> tuple[Tensor, list[Tensor]]:
    """One layer and direction through ``torch._VF.<kind>`` (padded input, or packed data
    with its ``batch_sizes``)."""
    fn = getattr(_VF, kernel.kind)
    h: Any = tuple(s.unsqueeze(0) for s in hx) if kernel.kind == "lstm" else hx[0].unsqueeze(0)
    flags = (kernel.has_bias, 1, 0.0, kernel.training)  # bias, one layer, no dropout, mode
    if batch_sizes is None:
        res = fn(x, h, kernel.weights, *flags, False, False)  # not bidirectional, time-major
    else:
        res = fn(x, batch_sizes, h, kernel.weights, *flags, False)
    return res[0], [s[0] for s in res[1:]]


def mask_lengths(mask: Tensor) -> Tensor | None:
    """The lengths (N,) of a time-major (L, N) mask if it is a prefix mask (``t < length``),
    else ``None`` (a mask with holes cannot be packed)."""
    lengths = mask.sum(0).to("cpu", torch.int64)  # (N,)
    if not torch.equal(lengths_to_mask(lengths, mask.shape[0], mask.device), mask):
        return None
    return lengths


def _reverse_index(lengths: Tensor, max_len: int, device: torch.device) -> Tensor:
    """(L, N) time index that reverses each sequence within its length (an involution)."""
    steps = torch.arange(max_len).unsqueeze(1)  # (L, 1)
    lens = lengths.unsqueeze(0)  # (1, N)
    return torch.where(steps < lens, lens - 1 - steps, steps).to(device)


def _gather_time(x: Tensor, index: Tensor) -> Tensor:
    return x.gather(0, index.unsqueeze(-1).expand_as(x))


def _run_empty(kernel: Kernel, x: Tensor, hx: Sequence[Tensor]) -> tuple[Tensor, list[Tensor]]:
    """A batch whose sequences are all empty: nothing to run, but the results stay in the
    graph (zero gradients for the weights), as every other engine's do: run the padded input
    (zeros) and select nothing of it."""
    out, final = _guarded_call(kernel, x, None, hx)
    none = torch.zeros((), dtype=torch.bool, device=x.device)
    return torch.where(none, out, 0.0), [torch.where(none, f, s) for f, s in zip(final, hx)]


def _run_packed(
    kernel: Kernel, x: Tensor, hx: Sequence[Tensor], lengths: Tensor, real: Tensor
) -> tuple[Tensor, list[Tensor]]:
    """The ``real`` sequences (at least one step) of the padded (L, N, H_in) ``x`` packed
    through the kernel; the others output zeros and keep their initial state."""
    max_len, batch = x.shape[0], x.shape[1]
    subset = real.numel() < batch
    idx = real.to(x.device)
    x_run = x.index_select(1, idx) if subset else x
    hx_run = [s.index_select(0, idx) for s in hx] if subset else list(hx)
    packed = pack_padded_sequence(x_run, lengths[real] if subset else lengths, enforce_sorted=False)
    order, unsort = packed.sorted_indices, packed.unsorted_indices
    assert order is not None and unsort is not None
    hx_sorted = [s.index_select(0, order) for s in hx_run]
    data, final = _guarded_call(kernel, packed.data, packed.batch_sizes, hx_sorted)
    out, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes, order, unsort), total_length=max_len
    )
    final = [s.index_select(0, unsort) for s in final]
    if subset:
        out = out.new_zeros(max_len, batch, out.shape[-1]).index_copy(1, idx, out)
        final = [s0.index_copy(0, idx, s) for s0, s in zip(hx, final)]
    return out, final


def native_run(
    kind: str,
    x: Tensor,
    hx: Sequence[Tensor],
    weights: list[Tensor],
    *,
    has_bias: bool,
    mask: Tensor | None = None,
    reverse: bool = False,
    training: bool = False,
) -> tuple[Tensor, list[Tensor]]:
    """Run one layer and direction of a torch recurrent kernel with the reference semantics.

    Args:
        kind: ``"lstm"``, ``"gru"``, ``"rnn_tanh"`` or ``"rnn_relu"`` (the ``torch._VF`` kernel).
        x: (L, N, H_in) time-major input.
        hx: the state's tensors, each (N, size): ``(h, c)`` for an LSTM, ``(h,)`` otherwise.
        weights: ``weight_ih, weight_hh[, bias_ih, bias_hh][, weight_hr]`` in torch's order.
        has_bias: whether ``weights`` holds the two biases.
        mask: (L, N) bool prefix mask of real steps (as from ``lengths``), or ``None``.
        reverse: walk each sequence from its last real step to its first.
        training: passed to the kernel as torch.nn's layers do (no dropout here).

    Returns:
        ``(output (L, N, H_out), final state tensors)``; outputs past a sequence's end are
        zero and its final state is the state at its last real step.

    Raises:
        NativeKernelError: torch's CPU kernel cannot compute this (low-precision) dtype here.

    Example::

        >>> w = [torch.randn(12, 3), torch.randn(12, 4)]
        >>> out, (h,) = native_run("gru", torch.randn(5, 2, 3), (torch.zeros(2, 4),), w, has_bias=False)
        >>> out.shape, h.shape
        (torch.Size([5, 2, 4]), torch.Size([2, 4]))
    """
    return _run_kernel(Kernel(kind, weights, has_bias, training), x, hx, mask, reverse)


def _run_kernel(
    kernel: Kernel, x: Tensor, hx: Sequence[Tensor], mask: Tensor | None, reverse: bool
) -> tuple[Tensor, list[Tensor]]:
    """:func:`native_run` with its kernel arguments gathered."""
    if mask is None:
        out, final = _guarded_call(kernel, x.flip(0) if reverse else x, None, hx)
        return (out.flip(0) if reverse else out), final
    lengths = mask_lengths(mask)
    if lengths is None:
        raise ValueError("mask: torch's native kernel needs a prefix mask (lengths); this mask has holes")
    index = _reverse_index(lengths, x.shape[0], x.device) if reverse else None
    if index is not None:
        x = _gather_time(x, index)
    real = (lengths > 0).nonzero().squeeze(1)  # sequences with at least one step
    if real.numel() == 0:
        return _run_empty(kernel, x, hx)
    out, final = _run_packed(kernel, x, hx, lengths, real)
    return (out if index is None else _gather_time(out, index)), final


def native_unsupported(
    cell: Cell,
    *,
    regularizers: Sequence[str] = (),
    mask: Tensor | None = None,
    return_states: bool = False,
) -> str | None:
    """Why torch's kernels cannot run a call (``None`` if they can).

    Args:
        cell: the cell (an :class:`~lstmkit.core.cells.LSTMSpec`, ``"gru"``, ``"rnn_tanh"``
            or ``"rnn_relu"``).
        regularizers: the layer options of the custom regularizers active in the call.
        mask: (L, N) bool mask of real steps, or ``None``.
        return_states: whether every step's state is asked for.
    """
    if isinstance(cell, LSTMSpec) and cell != VARIANTS["classic"]:
        name = variant_name(cell)
        return "torch's kernel has only the classic cell, this layer's cell is " + repr(name or cell)
    if regularizers:
        return f"torch's kernel has no {', '.join(_LACKS.get(r, r) for r in regularizers)}"
    if return_states:
        return "torch's kernel does not return every step's state (return_cell_states=True)"
    if mask is not None and mask_lengths(mask) is None:
        return "torch's kernel needs lengths (a prefix mask); this mask has holes"
    return None


def _torch_weights(params: CellParams) -> tuple[list[Tensor], bool]:
    """The weights in torch's order, and whether the biases are among them."""
    has_bias = params.bias_ih is not None and params.bias_hh is not None
    weights = [params.weight_ih, params.weight_hh]
    if params.bias_ih is not None and params.bias_hh is not None:
        weights += [params.bias_ih, params.bias_hh]
    if isinstance(params, LSTMParams) and params.weight_hr is not None:
        weights.append(params.weight_hr)
    return weights, has_bias


class NativeEngine:
    """torch's kernels (``torch._VF``): the classic LSTM, the GRU and the Elman cells, without
    lstmkit's own regularizers (see :func:`native_unsupported` and :func:`native_run`)."""

    name = "native"
    families = frozenset({"lstm", "gru", "rnn"})

    def unsupported(self, call: Call) -> str | None:
        if call.return_gates:
            return "torch's kernel does not return the gate activations (return_gates=True)"
        return native_unsupported(
            call.cell,
            regularizers=call.regularizers.active,
            mask=call.mask,
            return_states=call.return_states,
        )

    def run(self, call: Call) -> RunResult:
        weights, has_bias = _torch_weights(call.params)
        lstm = isinstance(call.cell, LSTMSpec)
        kernel = Kernel("lstm" if lstm else str(call.cell), weights, has_bias, call.training)
        hx = (call.state[0], call.state[1]) if lstm else (call.state,)
        out, final = _run_kernel(kernel, call.x, hx, call.mask, call.reverse)
        return RunResult(out, LSTMState(*final) if lstm else final[0], None)


NATIVE = NativeEngine()


def lstm_native(
    x: Tensor,
    state: State,
    params: LSTMParams,
    *,
    reverse: bool = False,
    training: bool = False,
    mask: Tensor | None = None,
) -> RunResult:
    """Run one classic LSTM layer and direction with torch's native kernel.

    Args:
        x: (L, N, H_in) time-major input.
        state: :class:`~lstmkit.core.cells.LSTMState` ``(h (N, H_out), c (N, H))``.
        params: ``weight_ih, weight_hh[, bias_ih, bias_hh][, weight_hr]`` (classic cell only).
        reverse: walk each sequence from its last real step to its first.
        training: passed to the kernel as :class:`torch.nn.LSTM` does (no dropout here).
        mask: (L, N) bool prefix mask of real steps (as from ``lengths``), or ``None``.

    Returns:
        :class:`~lstmkit.core.scan.RunResult` ``(output (L, N, H_out), LSTMState(h, c), None)``.

    Example::

        >>> from lstmkit.core.cells import VARIANTS, lstm_param_shapes, lstm_initial_state
        >>> spec = VARIANTS["classic"]
        >>> p = LSTMParams(**{k: torch.randn(s) for k, s in lstm_param_shapes(spec, 3, 4).items()})
        >>> lstm_native(torch.randn(5, 2, 3), lstm_initial_state(spec, (2,), 4), p).output.shape
        torch.Size([5, 2, 4])
    """
    extra = [
        name
        for name in ("weight_ch", "weight_gh", "ln_ih_weight", "ln_hh_weight", "ln_c_weight", "ln_c_bias")
        if getattr(params, name) is not None
    ]
    if extra:
        raise ValueError(
            f"lstm_native: torch's kernel runs the classic cell only; params has {', '.join(extra)}"
        )
    call = Call(VARIANTS["classic"], x, state, params, mask=mask, reverse=reverse, training=training)
    return NATIVE.run(call)

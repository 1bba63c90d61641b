"""The native path: torch's own recurrent kernels (oneDNN on CPU, cuDNN on GPU).

:func:`native_run` runs one layer and direction of torch's LSTM, GRU or Elman kernel
(``torch._VF.lstm``/``gru``/``rnn_tanh``/``rnn_relu``, the functions behind torch.nn's
layers) with lstmkit's parameters passed in directly, so gradients flow to them as usual, and
with the reference path's semantics: padded batches (a prefix mask, i.e. ``lengths``) are
packed, so outputs past a sequence's end are zero and the final state is the state at its last
real step (sequences of length 0 keep their initial state); ``reverse`` walks each sequence
backwards from its own last step. :func:`lstm_native` is its form for the classic LSTM cell;
the GRU and RNN layers call :func:`native_run` directly.

Where torch's CPU kernel cannot compute a low-precision dtype on this machine (oneDNN without
bfloat16 / float16 support, also under :func:`torch.autocast`), :func:`native_run` raises
:class:`NativeKernelError`, a one-line ``RuntimeError`` naming the dtype, and remembers it:
later calls for that kernel and dtype raise it at once, without trying the kernel again. The
layers catch it with ``engine="auto"`` and take the reference path instead (a fast path first,
the fallback outside the math).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstmkit.core.cells.lstm import LSTMParams, LSTMState
from lstmkit.core.scan import RunResult, State, lengths_to_mask

__all__ = ["NativeKernelError", "compute_dtype", "lstm_native", "mask_lengths", "native_run"]

# (kernel, device type, compute dtype) -> why torch's kernel cannot run it on this machine
_failures: dict[tuple[str, str, torch.dtype], str] = {}


class NativeKernelError(RuntimeError):
    """torch's kernel cannot compute this dtype on this machine; the message is one line.

    ``first`` is true when the kernel was just tried and failed, false when the failure was
    already known (so a caller warns once).
    """

    def __init__(self, message: str, *, first: bool) -> None:
        super().__init__(message)
        self.first = first


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
    kind: str,
    x: Tensor,
    batch_sizes: Tensor | None,
    hx: Sequence[Tensor],
    weights: list[Tensor],
    has_bias: bool,
    training: bool,
) -> tuple[Tensor, list[Tensor]]:
    """:func:`_call`, with a failure for a CPU dtype other than float32/float64 turned into
    a remembered :class:`NativeKernelError` (any other failure is raised as it is)."""
    key = (kind, x.device.type, compute_dtype(x))
    if key in _failures:
        raise NativeKernelError(_failures[key], first=False)
    try:
        return _call(kind, x, batch_sizes, hx, weights, has_bias, training)
    except RuntimeError as err:
        if key[1] != "cpu" or key[2] in (torch.float32, torch.float64):
            raise
        detail = str(err).strip().splitlines()[0].split(". ")[0] if str(err).strip() else type(err).__name__
        _failures[key] = f"torch's {kind} kernel cannot compute {key[2]} on this CPU ({detail})"
        raise NativeKernelError(_failures[key], first=True) from None


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


def _call(
    kind: str,
    x: Tensor,
    batch_sizes: Tensor | None,
    hx: Sequence[Tensor],
    weights: list[Tensor],
    has_bias: bool,
    training: bool,
) -> tuple[Tensor, list[Tensor]]:
    """One layer and direction through ``torch._VF.<kind>`` (padded input, or packed data)."""
    fn = getattr(_VF, kind)
    h: Any = tuple(s.unsqueeze(0) for s in hx) if kind == "lstm" else hx[0].unsqueeze(0)
    if batch_sizes is None:
        res = fn(x, h, weights, has_bias, 1, 0.0, training, False, False)
    else:
        res = fn(x, batch_sizes, h, weights, has_bias, 1, 0.0, training, False)
    return res[0], [s[0] for s in res[1:]]


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
    """
    max_len, batch = x.shape[0], x.shape[1]
    if mask is None:
        out, final = _guarded_call(kind, x.flip(0) if reverse else x, None, hx, weights, has_bias, training)
        return (out.flip(0) if reverse else out), final

    lengths = mask_lengths(mask)
    if lengths is None:
        raise ValueError("mask: torch's native kernel needs a prefix mask (lengths); this mask has holes")
    index = None
    if reverse:
        index = _reverse_index(lengths, max_len, x.device)
        x = _gather_time(x, index)
    real = (lengths > 0).nonzero().squeeze(1)  # sequences with at least one step
    if real.numel() == 0:
        # nothing to run, but the results stay in the graph (zero gradients for the weights), as
        # every other engine's do: run the padded input (zeros) and select nothing of it
        out, final = _guarded_call(kind, x, None, hx, weights, has_bias, training)
        none = torch.zeros((), dtype=torch.bool, device=x.device)
        return torch.where(none, out, 0.0), [torch.where(none, f, s) for f, s in zip(final, hx)]
    subset = real.numel() < batch
    idx = real.to(x.device)
    x_run = x.index_select(1, idx) if subset else x
    hx_run = [s.index_select(0, idx) for s in hx] if subset else list(hx)
    packed = pack_padded_sequence(x_run, lengths[real] if subset else lengths, enforce_sorted=False)
    order, unsort = packed.sorted_indices, packed.unsorted_indices
    assert order is not None and unsort is not None
    data, final = _guarded_call(
        kind,
        packed.data,
        packed.batch_sizes,
        [s.index_select(0, order) for s in hx_run],
        weights,
        has_bias,
        training,
    )
    out, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes, order, unsort), total_length=max_len
    )
    final = [s.index_select(0, unsort) for s in final]
    if subset:
        out = out.new_zeros(max_len, batch, out.shape[-1]).index_copy(1, idx, out)
        final = [s0.index_copy(0, idx, s) for s0, s in zip(hx, final)]
    if index is not None:
        out = _gather_time(out, index)
    return out, final


def lstm_native(
    x: Tensor,
    state: State,
    params: LSTMParams,
    *,
    mask: Tensor | None = None,
    reverse: bool = False,
    training: bool = False,
) -> RunResult:
    """Run one classic LSTM layer and direction with torch's native kernel.

    Args:
        x: (L, N, H_in) time-major input.
        state: :class:`~lstmkit.core.cells.LSTMState` ``(h (N, H_out), c (N, H))``.
        params: ``weight_ih, weight_hh[, bias_ih, bias_hh][, weight_hr]`` (classic cell only).
        mask: (L, N) bool prefix mask of real steps (as from ``lengths``), or ``None``.
        reverse: walk each sequence from its last real step to its first.
        training: passed to the kernel as :class:`torch.nn.LSTM` does (no dropout here).

    Returns:
        :class:`~lstmkit.core.engines.RunResult` ``(output (L, N, H_out), LSTMState(h, c), None)``.

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
    has_bias = params.bias_ih is not None and params.bias_hh is not None
    weights: list[Tensor] = [params.weight_ih, params.weight_hh]
    if params.bias_ih is not None and params.bias_hh is not None:
        weights += [params.bias_ih, params.bias_hh]
    if params.weight_hr is not None:
        weights.append(params.weight_hr)
    out, (h, c) = native_run(
        "lstm",
        x,
        (state[0], state[1]),
        weights,
        has_bias=has_bias,
        mask=mask,
        reverse=reverse,
        training=training,
    )
    return RunResult(out, LSTMState(h, c), None)

"""The native path: torch's own LSTM kernel (oneDNN on CPU, cuDNN on GPU) for the classic cell.

:func:`lstm_native` runs one layer and direction of the ``classic`` cell through
``torch._VF.lstm``, the function behind :class:`torch.nn.LSTM`, with lstmkit's parameters
passed in directly, so gradients flow to them as usual. It keeps the reference path's
semantics: padded batches (a prefix mask, i.e. ``lengths``) are packed, so outputs past a
sequence's end are zero and the final state is the state at its last real step (sequences
of length 0 keep their initial state); ``reverse`` walks each sequence backwards from its
own last step.
"""

from __future__ import annotations

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstmkit.cells.lstm import LSTMParams, LSTMState
from lstmkit.engine.runner import RunResult, State, lengths_to_mask

__all__ = ["lstm_native", "mask_lengths"]


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
        state: :class:`~lstmkit.cells.LSTMState` ``(h (N, H_out), c (N, H))``.
        params: ``weight_ih, weight_hh[, bias_ih, bias_hh][, weight_hr]`` (classic cell only).
        mask: (L, N) bool prefix mask of real steps (as from ``lengths``), or ``None``.
        reverse: walk each sequence from its last real step to its first.
        training: passed to the kernel as :class:`torch.nn.LSTM` does (no dropout here).

    Returns:
        :class:`~lstmkit.engine.RunResult` ``(output (L, N, H_out), LSTMState(h, c), None)``.

    Example::

        >>> from lstmkit.cells import VARIANTS, lstm_param_shapes, lstm_initial_state
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
    h0, c0 = state[0], state[1]
    max_len, batch = x.shape[0], x.shape[1]
    if mask is None:
        xin = x.flip(0) if reverse else x
        out, h, c = _VF.lstm(
            xin, (h0.unsqueeze(0), c0.unsqueeze(0)), weights, has_bias, 1, 0.0, training, False, False
        )
        out = out.flip(0) if reverse else out
        return RunResult(out, LSTMState(h[0], c[0]), None)

    lengths = mask_lengths(mask)
    if lengths is None:
        raise ValueError("mask: torch's native kernel needs a prefix mask (lengths); this mask has holes")
    index = None
    if reverse:
        index = _reverse_index(lengths, max_len, x.device)
        x = _gather_time(x, index)
    real = (lengths > 0).nonzero().squeeze(1)  # sequences with at least one step
    subset = real.numel() < batch
    if subset:
        idx = real.to(x.device)
        x_run, h_run, c_run, len_run = (
            x.index_select(1, idx),
            h0.index_select(0, idx),
            c0.index_select(0, idx),
            lengths[real],
        )
    else:
        x_run, h_run, c_run, len_run = x, h0, c0, lengths
    if real.numel() == 0:
        out = x.new_zeros(max_len, batch, h0.shape[-1])
        return RunResult(out, LSTMState(h0, c0), None)
    packed = pack_padded_sequence(x_run, len_run, enforce_sorted=False)
    order = packed.sorted_indices
    assert order is not None
    hx = (h_run.index_select(0, order).unsqueeze(0), c_run.index_select(0, order).unsqueeze(0))
    data, h, c = _VF.lstm(packed.data, packed.batch_sizes, hx, weights, has_bias, 1, 0.0, training, False)
    out, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices),
        total_length=max_len,
    )
    unsort = packed.unsorted_indices
    assert unsort is not None
    h, c = h[0].index_select(0, unsort), c[0].index_select(0, unsort)
    if subset:
        idx = real.to(x.device)
        out = out.new_zeros(max_len, batch, out.shape[-1]).index_copy(1, idx, out)
        h, c = h0.index_copy(0, idx, h), c0.index_copy(0, idx, c)
    if index is not None:
        out = _gather_time(out, index)
    return RunResult(out, LSTMState(h, c), None)

"""The layouts a stacked layer accepts, and the way back to them.

A layer takes its input as (L, N, H_in), batch-first (N, L, H_in), unbatched (L, H_in) or a
:class:`~torch.nn.utils.rnn.PackedSequence`, with padding given by ``lengths`` or a boolean
``mask`` laid out like the input. The engines see one layout only: time-major (L, N, H_in)
with a time-major (L, N) mask of real steps. :func:`to_time_major` and :func:`time_mask` go
there, :func:`restore_layout` comes back.

Shapes: N = batch size, L = sequence length, H_in = input features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstmkit.core.scan import check_finite, check_lengths, lengths_to_mask, tracing
from lstmkit.core.tree import State, map_state, tree_map

__all__ = ["Layout", "check_finite_input", "restore_layout", "time_mask", "to_time_major"]


class Layout(NamedTuple):
    """How the caller laid the input out.

    Attributes:
        packed: the input, when it was a PackedSequence (its ``lengths`` too), else ``None``.
        lengths: (N,) the lengths of a packed input, else ``None``.
        unbatched: the input was (L, H_in).
        batch_first: the input was (N, L, H_in).
    """

    packed: PackedSequence | None
    lengths: Tensor | None
    unbatched: bool
    batch_first: bool


def to_time_major(
    x: Tensor | PackedSequence,
    lengths: Tensor | Sequence[int] | None,
    mask: Tensor | None,
    batch_first: bool,
) -> tuple[Tensor, Tensor | Sequence[int] | None, Layout]:
    """``(x (L, N, H_in), lengths, layout)`` from a layer's input (a packed input gives its
    lengths); ``ValueError``/``TypeError`` naming ``input`` for anything else."""
    if isinstance(x, PackedSequence):
        if lengths is not None or mask is not None:
            raise ValueError("lengths, mask: a PackedSequence carries its own lengths; pass neither")
        padded, packed_lengths = pad_packed_sequence(x)  # (L, N, H_in), original batch order
        return padded, packed_lengths, Layout(x, packed_lengths, False, False)
    if not isinstance(x, Tensor):
        raise TypeError(f"input: expected a Tensor or PackedSequence, got {type(x).__name__}")
    if x.dim() == 2:
        return x.unsqueeze(1), lengths, Layout(None, None, True, False)  # (L, 1, H_in)
    if x.dim() != 3:
        raise ValueError(
            "input: expected a 3-D tensor "
            + ("(N, L, H_in)" if batch_first else "(L, N, H_in)")
            + f" or a 2-D unbatched (L, H_in), got shape {tuple(x.shape)}"
        )
    return (x.transpose(0, 1) if batch_first else x), lengths, Layout(None, None, False, batch_first)


def time_mask(
    lengths: Tensor | Sequence[int] | None,
    mask: Tensor | None,
    layout: Layout,
    x: Tensor,
) -> Tensor | None:
    """Time-major (L, N) boolean mask of real steps of the time-major ``x``, or ``None`` when
    every step is real (or ``x`` is on the meta device: it has no values, and the shapes do
    not depend on the mask)."""
    max_len, batch, device = x.shape[0], x.shape[1], x.device
    if lengths is not None and mask is not None:
        raise ValueError("lengths, mask: give one of them, not both")
    if lengths is not None:
        lens = check_lengths([lengths] if isinstance(lengths, int) else lengths, batch, max_len)
        if device.type == "meta" or (not tracing() and bool((lens == max_len).all())):
            return None  # (a traced graph keeps the mask: the lengths are an input there)
        return lengths_to_mask(lens, max_len, device)
    if mask is None:
        return None
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"mask: expected a bool tensor, got {got}")
    if mask.device.type == "meta" and device.type != "meta":
        raise ValueError(
            "mask: expected a tensor with values (on the CPU or the input's device), got a meta tensor"
        )
    if layout.unbatched:
        expected, mask_tm = (max_len,), mask.reshape(-1, 1)
    elif layout.batch_first:
        expected, mask_tm = (batch, max_len), mask.transpose(0, 1)
    else:
        expected, mask_tm = (max_len, batch), mask
    if tuple(mask.shape) != expected:
        raise ValueError(f"mask: expected shape {expected} (the input's layout), got {tuple(mask.shape)}")
    if device.type == "meta":
        return None
    mask_tm = mask_tm.to(device)
    return None if bool(mask_tm.all()) else mask_tm


def check_finite_input(x: Tensor, mask: Tensor | None, layout: Layout) -> None:
    """``ValueError`` at the first NaN/inf of the time-major ``x`` at a real step, its
    position given in the layout the user passed."""
    if layout.unbatched:
        valid = None if mask is None else mask[:, 0]
        check_finite("input", x[:, 0], axes=("step", "feature"), valid=valid)
    elif layout.batch_first:
        valid = None if mask is None else mask.transpose(0, 1)
        check_finite("input", x.transpose(0, 1), axes=("batch", "step", "feature"), valid=valid)
    else:
        check_finite("input", x, axes=("step", "batch", "feature"), valid=mask)


def _pack_like(padded: Tensor, packed: PackedSequence, lengths: Tensor) -> PackedSequence:
    """Pack a time-major padded tensor (original batch order) like ``packed``."""
    if packed.sorted_indices is not None:
        padded = padded.index_select(1, packed.sorted_indices)
        lengths = lengths[packed.sorted_indices.cpu()]
    data = pack_padded_sequence(padded, lengths, enforce_sorted=True).data
    return PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)


def restore_layout(
    output: Tensor, state: State, extra: Any, layout: Layout
) -> tuple[Tensor | PackedSequence, State, Any]:
    """The time-major ``output`` (L, N, *) and ``extra`` (tensors (L, N, *) in any nest of
    tuples, ``None`` passing through: every step's cell state, a gate trace) laid out as the
    input was, and the final ``state`` (D * num_layers, N, *) without N for an unbatched input.
    A packed input gives a packed output, and the packed data of ``extra``."""
    if layout.packed is not None and layout.lengths is not None:
        packed, lengths = layout.packed, layout.lengths
        extra = tree_map(lambda e: _pack_like(e, packed, lengths).data, extra)
        return _pack_like(output, packed, lengths), state, extra
    if layout.unbatched:
        squeezed = map_state(lambda s: s.squeeze(1), state)
        return output.squeeze(1), squeezed, tree_map(lambda e: e.squeeze(1), extra)
    if layout.batch_first:
        return output.transpose(0, 1), state, tree_map(lambda e: e.transpose(0, 1), extra)
    return output, state, extra

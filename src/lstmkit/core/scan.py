"""The reference runner: any cell over a sequence, in plain PyTorch.

A *cell* here is any callable ``step(x_t, state) -> new_state``; ``state`` is a tensor or a
tuple (NamedTuple) of tensors whose first dimension is the batch, and the step's output is
``output(new_state)`` (by default the state itself if it is a tensor, else its first field,
the ``h`` of :class:`~lstmkit.core.cells.LSTMState`). The runner owns everything that is not the
cell's math: time-major or batch-first layout, padded batches given by ``lengths`` or a
boolean ``mask``, reverse direction, initial state in, final state out, and optionally every
step's state out.

Padded steps (mask false) leave the state untouched and output zeros, so the final state of
each sequence is its state at its last real step, and running in ``reverse`` walks each
sequence backwards from its own last real step, exactly as if it had been flipped within its
length. The cell sees zeros as the input of a padded step, so whatever the padding holds (NaN
and inf included) reaches no output and no gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import torch
from torch import Tensor

__all__ = [
    "RunResult",
    "State",
    "check_finite",
    "check_lengths",
    "detach_state",
    "lengths_to_mask",
    "map_state",
    "run",
    "stack_states",
]

State = Any  # a Tensor or a (Named)tuple of Tensors
S = TypeVar("S")


class RunResult(NamedTuple):
    """What :func:`run` returns.

    ``output`` (L, N, *) (``(N, L, *)`` with ``batch_first``) is the step outputs, zero at
    padded steps; ``state`` is the final state; ``states`` is every step's state stacked on
    the time dimension (same layout as ``output``, also zero at padded steps) when asked
    for, else ``None``.
    """

    output: Tensor
    state: State
    states: State | None


def map_state(fn: Callable[..., Tensor], *states: State) -> State:
    """Apply ``fn`` field by field to one or more states of the same structure."""
    first = states[0]
    if isinstance(first, Tensor):
        return fn(*states)
    fields = [fn(*parts) for parts in zip(*states)]
    return type(first)._make(fields) if hasattr(first, "_make") else type(first)(fields)


def tree_map(fn: Callable[[Tensor], Any], obj: Any) -> Any:
    """Apply ``fn`` to every tensor in a nest of tuples, NamedTuples, lists and dicts
    (anything else passes through)."""
    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, tuple):
        items = [tree_map(fn, o) for o in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    if isinstance(obj, list):
        return [tree_map(fn, o) for o in obj]
    if isinstance(obj, dict):
        return {k: tree_map(fn, v) for k, v in obj.items()}
    return obj


def detach_state(state: S) -> S:
    """Detach every tensor of a state (or any nest of states) from the graph, for truncated
    backpropagation through time.

    Example::

        >>> out, state = lstm(chunk, state)
        >>> state = detach_state(state)   # the next chunk starts a new graph
    """
    return tree_map(lambda t: t.detach(), state)


def stack_states(states: Sequence[State], dim: int = 0) -> State:
    """Stack a sequence of states of the same structure, field by field."""
    return map_state(lambda *parts: torch.stack(parts, dim), *states)


def _default_output(state: State) -> Tensor:
    return state if isinstance(state, Tensor) else state[0]


def check_lengths(lengths: Tensor | Sequence[int], batch: int, max_len: int) -> Tensor:
    """Validate ``lengths`` against a batch of size ``batch`` and ``max_len`` steps.

    Returns a 1-D int64 CPU tensor; raises ``TypeError``/``ValueError`` naming ``lengths``.
    """
    if not isinstance(lengths, Tensor):
        try:
            lengths = torch.as_tensor(list(lengths))
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"lengths: expected a 1-D integer tensor or a sequence of ints, got {type(lengths).__name__}"
            ) from None
    if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
        raise TypeError(f"lengths: expected an integer tensor, got dtype {lengths.dtype}")
    if lengths.device.type == "meta":
        raise ValueError(
            "lengths: expected a tensor with values (on the CPU or the input's device), got a meta tensor"
        )
    if lengths.dim() != 1 or lengths.numel() != batch:
        raise ValueError(
            f"lengths: expected shape ({batch},) to match the batch size, got {tuple(lengths.shape)}"
        )
    lengths = lengths.to("cpu", torch.int64)
    if batch and (int(lengths.min()) < 0 or int(lengths.max()) > max_len):
        raise ValueError(
            f"lengths: expected values in [0, {max_len}] (the sequence length), "
            f"got min {int(lengths.min())}, max {int(lengths.max())}"
        )
    return lengths


def check_finite(
    name: str,
    x: Tensor,
    *,
    axes: Sequence[str] | None = None,
    valid: Tensor | None = None,
) -> None:
    """Raise ``ValueError`` if ``x`` holds NaN or +-inf, naming ``name`` and the first bad entry.

    Args:
        name: what ``x`` is, as the user knows it (``"input"``, ``"series 'sales'"``).
        x: any floating tensor (integer tensors are always finite).
        axes: names of the dimensions of ``x`` for the message, e.g. ``("step", "batch",
            "feature")``; default ``dim 0``, ``dim 1``, ...
        valid: bool tensor of the leading shape of ``x`` (or broadcastable to it), true where
            a value counts; entries where it is false (padding) are not checked.

    Example::

        >>> check_finite("input", torch.tensor([[1.0, float("nan")]]), axes=("batch", "feature"))
        Traceback (most recent call last):
        ValueError: input: expected finite values, got nan at batch 0, feature 1
    """
    if not (x.dtype.is_floating_point or x.dtype.is_complex) or x.numel() == 0:
        return
    bad = ~torch.isfinite(x)
    if valid is not None:
        valid = valid.to(bad.device)
        bad = bad & valid.view(*valid.shape, *([1] * (x.dim() - valid.dim())))
    if not bool(bad.any()):
        return
    index = [int(i) for i in bad.nonzero()[0]]
    value = x[tuple(index)].item()
    names = list(axes) if axes is not None else []
    names += [f"dim {d}" for d in range(len(names), x.dim())]
    where = ", ".join(f"{n} {i}" for n, i in zip(names, index))
    raise ValueError(f"{name}: expected finite values, got {value} at {where}")


def lengths_to_mask(lengths: Tensor, max_len: int, device: torch.device | str | None = None) -> Tensor:
    """Boolean mask (max_len, N), true at the real steps ``t < lengths[n]``."""
    steps = torch.arange(max_len, device=device).unsqueeze(1)  # (L, 1)
    return steps < lengths.to(device).unsqueeze(0)  # (L, N)


def _zero_padding(x: Tensor, mask: Tensor) -> Tensor:
    """``x`` (L, N, *) with zeros where the (L, N) ``mask`` is false (``where``: NaN vanishes too)."""
    return torch.where(mask.view(*mask.shape, *([1] * (x.dim() - 2))), x, x.new_zeros(()))


def _check_mask(mask: Tensor, max_len: int, batch: int) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"mask: expected a bool tensor of shape (L, N), got {got}")
    if tuple(mask.shape) != (max_len, batch):
        raise ValueError(
            f"mask: expected shape (L, N) = ({max_len}, {batch}) (time-major), got {tuple(mask.shape)}"
        )
    return mask


def run(
    step: Callable[[Any, State], State],
    inputs: Tensor | tuple[Tensor, ...],
    state: State,
    *,
    lengths: Tensor | Sequence[int] | None = None,
    mask: Tensor | None = None,
    reverse: bool = False,
    batch_first: bool = False,
    output: Callable[[State], Tensor] | None = None,
    return_states: bool = False,
) -> RunResult:
    """Run ``step`` over a sequence.

    Args:
        step: the cell, ``step(x_t, state) -> new_state``.
        inputs: (L, N, *) tensor, or a tuple of such tensors (per-step inputs that travel
            together, e.g. a projection and zoneout masks); ``step`` gets the t-th slice
            (a tuple of slices for a tuple). ``(N, L, *)`` with ``batch_first``.
        state: the initial state, tensors of shape (N, *).
        lengths: (N,) number of real steps of each sequence; steps ``t >= lengths[n]`` are padding.
        mask: (L, N) boolean, true at real steps (always time-major); the general form of
            ``lengths`` (any pattern of real and padded steps). Give at most one of the two.
        reverse: walk the steps from last to first.
        batch_first: ``inputs`` and the returned ``output``/``states`` are (N, L, *).
        output: maps a state to the step output; default ``state[0]`` (or the state tensor).
        return_states: also return every step's state (e.g. all cell states c_t).

    Returns:
        :class:`RunResult` ``(output, state, states)``.

    Example::

        >>> from lstmkit.core.cells import gru_cell, GRUParams
        >>> p = GRUParams(torch.randn(12, 3), torch.randn(12, 4))
        >>> res = run(lambda x, h: gru_cell(x, h, p), torch.randn(5, 2, 3), torch.zeros(2, 4))
        >>> res.output.shape
        torch.Size([5, 2, 4])
    """
    seq = inputs if isinstance(inputs, tuple) else (inputs,)
    if batch_first:
        seq = tuple(s.transpose(0, 1) for s in seq)
    if seq[0].dim() < 2 or seq[0].shape[0] == 0:
        raise ValueError(
            f"inputs: expected (L, N, *) with at least one time step, got shape {tuple(seq[0].shape)}"
        )
    max_len, batch = seq[0].shape[0], seq[0].shape[1]
    if lengths is not None and mask is not None:
        raise ValueError("lengths, mask: give one of them, not both")
    if lengths is not None:
        mask = lengths_to_mask(check_lengths(lengths, batch, max_len), max_len, seq[0].device)
    elif mask is not None:
        mask = _check_mask(mask, max_len, batch)
    if mask is not None:
        mask = mask.to(seq[0].device)
        seq = tuple(_zero_padding(s, mask) for s in seq)
    out_fn = output or _default_output
    outputs: list[Tensor] = [seq[0]] * max_len  # placeholders, all overwritten
    states: list[State] = [None] * max_len
    order = range(max_len - 1, -1, -1) if reverse else range(max_len)
    for t in order:
        x_t = tuple(s[t] for s in seq) if isinstance(inputs, tuple) else seq[0][t]
        new_state = step(x_t, state)
        if mask is not None:
            m = mask[t]

            def keep(new: Tensor, old: Tensor, m: Tensor = m) -> Tensor:
                return torch.where(m.view(-1, *([1] * (new.dim() - 1))), new, old)

            def zero(s: Tensor, m: Tensor = m) -> Tensor:
                return torch.where(m.view(-1, *([1] * (s.dim() - 1))), s, s.new_zeros(()))

            new_state = map_state(keep, new_state, state)
            y = zero(out_fn(new_state))
            if return_states:
                states[t] = map_state(zero, new_state)
        else:
            y = out_fn(new_state)
            if return_states:
                states[t] = new_state
        state = new_state
        outputs[t] = y
    time_dim = 1 if batch_first else 0
    return RunResult(
        torch.stack(outputs, time_dim),
        state,
        stack_states(states, time_dim) if return_states else None,
    )

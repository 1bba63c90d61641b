"""The generic runner: any cell over a sequence, in plain PyTorch (:func:`scan`).

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
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.jit import is_tracing as _jit_tracing  # pyright: ignore[reportPrivateImportUsage]

# detach_state and tree_map are re-exported for the modules that still take them from here;
# their home is lstmkit.core.tree
from lstmkit.core.tree import State, detach_state, map_state, stack_states, tree_map

__all__ = [
    "RunResult",
    "State",
    "check_finite",
    "check_lengths",
    "detach_state",
    "lengths_to_mask",
    "map_state",
    "run",
    "scan",
    "stack_states",
    "time_mask",
    "tracing",
    "tree_map",
]

Step = Callable[[Any, State], State]


class RunResult(NamedTuple):
    """What :func:`scan` (and every engine) returns.

    ``output`` (L, N, *) (``(N, L, *)`` with ``batch_first``) is the step outputs, zero at
    padded steps; ``state`` is the final state; ``states`` is every step's state stacked on
    the time dimension (same layout as ``output``, also zero at padded steps) when asked
    for, else ``None``. ``gates`` is an LSTM engine's every step's gate activations (L, N, G*H),
    the blocks of its spec's gates side by side, zero at padded steps, when the
    :class:`~lstmkit.core.engines.base.Call` asks for them (a pair of them for a bidirectional
    layer), else ``None``.
    """

    output: Tensor
    state: State
    states: State | None
    gates: Any = None


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
    if batch and not tracing() and (int(lengths.min()) < 0 or int(lengths.max()) > max_len):
        raise ValueError(
            f"lengths: expected values in [0, {max_len}] (the sequence length), "
            f"got min {int(lengths.min())}, max {int(lengths.max())}"
        )
    return lengths


def tracing() -> bool:
    """Whether torch is tracing the code into a graph (``torch.compile``, ``torch.export``,
    ``torch.onnx.export``, ``torch.jit.trace``) rather than running it: checks of values skip
    then, and sizes may be symbolic."""
    return torch.compiler.is_compiling() or _jit_tracing() or torch.onnx.is_in_onnx_export()


def check_finite(
    name: str,
    x: Tensor,
    *,
    axes: Sequence[str] | None = None,
    valid: Tensor | None = None,
) -> None:
    """Raise ``ValueError`` if ``x`` holds NaN or +-inf, naming ``name`` and the first bad entry.

    Skipped while torch traces a graph (:func:`tracing`): the values are not known then, and a
    traced graph has no Python left to raise from.

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
    if not (x.dtype.is_floating_point or x.dtype.is_complex) or x.numel() == 0 or tracing():
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


def time_mask(
    lengths: Tensor | Sequence[int] | None,
    mask: Tensor | None,
    max_len: int,
    batch: int,
    device: torch.device,
) -> Tensor | None:
    """The time-major (L, N) bool mask of real steps from ``lengths`` or ``mask`` (at most
    one of them), checked against ``max_len`` steps and ``batch`` sequences, on ``device``;
    ``None`` when neither is given."""
    if lengths is not None and mask is not None:
        raise ValueError("lengths, mask: give one of them, not both")
    if lengths is not None:
        return lengths_to_mask(check_lengths(lengths, batch, max_len), max_len, device)
    if mask is not None:
        return _check_mask(mask, max_len, batch).to(device)
    return None


def _time_major(inputs: Tensor | tuple[Tensor, ...], batch_first: bool) -> tuple[Tensor, ...]:
    """``inputs`` as a tuple of (L, N, *) tensors, checked to hold at least one step."""
    seq = inputs if isinstance(inputs, tuple) else (inputs,)
    if batch_first:
        seq = tuple(s.transpose(0, 1) for s in seq)
    if seq[0].dim() < 2 or seq[0].shape[0] == 0:
        raise ValueError(
            f"inputs: expected (L, N, *) with at least one time step, got shape {tuple(seq[0].shape)}"
        )
    return seq


def _rows(m: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """``new`` where the (N,) mask ``m`` is true, else ``old`` (rows of the batch)."""
    return torch.where(m.view(-1, *([1] * (new.dim() - 1))), new, old)


def _advance(
    step: Step,
    x_t: Any,
    state: State,
    m: Tensor | None,
    out_fn: Callable[[State], Tensor],
    return_states: bool,
) -> tuple[State, Tensor, State | None]:
    """One step: ``(new state, output, state to record)``. Where the (N,) mask ``m`` is
    false the state is kept and the output (and the recorded state) is zero."""
    new_state = step(x_t, state)
    if m is None:
        return new_state, out_fn(new_state), new_state if return_states else None
    new_state = map_state(lambda new, old: _rows(m, new, old), new_state, state)
    y = out_fn(new_state)
    y = _rows(m, y, y.new_zeros(()))
    kept = map_state(lambda s: _rows(m, s, s.new_zeros(())), new_state) if return_states else None
    return new_state, y, kept


def _scan_graph(
    step: Step,
    seq: tuple[Tensor, ...],
    packed: bool,
    state: State,
    mask: Tensor | None,
    out_fn: Callable[[State], Tensor],
    reverse: bool,
    return_states: bool,
    batch_first: bool,
) -> RunResult:
    """:func:`scan`'s loop as torch's ``scan`` operator (``torch._higher_order_ops.scan``), for
    ``torch.export`` and ``torch.onnx.export``: one node whose body is the step (ONNX's ``Scan``),
    so that the exported graph takes any number of steps. Same arguments and result as the loop
    of :func:`scan` (``seq`` time-major, ``packed``: the step takes a tuple of slices)."""
    from torch._higher_order_ops.scan import scan as scan_op

    # the operator takes tensors and plain tuples: a NamedTuple state crosses as a tuple
    plain = isinstance(state, Tensor) or type(state) is tuple
    wrap: Callable[[Any], State] = (lambda s: s) if plain else (lambda s: type(state)(*s))
    bare: Callable[[State], Any] = (lambda s: s) if isinstance(state, Tensor) else tuple

    def body(carry: Any, inp: tuple[Any, ...]) -> tuple[Any, Any]:
        x_t = inp[0] if packed else inp[0][0]
        m = inp[1] if mask is not None else None
        new, y, kept = _advance(step, x_t, wrap(carry), m, out_fn, return_states)
        new = map_state(torch.clone, new)  # the carry may alias neither the input nor the output
        if kept is None:
            return bare(new), y
        return bare(new), (y, bare(map_state(torch.clone, kept)))  # (kept holds y itself)

    xs = (seq, mask) if mask is not None else (seq,)
    final, ys = scan_op(body, bare(state), xs, reverse=reverse)
    final = wrap(final)
    output, every = (ys[0], wrap(ys[1])) if return_states else (ys, None)
    if batch_first:
        output = output.transpose(0, 1)
        every = map_state(lambda s: s.transpose(0, 1), every) if every is not None else None
    return RunResult(output, final, every)


def scan(
    step: Step,
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
    r"""Run ``step`` over a sequence: :math:`s_t = \mathrm{step}(x_t, s_{t-1})`,
    :math:`y_t = \mathrm{output}(s_t)`, for :math:`t = 1 \dots L` (or :math:`L \dots 1`).

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

    Returns :class:`RunResult` ``(output, state, states)``. Shapes: N = batch size, L =
    sequence length, ``*`` = the features of an input or a state.

    Example::

        >>> from lstmkit.core.cells import gru_cell, GRUParams
        >>> p = GRUParams(torch.randn(12, 3), torch.randn(12, 4))
        >>> res = scan(lambda x, h: gru_cell(x, h, p), torch.randn(5, 2, 3), torch.zeros(2, 4))
        >>> res.output.shape
        torch.Size([5, 2, 4])
    """
    seq = _time_major(inputs, batch_first)
    max_len, batch = seq[0].shape[0], seq[0].shape[1]
    mask = time_mask(lengths, mask, max_len, batch, seq[0].device)
    if mask is not None:
        seq = tuple(_zero_padding(s, mask) for s in seq)
    out_fn = output or _default_output
    if torch.compiler.is_exporting():  # one loop operator, the number of steps symbolic
        packed = isinstance(inputs, tuple)
        return _scan_graph(step, seq, packed, state, mask, out_fn, reverse, return_states, batch_first)
    outputs: list[Tensor] = [seq[0]] * max_len  # placeholders, all overwritten
    states: list[State] = [None] * max_len
    # unbind: one stacked gradient, not a whole-sequence gradient per indexed step (seq[t])
    slices = [s.unbind(0) for s in seq]
    for t in range(max_len - 1, -1, -1) if reverse else range(max_len):
        x_t = tuple(s[t] for s in slices) if isinstance(inputs, tuple) else slices[0][t]
        m = None if mask is None else mask[t]
        state, outputs[t], states[t] = _advance(step, x_t, state, m, out_fn, return_states)
    time_dim = 1 if batch_first else 0
    every = stack_states(states, time_dim) if return_states else None
    return RunResult(torch.stack(outputs, time_dim), state, every)


#: The runner's name before :func:`scan` (``lstmkit.run`` warns; this one is for old imports).
run = scan

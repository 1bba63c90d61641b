"""Run a user-defined cell through the reference runner as a module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from lstmkit.core.scan import RunResult, scan
from lstmkit.core.tree import State

__all__ = ["Recurrent"]


class Recurrent(nn.Module):
    """Wrap any cell module ``cell(x_t, state) -> new_state`` into a sequence layer.

    The cell may define ``initial_state(batch_size, dtype=..., device=...)`` (used when no
    state is passed) and ``output(state) -> y_t`` (default: the state itself or its first
    field). Lengths, masks, reversal and ``batch_first`` are handled by the runner
    :func:`lstmkit.core.scan.scan`, exactly as for the built-in layers, and
    :class:`~lstmkit.core.layers.Bidirectional` makes it bidirectional (:meth:`run` is what it
    calls).

    Args:
        cell: the step module.
        batch_first: input and output are (N, L, *).
        reverse: process each sequence from its last real step to its first.

    Example::

        >>> class Leaky(nn.Module):
        ...     def __init__(self, n):
        ...         super().__init__()
        ...         self.lin = nn.Linear(n, n)
        ...     def forward(self, x, h):
        ...         return 0.5 * h + 0.5 * torch.tanh(self.lin(x))
        >>> out, h = Recurrent(Leaky(4))(torch.randn(6, 2, 4), torch.zeros(2, 4))
    """

    def __init__(self, cell: nn.Module, *, batch_first: bool = False, reverse: bool = False) -> None:
        super().__init__()
        if not callable(cell):
            raise TypeError(f"cell: expected a callable step(x_t, state), got {type(cell).__name__}")
        self.cell = cell
        self.batch_first = batch_first
        self.reverse = reverse

    def initial_state(self, batch_size: int, *, dtype: Any = None, device: Any = None) -> State:
        """The cell's ``initial_state(batch_size, dtype=..., device=...)``; ``ValueError`` if it
        has none (a state must then be given)."""
        init = getattr(self.cell, "initial_state", None)
        if init is None:
            raise ValueError("state: required, since the cell has no initial_state(batch_size, ...)")
        return init(batch_size, dtype=dtype, device=device)

    def run(self, x: Tensor, state: State, *, mask: Tensor | None = None, reverse: bool = False) -> RunResult:
        """Run the cell over the time-major ``x`` (L, N, *) with a time-major (L, N) ``mask``
        (the :class:`~lstmkit.core.layers.bidirectional.Runner` protocol)."""
        return scan(
            self.cell, x, state, mask=mask, reverse=reverse, output=getattr(self.cell, "output", None)
        )

    def forward(
        self,
        input: Tensor,
        state: State | None = None,
        lengths: Tensor | Sequence[int] | None = None,
        *,
        mask: Tensor | None = None,
    ) -> tuple[Tensor, Any]:
        """``(output, final state)``: output (L, N, H_out) ((N, L, H_out) with ``batch_first``),
        zero at padded steps; ``mask`` is laid out like the input."""
        if not isinstance(input, Tensor) or input.dim() < 3:
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"input: expected (L, N, *) or (N, L, *) with batch_first, got {shape}")
        if state is None:
            batch = input.shape[0 if self.batch_first else 1]
            state = self.initial_state(batch, dtype=input.dtype, device=input.device)
        if mask is not None and self.batch_first:
            mask = mask.transpose(0, 1)
        res = scan(
            self.cell,
            input,
            state,
            lengths=lengths,
            mask=mask,
            reverse=self.reverse,
            batch_first=self.batch_first,
            output=getattr(self.cell, "output", None),
        )
        return res.output, res.state

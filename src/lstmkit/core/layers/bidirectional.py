r"""Bidirectional as a combinator: two runners, one walking each sequence forward, one backward.

A *runner* is anything that runs one recurrent layer over a time-major sequence
(:class:`Runner`): a :class:`~lstmkit.core.layers.Recurrent` wrapping a user's cell, or one
layer and direction of a stacked :class:`~lstmkit.core.layers.LSTM` / ``GRU`` / ``RNN`` (which
build their bidirectional layers with :func:`bidirectional`). For each sequence of a padded
batch,

.. math::

    \overrightarrow{y}_t = \mathrm{fwd}(x_1, \dots, x_t), \qquad
    \overleftarrow{y}_t = \mathrm{bwd}(x_T, \dots, x_t), \qquad
    y_t = [\overrightarrow{y}_t;\ \overleftarrow{y}_t]

where T is the sequence's own length (the backward runner starts at its last real step, as if
the sequence had been flipped within its length), and padded steps output zeros. (Flax linen's
``Bidirectional``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

import torch
from torch import Tensor, nn

from lstmkit.core.scan import RunResult, time_mask
from lstmkit.core.tree import State

__all__ = ["Bidirectional", "Runner", "bidirectional"]


class Runner(Protocol):
    """One recurrent layer over a time-major sequence."""

    def run(self, x: Tensor, state: State, *, mask: Tensor | None = None, reverse: bool = False) -> RunResult:
        """``x`` (L, N, H_in), ``mask`` (L, N) of real steps; each sequence from its last real
        step to its first with ``reverse``; returns ``(output (L, N, H_out), final state,
        every step's state or None)``."""
        ...


def bidirectional(
    forward: Runner,
    backward: Runner,
    x: Tensor,
    state: tuple[State, State],
    mask: Tensor | None = None,
    *,
    feature_dim: int = -1,
) -> RunResult:
    """Run ``forward`` over ``x`` and ``backward`` over each sequence reversed within its length.

    Args:
        forward, backward: the two :class:`Runner` s.
        x: (L, N, H_in) time-major input.
        state: the initial states of the two runners.
        mask: (L, N) bool, true at real steps, or ``None``.
        feature_dim: the dimension of the outputs that holds their features (the channels, 2,
            of a convolutional layer's (L, N, F, *S)).

    Returns:
        :class:`~lstmkit.core.scan.RunResult` ``(output (L, N, H_fwd + H_bwd), (final state of
        forward, of backward), (every step's states of each, where the runners return them)
        or None), (the gate activations of each, where the runners return them) or None)``.
    """
    ahead = forward.run(x, state[0], mask=mask, reverse=False)
    behind = backward.run(x, state[1], mask=mask, reverse=True)
    states = None if ahead.states is None or behind.states is None else (ahead.states, behind.states)
    gates = None if ahead.gates is None or behind.gates is None else (ahead.gates, behind.gates)
    output = torch.cat([ahead.output, behind.output], feature_dim)
    return RunResult(output, (ahead.state, behind.state), states, gates)


class Bidirectional(nn.Module):
    r"""Two recurrent layers over a sequence, one forward and one backward, outputs concatenated.

    The math is in :mod:`lstmkit.core.layers.bidirectional`. The backward layer always walks
    each sequence from its last real step to its first (its own ``reverse`` setting does not
    apply here), so that ``y_t`` of both directions describe the same step ``t``.

    Args:
        forward_layer: a :class:`Runner` module, e.g. ``Recurrent(cell)``; it also needs
            ``initial_state(batch_size, dtype=..., device=...)`` when no state is given.
        backward_layer: another one (its own parameters), run backwards.
        batch_first: input and output are (N, L, *) instead of (L, N, *).

    Inputs: ``input``, ``state``, ``lengths`` / ``mask``
        * **input**: (L, N, H_in), or (N, L, H_in) with ``batch_first``.
        * **state**: optional ``(state_fwd, state_bwd)``; the layers' initial states if not given.
        * **lengths**: optional (N,) real lengths of a padded batch; or ``mask``, a boolean
          (L, N) ((N, L) with ``batch_first``) tensor of real steps.

    Outputs: ``output``, ``(state_fwd, state_bwd)``
        * **output**: (L, N, H_fwd + H_bwd) (batch-first as the input), zero at padded steps.
        * the final state of each direction: the forward one at each sequence's last real
          step, the backward one at its first.

    where N = batch size, L = sequence length, H_fwd and H_bwd the output sizes of the layers.

    Example::

        >>> from lstmkit.core.layers import Recurrent
        >>> layer = Bidirectional(Recurrent(nn.GRUCell(3, 5)), Recurrent(nn.GRUCell(3, 5)))
        >>> h0 = torch.zeros(2, 5)
        >>> out, (h_fwd, h_bwd) = layer(torch.randn(6, 2, 3), (h0, h0), lengths=[6, 3])
        >>> out.shape
        torch.Size([6, 2, 10])
    """

    def __init__(
        self, forward_layer: nn.Module, backward_layer: nn.Module, *, batch_first: bool = False
    ) -> None:
        super().__init__()
        for name, layer in (("forward_layer", forward_layer), ("backward_layer", backward_layer)):
            if not callable(getattr(layer, "run", None)):
                raise TypeError(
                    f"{name}: expected a runner with run(x, state, ...), got {type(layer).__name__}"
                )
        self.forward_layer = forward_layer
        self.backward_layer = backward_layer
        self.batch_first = batch_first

    def _initial(self, layer: Any, name: str, x: Tensor) -> State:
        init = getattr(layer, "initial_state", None)
        if init is None:
            raise ValueError(f"state: required, since the {name} has no initial_state(batch_size, ...)")
        return init(x.shape[1], dtype=x.dtype, device=x.device)

    def forward(
        self,
        input: Tensor,
        state: tuple[State, State] | None = None,
        lengths: Tensor | Sequence[int] | None = None,
        *,
        mask: Tensor | None = None,
    ) -> tuple[Tensor, tuple[State, State]]:
        """Run both layers; see the class docstring for shapes."""
        if not isinstance(input, Tensor) or input.dim() < 3:
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"input: expected (L, N, *) or (N, L, *) with batch_first, got {shape}")
        x = input.transpose(0, 1) if self.batch_first else input  # (L, N, H_in)
        if mask is not None and self.batch_first:
            mask = mask.transpose(0, 1)
        real = time_mask(lengths, mask, x.shape[0], x.shape[1], x.device)  # (L, N) or None
        fwd, bwd = cast(Runner, self.forward_layer), cast(Runner, self.backward_layer)
        if state is None:
            state = (self._initial(fwd, "forward_layer", x), self._initial(bwd, "backward_layer", x))
        res = bidirectional(fwd, bwd, x, state, real)
        return (res.output.transpose(0, 1) if self.batch_first else res.output), res.state

"""The engine protocol: what runs one layer and direction of a recurrent network.

A layer describes one layer and direction of its forward pass as a :class:`Call` (the cell,
the input, the parameters, the initial state, the padding, the direction and the
regularizers); an :class:`Engine` says whether it can run that call
(:meth:`Engine.unsupported` gives the reason it cannot, or ``None``) and runs it
(:meth:`Engine.run` returns a :class:`~lstmkit.core.scan.RunResult`). Every engine computes
the same function; which one runs a call is decided in one place, the policy table of
:mod:`lstmkit.core.engines.select`.

The engines: ``reference`` (:mod:`lstmkit.core.engines.reference`, the plain loop, any cell),
``native`` (:mod:`lstmkit.core.engines.native`, torch's own kernels) and ``fused``
(:mod:`lstmkit.core.engines.fused_engine`, lstmkit's C++ kernels for the LSTM family).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from torch import Tensor

from lstmkit.core.cells.convlstm import ConvLSTMParams, ConvLSTMSpec
from lstmkit.core.cells.gru import GRUParams
from lstmkit.core.cells.lstm import LSTMParams, LSTMSpec
from lstmkit.core.cells.rnn import RNNParams
from lstmkit.core.scan import RunResult
from lstmkit.core.tree import State

__all__ = [
    "FAMILIES",
    "Call",
    "Cell",
    "CellParams",
    "Engine",
    "EngineFailure",
    "Regularizers",
    "Unavailable",
]

#: An LSTM of any variant (its :class:`~lstmkit.core.cells.LSTMSpec`), a convolutional LSTM (its
#: :class:`~lstmkit.core.cells.convlstm.ConvLSTMSpec`), or the name of another cell: ``"gru"``,
#: ``"rnn_tanh"``, ``"rnn_relu"`` (also the names of torch's kernels).
Cell = LSTMSpec | ConvLSTMSpec | str
CellParams = LSTMParams | ConvLSTMParams | GRUParams | RNNParams
#: cell -> family: the engines say which families they run
FAMILIES = {"gru": "gru", "rnn_tanh": "rnn", "rnn_relu": "rnn"}


@dataclass(frozen=True)
class Regularizers:
    """The custom regularizers of one call (torch's own kernels have none of them).

    The layer draws the masks that every engine applies alike; zoneout's masks are drawn by the
    engine, since the fused kernel draws its own (from seeds, inside the kernel).

    Args:
        x_mask: (N, H_in) variational dropout mask on the input, or ``None``.
        h_mask: (N, H_out) variational dropout mask on :math:`h_{t-1}`, or ``None``.
        weight_drop: the DropConnect probability already applied to ``params.weight_hh``
            (0 when DropConnect is off or inactive, as in evaluation).
        zoneout: ``(z_h, z_c)``, the zoneout probabilities of h and c (LSTM only).
    """

    x_mask: Tensor | None = None
    h_mask: Tensor | None = None
    weight_drop: float = 0.0
    zoneout: tuple[float, float] = (0.0, 0.0)

    @property
    def active(self) -> tuple[str, ...]:
        """The layer options of the regularizers that change this call's math."""
        named = (
            ("input_dropout", self.x_mask is not None),
            ("recurrent_dropout", self.h_mask is not None),
            ("weight_drop", bool(self.weight_drop)),
            ("zoneout", any(self.zoneout)),
        )
        return tuple(name for name, on in named if on)


@dataclass(frozen=True)
class Call:
    """One layer and direction of a forward pass, as every engine takes it.

    Args:
        cell: the cell (:data:`Cell`).
        x: (L, N, H_in) time-major input, zero at padded steps ((L, N, C_in, *S) frames for a
            convolutional LSTM).
        state: the initial state: :class:`~lstmkit.core.cells.LSTMState` ``(h (N, H_out),
            c (N, H))`` (an :class:`~lstmkit.core.cells.FGRState` for FGR), or ``h`` (N, H).
        params: the cell's parameters (:class:`~lstmkit.core.cells.LSTMParams`,
            :class:`~lstmkit.core.cells.GRUParams` or :class:`~lstmkit.core.cells.RNNParams`).
        mask: (L, N) bool, true at real steps, or ``None`` when every step is real.
        reverse: walk each sequence from its last real step to its first.
        return_states: also return every step's state.
        training: the layer's mode (zoneout draws masks in training, uses its expectation
            otherwise; torch's kernels take the flag too).
        regularizers: the :class:`Regularizers` of this call.
        return_gates: (LSTM family) also return every step's gate activations
            (:attr:`~lstmkit.core.scan.RunResult.gates`).

    Shapes: N = batch size, L = sequence length, H_in = input features, H = hidden size,
    H_out = the size of h (a projected LSTM's ``proj_size``, else H).
    """

    cell: Cell
    x: Tensor
    state: State
    params: CellParams
    mask: Tensor | None = None
    reverse: bool = False
    return_states: bool = False
    training: bool = False
    regularizers: Regularizers = field(default_factory=Regularizers)
    return_gates: bool = False

    @property
    def family(self) -> str:
        """``"lstm"``, ``"convlstm"``, ``"gru"`` or ``"rnn"``."""
        if isinstance(self.cell, ConvLSTMSpec):
            return "convlstm"
        return "lstm" if isinstance(self.cell, LSTMSpec) else FAMILIES[self.cell]


class Engine(Protocol):
    """What runs a :class:`Call`.

    Attributes:
        name: the ``engine=`` name of the layers (``"native"``, ``"fused"``, ``"reference"``).
        families: the cell families it runs (``"lstm"``, ``"gru"``, ``"rnn"``).

    Example::

        >>> from lstmkit.core.cells import GRUParams
        >>> from lstmkit.core.engines.reference import REFERENCE
        >>> p = GRUParams(torch.randn(12, 3), torch.randn(12, 4))
        >>> call = Call("gru", torch.randn(5, 2, 3), torch.zeros(2, 4), p)
        >>> REFERENCE.unsupported(call), REFERENCE.run(call).output.shape
        (None, torch.Size([5, 2, 4]))
    """

    name: str
    families: frozenset[str]

    def unsupported(self, call: Call) -> str | None:
        """Why this engine cannot run ``call`` (an :class:`Unavailable` reason when it is not
        available on this machine at all), or ``None`` if it can."""
        ...

    def run(self, call: Call) -> RunResult:
        """Run ``call``: ``(output (L, N, H_out), final state, every step's state or None)``;
        may raise :class:`EngineFailure` where the engine finds out only by trying."""
        ...


class Unavailable(str):
    """A reason about this machine rather than the call (the engine is not built here): an
    engine asked for by name falls back to the reference path with a warning instead of raising."""

    __slots__ = ()


class EngineFailure(RuntimeError):
    """The engine cannot compute this call on this machine, found out by trying (the message is
    one line). ``first`` is true the first time, so that a fallback warns once."""

    def __init__(self, message: str, *, first: bool) -> None:
        super().__init__(message)
        self.first = first

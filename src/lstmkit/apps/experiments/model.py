r"""The network of the experiments: a recurrent layer (any LSTM variant, GRU or Elman RNN), or the
models they are compared with (a causal Transformer, a TCN), and a linear readout at every step.

.. math::

    h_{1..L}, s = \text{RNN}(x_{1..L}, s_0), \qquad y_t = W h_t + b

Example::

    >>> model = SequenceModel("classic", input_size=2, hidden_size=16, output_size=1)
    >>> y, state = model(torch.randn(4, 10, 2))  # (N, L, C) -> (N, L, K)
    >>> y.shape
    torch.Size([4, 10, 1])
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.apps.experiments.truncated import check_truncatable, truncated_lstm
from lstmkit.core.cells import VARIANTS, LSTMSpec
from lstmkit.core.layers import GRU, LSTM, RNN
from lstmkit.core.layers.encoder import EncoderSettings

__all__ = ["CELLS", "NON_RECURRENT", "PAPER_CELLS", "SequenceModel"]

#: LSTM cells of single experiments of the 1997 paper: ``"original1997-2a"``, the memory cell of
#: experiment 2a (Section 5.2): an input gate, no output gate (nor forget gate), g the logistic
#: sigmoid and h the identity
PAPER_CELLS = {
    "original1997-2a": LSTMSpec(
        forget_gate=False, output_gate=False, cell_activation="sigmoid", output_activation="identity"
    )
}
#: the cells a :class:`SequenceModel` can have: every LSTM variant, those of
#: :data:`PAPER_CELLS`, ``"gru"``, ``"rnn"``, and the non-recurrent comparison models
#: ``"transformer"`` and ``"tcn"``
CELLS = (*VARIANTS.keys(), *PAPER_CELLS, "gru", "rnn", "transformer", "tcn")
NON_RECURRENT = ("transformer", "tcn")


class SequenceModel(nn.Module):
    """A recurrent layer (any lstmkit LSTM variant, GRU or Elman RNN) or a comparison model
    (causal Transformer, TCN) and a linear readout at every step: (N, L, C) -> (N, L, K).
    Stateful: ``model(x, state, lengths) -> (y, state)`` (a Transformer's state is its
    ``KVCache``; a TCN has none).

    Args:
        cell: an LSTM variant name, a cell of :data:`PAPER_CELLS`, ``"gru"``, ``"rnn"``,
            ``"transformer"`` or ``"tcn"`` (the last two: ``num_layers`` blocks of width
            ``hidden_size``; 4 heads, kernel 3).
        input_size, hidden_size, output_size: C, H, K.
        num_layers: stacked layers.
        dropout: between layers; recurrent_dropout: variational on h (all cells);
        zoneout, weight_drop: LSTM only.
        memory_bias: initial bias of the gate that keeps the memory: the forget gate of LSTM
            variants that have one (``forget_bias``; 1.0 as Gers et al. 2000 advise, larger for
            long lags: sigma(5) = 0.993 keeps half the cell over 100 steps) and the update gate z
            of the GRU (h_t = (1 - z) n + z h_{t-1}); ``None``: the layers' defaults.
        input_bias: initial bias of an LSTM's input gate (``None``: the layer's default). The
            1997 paper starts it negative against "internal state drift": a mostly closed input
            gate keeps irrelevant inputs out of the cell until learning opens it.
        shortcut: the readout also sees the step's input, ``head([h_t, x_t])`` (direct
            input-to-output connections): a local mapping from the input to the
            output, such as the chain of experiment 2a, then needs no recurrent unit.
        init_range: every weight and bias uniform in [-init_range, init_range] (the 1997
            paper's initialization; the gate biases above are then set again); ``None``: the
            layers' own initialization. LSTM and Elman RNN only (a GRU keeps its own).
        engine: passed to :class:`~lstmkit.core.layers.LSTM` when it has that option.
        readout_bias: the readout has a bias (``False``: as the 1997 paper's nets, whose
            weight counts have none; with ``shortcut``, each input's weights act as its bias).
        truncated: the 1997 paper's truncated gradient (one plain LSTM layer only; see
            :mod:`lstmkit.apps.experiments.truncated`): h_{t-1} feeds the gates as a constant,
            so errors reach earlier steps only through the cell state. Outputs are unchanged.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        num_layers: int = 1,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        weight_drop: float = 0.0,
        memory_bias: float | None = 1.0,
        input_bias: float | None = None,
        init_range: float | None = None,
        engine: str | None = None,
        shortcut: bool = False,
        truncated: bool = False,
        readout_bias: bool = True,
    ) -> None:
        super().__init__()
        self.shortcut, self.truncated = shortcut, truncated
        readout = hidden_size + (input_size if shortcut else 0)
        if cell not in CELLS:
            raise ValueError(f"cell: expected one of {list(CELLS)}, got {cell!r}")
        self.cell = cell
        if truncated and _spec(cell) is None:
            raise ValueError(f"truncated: only for LSTM cells, got cell={cell!r}")
        common: dict[str, Any] = {
            "batch_first": True,
            "dropout": dropout if num_layers > 1 else 0.0,
            "recurrent_dropout": recurrent_dropout,
        }
        if cell in NON_RECURRENT:
            if recurrent_dropout or zoneout or weight_drop:
                raise ValueError(
                    f"recurrent_dropout, zoneout, weight_drop: only for recurrent cells, got cell={cell!r}"
                )
            settings = EncoderSettings(
                cell, hidden_size, num_layers, num_heads=_heads(hidden_size), positions="sinusoidal"
            )
            self.rnn: nn.Module = settings.encoder(input_size, dropout=dropout)
            self.head = nn.Linear(readout, output_size, bias=readout_bias)
            return
        if cell in ("gru", "rnn"):
            if zoneout or weight_drop:
                raise ValueError(f"zoneout, weight_drop: only for LSTM cells, got cell={cell!r}")
        else:
            common |= {"variant": _spec(cell), "zoneout": zoneout, "weight_drop": weight_drop}
        self.rnn = _recurrent(cell, (input_size, hidden_size, num_layers), common, memory_bias, engine)
        self.head = nn.Linear(readout, output_size, bias=readout_bias)
        _initialize(self, init_range, memory_bias, input_bias)
        if truncated:
            check_truncatable(self.rnn)  # type: ignore[arg-type]

    def forward(self, x: Tensor, state: Any = None, lengths: Tensor | None = None) -> tuple[Tensor, Any]:
        if self.truncated:
            out, state = truncated_lstm(self.rnn, x, state, lengths)  # type: ignore[arg-type]
        else:
            out, state = self.rnn(x, state, lengths)  # (N, L, H)
        if self.shortcut:
            out = torch.cat([out, x], -1)  # (N, L, H + C)
        return self.head(out), state  # (N, L, K)


def _initialize(
    model: SequenceModel, init_range: float | None, memory_bias: float | None, input_bias: float | None
) -> None:
    """With ``init_range``, every weight of ``model`` uniform in [-init_range, init_range] and an
    LSTM's forget-gate bias set again to ``memory_bias``; then an LSTM's input-gate bias set to
    ``input_bias`` if given (``ValueError`` for other cells)."""
    rnn, cell = model.rnn, model.cell
    if init_range is not None:  # every weight uniform; the gate biases asked for set again
        with torch.no_grad():
            for p in model.parameters():
                p.uniform_(-init_range, init_range)
        if isinstance(rnn, LSTM) and "f" in rnn.spec.gates and memory_bias is not None:
            _set_gate_bias(rnn, cell, "f", memory_bias)
    if input_bias is not None:
        if not isinstance(rnn, LSTM):
            raise ValueError(f"input_bias: only for LSTM cells, got cell={cell!r}")
        _set_gate_bias(rnn, cell, "i", input_bias)


def _set_gate_bias(rnn: LSTM, cell: str, gate: str, value: float) -> None:
    """Set the bias of ``gate`` of every layer of an LSTM of variant ``cell`` to ``value``
    (``bias_ih``; ``bias_hh`` zero); ``ValueError`` if the cell has no such gate."""
    spec = _spec(cell)
    gates = spec.gates if spec is not None else ()
    if gate not in gates:
        raise ValueError(f"{'input' if gate == 'i' else 'memory'}_bias: cell {cell!r} has no {gate} gate")
    with torch.no_grad():
        for k in range(rnn.num_layers):
            getattr(rnn, f"bias_ih_l{k}").chunk(len(gates))[gates.index(gate)].fill_(value)
            getattr(rnn, f"bias_hh_l{k}").chunk(len(gates))[gates.index(gate)].zero_()


def _spec(cell: str) -> LSTMSpec | None:
    """The LSTM spec of ``cell`` (a variant or a cell of :data:`PAPER_CELLS`); ``None`` for others."""
    return VARIANTS.get(cell) or PAPER_CELLS.get(cell)


def _heads(width: int) -> int:
    """4 attention heads where the width allows, else the most that divide it."""
    return next(h for h in (4, 2, 1) if width % h == 0)


def _recurrent(
    cell: str,
    sizes: tuple[int, int, int],
    options: dict[str, Any],
    memory_bias: float | None,
    engine: str | None,
) -> nn.Module:
    """The recurrent layer of ``sizes`` (input, hidden, layers): a GRU (its update gate's bias set
    to ``memory_bias``), an Elman RNN, or an LSTM of variant ``cell`` (its forget gate's bias set
    to ``memory_bias`` if it has one; ``engine`` if given)."""
    input_size, hidden_size, num_layers = sizes
    if cell in ("gru", "rnn"):
        rnn = (GRU if cell == "gru" else RNN)(input_size, hidden_size, num_layers, **options)
        if cell == "gru" and memory_bias is not None:
            with torch.no_grad():
                for k in range(num_layers):  # gate blocks r, z, n: z is the second
                    getattr(rnn, f"bias_ih_l{k}")[hidden_size : 2 * hidden_size].fill_(memory_bias)
                    getattr(rnn, f"bias_hh_l{k}")[hidden_size : 2 * hidden_size].zero_()
        return rnn
    if "f" in _spec(cell).gates and memory_bias is not None:  # type: ignore[union-attr]
        options["forget_bias"] = memory_bias
    if engine is not None:
        if "engine" not in inspect.signature(LSTM.__init__).parameters:
            raise ValueError("engine: this lstmkit's LSTM has no engine option yet")
        options["engine"] = engine
    return LSTM(input_size, hidden_size, num_layers, **options)

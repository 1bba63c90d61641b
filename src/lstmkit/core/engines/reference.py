"""The reference engine: the cell's step in a plain PyTorch loop (:func:`~lstmkit.core.scan.scan`).

It runs every cell and option, on any device and dtype; it is the definition the other
engines are tested against. The input half of the pre-activations is computed for all steps at
once (one matrix product), then the runner walks the steps:

.. math::

    s_t = \\mathrm{step}(W_{ih} x_t + b_{ih},\\ s_{t-1}),

with the layer's variational dropout masks applied to :math:`x_t` and :math:`h_{t-1}` and, for
the LSTM family, zoneout's keep weights :math:`d_t` blending each new state with the previous
one, :math:`s_t \\leftarrow d_t \\odot s_{t-1} + (1 - d_t) \\odot s_t` (Bernoulli draws from
torch's generator in training, the constant :math:`z` in evaluation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from lstmkit.core.cells.convlstm import ConvLSTMParams, ConvLSTMSpec, convlstm_input_projection, convlstm_step
from lstmkit.core.cells.gru import GRUParams, gru_input_projection, gru_step
from lstmkit.core.cells.lstm import (
    FGRState,
    LSTMParams,
    LSTMSpec,
    LSTMState,
    lstm_gate_step,
    lstm_input_projection,
    lstm_step,
)
from lstmkit.core.cells.rnn import RNNParams, rnn_input_projection, rnn_step
from lstmkit.core.engines.base import Call
from lstmkit.core.regularizers import zoneout, zoneout_keep
from lstmkit.core.scan import RunResult, scan
from lstmkit.core.tree import State

__all__ = ["REFERENCE", "ReferenceEngine"]

Step = Callable[[Tensor, State], State]


def _lstm_zoneout_keep(call: Call) -> tuple[Tensor, Tensor] | None:
    """Zoneout's keep weights for h (L, N, H_out) and c (L, N, H), or ``None`` without zoneout."""
    zh, zc = call.regularizers.zoneout
    if not (zh or zc):
        return None
    x, (h, c) = call.x, (call.state[0], call.state[1])
    lead = (x.shape[0], x.shape[1])
    keep_h = zoneout_keep((*lead, h.shape[-1]), zh, call.training, x.dtype, x.device)
    keep_c = zoneout_keep((*lead, c.shape[-1]), zc, call.training, x.dtype, x.device)
    return keep_h, keep_c


def _run_lstm(call: Call) -> RunResult:
    spec, params, regs = call.cell, call.params, call.regularizers
    assert isinstance(spec, LSTMSpec) and isinstance(params, LSTMParams)
    keep = _lstm_zoneout_keep(call)
    xw = lstm_input_projection(call.x, params, spec, regs.x_mask)  # (L, N, G*H)
    inputs = xw if keep is None else (xw, *keep)

    def advance(inp: Tensor | tuple[Tensor, ...], s: State, traced: bool) -> Any:
        """One step (and its gate activations when ``traced``), then zoneout."""
        xw_t = inp if isinstance(inp, Tensor) else inp[0]
        if traced:
            new, act = lstm_gate_step(xw_t, s, params, spec, regs.h_mask)
        else:
            new, act = lstm_step(xw_t, s, params, spec, regs.h_mask), None
        if not isinstance(inp, Tensor):  # (xw_t, keep_h, keep_c)
            new = new._replace(h=zoneout(s.h, new.h, inp[1]), c=zoneout(s.c, new.c, inp[2]))
        return (new, act) if traced else new

    if not call.return_gates:
        return _scan(call, lambda inp, s: advance(inp, s, False), inputs)
    return _run_traced(call, spec, inputs, lambda inp, s: advance(inp, s, True))


def _run_traced(
    call: Call, spec: LSTMSpec, inputs: Tensor | tuple[Tensor, ...], step: Callable[..., Any]
) -> RunResult:
    """Run ``step`` (returning ``(state, gate activations)``) with the gate activations riding
    along as the last field of the runner's state: the runner's padding rules then hold for them
    too (zero at padded steps)."""
    wrap = FGRState if spec.full_gate_recurrence else LSTMState
    xw = inputs if isinstance(inputs, Tensor) else inputs[0]

    def traced(inp: Tensor | tuple[Tensor, ...], s: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        new, act = step(inp, wrap(*s[:-1]))
        return (*new, act)

    start = (*call.state, xw.new_zeros(xw.shape[1:]))  # (N, G*H): no step has run yet
    res = scan(traced, inputs, start, mask=call.mask, reverse=call.reverse, return_states=True)
    assert res.states is not None
    states = wrap(*res.states[:-1]) if call.return_states else None
    return RunResult(res.output, wrap(*res.state[:-1]), states, res.states[-1])


def _run_gru(call: Call) -> RunResult:
    params, regs = call.params, call.regularizers
    assert isinstance(params, GRUParams)
    xw = gru_input_projection(call.x, params, regs.x_mask)  # (L, N, 3H)
    return _scan(call, lambda xw_t, h: gru_step(xw_t, h, params, regs.h_mask), xw)


def _run_rnn(call: Call) -> RunResult:
    params, regs = call.params, call.regularizers
    assert isinstance(params, RNNParams) and isinstance(call.cell, str)
    nonlinearity = call.cell.removeprefix("rnn_")
    xw = rnn_input_projection(call.x, params, regs.x_mask)  # (L, N, H)
    return _scan(call, lambda xw_t, h: rnn_step(xw_t, h, params, nonlinearity, regs.h_mask), xw)


def _run_convlstm(call: Call) -> RunResult:
    spec, params, regs = call.cell, call.params, call.regularizers
    assert isinstance(spec, ConvLSTMSpec) and isinstance(params, ConvLSTMParams)
    xp = convlstm_input_projection(call.x, params, spec, regs.x_mask)  # (L, N, 4F, *S)
    state = LSTMState(call.state[0], call.state[1])
    step: Step = lambda xp_t, s: convlstm_step(xp_t, s, params, spec, regs.h_mask)  # noqa: E731
    return scan(step, xp, state, mask=call.mask, reverse=call.reverse, return_states=call.return_states)


def _scan(call: Call, step: Callable[..., State], inputs: Tensor | tuple[Tensor, ...]) -> RunResult:
    return scan(
        step, inputs, call.state, mask=call.mask, reverse=call.reverse, return_states=call.return_states
    )


_RUNS: dict[str, Callable[[Call], RunResult]] = {
    "lstm": _run_lstm,
    "convlstm": _run_convlstm,
    "gru": _run_gru,
    "rnn": _run_rnn,
}


class ReferenceEngine:
    """The plain loop: runs every call (see the module docstring)."""

    name = "reference"
    families = frozenset(_RUNS)

    def unsupported(self, call: Call) -> str | None:
        return None

    def run(self, call: Call) -> RunResult:
        return _RUNS[call.family](call)


REFERENCE = ReferenceEngine()

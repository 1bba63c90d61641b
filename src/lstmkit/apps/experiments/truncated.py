r"""The truncated gradient of Hochreiter & Schmidhuber (1997): errors reach the past only
through the memory cells' constant error carousel.

In the 1997 paper, errors arriving at the net inputs of the memory cells and of the gates are
used to change the weights but are not propagated back further in time; only the cell state
carries error into the past. In a modern LSTM this is backpropagation through time with the
recurrent input :math:`h_{t-1}` treated as a constant:

.. math::

    z_t &= W_{ih} x_t + b_{ih} + W_{hh}\,\overline{h_{t-1}} + b_{hh}
           \qquad(\overline{\,\cdot\,}: \text{no gradient})\\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \phi_h(c_t)

so :math:`\partial h_t / \partial h_{t-1} = 0` through the gates while the path
:math:`c_{t-1} \to c_t` keeps its gradient (:math:`f_t`, or 1 without a forget gate).
The forward values are those of the untruncated layer; only the gradients change.

:func:`truncated_lstm` runs a layer so: its engine computes every :math:`h_t` without a graph,
then the gates of all steps are computed at once from those (detached) :math:`h_{t-1}`, and
the cell state is accumulated along time (a cumulative sum without a forget gate). This
keeps a 100-step sequence to a few dozen operations instead of a step-by-step loop.

Example::

    >>> lstm = LSTM(3, 4, variant="original1997", batch_first=True)
    >>> x = torch.randn(2, 5, 3)
    >>> out, state = truncated_lstm(lstm, x)  # (N, L, C) -> (N, L, H)
    >>> torch.allclose(out, lstm(x)[0], atol=1e-6)
    True
"""

from __future__ import annotations

import torch
from torch import Tensor

from lstmkit.core.cells import LSTMState, get_activation, lstm_gate_step, lstm_input_projection
from lstmkit.core.layers import LSTM

__all__ = ["check_truncatable", "truncated_lstm"]


def check_truncatable(rnn: LSTM) -> None:
    """``ValueError`` unless :func:`truncated_lstm` can run ``rnn``: one layer, one direction,
    batch-first, no projection, no peepholes, full gate recurrence or layer norm (their gates
    read c or LN(c), which the truncation would have to cut apart from the carousel), and no
    dropout, zoneout or weight drop."""
    spec = rnn.spec
    unsupported = {
        "num_layers > 1": rnn.num_layers != 1,
        "bidirectional": rnn.num_directions != 1,
        "batch_first=False": not rnn.batch_first,
        "proj_size": bool(rnn.proj_size),
        "peepholes": spec.peepholes,
        "full_gate_recurrence": spec.full_gate_recurrence,
        "layer_norm": spec.layer_norm,
        "dropout/zoneout/weight_drop": bool(
            rnn.input_dropout or rnn.recurrent_dropout or rnn.weight_drop or any(rnn.zoneout)
        ),
    }
    bad = [name for name, on in unsupported.items() if on]
    if bad:
        raise ValueError(f"truncated: expected a plain one-layer LSTM, got one with {', '.join(bad)}")


def truncated_lstm(
    rnn: LSTM,
    x: Tensor,
    state: LSTMState | tuple[Tensor, Tensor] | None = None,
    lengths: Tensor | None = None,
) -> tuple[Tensor, LSTMState]:
    r"""Run the one-layer, batch-first LSTM ``rnn`` with the 1997 paper's truncated gradient
    (see the module's docstring): the same outputs as ``rnn(x, state, lengths)``, gradients
    that reach earlier steps only through the cell state.

    Args:
        rnn: the layer (checked by :func:`check_truncatable`).
        x: the input (N, L, H_in).
        state: the initial ``(h_0, c_0)``, each (1, N, H); zeros if ``None``.
        lengths: the real lengths (N,) of a padded batch; ``None``: all ``L``.

    Returns:
        ``(output, state)``: output (N, L, H), zero past each length; the state ``(h_n, c_n)``,
        each (1, N, H), at each sequence's last real step.
    """
    check_truncatable(rnn)
    n, steps, hidden = x.shape[0], x.shape[1], rnn.hidden_size
    if state is None:
        h0 = c0 = x.new_zeros(n, hidden)
    else:
        h0, c0 = state[0][0], state[1][0]
    with torch.no_grad():  # the values of every h_t, from the layer's own engine
        values, _ = rnn(x, (h0.unsqueeze(0), c0.unsqueeze(0)), lengths)  # (N, L, H)
    h_prev = torch.cat([h0.detach().unsqueeze(1), values[:, :-1]], 1)  # (N, L, H), no gradient
    params, spec = rnn.params(0), rnn.spec
    xw = lstm_input_projection(x, params, spec).reshape(n * steps, -1)  # (N L, G H)
    flat = LSTMState(h_prev.reshape(n * steps, hidden), x.new_zeros(n * steps, hidden))
    _, acts = lstm_gate_step(xw, flat, params, spec)  # gates read no c: no peepholes
    act = dict(zip(spec.gates, acts.reshape(n, steps, spec.num_gates, hidden).unbind(2)))
    written = act["g"] * act["i"] if "i" in act else act["g"]  # (N, L, H)
    forget = 1 - act["i"] if spec.coupled else act.get("f")
    c = _carousel(c0, written, forget)  # (N, L, H)
    h = get_activation(spec.output_activation).fn(c)
    if "o" in act:
        h = act["o"] * h
    last = torch.full((n,), steps - 1, device=x.device) if lengths is None else lengths.to(x.device) - 1
    if lengths is not None:
        h = h * (torch.arange(steps, device=x.device) <= last.unsqueeze(1)).unsqueeze(-1).to(h.dtype)
    rows = torch.arange(n, device=x.device)
    return h, LSTMState(h[rows, last].unsqueeze(0), c[rows, last].unsqueeze(0))


def _carousel(c0: Tensor, written: Tensor, forget: Tensor | None) -> Tensor:
    """The cell states c_1..c_L (N, L, H) of c_t = f_t c_{t-1} + written_t from ``c0`` (N, H):
    a cumulative sum without a forget gate (``forget`` ``None``), else a loop over time."""
    if forget is None:
        return c0.unsqueeze(1) + written.cumsum(1)
    c, states = c0, []
    for t in range(written.shape[1]):
        c = forget[:, t] * c + written[:, t]
        states.append(c)
    return torch.stack(states, 1)

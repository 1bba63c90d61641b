"""The 1997 paper's truncated gradient: the same outputs as the layer, gradients that reach the
past only through the cell state (checked against a step-by-step loop with h_{t-1} detached)."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from lstmkit.apps.experiments.model import SequenceModel
from lstmkit.apps.experiments.truncated import truncated_lstm
from lstmkit.core.cells import LSTMState, lstm_cell
from lstmkit.core.layers import LSTM

VARIANTS = ["original1997", "classic", "cifg_np"]


def _layer(variant: str) -> LSTM:
    torch.manual_seed(0)
    spec: object = variant
    if variant == "cifg_np":  # the coupled gate, f = 1 - i, without peepholes
        from lstmkit.core.cells import LSTMSpec

        spec = LSTMSpec(coupled=True)
    return LSTM(3, 4, variant=spec, batch_first=True, engine="reference").double()  # type: ignore[arg-type]


def _detached_loop(lstm: LSTM, x: Tensor, h: Tensor, c: Tensor) -> Tensor:
    """The hand-built reference: one cell step at a time, h_{t-1} fed to the step detached."""
    params, outs = lstm.params(0), []
    for t in range(x.shape[1]):
        state = lstm_cell(x[:, t], LSTMState(h.detach(), c), params, lstm.spec)
        h, c = state.h, state.c
        outs.append(h)
    return torch.stack(outs, 1)  # (N, L, H)


@pytest.mark.parametrize("variant", VARIANTS)
def test_outputs_and_state_equal_the_untruncated_layer(variant: str) -> None:
    lstm = _layer(variant)
    x = torch.randn(3, 7, 3, dtype=torch.double)
    h0, c0 = torch.randn(1, 3, 4, dtype=torch.double), torch.randn(1, 3, 4, dtype=torch.double)
    lengths = torch.tensor([7, 4, 1])
    out, (h, c) = truncated_lstm(lstm, x, (h0, c0), lengths)
    ref, (h_ref, c_ref) = lstm(x, (h0, c0), lengths)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close((h, c), (h_ref, c_ref))


@pytest.mark.parametrize("variant", VARIANTS)
def test_gradients_equal_a_loop_with_h_detached_and_differ_from_full_bptt(variant: str) -> None:
    lstm = _layer(variant)
    x = torch.randn(2, 6, 3, dtype=torch.double, requires_grad=True)
    zeros = torch.zeros(2, 4, dtype=torch.double)
    weights = torch.randn(2, 6, 4, dtype=torch.double)
    wanted = [x, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0]
    truncated = torch.autograd.grad((truncated_lstm(lstm, x)[0] * weights).sum(), wanted)
    reference = torch.autograd.grad((_detached_loop(lstm, x, zeros, zeros) * weights).sum(), wanted)
    full = torch.autograd.grad((lstm(x)[0] * weights).sum(), wanted)
    for got, want in zip(truncated, reference):
        torch.testing.assert_close(got, want)
    # the truncation matters: full backpropagation through time gives other gradients
    assert not torch.allclose(truncated[0], full[0], atol=1e-6)
    assert not torch.allclose(truncated[2], full[2], atol=1e-6)


def test_the_past_is_reached_only_through_the_cell_state() -> None:
    """Without a forget gate dc_T/dc_t = 1: the gradient of h_T with respect to an earlier input
    x_t is that of c_t (as if c_t fed c_T directly), with no path through h_{t..T-1}."""
    lstm = _layer("original1997")
    x = torch.randn(1, 5, 3, dtype=torch.double, requires_grad=True)
    out, (_, c_last) = truncated_lstm(lstm, x)
    (grad_x,) = torch.autograd.grad(c_last.sum(), [x])
    # c_T = c_0 + sum_t i_t g_t: each step's own write, computed alone from the detached h_{t-1}
    params, h_prev = lstm.params(0), torch.cat([torch.zeros(1, 1, 4, dtype=torch.double), out[:, :-1]], 1)
    own = [
        lstm_cell(
            x[:, t],
            LSTMState(h_prev[:, t].detach(), torch.zeros(1, 4, dtype=torch.double)),
            params,
            lstm.spec,
        ).c
        for t in range(5)
    ]
    (grad_own,) = torch.autograd.grad(torch.stack(own).sum(), [x])
    torch.testing.assert_close(grad_x, grad_own)


def test_the_model_option_keeps_outputs_and_refuses_what_it_cannot_truncate() -> None:
    torch.manual_seed(1)
    plain = SequenceModel("original1997", 3, 4, 2, engine="reference")
    torch.manual_seed(1)
    truncated = SequenceModel("original1997", 3, 4, 2, engine="reference", truncated=True)
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(truncated(x)[0], plain(x)[0])
    with pytest.raises(ValueError, match="truncated: only for LSTM cells"):
        SequenceModel("gru", 3, 4, 2, truncated=True)
    with pytest.raises(ValueError, match=r"truncated: expected a plain one-layer LSTM.*peepholes"):
        SequenceModel("vanilla", 3, 4, 2, truncated=True)
    with pytest.raises(ValueError, match="num_layers > 1"):
        SequenceModel("classic", 3, 4, 2, num_layers=2, truncated=True)

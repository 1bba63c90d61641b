"""torch's kernels as an engine: the reference semantics (padding, zero lengths, reverse), the
reasons it refuses a call, and the low-precision failures it remembers."""

from __future__ import annotations

import pytest
import torch
from tests.helpers import assert_close

from lstmkit.core.cells import VARIANTS, LSTMParams, lstm_initial_state, lstm_param_shapes
from lstmkit.core.engines.base import Call, EngineFailure, Regularizers
from lstmkit.core.engines.native import (
    NATIVE,
    NativeKernelError,
    lstm_native,
    mask_lengths,
    native_run,
    native_unsupported,
)
from lstmkit.core.engines.reference import REFERENCE
from lstmkit.core.layers import LSTM


def test_native_path_equals_reference_with_lengths_zero_length_and_reverse() -> None:
    layer = LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, dtype=torch.float64)
    x = torch.randn(6, 4, 3, dtype=torch.float64)
    lengths = torch.tensor([6, 0, 3, 1])
    results = {}
    for engine in ("reference", "native"):
        layer.engine = engine
        xx = x.clone().requires_grad_()
        out, (h, c) = layer(xx, lengths=lengths)
        grads = torch.autograd.grad((out**2).sum() + h.sum() + c.sum(), [xx, *layer.parameters()])
        results[engine] = (out, h, c, *grads)
    for i, (a, b) in enumerate(zip(results["native"], results["reference"])):
        assert_close(a, b, 1e-10, f"native vs reference, value {i}")


@pytest.mark.parametrize("reverse", [False, True])
def test_engine_equals_reference_engine_on_a_padded_batch(reverse: bool) -> None:
    spec = VARIANTS["classic"]
    shapes = lstm_param_shapes(spec, 3, 4, proj_size=2)
    params = LSTMParams(**{k: torch.randn(s, dtype=torch.float64) for k, s in shapes.items()})
    state = lstm_initial_state(spec, (3,), 4, 2, dtype=torch.float64)
    state = state._replace(h=torch.randn(3, 2, dtype=torch.float64))
    mask = torch.arange(5).unsqueeze(1) < torch.tensor([5, 0, 2]).unsqueeze(0)
    x = torch.randn(5, 3, 3, dtype=torch.float64) * mask.unsqueeze(-1)
    call = Call(spec, x, state, params, mask, reverse=reverse)
    got, expected = NATIVE.run(call), REFERENCE.run(call)
    assert_close(got.output, expected.output, 1e-12, "output")
    for a, b in zip(got.state, expected.state):
        assert_close(a, b, 1e-12, "final state")
    assert_close(lstm_native(x, state, params, mask=mask, reverse=reverse).output, got.output, 0.0)


def test_what_torch_cannot_run_is_named() -> None:
    holes = torch.ones(4, 2, dtype=torch.bool)
    holes[1, 0] = False
    assert native_unsupported(VARIANTS["classic"]) is None
    assert native_unsupported("gru") is None
    assert "'vanilla'" in (native_unsupported(VARIANTS["vanilla"]) or "")
    assert "zoneout" in (native_unsupported("gru", regularizers=("zoneout",)) or "")
    assert "variational dropout" in (native_unsupported("gru", regularizers=("input_dropout",)) or "")
    assert "return_cell_states" in (native_unsupported("gru", return_states=True) or "")
    assert "holes" in (native_unsupported("rnn_tanh", mask=holes) or "")
    assert mask_lengths(holes) is None
    assert mask_lengths(torch.ones(4, 2, dtype=torch.bool)).tolist() == [4, 4]  # type: ignore[union-attr]
    call = Call("gru", torch.zeros(4, 2, 3), torch.zeros(2, 4), LSTMParams(torch.zeros(1), torch.zeros(1)))
    assert NATIVE.unsupported(call) is None
    call = Call("gru", call.x, call.state, call.params, regularizers=Regularizers(h_mask=torch.ones(2, 4)))
    assert "recurrent_dropout" in (NATIVE.unsupported(call) or "")


def test_a_kernel_failure_is_an_engine_failure_and_native_run_refuses_holes() -> None:
    assert issubclass(NativeKernelError, EngineFailure) and issubclass(EngineFailure, RuntimeError)
    holes = torch.ones(4, 2, dtype=torch.bool)
    holes[1, 0] = False
    weights = [torch.randn(12, 3), torch.randn(12, 4)]
    with pytest.raises(ValueError, match="holes"):
        native_run("gru", torch.randn(4, 2, 3), (torch.zeros(2, 4),), weights, has_bias=False, mask=holes)

"""The fused engine adapter: it runs what the fused kernel runs (the LSTM family, CPU float32 /
float64, with the extension built), equals the reference engine, and draws zoneout's masks the
kernel's way in training (four seeds from torch's generator)."""

from __future__ import annotations

import pytest
import torch
from tests.helpers import assert_close

from lstmkit.core.cells import VARIANTS, LSTMParams, lstm_initial_state, lstm_param_shapes
from lstmkit.core.engines.base import Call, Regularizers, Unavailable
from lstmkit.core.engines.fused import build
from lstmkit.core.engines.fused_engine import FUSED
from lstmkit.core.engines.reference import REFERENCE

pytestmark = pytest.mark.skipif(build.load_extension() is None, reason="needs the fused extension")


def _call(dtype: torch.dtype = torch.float64, **options) -> Call:
    spec = VARIANTS["fgr"]
    shapes = lstm_param_shapes(spec, 3, 4)
    params = LSTMParams(**{k: torch.randn(s, dtype=dtype) * 0.5 for k, s in shapes.items()})
    mask = torch.arange(5).unsqueeze(1) < torch.tensor([5, 2]).unsqueeze(0)
    x = torch.randn(5, 2, 3, dtype=dtype) * mask.unsqueeze(-1)
    state = lstm_initial_state(spec, (2,), 4, dtype=dtype)
    return Call(spec, x, state, params, mask, **options)


@pytest.mark.parametrize("reverse", [False, True])
def test_equals_the_reference_engine(reverse: bool) -> None:
    regs = Regularizers(h_mask=torch.rand(2, 4, dtype=torch.float64), zoneout=(0.1, 0.2))
    call = _call(reverse=reverse, return_states=True, regularizers=regs)  # evaluation: zoneout's mean
    assert FUSED.unsupported(call) is None
    got, expected = FUSED.run(call), REFERENCE.run(call)
    assert_close(got.output, expected.output, 1e-10, "output")
    for a, b in zip((*got.state, *got.states), (*expected.state, *expected.states)):
        assert_close(a, b, 1e-10, "states")


def test_zoneout_in_training_draws_four_seeds() -> None:
    call = _call(training=True, regularizers=Regularizers(zoneout=(0.3, 0.3)))
    torch.manual_seed(3)
    first = FUSED.run(call).output
    after = torch.randint(0, 2**32, (1,))
    torch.manual_seed(3)
    torch.randint(0, 2**32, (4,))
    assert torch.equal(torch.randint(0, 2**32, (1,)), after), "one draw of four seeds"
    torch.manual_seed(3)
    assert torch.equal(FUSED.run(call).output, first), "deterministic under a seed"


def test_what_it_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "float32 and float64" in (FUSED.unsupported(_call(torch.bfloat16)) or "")
    monkeypatch.setenv(build.DISABLE_ENV, "1")
    reason = FUSED.unsupported(_call())
    assert isinstance(reason, Unavailable) and "unavailable" in reason

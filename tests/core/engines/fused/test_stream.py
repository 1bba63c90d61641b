"""Streaming inference: step by step == the full-sequence forward in evaluation mode."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
import torch
from tests.helpers import TOL, assert_close

from lstmkit.core.engines.fused import build
from lstmkit.core.layers import LSTM

CONFIGS = {
    "classic": dict(variant="classic"),
    "vanilla-stacked": dict(variant="vanilla", num_layers=3, dropout=0.5),
    "cifg-proj": dict(variant="cifg", proj_size=3, num_layers=2),
    "fgr-layernorm": dict(variant="fgr", layer_norm=True, num_layers=2),
    "nig-zoneout": dict(variant="nig", zoneout=(0.3, 0.1), recurrent_dropout=0.4, input_dropout=0.2),
    "original1997-weightdrop": dict(variant="original1997", weight_drop=0.5, proj_size=2),
    "nog-noaf": dict(variant="nog", layer_norm=True, zoneout=0.2),
    "noaf": dict(variant="noaf"),
}


@pytest.fixture
def no_extension(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(build.DISABLE_ENV, "1")
    build._reset()
    yield
    monkeypatch.delenv(build.DISABLE_ENV)
    build._reset()


def check_stream(cfg: dict, dtype: torch.dtype, batch: int) -> None:
    layer = LSTM(4, 6, dtype=dtype, **cfg).train()  # the runtime is inference-only, whatever the mode
    x = torch.randn(11, batch, 4, dtype=dtype)
    with torch.no_grad():
        expected, final = layer.eval()(x)
    layer.train()
    stream = layer.stream(batch)
    ys = torch.stack([stream.step(x_t) for x_t in x])
    assert_close(ys, expected, TOL[dtype], f"{cfg} outputs")
    for name, a, b in zip(("h", "c", "gates"), stream.state, final):
        assert_close(a, b, TOL[dtype], f"{cfg} state {name}")


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stream_equals_full_forward(name: str, dtype: torch.dtype) -> None:
    check_stream(CONFIGS[name], dtype, batch=3)


def test_batch_of_one_and_many() -> None:
    for batch in (1, 8):
        check_stream(CONFIGS["vanilla-stacked"], torch.float32, batch)


def test_state_resume_reset_and_out_buffer() -> None:
    layer = LSTM(4, 5, num_layers=2, variant="vanilla").eval()
    x = torch.randn(10, 2, 4)
    with torch.no_grad():
        full, _ = layer(x)
        _, mid = layer(x[:6])
    stream = layer.stream(2)
    stream.reset(mid)  # continue from a forward's final state
    out = torch.empty(2, 5)
    ys = []
    for x_t in x[6:]:
        y = stream.step(x_t, out=out)
        assert y.data_ptr() == out.data_ptr()
        ys.append(y.clone())
    assert_close(torch.stack(ys), full[6:], 1e-5, "resumed stream")
    stream.reset()
    assert float(stream.state.h.abs().sum()) == 0.0 and float(stream.state.c.abs().sum()) == 0.0
    assert_close(stream.step(x[0]), full[0], 1e-5, "after reset")


def test_no_autograd_and_parameter_updates_are_seen() -> None:
    layer = LSTM(3, 4, variant="cifg").eval()
    stream = layer.stream(1)
    x = torch.randn(1, 3, requires_grad=True)
    y = stream.step(x)
    assert not y.requires_grad and y.grad_fn is None
    with torch.no_grad():
        layer.weight_ih_l0.mul_(2.0)  # an optimizer step, in place
        expected, _ = layer(x.detach().unsqueeze(0))
    stream.reset()
    assert_close(stream.step(x), expected[0], 1e-5, "stream after an in-place update")
    with torch.no_grad():
        layer.weight_hh_l0.data.mul_(0.5)  # through .data: invisible to version counters...
        expected, _ = layer(x.detach().unsqueeze(0))
    stream.refresh()  # ...so the runtime is told
    stream.reset()
    assert_close(stream.step(x), expected[0], 1e-5, "stream after refresh()")
    layer.double()  # a stream is made for one dtype and device: a clear error, then a new stream
    with pytest.raises(RuntimeError, match=r"moved to torch.float64 .* call layer.stream\(\) again"):
        stream.step(x.detach())
    stream = layer.stream(1)
    assert stream.step(x.detach().double()).dtype == torch.float64


@pytest.mark.parametrize("extension", [True, False], ids=["fused", "fallback"])
@pytest.mark.parametrize("change", ["data_hh_l0", "data_ih_l1", "assign", "in_place_refresh"])
def test_replaced_or_rewritten_weights_of_any_layer_are_used(
    change: str, extension: bool, request: pytest.FixtureRequest
) -> None:
    if not extension:
        request.getfixturevalue("no_extension")
    layer = LSTM(4, 5, num_layers=2).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stream = layer.stream(1)
    x = torch.randn(3, 1, 4)
    stream.step(x[0])  # bound and packed the old weights
    if change == "data_hh_l0":
        layer.weight_hh_l0.data = torch.randn(20, 5)
    elif change == "data_ih_l1":
        layer.weight_ih_l1.data = torch.randn(20, 5)
    elif change == "assign":
        layer.load_state_dict(LSTM(4, 5, num_layers=2).state_dict(), assign=True)
    else:
        layer.weight_hh_l1.data.mul_(-1.5)  # in place, behind autograd's back: refresh() says so
        stream.refresh()
    stream.reset()
    ys = torch.stack([stream.step(x_t) for x_t in x])
    with torch.no_grad():
        expected, _ = layer(x)
    assert_close(ys, expected, 1e-5, change)


def test_bad_use_gets_clear_errors() -> None:
    with pytest.raises(ValueError, match="bidirectional"):
        LSTM(3, 4, bidirectional=True).stream(1)
    with pytest.raises(ValueError, match="batch_size"):
        LSTM(3, 4).stream(0)
    stream = LSTM(3, 4).stream(2)
    with pytest.raises(ValueError, match=r"x: expected shape \(2, 3\)"):
        stream.step(torch.randn(3, 3))
    with pytest.raises(ValueError, match="input_size"):
        stream.step(torch.randn(2, 5))
    with pytest.raises(TypeError, match="float64"):
        stream.step(torch.randn(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"state.h: expected shape \(1, 2, 4\)"):
        stream.reset((torch.zeros(1, 3, 4), torch.zeros(1, 2, 4)))


def test_fallback_stream_warns_once_and_matches(no_extension: None) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_stream(CONFIGS["fgr-layernorm"], torch.float64, batch=2)
        check_stream(CONFIGS["nig-zoneout"], torch.float64, batch=2)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "unavailable" in messages[0], messages

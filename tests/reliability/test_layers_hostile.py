"""Hostile inputs to the recurrent layers and the streaming runtime: a catalogue.

Each case is ``(id, call, expected)``: ``call`` does one hostile thing; ``expected`` is either
the error (type, and the argument its one-line message starts with, optionally the whole
message) or warning it must give, or the documented valid result it must return (compared
with a reference computation). Below the catalogue: padding never reaches an output or a
gradient on any engine, and torch's kernel failing for a low-precision CPU dtype.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from lstmkit.core.cells import LSTMSpec, LSTMState
from lstmkit.core.engines import native
from lstmkit.core.layers import GRU, LSTM, RNN

NAN, INF = float("nan"), float("inf")


# ---------------------------------------------------------------------- expectations
@dataclass(frozen=True)
class Raises:
    """``call`` raises ``error`` with a one-line message that starts with ``name + ":"`` (and,
    if given, equals ``message``)."""

    error: type[Exception]
    name: str
    message: str | None = None


@dataclass(frozen=True)
class Warns:
    """``call`` succeeds and warns once with ``category``, naming ``name`` first."""

    category: type[Warning]
    name: str


@dataclass(frozen=True)
class Same:
    """``call`` succeeds, without a warning, and returns what ``reference`` returns (every
    tensor in the nest equal within float tolerance; on the meta device, equal shapes)."""

    reference: Callable[[], Any]


def tensors(obj: Any) -> list[Tensor]:
    """The tensors of a nest of tuples / PackedSequences, in order."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, PackedSequence):
        return [obj.data]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in tensors(o)]
    return []


# ---------------------------------------------------------------------- building blocks
def wrong(value: object) -> Any:
    """``value`` as it is, typed ``Any``: a hostile argument the type checker would refuse."""
    return value


def seeded(cls: type, *args: Any, **kwargs: Any) -> Any:
    torch.manual_seed(0)
    return cls(*args, **kwargs)


def lstm(**kw: Any) -> LSTM:
    return seeded(LSTM, 3, 4, **kw)


def gru(**kw: Any) -> GRU:
    return seeded(GRU, 3, 4, **kw)


def rnn(**kw: Any) -> RNN:
    return seeded(RNN, 3, 4, **kw)


def data(*shape: int, dtype: torch.dtype = torch.float32) -> Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randn(*shape, generator=g, dtype=dtype)


def poisoned(*shape: int, at: tuple[int, ...], value: float) -> Tensor:
    x = data(*shape)
    x[at] = value
    return x


def padded(value: float, *, batch_first: bool = False) -> Tensor:
    """(5, 2, 3) input (or (2, 5, 3)) whose second sequence (length 2) has ``value`` in its padding."""
    x = data(5, 2, 3)
    x[2:, 1] = value
    return x.transpose(0, 1).contiguous() if batch_first else x


def pack(x: Tensor, lengths: list[int]) -> PackedSequence:
    return pack_padded_sequence(x, lengths)


def nan_h() -> Tensor:
    """A state field (1, 2, 4) with NaN at layer 0, batch 1, feature 2."""
    return poisoned(1, 2, 4, at=(0, 1, 2), value=NAN)


def set_stream_state(stream: Any, state: Any) -> None:
    stream.state = state


def with_engine(layer: Any, engine: str) -> Any:
    layer.engine = engine
    return layer


def no_grad(fn: Callable[[], Any]) -> Any:
    with torch.no_grad():
        return fn()


STATE_H = "state.h: expected finite values, got nan at layer 0, batch 1, feature 2"

# ---------------------------------------------------------------------- the catalogue
CASES = [
    # --- construction: hyperparameters ------------------------------------------------
    ("lstm-forget-bias-nan", lambda: lstm(forget_bias=NAN),
     Raises(ValueError, "forget_bias", "forget_bias: expected a finite float or None, got nan")),
    ("lstm-forget-bias-inf", lambda: lstm(forget_bias=-INF), Raises(ValueError, "forget_bias")),
    ("lstm-forget-bias-bool", lambda: lstm(forget_bias=True), Raises(TypeError, "forget_bias")),
    ("lstm-zoneout-triple", lambda: lstm(zoneout=(0.1, 0.2, 0.3)), Raises(ValueError, "zoneout")),
    ("lstm-zoneout-nan", lambda: lstm(zoneout=(0.1, NAN)), Raises(ValueError, "zoneout")),
    ("lstm-weight-drop-inf", lambda: lstm(weight_drop=INF), Raises(ValueError, "weight_drop")),
    ("lstm-input-dropout-one", lambda: lstm(input_dropout=1.0), Raises(ValueError, "input_dropout")),
    ("gru-dropout-nan", lambda: gru(dropout=NAN, num_layers=2), Raises(ValueError, "dropout")),
    ("rnn-recurrent-dropout-inf", lambda: rnn(recurrent_dropout=INF),
     Raises(ValueError, "recurrent_dropout")),
    ("spec-layer-norm-eps-inf", lambda: LSTMSpec(layer_norm=True, layer_norm_eps=INF),
     Raises(ValueError, "layer_norm_eps", "layer_norm_eps: expected a finite float > 0, got inf")),
    ("spec-layer-norm-eps-str", lambda: LSTMSpec(layer_norm_eps=wrong("1e-5")),
     Raises(TypeError, "layer_norm_eps")),
    ("lstm-proj-size-not-smaller", lambda: lstm(proj_size=4), Raises(ValueError, "proj_size")),
    ("lstm-variant-unknown", lambda: lstm(variant="peephole"), Raises(ValueError, "variant")),
    ("lstm-native-with-variant", lambda: lstm(variant="vanilla", engine="native"),
     Raises(ValueError, "engine='native'")),
    ("gru-engine-fused", lambda: gru(engine="fused"), Raises(ValueError, "engine")),
    ("rnn-nonlinearity", lambda: rnn(nonlinearity="gelu"), Raises(ValueError, "nonlinearity")),
    ("lstm-hidden-size-float", lambda: LSTM(3, wrong(4.0)), Raises(TypeError, "hidden_size")),
    ("lstm-dtype-int64", lambda: lstm(dtype=torch.int64),
     Raises(TypeError, "dtype", "dtype: expected a floating-point torch.dtype, got torch.int64")),
    ("gru-dtype-complex", lambda: gru(dtype=torch.complex64), Raises(TypeError, "dtype")),
    ("rnn-device-bogus", lambda: rnn(device="gpu0"), Raises(ValueError, "device")),
    ("lstm-bias-string", lambda: lstm(bias="no"),
     Raises(TypeError, "bias", "bias: expected a bool, got str")),
    ("gru-batch-first-string", lambda: gru(batch_first="False"), Raises(TypeError, "batch_first")),
    ("rnn-check-finite-string", lambda: rnn(check_finite="yes"), Raises(TypeError, "check_finite")),
    ("lstm-dropout-one-layer", lambda: lstm(dropout=0.5), Warns(UserWarning, "dropout")),
    ("gru-dropout-one-layer", lambda: gru(dropout=0.2), Warns(UserWarning, "dropout")),
    ("rnn-dropout-one-layer", lambda: rnn(dropout=0.2, bidirectional=True), Warns(UserWarning, "dropout")),
    # --- forward: the input -----------------------------------------------------------
    ("lstm-input-rank-1", lambda: lstm()(data(3)), Raises(ValueError, "input")),
    ("gru-input-rank-4", lambda: gru()(data(5, 2, 3, 1)), Raises(ValueError, "input")),
    ("rnn-zero-steps", lambda: rnn()(data(0, 2, 3)), Raises(ValueError, "input")),
    ("lstm-empty-batch", lambda: lstm(batch_first=True)(data(0, 5, 3)), Raises(ValueError, "input")),
    ("lstm-int64-input", lambda: lstm()(data(5, 2, 3).long()),
     Raises(TypeError, "input", "input: expected dtype torch.float32 (the parameters'), got torch.int64; "
            "convert the input, e.g. x.to(torch.float32)")),
    ("lstm-int64-input-hint-followed", lambda: lstm()(data(5, 2, 3).long().to(torch.float32)),
     Same(lambda: lstm()(data(5, 2, 3).long().float()))),
    ("gru-bool-input", lambda: gru()(data(5, 2, 3) > 0), Raises(TypeError, "input")),
    ("rnn-double-input-float-layer", lambda: rnn()(data(5, 2, 3, dtype=torch.float64).requires_grad_()),
     Raises(TypeError, "input")),
    ("lstm-wrong-features", lambda: lstm()(data(5, 2, 4)), Raises(ValueError, "input")),
    ("gru-list-input", lambda: gru()(data(5, 2, 3).tolist()), Raises(TypeError, "input")),
    ("lstm-packed-wrong-features", lambda: lstm()(pack_padded_sequence(data(5, 2, 4), [5, 3])),
     Raises(ValueError, "input")),
    ("rnn-noncontiguous-input", lambda: rnn()(data(3, 2, 5).permute(2, 1, 0)),
     Same(lambda: rnn()(data(3, 2, 5).permute(2, 1, 0).contiguous()))),
    ("lstm-expanded-input-fused", lambda: lstm(engine="fused")(data(1, 1, 3).expand(5, 2, 3), lengths=[5, 3]),
     Same(lambda: lstm(engine="reference")(data(1, 1, 3).expand(5, 2, 3).contiguous(), lengths=[5, 3]))),
    # --- forward: lengths and masks ---------------------------------------------------
    ("lstm-lengths-too-long", lambda: lstm()(data(5, 2, 3), lengths=[6, 2]), Raises(ValueError, "lengths")),
    ("gru-lengths-negative", lambda: gru()(data(5, 2, 3), lengths=[-1, 2]), Raises(ValueError, "lengths")),
    ("rnn-lengths-float", lambda: rnn()(data(5, 2, 3), lengths=torch.tensor([5.0, 2.0])),
     Raises(TypeError, "lengths")),
    ("lstm-lengths-wrong-count", lambda: lstm()(data(5, 2, 3), lengths=[5, 2, 1]),
     Raises(ValueError, "lengths")),
    ("lstm-lengths-string", lambda: lstm()(data(5, 2, 3), lengths="52"), Raises(TypeError, "lengths")),
    ("lstm-lengths-meta", lambda: lstm()(data(5, 2, 3), lengths=torch.tensor([5, 2], device="meta")),
     Raises(ValueError, "lengths")),
    ("gru-mask-meta", lambda: gru()(data(5, 2, 3), mask=torch.ones(5, 2, dtype=torch.bool, device="meta")),
     Raises(ValueError, "mask")),
    ("lstm-mask-int", lambda: lstm()(data(5, 2, 3), mask=torch.ones(5, 2, dtype=torch.int64)),
     Raises(TypeError, "mask")),
    ("rnn-mask-time-major-with-batch-first",
     lambda: rnn(batch_first=True)(data(2, 5, 3), mask=torch.ones(5, 2).bool()),
     Raises(ValueError, "mask")),
    ("lstm-lengths-and-mask", lambda: lstm()(data(5, 2, 3), lengths=[5, 2], mask=torch.ones(5, 2).bool()),
     Raises(ValueError, "lengths, mask")),
    ("gru-packed-and-lengths", lambda: gru()(pack_padded_sequence(data(5, 2, 3), [5, 3]), lengths=[5, 3]),
     Raises(ValueError, "lengths, mask")),
    ("lstm-lengths-all-zero", lambda: lstm()(data(5, 2, 3), lengths=[0, 0]),
     Same(lambda: (torch.zeros(5, 2, 4), LSTMState(torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))))),
    ("gru-lengths-list-equals-tensor", lambda: gru()(data(5, 2, 3), lengths=[5, 2]),
     Same(lambda: gru()(data(5, 2, 3), lengths=torch.tensor([5, 2])))),
    ("rnn-unbatched-lengths", lambda: rnn()(data(5, 3), lengths=3)[0][:3],
     Same(lambda: rnn()(data(5, 3)[:3])[0])),
    ("lstm-meta-layer-with-lengths", lambda: lstm(device="meta")(data(5, 2, 3).to("meta"), lengths=[5, 2]),
     Same(lambda: lstm(device="meta")(data(5, 2, 3).to("meta")))),
    # --- forward: the state -----------------------------------------------------------
    ("lstm-state-wrong-batch", lambda: lstm()(data(5, 2, 3), (torch.zeros(1, 3, 4), torch.zeros(1, 3, 4))),
     Raises(ValueError, "state.h")),
    ("gru-state-float64", lambda: gru()(data(5, 2, 3), torch.zeros(1, 2, 4, dtype=torch.float64)),
     Raises(TypeError, "state.h")),
    ("lstm-state-on-meta", lambda: lstm()(data(5, 2, 3), (torch.zeros(1, 2, 4, device="meta"),) * 2),
     Raises(ValueError, "state.h")),
    ("lstm-state-one-tensor", lambda: lstm()(data(5, 2, 3), torch.zeros(1, 2, 4)),
     Raises(TypeError, "state")),
    ("gru-state-pair", lambda: gru()(data(5, 2, 3), (torch.zeros(1, 2, 4),) * 2),
     Raises(TypeError, "state", "state: expected a tensor, got tuple of 2")),
    ("lstm-fgr-state-without-gates", lambda: lstm(variant="fgr")(data(5, 2, 3), lstm().initial_state(2)),
     Raises(TypeError, "state")),
    ("rnn-state-noncontiguous", lambda: rnn()(data(5, 2, 3), data(2, 1, 4).transpose(0, 1)),
     Same(lambda: rnn()(data(5, 2, 3), data(2, 1, 4).transpose(0, 1).contiguous()))),
    # --- check_finite -----------------------------------------------------------------
    ("lstm-check-finite-nan", lambda: lstm(check_finite=True)(poisoned(5, 2, 3, at=(2, 1, 0), value=NAN)),
     Raises(ValueError, "input", "input: expected finite values, got nan at step 2, batch 1, feature 0")),
    ("gru-check-finite-inf-batch-first",
     lambda: gru(check_finite=True, batch_first=True)(poisoned(2, 5, 3, at=(1, 3, 2), value=INF)),
     Raises(ValueError, "input", "input: expected finite values, got inf at batch 1, step 3, feature 2")),
    ("rnn-check-finite-unbatched", lambda: rnn(check_finite=True)(poisoned(5, 3, at=(4, 1), value=-INF)),
     Raises(ValueError, "input", "input: expected finite values, got -inf at step 4, feature 1")),
    ("lstm-check-finite-packed",
     lambda: lstm(check_finite=True)(pack(poisoned(5, 2, 3, at=(1, 1, 1), value=NAN), [5, 3])),
     Raises(ValueError, "input", "input: expected finite values, got nan at step 1, batch 1, feature 1")),
    ("lstm-check-finite-state-h",
     lambda: lstm(check_finite=True)(data(5, 2, 3), (nan_h(), torch.zeros(1, 2, 4))),
     Raises(ValueError, "state.h", STATE_H)),
    ("gru-check-finite-state",
     lambda: gru(check_finite=True)(data(5, 2, 3), nan_h()),
     Raises(ValueError, "state.h", STATE_H)),
    ("lstm-check-finite-ignores-padding", lambda: lstm(check_finite=True)(padded(NAN), lengths=[5, 2]),
     Same(lambda: lstm()(padded(0.0), lengths=[5, 2]))),
    ("gru-check-finite-ignores-masked", lambda: gru(check_finite=True, batch_first=True)(
        padded(INF, batch_first=True), mask=torch.tensor([[True] * 5, [True, True] + [False] * 3])),
     Same(lambda: gru(batch_first=True)(padded(0.0, batch_first=True), lengths=[5, 2]))),
    ("lstm-step-check-finite", lambda: lstm(check_finite=True).step(poisoned(2, 3, at=(1, 2), value=NAN)),
     Raises(ValueError, "x", "x: expected finite values, got nan at batch 1, feature 2")),
    # --- step() -----------------------------------------------------------------------
    ("lstm-step-bidirectional", lambda: lstm(bidirectional=True).step(data(2, 3)),
     Raises(ValueError, "step")),
    ("gru-step-3d", lambda: gru().step(data(1, 2, 3)), Raises(ValueError, "x")),
    ("lstm-step-wrong-features", lambda: lstm().step(data(2, 4)),
     Raises(ValueError, "x", "x: expected 3 features (input_size) in the last dimension, got shape (2, 4)")),
    ("rnn-step-int64", lambda: rnn().step(data(2, 3).long()), Raises(TypeError, "x")),
    ("rnn-step-state-batch-mismatch", lambda: rnn().step(data(2, 3), rnn().initial_state(3)),
     Raises(ValueError, "state.h")),
    ("gru-engine-changed-to-bogus", lambda: with_engine(gru(), "gpu")(data(5, 2, 3)),
     Raises(ValueError, "engine")),
    # --- the streaming runtime --------------------------------------------------------
    ("stream-bidirectional", lambda: lstm(bidirectional=True).stream(1), Raises(ValueError, "stream")),
    ("stream-batch-zero", lambda: lstm().stream(0), Raises(ValueError, "batch_size")),
    ("stream-changing-batch", lambda: lstm().stream(2).step(data(3, 3)), Raises(ValueError, "x")),
    ("stream-wrong-features", lambda: lstm().stream(2).step(data(2, 4)), Raises(ValueError, "x")),
    ("stream-list-input", lambda: lstm().stream(2).step(wrong(data(2, 3).tolist())),
     Raises(TypeError, "x", "x: expected a Tensor of shape (2, 3) (N, H_in), got list")),
    ("stream-float64-input", lambda: lstm().stream(2).step(data(2, 3, dtype=torch.float64)),
     Raises(TypeError, "x")),
    ("stream-check-finite",
     lambda: lstm(check_finite=True).stream(2).step(poisoned(2, 3, at=(1, 2), value=NAN)),
     Raises(ValueError, "x", "x: expected finite values, got nan at batch 1, feature 2")),
    ("stream-check-finite-state",
     lambda: set_stream_state(lstm(check_finite=True).stream(2), (nan_h(),
                                                                torch.zeros(1, 2, 4))),
     Raises(ValueError, "state.h", STATE_H)),
    ("stream-state-wrong-shape", lambda: set_stream_state(lstm().stream(2), (torch.zeros(1, 3, 4),) * 2),
     Raises(ValueError, "state.h")),
    ("stream-out-wrong-shape", lambda: lstm().stream(2).step(data(2, 3), torch.empty(3, 4)),
     Raises(ValueError, "out")),
    ("stream-equals-eval-forward", lambda: lstm().eval().stream(2).step(data(2, 3)),
     Same(lambda: no_grad(lambda: lstm().eval()(data(2, 3)[None])[0][0]))),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), [pytest.param(c, e, id=i) for i, c, e in CASES])
def test_hostile(call: Callable[[], Any], expected: Raises | Warns | Same) -> None:
    if isinstance(expected, Raises):
        with pytest.raises(expected.error, match=f"^{re.escape(expected.name)}:") as info:
            call()
        message = str(info.value)
        assert "\n" not in message, f"the message is not one line: {message!r}"
        if expected.message is not None:
            assert message == expected.message
        return
    if isinstance(expected, Warns):
        with pytest.warns(expected.category, match=f"^{re.escape(expected.name)}:") as record:
            call()
        assert len(record) == 1 and "\n" not in str(record[0].message)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = call()
    want = expected.reference()
    got_t, want_t = tensors(got), tensors(want)
    assert len(got_t) == len(want_t) and got_t
    for a, b in zip(got_t, want_t):
        if a.device.type == "meta":
            assert a.shape == b.shape and a.dtype == b.dtype
        else:
            torch.testing.assert_close(a, b)


def test_catalogue_size() -> None:
    ids = [i for i, _, _ in CASES]
    assert len(ids) == len(set(ids)) >= 45


def test_dropout_warning_names_the_reason() -> None:
    with pytest.warns(UserWarning, match=r"^dropout: .*between layers only.*num_layers=1"):
        LSTM(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LSTM(3, 4, dropout=0.5, num_layers=2)
        GRU(3, 4, dropout=0.0)


def test_check_finite_is_an_attribute_off_by_default() -> None:
    for cls in (LSTM, GRU, RNN):
        assert cls(3, 4).check_finite is False
        layer = cls(3, 4, check_finite=True)
        assert layer.check_finite is True
        layer.check_finite = False
        layer(poisoned(5, 2, 3, at=(0, 0, 0), value=NAN))  # off again: no check


# ---------------------------------------------------------------------- padding
def lstm_configs() -> list[Any]:
    configs = {
        "classic": {},
        "bidirectional-stacked": dict(bidirectional=True, num_layers=2),
        "projection": dict(proj_size=3, num_layers=2),
        "layer-norm": dict(layer_norm=True, bidirectional=True),
        "vanilla": dict(variant="vanilla"),
        "fgr": dict(variant="fgr", num_layers=2),
        "original1997-zoneout": dict(variant="original1997", zoneout=0.2),
    }
    out = []
    for name, cfg in configs.items():
        classic = cfg.get("variant", "classic") == "classic" and not cfg.get("layer_norm")
        for engine in ("auto", "native", "fused", "reference"):
            if engine != "native" or classic:
                out.append(pytest.param(LSTM, cfg, engine, id=f"LSTM-{name}-{engine}"))
    return out


PADDING_CONFIGS = lstm_configs() + [
    pytest.param(cls, cfg, engine, id=f"{cls.__name__}-{name}-{engine}")
    for cls in (GRU, RNN)
    for name, cfg in (("plain", {}), ("bidirectional-stacked", dict(bidirectional=True, num_layers=2)))
    for engine in ("auto", "native", "reference")
]


def run_with_grads(layer: Any, x: Tensor, how: dict[str, Any]) -> list[Tensor]:
    x = x.clone().requires_grad_()
    torch.manual_seed(0)  # the same zoneout draws in every run
    out = layer(x, **how)
    loss = sum(t.square().sum() for t in tensors(out[1])) + out[0].square().sum()
    grads = torch.autograd.grad(loss, [x, *layer.parameters()])
    return [out[0], *tensors(out[1]), *grads]


# torch's kernel takes lengths, not masks with holes: those pairs are not generated
PADDING_CASES = [
    pytest.param(*p.values, holes, id=f"{p.id}-{'mask-with-holes' if holes else 'lengths'}")
    for p in PADDING_CONFIGS
    for holes in (False, True)
    if not (holes and p.values[2] == "native")
]


@pytest.mark.parametrize(("cls", "cfg", "engine", "holes"), PADDING_CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_padding_never_reaches_outputs_or_gradients(
    cls: type, cfg: dict, engine: str, dtype: torch.dtype, holes: bool
) -> None:
    torch.manual_seed(0)
    layer = cls(3, 5, dtype=dtype, engine=engine, **cfg)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.bool).T
    if holes:
        mask[2, 0] = False
    how: dict[str, Any] = dict(mask=mask) if holes else dict(lengths=[6, 4, 1])
    x = torch.randn(6, 3, 3, dtype=dtype)
    clean = torch.where(mask[..., None], x, 0.0)
    expected = run_with_grads(layer, clean, how)
    assert all(bool(t.isfinite().all()) for t in expected)
    for value in (NAN, INF, -INF, 1e30):
        dirty = torch.where(mask[..., None], x, value)
        got = run_with_grads(layer, dirty, how)
        for a, b in zip(got, expected):
            assert bool(a.isfinite().all()), f"padding {value} reached a result"
            torch.testing.assert_close(a, b, rtol=0, atol=0)


# ---------------------------------------------------------------------- torch's kernel and dtypes
ONEDNN = (
    "could not create a primitive descriptor for the LSTM forward propagation primitive. Run workload "
    "with environment variable ONEDNN_VERBOSE=all to get additional diagnostic information."
)


@pytest.fixture
def kernel_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's kernel fails as oneDNN does on a CPU without bfloat16 support."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(ONEDNN)

    monkeypatch.setattr(native, "_call", fail)
    monkeypatch.setattr(native, "_failures", {})


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_native_failure_for_a_low_precision_dtype_falls_back_once(cls: type, kernel_fails: None) -> None:
    layer = seeded(cls, 3, 4, dtype=torch.bfloat16)
    x = data(5, 2, 3).bfloat16()
    with pytest.warns(RuntimeWarning, match=r"torch.bfloat16.*reference path") as record:
        got = layer(x)
    assert len(record) == 1 and "\n" not in str(record[0].message)
    expected = with_engine(seeded(cls, 3, 4, dtype=torch.bfloat16), "reference")(x)
    for a, b in zip(tensors(got), tensors(expected)):
        torch.testing.assert_close(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the failure is remembered: no second try, no second warning
        layer(x)


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_native_failure_with_engine_native_is_one_line_naming_the_dtype(
    cls: type, kernel_fails: None
) -> None:
    layer = seeded(cls, 3, 4, dtype=torch.bfloat16, engine="native")
    with pytest.raises(RuntimeError, match=r"^engine='native': .*torch.bfloat16") as info:
        layer(data(5, 2, 3).bfloat16())
    assert "\n" not in str(info.value)


def test_native_failure_under_autocast_names_the_autocast_dtype(kernel_fails: None) -> None:
    layer = seeded(LSTM, 3, 4)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16)
    with torch.no_grad(), autocast, pytest.warns(RuntimeWarning, match=r"torch\.bfloat16"):
        out, _ = layer(data(5, 2, 3))
    assert out.shape == (5, 2, 4)


def test_native_failure_in_float32_is_not_hidden(kernel_fails: None) -> None:
    with torch.no_grad(), pytest.raises(RuntimeError, match=r"^could not create a primitive descriptor"):
        seeded(LSTM, 3, 4)(data(5, 2, 3))  # float32 inference: torch's kernel, whose error is real


def test_autocast_bfloat16_inference_is_close_to_float32() -> None:
    layer = seeded(LSTM, 3, 4)
    x = data(5, 2, 3)
    with torch.no_grad():
        expected, _ = layer(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got, _ = layer(x)
    torch.testing.assert_close(got.float(), expected, atol=0.05, rtol=0.05)


ENGINE_LAYERS = [
    pytest.param(cls, engine, id=f"{cls.__name__}-{engine}")
    for cls, engines in (
        (LSTM, ("auto", "native", "fused", "reference")),
        (GRU, ("auto", "native", "reference")),
    )
    for engine in engines
] + [pytest.param(RNN, "native", id="RNN-native")]


@pytest.mark.parametrize(("cls", "engine"), ENGINE_LAYERS)
def test_a_batch_of_empty_sequences_gives_zero_gradients(cls: type, engine: str) -> None:
    layer = seeded(cls, 3, 4, engine=engine, bidirectional=True)
    state = tensors(layer.initial_state(2))
    state = [s.add(1.0).requires_grad_() for s in state]
    out, final = layer(data(5, 2, 3), state[0] if len(state) == 1 else tuple(state), lengths=[0, 0])
    (out.sum() + sum(f.sum() for f in tensors(final))).backward()  # in the graph: no error
    assert bool((out == 0).all())
    for f, s in zip(tensors(final), state):
        torch.testing.assert_close(f, s.detach())  # the initial state, kept
        torch.testing.assert_close(s.grad, torch.ones_like(s))
    for p in layer.parameters():
        assert p.grad is not None and bool((p.grad == 0).all())

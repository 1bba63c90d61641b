"""Engine selection: every row of the policy table, the errors of an impossible request, the
fallbacks (each with one warning)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from tests.helpers import assert_close

import lstmkit.core.engines.select as select_module
from lstmkit.core.cells import (
    VARIANTS,
    GRUParams,
    LSTMParams,
    LSTMSpec,
    lstm_initial_state,
    lstm_param_shapes,
)
from lstmkit.core.engines.base import Call, Regularizers
from lstmkit.core.engines.fused import build
from lstmkit.core.engines.fused_engine import FUSED
from lstmkit.core.engines.native import NATIVE
from lstmkit.core.engines.reference import REFERENCE
from lstmkit.core.engines.select import (
    ENGINES,
    POLICY,
    engine_names,
    first_rule,
    onnx_native_lstm,
    policy_table,
    select,
)
from lstmkit.core.layers import GRU, LSTM, RNN

CLASSIC, VANILLA = VARIANTS["classic"], VARIANTS["vanilla"]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which engine the layers actually run (the real engines still run)."""
    seen: list[str] = []
    for engine in (NATIVE, FUSED, REFERENCE):
        real = engine.run

        def spy(call: Call, _real: Any = real, _label: str = engine.name) -> Any:
            seen.append(_label)
            return _real(call)

        monkeypatch.setattr(engine, "run", spy)
    return seen


@pytest.fixture
def no_extension(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The state of a machine without a compiler: the extension is unavailable."""
    monkeypatch.setenv(build.DISABLE_ENV, "1")
    build._reset()
    yield
    monkeypatch.delenv(build.DISABLE_ENV)
    build._reset()


def padded_mask(L: int = 6, lengths: tuple[int, ...] = (6, 3)) -> torch.Tensor:
    return torch.arange(L).unsqueeze(1) < torch.tensor(lengths).unsqueeze(0)


def lstm_call(
    spec: LSTMSpec,
    x: torch.Tensor,
    *,
    regularizers: Regularizers | None = None,
    mask: torch.Tensor | None = None,
    return_states: bool = False,
) -> Call:
    shapes = lstm_param_shapes(spec, x.shape[-1], 4)
    params = LSTMParams(**{k: torch.zeros(s, dtype=x.dtype, device=x.device) for k, s in shapes.items()})
    state = lstm_initial_state(spec, (x.shape[1],), 4, dtype=x.dtype, device=x.device)
    return Call(
        spec, x, state, params, mask, return_states=return_states, regularizers=regularizers or Regularizers()
    )


def gru_call(
    x: torch.Tensor, *, regularizers: Regularizers | None = None, mask: torch.Tensor | None = None
) -> Call:
    params = GRUParams(torch.zeros(12, x.shape[-1]), torch.zeros(12, 4))
    return Call(
        "gru", x, torch.zeros(x.shape[1], 4), params, mask, regularizers=regularizers or Regularizers()
    )


def chosen(engine: str, call: Call) -> str:
    return select(engine, call).name


def test_documented_table() -> None:
    x32, x64 = torch.randn(6, 2, 3), torch.randn(6, 2, 3, dtype=torch.float64)
    holes = padded_mask()
    holes[1, 0] = False
    zoneout = Regularizers(zoneout=(0.1, 0.1))
    cases = [
        (lstm_call(CLASSIC, x32), "native"),  # (inference: gradients off below)
        (lstm_call(CLASSIC, x32, mask=padded_mask()), "fused"),
        (lstm_call(CLASSIC, x64), "fused"),
        (lstm_call(CLASSIC, x32.to(torch.bfloat16)), "native"),
        (lstm_call(CLASSIC, x32, regularizers=zoneout), "fused"),
        (lstm_call(CLASSIC, x32, return_states=True), "fused"),
        (lstm_call(CLASSIC, x32, mask=holes), "fused"),
        (lstm_call(VANILLA, x32), "fused"),
        (lstm_call(CLASSIC.with_options(layer_norm=True), x64, mask=padded_mask()), "fused"),
    ]
    for call, expected in cases:
        with torch.no_grad():
            assert chosen("auto", call) == expected, (call.cell, call.x.dtype)
        assert chosen("reference", call) == "reference"
    # training (gradients on): the fused kernel for the classic cell too, torch's elsewhere
    assert chosen("auto", lstm_call(CLASSIC, x32)) == "fused"
    assert chosen("auto", lstm_call(CLASSIC, x32.to(torch.bfloat16))) == "native"


def test_every_row_of_the_policy_picks_its_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """One call per row of POLICY (the first row that runs a call wins); the rows of the
    exporters with their flags set as torch sets them while it traces (tests/export runs the
    exporters themselves)."""
    x32 = torch.randn(6, 2, 3)
    holes = padded_mask()
    holes[1, 0] = False
    dropout = Regularizers(x_mask=torch.ones(2, 3))
    rows = [
        (lstm_call(CLASSIC, x32), True, 4),  # training on the CPU: fused beats torch's kernel
        (lstm_call(CLASSIC, x32), False, 5),  # float32 inference without padding: torch's kernel
        (gru_call(x32), True, 5),  # a GRU: torch's kernel whenever it runs the call
        (lstm_call(VANILLA, x32), True, 6),  # a variant: the fused kernel
        (lstm_call(CLASSIC, x32, regularizers=dropout), True, 6),  # a custom regularizer
        (gru_call(x32, regularizers=dropout), True, 7),  # variational dropout in a GRU: the loop
        (gru_call(x32, mask=holes), False, 7),  # torch's kernel takes lengths, not holes
        (lstm_call(VANILLA, x32.to(torch.bfloat16)), False, 7),  # no fast path: the loop
    ]
    onnx = [
        (lstm_call(CLASSIC, x32), False, 0, True),  # to_onnx: ONNX's LSTM operator
        (lstm_call(CLASSIC.with_options(coupled=True), x32), False, 0, True),  # CIFG: input_forget
        (lstm_call(CLASSIC, x32, mask=padded_mask()), False, 1, True),  # padding: the Scan
        (lstm_call(CLASSIC.with_options(layer_norm=True), x32), False, 1, True),
        (lstm_call(CLASSIC, x32), False, 1, False),  # a plain torch.onnx.export: the Scan
        (gru_call(x32), False, 1, False),
    ]
    export = [(lstm_call(CLASSIC, x32), False, 2), (gru_call(x32), False, 3)]  # torch.export
    assert len(POLICY) == 8
    assert {r for *_, r in rows + export} | {r for _, _, r, _ in onnx} == set(range(len(POLICY)))

    def check(call: Call, grad: bool, row: int) -> None:
        with torch.set_grad_enabled(grad):
            assert first_rule(call)[0] == row, (call.family, call.cell, row)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert chosen("auto", call) == POLICY[row].engine

    for call, grad, row in rows:
        check(call, grad, row)
    monkeypatch.setattr(torch.compiler, "is_exporting", lambda: True)
    for call, grad, row in export:
        check(call, grad, row)
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    for call, grad, row, native in onnx:
        with onnx_native_lstm() if native else contextlib.nullcontext():
            check(call, grad, row)
    with onnx_native_lstm():  # an engine asked for by name has no ONNX form either
        assert chosen("fused", lstm_call(VANILLA.with_options(layer_norm=True), x32)) == "reference"


def test_the_table_is_printed_from_the_policy() -> None:
    table = policy_table()
    assert table in (select_module.__doc__ or "")
    for i, rule in enumerate(POLICY, 1):
        assert f"| {i} | {rule.engine} | {rule.when} |" in table
    out = subprocess.run(
        [sys.executable, "-m", "lstmkit.core.engines"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0 and out.stdout.strip() == table


def test_engine_names_per_family() -> None:
    assert engine_names("lstm") == ENGINES
    assert engine_names("gru") == engine_names("rnn") == ("auto", "native", "reference")
    with pytest.raises(ValueError, match=r"engine: expected one of \('auto', 'native', 'reference'\)"):
        select("fused", gru_call(torch.randn(5, 2, 3)))


def test_layer_runs_the_engine_the_table_names(calls: list[str]) -> None:
    x = torch.randn(5, 2, 3)
    with torch.no_grad():  # inference
        LSTM(3, 4)(x)
        LSTM(3, 4)(x, lengths=[5, 2])
        LSTM(3, 4, variant="cifg")(x)
        LSTM(3, 4, recurrent_dropout=0.3).eval()(x)  # inactive in evaluation: torch's kernel
        LSTM(3, 4, zoneout=0.2).eval()(x)  # zoneout blends states in evaluation too
        LSTM(3, 4, engine="reference")(x)
        LSTM(3, 4, engine="fused")(x)
    assert calls == ["native", "fused", "fused", "native", "fused", "reference", "fused"]
    calls.clear()
    LSTM(3, 4)(x)  # training: gradients on
    LSTM(3, 4, recurrent_dropout=0.3).train()(x)
    LSTM(3, 4, engine="native")(x)
    assert calls == ["fused", "fused", "native"]


def test_native_refuses_what_torch_cannot_do() -> None:
    with pytest.raises(ValueError, match=r"engine='native'.*classic cell.*'vanilla'"):
        LSTM(3, 4, variant="vanilla", engine="native")
    with pytest.raises(ValueError, match=r"engine='native'.*zoneout"):
        LSTM(3, 4, zoneout=0.1, engine="native")
    with pytest.raises(ValueError, match=r"engine='native'.*layer_norm|engine='native'.*classic"):
        LSTM(3, 4, layer_norm=True, engine="native")
    layer = LSTM(3, 4, engine="native")
    with pytest.raises(ValueError, match=r"engine='native'.*return_cell_states"):
        layer(torch.randn(5, 2, 3), return_cell_states=True)
    holes = torch.ones(5, 2, dtype=torch.bool)
    holes[2, 1] = False
    with pytest.raises(ValueError, match=r"engine='native'.*holes"):
        layer(torch.randn(5, 2, 3), mask=holes)
    with pytest.raises(ValueError, match=r"engine='native'.*variational dropout"):
        GRU(3, 4, input_dropout=0.2, engine="native").train()(torch.randn(5, 2, 3))
    with pytest.raises(ValueError, match=r"engine='native'.*holes"):
        RNN(3, 4, engine="native")(torch.randn(5, 2, 3), mask=holes)


def test_bad_engine_names_and_dtypes() -> None:
    with pytest.raises(ValueError, match="engine: expected one of"):
        LSTM(3, 4, engine="cudnn")
    layer = LSTM(3, 4)
    layer.engine = "fast"
    with pytest.raises(ValueError, match="engine: expected one of"):
        layer(torch.randn(5, 2, 3))
    layer = LSTM(3, 4, variant="vanilla", engine="fused", dtype=torch.bfloat16)
    with pytest.raises(ValueError, match=r"engine='fused'.*float32 and float64.*bfloat16"):
        layer(torch.randn(5, 2, 3, dtype=torch.bfloat16))
    assert ENGINES == ("auto", "native", "fused", "reference")


def test_fallback_warns_once_and_stays_correct(no_extension: None, calls: list[str]) -> None:
    torch.manual_seed(0)
    layer = LSTM(3, 4, variant="vanilla", num_layers=2, zoneout=0.2, dtype=torch.float64)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    outs = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for engine in ("auto", "auto", "fused"):  # a second call, then asked for explicitly
            layer.engine = engine
            torch.manual_seed(1)  # the same zoneout masks every call
            outs.append(layer(x)[0])
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages
    assert (
        "unavailable" in messages[0] and build.DISABLE_ENV in messages[0] and "reference path" in messages[0]
    )
    assert set(calls) == {"reference"}
    layer.engine = "reference"
    torch.manual_seed(1)
    ref, _ = layer(x)
    for out in outs:
        assert_close(out, ref, 0.0, "fallback output")
    # the classic cell still gets torch's kernel without the extension
    calls.clear()
    LSTM(3, 4)(torch.randn(5, 2, 3), lengths=[5, 3])
    assert calls == ["native"]


def test_build_command(no_extension: None) -> None:
    assert build.main([]) == 0  # unavailable is not an error for the setup...
    assert build.main(["--strict"]) == 1  # ...unless asked to be strict


def test_build_command_compiles_in_a_fresh_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lstmkit.core.engines.fused", "--strict"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "fused extension ready" in proc.stderr

"""Engine dispatch: the documented table, the errors of an impossible request, the fallback."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from tests.helpers import assert_close

import lstmkit.core.layers.lstm as lstm_module
from lstmkit.core.cells import VARIANTS
from lstmkit.core.engines.fused import build
from lstmkit.core.engines.select import ENGINES, select_engine
from lstmkit.core.layers import LSTM

CLASSIC, VANILLA = VARIANTS["classic"], VARIANTS["vanilla"]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which engine nn.LSTM actually runs (the real functions still run)."""
    seen: list[str] = []
    for name, label in (("lstm_native", "native"), ("lstm_fused", "fused"), ("run", "reference")):
        real = getattr(lstm_module, name)

        def spy(*args: Any, _real: Any = real, _label: str = label, **kwargs: Any) -> Any:
            seen.append(_label)
            return _real(*args, **kwargs)

        monkeypatch.setattr(lstm_module, name, spy)
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


def test_documented_table() -> None:
    x32, x64 = torch.randn(6, 2, 3), torch.randn(6, 2, 3, dtype=torch.float64)
    holes = padded_mask()
    holes[1, 0] = False
    cases = [
        (dict(spec=CLASSIC, x=x32), "native"),  # (inference: gradients off below)
        (dict(spec=CLASSIC, x=x32, mask=padded_mask()), "fused"),
        (dict(spec=CLASSIC, x=x64), "fused"),
        (dict(spec=CLASSIC, x=x32.to(torch.bfloat16)), "native"),
        (dict(spec=CLASSIC, x=x32, regularizers=("zoneout",)), "fused"),
        (dict(spec=CLASSIC, x=x32, return_states=True), "fused"),
        (dict(spec=CLASSIC, x=x32, mask=holes), "fused"),
        (dict(spec=VANILLA, x=x32), "fused"),
        (dict(spec=CLASSIC.with_options(layer_norm=True), x=x64, mask=padded_mask()), "fused"),
    ]
    for kwargs, expected in cases:
        spec, x = kwargs.pop("spec"), kwargs.pop("x")
        with torch.no_grad():
            assert select_engine("auto", spec, x, **kwargs) == expected, (spec, x.dtype, kwargs)
        assert select_engine("reference", spec, x, **kwargs) == "reference"
    # training (gradients on): the fused kernel for the classic cell too, torch's elsewhere
    assert select_engine("auto", CLASSIC, x32) == "fused"
    assert select_engine("auto", CLASSIC, x32.to(torch.bfloat16)) == "native"


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

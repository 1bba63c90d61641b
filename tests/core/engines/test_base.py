"""The engine protocol: every engine answers unsupported(call) and run(call) for the families it
names, a call names its family, and the regularizers name the options that are active."""

from __future__ import annotations

import torch

from lstmkit.core.cells import VARIANTS, GRUParams, RNNParams
from lstmkit.core.engines.base import Call, Engine, EngineFailure, Regularizers, Unavailable
from lstmkit.core.engines.fused_engine import FUSED
from lstmkit.core.engines.native import NATIVE
from lstmkit.core.engines.reference import REFERENCE
from lstmkit.core.scan import RunResult


def test_every_engine_has_the_protocol() -> None:
    engines: list[Engine] = [NATIVE, FUSED, REFERENCE]
    assert [e.name for e in engines] == ["native", "fused", "reference"]
    assert NATIVE.families == {"lstm", "gru", "rnn"}
    assert REFERENCE.families == {"lstm", "convlstm", "gru", "rnn"}
    assert FUSED.families == {"lstm", "convlstm"}
    params = GRUParams(torch.randn(12, 3), torch.randn(12, 4))
    call = Call("gru", torch.randn(5, 2, 3), torch.zeros(2, 4), params)
    for engine in (NATIVE, REFERENCE):
        assert engine.unsupported(call) is None
        result = engine.run(call)
        assert isinstance(result, RunResult) and result.output.shape == (5, 2, 4) and result.states is None


def test_a_call_names_its_family() -> None:
    x, h = torch.zeros(1, 1, 1), torch.zeros(1, 1)
    params = RNNParams(torch.zeros(1, 1), torch.zeros(1, 1))
    assert Call(VARIANTS["vanilla"], x, h, params).family == "lstm"
    assert Call("gru", x, h, params).family == "gru"
    assert Call("rnn_tanh", x, h, params).family == Call("rnn_relu", x, h, params).family == "rnn"
    assert Call("gru", x, h, params).regularizers == Regularizers()


def test_regularizers_name_the_active_options() -> None:
    assert Regularizers().active == ()
    ones = torch.ones(2, 3)
    every = Regularizers(x_mask=ones, h_mask=ones, weight_drop=0.5, zoneout=(0.0, 0.1))
    assert every.active == ("input_dropout", "recurrent_dropout", "weight_drop", "zoneout")
    assert Regularizers(zoneout=(0.0, 0.0), weight_drop=0.0).active == ()


def test_reasons_and_failures() -> None:
    reason = Unavailable("not built here")
    assert isinstance(reason, str) and reason == "not built here"
    err = EngineFailure("cannot", first=True)
    assert isinstance(err, RuntimeError) and err.first

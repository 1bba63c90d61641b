"""torch.export with dynamic batch and length (one node per layer call), and torch.compile
without a graph break at an lstmkit layer (training included)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from tests.helpers import assert_close
from torch import Tensor, nn

import lstmkit
from lstmkit.export.program import save_exported_program, to_exported_program


class Net(nn.Module):
    def __init__(self, layer: nn.Module, width: int) -> None:
        super().__init__()
        self.rnn, self.head = layer, nn.Linear(width, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.rnn(x)[0])


LAYERS = {
    "classic": lambda: lstmkit.LSTM(3, 4, variant="classic"),
    "fgr-bidirectional-stacked": lambda: lstmkit.LSTM(3, 4, variant="fgr", num_layers=2, bidirectional=True),
    "layer-norm-projection": lambda: lstmkit.LSTM(3, 4, variant="nig", layer_norm=True, proj_size=2),
    "gru": lambda: lstmkit.GRU(3, 4),
    "rnn": lambda: lstmkit.RNN(3, 4, nonlinearity="relu"),
}
WIDTH = {"fgr-bidirectional-stacked": 8, "layer-norm-projection": 2}


def net(name: str) -> Net:
    torch.manual_seed(0)
    return Net(LAYERS[name](), WIDTH.get(name, 4)).eval()


def calls(program: torch.export.ExportedProgram) -> list[str]:
    return [str(n.target) for n in program.graph.nodes if n.op == "call_function"]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_export_keeps_batch_and_length_free(name: str, tmp_path: Path) -> None:
    model = net(name)
    program = to_exported_program(model, torch.randn(5, 2, 3))
    targets = calls(program)
    loops = [t for t in targets if "fused_forward" in t or "scan" in t]
    per_call = 4 if name == "fgr-bidirectional-stacked" else 1  # layers x directions
    assert len(loops) == per_call, targets
    path = save_exported_program(program, tmp_path / "m.pt2")
    loaded = torch.export.load(str(path))
    for L, N in ((5, 2), (12, 1), (1, 6)):
        x = torch.randn(L, N, 3)
        with torch.no_grad():
            want = model(x)
        assert_close(program.module()(x), want, 1e-6)
        assert_close(loaded.module()(x), want, 1e-6)


def explain(model: nn.Module, *args: Any) -> Any:
    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch._dynamo.explain(model)(*args)


@pytest.mark.parametrize("variant", ["vanilla", "classic"])
def test_compile_has_no_graph_break_and_trains_like_eager(variant: str) -> None:
    torch.manual_seed(0)
    model = Net(lstmkit.LSTM(3, 4, variant=variant, num_layers=2, bidirectional=True), 8).train()
    x = torch.randn(6, 2, 3)
    report = explain(model, x)
    assert report.graph_break_count == 0 and report.graph_count == 1, report.break_reasons
    compiled = torch.compile(model, backend="aot_eager")
    got = compiled(x)
    want = model(x)
    assert_close(got, want, 1e-6)
    g_got = torch.autograd.grad(got.square().sum(), list(model.parameters()))
    g_want = torch.autograd.grad(want.square().sum(), list(model.parameters()))
    for a, b in zip(g_got, g_want):
        assert_close(a, b, 1e-5)
    x2 = torch.randn(9, 3, 3)  # another length and batch: the same graph
    assert_close(compiled(x2), model(x2), 1e-6)


def test_training_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="training mode"):
        to_exported_program(net("classic").train(), torch.randn(5, 2, 3))


class Traced(nn.Module):
    """A layer whose program returns its gate trace (the fused operator's ``gate_states``)."""

    def __init__(self, engine: str) -> None:
        super().__init__()
        self.lstm = lstmkit.LSTM(3, 4, num_layers=2, variant="cifg", engine=engine)

    def forward(self, x: Tensor) -> Any:
        return self.lstm(x, return_gates=True)[2]


@pytest.mark.parametrize("engine", ["fused", "reference"])
def test_a_program_returns_the_gate_trace(engine: str, tmp_path: Path) -> None:
    model = Traced(engine).eval()
    program = to_exported_program(model, torch.randn(5, 2, 3))
    loop = "fused_forward" if engine == "fused" else "scan"  # the reference engine: torch's scan
    assert any(loop in t for t in calls(program))
    loaded = torch.export.load(str(save_exported_program(program, tmp_path / "gates.pt2")))
    x = torch.randn(9, 3, 3)  # another length and batch
    with torch.no_grad():
        want = model(x)
    for got in (program.module()(x), loaded.module()(x)):
        assert isinstance(got, lstmkit.GateTrace)
        for a, b in zip(got, want):
            assert_close(a, b, 1e-6)

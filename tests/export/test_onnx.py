"""ONNX export: every variant and option with inference semantics runs in onnxruntime equal to
eager (float32, max abs diff <= 1e-5) at two sequence lengths and batch sizes from one file."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import Tensor, nn

import lstmkit
from lstmkit.core.cells import VARIANTS
from lstmkit.export.onnx import to_onnx

TOL = 1e-5


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Weights of magnitude ~0.5, so that every gate and peephole matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=gen) - 0.5)
    return model.eval()


class Tagger(nn.Module):
    """An LSTM and a linear head: what a user exports."""

    def __init__(self, **lstm: Any) -> None:
        super().__init__()
        self.lstm = lstmkit.LSTM(3, 5, **lstm)
        self.head = nn.Linear(self.lstm.output_size * self.lstm.num_directions, 2)

    def forward(self, x: Tensor) -> Tensor:
        y, _ = self.lstm(x)
        return self.head(y)


class Padded(nn.Module):
    """An LSTM over a padded batch (lengths as a graph input)."""

    def __init__(self, **lstm: Any) -> None:
        super().__init__()
        self.lstm = lstmkit.LSTM(3, 4, **lstm)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        y, (h, c) = self.lstm(x, lengths=lengths)
        return y, h, c


def run_onnx(path: Path, *inputs: Tensor) -> list[np.ndarray]:
    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return [np.asarray(y) for y in session.run(None, {n: t.numpy() for n, t in zip(names, inputs)})]


def max_diff(model: nn.Module, path: Path, *inputs: Tensor) -> float:
    with torch.no_grad():
        want = model(*inputs)
    want = [want] if isinstance(want, Tensor) else list(want)
    got = run_onnx(path, *inputs)
    return max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))


def operators(path: Path) -> set[str]:
    return {node.op_type for node in onnx.load(os.fspath(path)).graph.node}


def export(model: nn.Module, path: Path, *example: Tensor, **kwargs: Any) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return to_onnx(model, path, example, **kwargs)


# every Greff variant and the 1997 cell; those ONNX's LSTM operator computes use it
NATIVE = {"classic", "vanilla", "np", "cifg"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_equals_eager_at_two_lengths(variant: str, tmp_path: Path) -> None:
    model = randomize(Tagger(variant=variant))
    path = export(model, tmp_path / "m.onnx", torch.randn(6, 2, 3))
    ops = operators(path)
    assert ("LSTM" in ops) == (variant in NATIVE) and ("Scan" in ops) == (variant not in NATIVE), ops
    for L, N in ((6, 2), (13, 1)):
        assert max_diff(model, path, torch.randn(L, N, 3)) <= TOL


@pytest.mark.parametrize(
    "options",
    [
        dict(variant="vanilla", layer_norm=True, num_layers=2),
        dict(variant="vanilla", proj_size=3, bidirectional=True),
        dict(variant="classic", num_layers=2, bidirectional=True, batch_first=True),
        dict(variant="fgr", zoneout=0.2),  # zoneout in evaluation: its expectation
    ],
    ids=["layer-norm-stacked", "projection-bidirectional", "classic-stacked-bidirectional", "fgr-zoneout"],
)
def test_options_equal_eager(options: dict[str, Any], tmp_path: Path) -> None:
    model = randomize(Tagger(**options))
    path = export(model, tmp_path / "m.onnx", torch.randn(6, 2, 3))
    for L, N in ((6, 2), (11, 3)):
        assert max_diff(model, path, torch.randn(L, N, 3)) <= TOL


@pytest.mark.parametrize("variant", ["classic", "nig"])
def test_lengths_equal_eager_and_each_sequence_alone(variant: str, tmp_path: Path) -> None:
    model = randomize(Padded(variant=variant, bidirectional=True))
    path = export(model, tmp_path / "m.onnx", torch.randn(7, 3, 3), torch.tensor([7, 4, 2]))
    x, lengths = torch.randn(9, 4, 3), torch.tensor([9, 1, 5, 3])
    assert max_diff(model, path, x, lengths) <= TOL
    y = run_onnx(path, x, lengths)[0]
    alone = run_onnx(path, x[:5, 2:3], torch.tensor([5]))[0]  # the third sequence by itself
    np.testing.assert_allclose(y[:5, 2:3], alone, atol=TOL)
    assert np.all(y[5:, 2] == 0)  # padding outputs zeros


def test_plain_torch_onnx_export_writes_scans(tmp_path: Path) -> None:
    """The standard exporter works on a model with lstmkit layers (a Scan per layer call)."""
    model = randomize(Tagger(variant="classic"))
    dim = torch.export.Dim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.randn(6, 2, 3),),
            tmp_path / "plain.onnx",
            dynamo=True,
            dynamic_shapes=({0: dim("L", min=1), 1: dim("N", min=1)},),
        )
    assert "Scan" in operators(tmp_path / "plain.onnx")
    for L, N in ((6, 2), (10, 3)):
        assert max_diff(model, tmp_path / "plain.onnx", torch.randn(L, N, 3)) <= TOL


def test_native_and_scan_graphs_agree(tmp_path: Path) -> None:
    model = randomize(Tagger(variant="vanilla"))
    native = export(model, tmp_path / "native.onnx", torch.randn(6, 2, 3))
    scan = export(model, tmp_path / "scan.onnx", torch.randn(6, 2, 3), native=False)
    assert "LSTM" in operators(native) and "LSTM" not in operators(scan)
    x = torch.randn(8, 3, 3)
    np.testing.assert_allclose(run_onnx(native, x)[0], run_onnx(scan, x)[0], atol=TOL)


def test_bad_inputs_give_one_line_errors(tmp_path: Path) -> None:
    model = Tagger(variant="vanilla", recurrent_dropout=0.3)
    with pytest.raises(ValueError, match=r"training mode.*model\.eval\(\)") as err:
        to_onnx(model, tmp_path / "m.onnx", torch.randn(4, 2, 3))
    assert "\n" not in str(err.value)
    (tmp_path / "taken.onnx").write_text("mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        to_onnx(model.eval(), tmp_path / "taken.onnx", torch.randn(4, 2, 3))
    assert (tmp_path / "taken.onnx").read_text() == "mine"
    with pytest.raises(TypeError, match="example_inputs"):
        to_onnx(model, tmp_path / "m.onnx", "not a tensor")

"""``lstmkit export`` as a library call: :func:`export` writes a saved model's networks as ONNX
files (checked with onnxruntime against eager) or ``torch.export`` programs, with a JSON
sidecar saying what the inputs and outputs are and the preprocessing they need.

An ensemble (``--ensemble`` of ``run``/``forecast``/``classify``, the further members of a
sentiment model) gives one file per member, ``model.member0.onnx``, ``model.member1.onnx``, ...:
the members' outputs are combined after the graph, as each app does (the forecaster averages
its members' quantiles, then sorts them), which the sidecar states.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.apps.deploy.examples import Example, example, preprocessing
from lstmkit.apps.deploy.models import Loaded, load_model
from lstmkit.export.onnx import OPSET, check_onnx, to_onnx
from lstmkit.export.program import save_exported_program, to_exported_program
from lstmkit.io.atomic import atomic_write_text, check_output_file

__all__ = [
    "FORMATS",
    "ExportJobConfig",
    "ExportJobResult",
    "check_new",
    "export",
    "markdown_table",
    "max_diff",
]

log = logging.getLogger("lstmkit.deploy")

FORMATS = ("onnx", "exported-program")
_SUFFIX = {"onnx": ".onnx", "exported-program": ".pt2"}


@dataclass(frozen=True)
class ExportJobConfig:
    """The settings of :func:`export` (``lstmkit export``).

    Args:
        checkpoint: a model file of ``run``, ``forecast``, ``classify``, ``detect``, ``textgen``
            (or ``lstmkit compress``'s pruned files).
        format: ``"onnx"`` or ``"exported-program"`` (``.pt2``).
        quantize: ``"int8"`` is refused for both formats (lstmkit's int8 LSTM is a C++ kernel:
            neither an ONNX operator nor a serializable ``torch.export`` operator).
        output: the file to write (default: the checkpoint's path with ``.onnx``/``.pt2``);
            ensemble members get ``.member<k>`` before the suffix; the sidecar is ``<output>.json``.
        overwrite: replace existing files.
        echo: print the summary table to stdout.
    """

    checkpoint: str
    format: str = "onnx"
    quantize: str | None = None
    output: str | None = None
    overwrite: bool = False
    echo: bool = False


@dataclass(frozen=True)
class ExportJobResult:
    """The files written (one per network), the sidecar, and the largest difference of each
    file's outputs from the eager network's on the example inputs."""

    files: list[Path]
    sidecar: Path
    diffs: list[float]
    table: str


def check_format(config: ExportJobConfig) -> None:
    """One-line ``ValueError`` for an unknown format or an unsupported quantization."""
    if config.format not in FORMATS:
        raise ValueError(f"--format: expected one of {', '.join(FORMATS)}, got {config.format!r}")
    if config.quantize is None:
        return
    if config.quantize != "int8":
        raise ValueError(f"--quantize: expected int8, got {config.quantize!r}")
    why = {
        "onnx": "lstmkit's int8 LSTM is a C++ kernel, not an ONNX operator",
        "exported-program": "lstmkit's int8 LSTM runs outside torch.export's operators",
    }[config.format]
    raise ValueError(
        f"--quantize int8 with --format {config.format}: unsupported ({why}); export the float model, "
        "or use `lstmkit compress --method quantize` for int8 inference in Python"
    )


def check_new(paths: list[Path], overwrite: bool, what: str = "--output") -> None:
    """``FileExistsError`` naming the first of ``paths`` that exists (unless ``overwrite``);
    each path's folder checked writable."""
    for p in paths:
        check_output_file(p, what)
        if p.exists() and not overwrite:
            raise FileExistsError(f"{what}: {os.fspath(p)!r} exists; pass --overwrite to replace it")


def _paths(loaded: Loaded, base: Path) -> list[Path]:
    """One file per network: ``base``, or ``<stem>.member<k><suffix>`` for an ensemble."""
    if len(loaded.nets) == 1:
        return [base]
    return [base.with_name(f"{base.stem}.member{k}{base.suffix}") for k in range(len(loaded.nets))]


def max_diff(a: Any, b: Any) -> float:
    """The largest absolute difference of two tensors (first items of tuples)."""
    a = a[0] if isinstance(a, tuple) else a
    b = b[0] if isinstance(b, tuple) else b
    assert isinstance(a, Tensor) and isinstance(b, Tensor)
    return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0


def _write_one(view: nn.Module, ex: Example, path: Path, fmt: str) -> float:
    """Write one network; returns the largest difference of the written file from eager."""
    if fmt == "onnx":
        to_onnx(
            view,
            path,
            ex.args,
            shapes=ex.shapes,
            static_axes=ex.static_axes,
            input_names=ex.inputs,
            output_names=ex.outputs,
            overwrite=True,
        )
        return check_onnx(path, view, ex.args, ex.static_axes)
    program = to_exported_program(view, ex.args, shapes=ex.shapes)
    save_exported_program(program, path, overwrite=True)
    with torch.no_grad():
        return max_diff(torch.export.load(path).module()(*ex.args), view(*ex.args))


def _sidecar(
    loaded: Loaded, ex: Example, files: list[Path], config: ExportJobConfig, vocab: Path | None
) -> str:
    doc = {
        "checkpoint": os.fspath(loaded.path),
        "kind": loaded.kind.name,
        "format": config.format,
        "opset": OPSET if config.format == "onnx" else None,
        "files": [p.name for p in files],
        "ensemble": "one file per member; average the members' outputs (the forecaster: average "
        "the quantiles, then sort them)"
        if len(files) > 1
        else None,
        "inputs": [
            {"name": n, "example_shape": list(a.shape), "dtype": str(a.dtype).replace("torch.", "")}
            for n, a in zip(ex.inputs, ex.args)
            if isinstance(a, Tensor)
        ],
        "outputs": ex.outputs,
        "dynamic_axes": "axis 0 (batch)" + (" and axis 1 (length)" if ex.static_axes is None else ""),
        "compression": loaded.method,
        "preprocessing": preprocessing(loaded, vocab.name if vocab else None),
    }
    return json.dumps(doc, indent=2, default=str) + "\n"


def export(config: ExportJobConfig) -> ExportJobResult:
    """Export every network of ``config.checkpoint`` (module docstring); nothing is written
    when a check fails first (format, kind, existing files)."""
    check_format(config)
    loaded = load_model(config.checkpoint)
    ex = example(loaded)
    if ex.refused:
        raise ValueError(
            f"--format {config.format}: exporting {ex.refused} is unsupported; "
            "supported: forecaster, classifier, detector, lm (textgen) files"
        )
    if loaded.method is not None and loaded.method.get("name") == "quantize":
        raise ValueError(
            f"checkpoint: an int8 model file; --format {config.format} of int8 networks is unsupported "
            "(export the float model)"
        )
    base = Path(config.output) if config.output else loaded.path.with_suffix(_SUFFIX[config.format])
    files = _paths(loaded, base)
    sidecar = base.with_name(base.name + ".json")
    vocab = base.with_name(base.name + ".vocab.json") if loaded.tokenizers else None
    check_new([*files, sidecar, *([vocab] if vocab else [])], config.overwrite)
    diffs = []
    for k, (net, path) in enumerate(zip(loaded.nets, files)):
        log.info("export: network %d of %d -> %s", k + 1, len(files), path)
        diffs.append(_write_one(ex.view(net).eval(), ex, path, config.format))
    if vocab is not None:
        atomic_write_text(
            vocab, json.dumps(loaded.tokenizers["text"].state_dict(), ensure_ascii=False) + "\n"
        )
    atomic_write_text(sidecar, _sidecar(loaded, ex, files, config, vocab))
    rows = [[p.name, f"{p.stat().st_size:,}", f"{d:.2e}"] for p, d in zip(files, diffs)]
    check = "max abs diff vs eager (onnxruntime)" if config.format == "onnx" else "max abs diff vs eager"
    table = markdown_table(["file", "bytes", check], rows)
    if config.echo:
        print(table)
    log.info("export: sidecar %s", sidecar)
    return ExportJobResult(files, sidecar, diffs, table)


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table of ``rows`` under ``headers``."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)

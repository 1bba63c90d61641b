"""``lstmkit compress`` as a library call: :func:`compress` makes a saved model smaller.

* ``quantize``: :func:`lstmkit.compress.quantize_dynamic` on every network (int8 weights, int8
  products in lstmkit's kernel; CPU inference), written as a compressed model file
  (:mod:`lstmkit.apps.deploy.models`: :func:`~lstmkit.apps.deploy.models.load_model` reads it,
  ``.estimator.predict`` or ``.nets`` run it); every kind.
* ``prune``: :func:`~lstmkit.compress.prune_magnitude` (``amount`` of the weights of each
  tensor set to zero, the masks made permanent by :func:`~lstmkit.compress.remove_pruning`),
  written as a file of the same kind (every kind); with ``structured``,
  :func:`~lstmkit.compress.prune_units` removes ``amount`` of the hidden units: a file of the
  same kind with the new ``hidden_size`` where the app rebuilds the smaller networks from its
  config (the language model, the LSTM classifier), a compressed model file otherwise (the
  forecaster's direct head, ...). Refused: encoder-decoder networks (the seq2seq forecaster,
  translate), attention pooling, layer norm (each with a one-line error).
* ``distill``: the language model of ``textgen`` only (:mod:`lstmkit.apps.deploy.distill_lm`).

Every file written is read back with :func:`~lstmkit.apps.deploy.models.load_model` and its
outputs compared with the compressed networks' before the summary is printed.
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.apps.deploy.distill_lm import DistillSettings, distill_lm
from lstmkit.apps.deploy.examples import example
from lstmkit.apps.deploy.job import check_new, markdown_table, max_diff
from lstmkit.apps.deploy.models import Loaded, build, hidden_sizes, load_model, save_model
from lstmkit.compress import prune_magnitude, prune_units, quantize_dynamic, remove_pruning

__all__ = ["METHODS", "CompressJobConfig", "CompressJobResult", "compress"]

log = logging.getLogger("lstmkit.deploy")

METHODS = ("quantize", "prune", "distill")
_SUFFIX = {"quantize": ".int8.pt", "prune": ".pruned.pt", "distill": ".distilled.pt"}


@dataclass(frozen=True)
class CompressJobConfig:
    """The settings of :func:`compress` (``lstmkit compress``).

    Args:
        checkpoint: a model file of ``run``, ``forecast``, ``classify``, ``detect``, ``textgen``,
            ``sentiment`` or ``translate``.
        method: ``"quantize"``, ``"prune"`` or ``"distill"``.
        amount: the share of weights (or, ``structured``, hidden units) pruned, in [0, 1).
        structured: prune whole hidden units (smaller layers) instead of single weights.
        output: the file to write (default: the checkpoint with ``.int8.pt``, ``.pruned.pt``
            or ``.distilled.pt``).
        overwrite: replace an existing file.
        distill: the student and its training (``method="distill"``).
        echo: print the summary table to stdout.
    """

    checkpoint: str
    method: str
    amount: float = 0.5
    structured: bool = False
    output: str | None = None
    overwrite: bool = False
    distill: DistillSettings = field(default_factory=DistillSettings)
    echo: bool = False


@dataclass(frozen=True)
class CompressJobResult:
    """The file written, the summary's rows (original, then compressed) and the largest output
    difference from the original networks on the example inputs (``None`` for distillation)."""

    output: Path
    rows: list[list[Any]]
    max_diff: float | None
    table: str


def _weights(nets: list[nn.Module]) -> tuple[int, int]:
    """Stored weights and nonzero weights of ``nets`` (tensors of their state dicts, int8 ones
    included; a tied tensor counted once)."""
    held: dict[tuple[int, int, str], Tensor] = {}  # kept alive, so no address is reused
    for net in nets:
        for value in net.state_dict().values():
            for t in value if isinstance(value, tuple) else (value,):
                if isinstance(t, Tensor) and t.dim() > 0:
                    dense = t.dequantize() if t.is_quantized else t
                    key = (t.data_ptr(), t.numel(), str(t.dtype)) if not t.is_quantized else (id(t), 0, "q")
                    held[key] = dense
    total = sum(t.numel() for t in held.values())
    return total, sum(int(torch.count_nonzero(t)) for t in held.values())


def _outputs_diff(loaded: Loaded, before: list[nn.Module], after: list[nn.Module]) -> float:
    """The largest difference of the networks' outputs on the example inputs."""
    ex = example(loaded)
    with torch.no_grad():
        return max(max_diff(a(*ex.args), b(*ex.args)) for a, b in zip(before, after))


def _quantize(loaded: Loaded, config: CompressJobConfig, out: Path) -> list[nn.Module]:
    nets = [quantize_dynamic(net) for net in loaded.nets]
    save_model(loaded, nets, out, method={"name": "quantize"})
    return nets


def _prune_magnitude(loaded: Loaded, config: CompressJobConfig, out: Path) -> list[nn.Module]:
    nets = []
    for net in loaded.nets:
        pruned = copy.deepcopy(net)
        report = prune_magnitude(pruned, config.amount)
        log.info("prune: %.1f%% of %d weights set to zero", 100 * report.share, report.total)
        nets.append(remove_pruning(pruned).eval())
    save_model(loaded, nets, out)
    return nets


def _consumers(loaded: Loaded) -> dict[str, Any] | None:
    """The linear layer reading each LSTM's output where :func:`prune_units` cannot find it
    alone; a one-line ``ValueError`` for networks whose structure pruning would break."""
    name, cfg = loaded.kind.name, loaded.config
    refused = {
        "translate": "translate models (the encoder's state starts the decoder)",
        "forecaster": "seq2seq forecasters (the encoder's state starts the decoder)"
        if cfg.get("strategy") == "seq2seq"
        else None,
        "sentiment": "sentiment models with attention pooling" if cfg.get("pooling") == "attention" else None,
    }.get(name)
    if refused:
        raise ValueError(
            f"--structured: pruning units of {refused} is unsupported; prune weights without --structured"
        )
    if name == "forecaster":  # its LSTM sits in a SequenceEncoder (a bare LSTM in older files)
        lstm = "encoder.layer" if hasattr(loaded.nets[0].get_submodule("encoder"), "layer") else "encoder"
        return {lstm: ["head.0", 0]} if cfg["strategy"] == "direct" else {lstm: "head"}
    if name == "sentiment":
        return {"lstm": "head"}
    return None


def _prune_units(loaded: Loaded, config: CompressJobConfig, out: Path) -> list[nn.Module]:
    consumers = _consumers(loaded)
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in (consumers or {}).items()}
    try:
        nets = [
            prune_units(copy.deepcopy(net), config.amount, consumers=given or None).eval()
            for net in loaded.nets
        ]
    except ValueError as exc:
        raise ValueError(f"--structured: {exc}") from None
    sizes = sorted(set(hidden_sizes(nets[0])))
    log.info("prune: hidden units %s -> %s", hidden_sizes(loaded.nets[0]), hidden_sizes(nets[0]))
    if len(sizes) == 1:
        new = {"hidden_size": sizes[0]}
        payload = {**loaded.payload, "config": {**loaded.config, **new}}
        states = [dict(net.state_dict()) for net in nets]
        try:
            build(loaded.kind, payload, states, None)
        except (RuntimeError, ValueError, TypeError):
            log.info("prune: the %s's config cannot describe the smaller networks", loaded.kind.name)
        else:
            save_model(loaded, nets, out, config=new)
            return nets
    method = {"name": "prune-units", "amount": config.amount, "consumers": consumers}
    save_model(loaded, nets, out, method=method)
    log.info("prune: written as a compressed model file (lstmkit.apps.deploy.models.load_model reads it)")
    return nets


def _check_config(config: CompressJobConfig) -> None:
    if config.method not in METHODS:
        raise ValueError(f"--method: expected one of {', '.join(METHODS)}, got {config.method!r}")
    if not 0 <= config.amount < 1:
        raise ValueError(f"--amount: expected a share in [0, 1), got {config.amount}")
    if config.structured and config.method != "prune":
        raise ValueError(f"--structured: only with --method prune, got --method {config.method}")


def compress(config: CompressJobConfig) -> CompressJobResult:
    """Compress ``config.checkpoint`` (module docstring) and write the result."""
    _check_config(config)
    loaded = load_model(config.checkpoint)
    if loaded.method is not None:
        raise ValueError(
            f"checkpoint: already compressed ({loaded.method['name']}); compress the original model file"
        )
    out = (
        Path(config.output)
        if config.output
        else loaded.path.with_name(loaded.path.stem + _SUFFIX[config.method])
    )
    check_new([out], config.overwrite)
    if os.path.abspath(out) == os.path.abspath(loaded.path):
        raise ValueError("--output: the checkpoint itself; write the compressed model to another file")
    diff: float | None = None
    if config.method == "distill":
        nets, quality = distill_lm(loaded, config.distill, out)
    else:
        run = {"quantize": _quantize, "prune": _prune_units if config.structured else _prune_magnitude}
        nets = run[config.method](loaded, config, out)
        reloaded = load_model(out)
        if _outputs_diff(loaded, nets, reloaded.nets) > 1e-6:
            raise ValueError(f"--output: {os.fspath(out)!r} does not load back to the compressed networks")
        diff, quality = _outputs_diff(loaded, loaded.nets, nets), None
    rows = _rows(loaded, nets, out, diff, quality)
    headers = ["model", "file bytes", "weights", "nonzero", "hidden", "max abs diff"]
    headers += [quality[0]] if quality else []
    table = markdown_table(headers, rows)
    if config.echo:
        print(table)
    return CompressJobResult(out, rows, diff, table)


def _rows(
    loaded: Loaded,
    nets: list[nn.Module],
    out: Path,
    diff: float | None,
    quality: tuple[str, float, float] | None,
) -> list[list[Any]]:
    rows = []
    for label, path, members, d in (
        ("original", loaded.path, loaded.nets, "-"),
        ("compressed", out, nets, diff),
    ):
        total, nonzero = _weights(members)
        row = [f"{label} ({path.name})", f"{path.stat().st_size:,}", f"{total:,}", f"{nonzero:,}"]
        row += [
            "x".join(map(str, hidden_sizes(members[0]))),
            d if isinstance(d, str) else f"{d:.2e}" if d is not None else "-",
        ]
        if quality:
            row.append(f"{quality[1] if label == 'original' else quality[2]:.3f}")
        rows.append(row)
    return rows

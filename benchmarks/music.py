"""Polyphonic music on the Bach chorales of music21's corpus, for docs/music.md.

The chorales (:mod:`lstmkit.apps.music.data`: quarter-note piano rolls, not transposed, the
fixed 60/20/20 split by chorale) are predicted frame by frame by

* the counting baselines of :mod:`lstmkit.apps.music.baselines` (per-pitch marginal; repeat the
  previous frame, a smoothed two-state chain per pitch), fitted on the training chorales;
* :class:`~lstmkit.apps.music.estimator.ChoraleLSTM` in a few sizes (``GRID``), each trained
  on the training chorales with early stopping on the validation chorales' NLL; the one of the
  lowest validation NLL is the result;
* the same network with a GRU, a causal Transformer (2 blocks) and a TCN (4 residual blocks)
  in the LSTM 128's place, each at the width whose parameter count is nearest the LSTM 128's
  (:func:`~lstmkit.apps.music.estimator.matched_hidden_size`, within 10%), and the LSTM 128
  itself, each at the learning rate of ``RATES`` with the lowest validation NLL (same epochs,
  patience and batches for all).

It prints two tables (test NLL per frame in nats, Bay et al.'s frame accuracy, validation NLL,
parameters, epochs, seconds) and writes ``benchmarks/results/music.json`` (``music-quick.json``
with ``--quick``). Progress and logs go to stderr.

    OMP_NUM_THREADS=1 python benchmarks/music.py           # the study of docs/music.md
    OMP_NUM_THREADS=1 python benchmarks/music.py --quick   # two small settings, a few epochs
    OMP_NUM_THREADS=1 python benchmarks/music.py --only-architectures   # the second table only
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from common import load_average
from lstmkit.apps.music.baselines import score_baselines
from lstmkit.apps.music.data import load_chorales
from lstmkit.apps.music.estimator import DEFAULT_LAYERS, ChoraleLSTM, matched_hidden_size
from lstmkit.apps.music.model import PolyphonicNet
from lstmkit.core.layers.encoder import count_parameters
from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.html import format_table

RESULTS = Path("benchmarks/results")
#: the LSTMs tried: (name, settings of ChoraleLSTM)
GRID: list[tuple[str, dict[str, Any]]] = [
    ("LSTM 128", {"hidden_size": 128, "dropout": 0.0}),
    ("LSTM 128, dropout 0.3", {"hidden_size": 128, "dropout": 0.3}),
    ("LSTM 256, dropout 0.5", {"hidden_size": 256, "dropout": 0.5}),
    ("LSTM 2x128, dropout 0.3", {"hidden_size": 128, "num_layers": 2, "dropout": 0.3}),
]
TRAIN: dict[str, Any] = {"max_epochs": 250, "patience": 15, "batch_size": 16, "lr": 3e-3, "seed": 0}
QUICK_TRAIN: dict[str, Any] = {**TRAIN, "max_epochs": 5, "patience": 2}
COLUMNS = ["model", "test_nll", "test_accuracy", "valid_nll", "params", "epochs", "seconds"]
#: the architectures compared at the LSTM 128's parameter count, and the rates tried for each
ARCHITECTURES = {"lstm": "LSTM", "gru": "GRU", "transformer": "Transformer", "tcn": "TCN"}
RATES = (1e-3, 3e-3)
ARCH_COLUMNS = [
    "model",
    "test_nll",
    "test_accuracy",
    "valid_nll",
    "lr",
    "width",
    "params",
    "epochs",
    "seconds",
]


def _baseline_rows(train: list[Any], valid: list[Any], test: list[Any]) -> list[dict[str, Any]]:
    on_valid, on_test = score_baselines(train, valid), score_baselines(train, test)
    return [
        {
            "model": name,
            "test_nll": on_test[name]["nll"],
            "test_accuracy": on_test[name]["accuracy"],
            "valid_nll": on_valid[name]["nll"],
            "params": 0,
            "epochs": 0,
            "seconds": 0.0,
        }
        for name in on_test
    ]


def _lstm_row(name: str, options: dict[str, Any], data: tuple[list[Any], ...], low: int) -> dict[str, Any]:
    train, valid, test = data
    model = ChoraleLSTM(**options, progress=True).fit(train, valid, low=low)
    scored = model.score(test)
    return {
        "model": name,
        "test_nll": scored["nll"],
        "test_accuracy": scored["accuracy"],
        "valid_nll": model.score(valid)["nll"],
        "params": count_parameters(model.nets_[0]),
        "epochs": len(model.history_["train_loss"]),
        "best_epoch": int(model.history_["best_epoch"][0]) + 1,
        "seconds": model.fit_seconds_,
        "settings": options,
    }


def _architecture_rows(
    data: tuple[list[Any], ...], low: int, pitches: int, train: dict[str, Any], rates: tuple[float, ...]
) -> list[dict[str, Any]]:
    """Each of :data:`ARCHITECTURES` at the LSTM 128's parameter count, at the rate of ``rates``
    with the lowest validation NLL (the other rates' rows kept under ``tried``)."""
    reference = count_parameters(PolyphonicNet(pitches, 128))
    rows = []
    for arch, label in ARCHITECTURES.items():
        layers = DEFAULT_LAYERS.get(arch, 1)
        width = 128 if arch == "lstm" else matched_hidden_size(arch, pitches, reference, layers)[0]
        size = {"architecture": arch, "hidden_size": width, "num_layers": layers}
        tried = []
        for lr in rates:
            print(f"{label} width {width} lr {lr:g} ...", file=sys.stderr, flush=True)
            row = _lstm_row(f"{label} {width}", {**train, **size, "lr": lr}, data, low)
            tried.append(row | {"lr": lr, "width": width, "ratio": row["params"] / reference})
        best = min(tried, key=lambda r: r["valid_nll"])
        rows.append(best | {"tried": [{k: r[k] for k in ("lr", "valid_nll", "test_nll")} for r in tried]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="Polyphonic music on the Bach chorales (docs/music.md).")
    parser.add_argument("--quick", action="store_true", help="two small settings, a few epochs")
    parser.add_argument(
        "--only-architectures", action="store_true", help="the architectures table only (no LSTM grid)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    chorales = load_chorales(1)
    data = tuple(chorales.split(s) for s in ("train", "valid", "test"))
    rows = _baseline_rows(*data)
    grid = [] if args.only_architectures else GRID[:2] if args.quick else GRID
    train = QUICK_TRAIN if args.quick else TRAIN
    for name, options in grid:
        print(f"{name} ...", file=sys.stderr, flush=True)
        rows.append(_lstm_row(name, {**train, **options}, data, chorales.low))
    lstms = [r for r in rows if r["epochs"]]
    best = min(lstms, key=lambda r: r["valid_nll"]) if lstms else {"model": "-"}
    rates = RATES[1:] if args.quick else RATES
    arch_rows = _architecture_rows(data, chorales.low, chorales.pitches, train, rates)
    summary = {
        "chorales": {s: len(d) for s, d in zip(("train", "valid", "test"), data, strict=True)},
        "frames": {s: sum(len(r) for r in d) for s, d in zip(("train", "valid", "test"), data, strict=True)},
        "pitch_range": [chorales.low, chorales.low + chorales.pitches - 1],
        "resolution": chorales.resolution,
        "rows": rows,
        "architectures": arch_rows,
        "rates": rates,
        "chosen_on_valid": best["model"],
        "train": train,
        "torch_threads": torch.get_num_threads(),
        "load_average": load_average(),
        "total_seconds": time.perf_counter() - t0,
    }
    print(
        f"Bach chorales (music21), quarter-note rolls, pitches {summary['pitch_range']}, "
        f"chorales {summary['chorales']}, frames {summary['frames']}"
    )
    print("test NLL in nats per frame; accuracy: Bay et al. TP/(TP+FP+FN) at p > 0.5")
    print(format_table(rows, COLUMNS, floatfmt=".4g"))
    print(f"chosen on validation NLL: {best['model']}; load average {summary['load_average']}")
    print(f"\nat the LSTM 128's parameter count, each at its best rate of {rates} on validation NLL")
    print(format_table(arch_rows, ARCH_COLUMNS, floatfmt=".4g"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "music-quick" if args.quick else "music-architectures" if args.only_architectures else "music"
    out = RESULTS / f"{name}.json"
    atomic_write_text(out, json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()

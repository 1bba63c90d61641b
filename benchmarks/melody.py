"""A melody language model on the Essen folk songs of music21's corpus, for docs/music.md.

The tunes (:mod:`lstmkit.apps.music.melody`: one token per note or rest, transposed to no key
signature, the fixed 80/10/10 split by tune) are predicted token by token by

* interpolated Witten-Bell n-grams of orders 1, 2 and 3 (counts of the training tunes);
* :class:`~lstmkit.apps.music.melody_lm.MelodyLM` with an LSTM (``WIDTH`` units) and with a GRU
  of the width whose parameter count is nearest the LSTM's, each trained with the same epochs,
  patience, batches and rate, early-stopped on the validation tunes.

It prints the table (test NLL per event in nats and bits, validation NLL, parameters, epochs,
seconds) and writes ``benchmarks/results/melody.json`` (``melody-quick.json`` with ``--quick``).

    OMP_NUM_THREADS=1 python benchmarks/melody.py           # the study of docs/music.md
    OMP_NUM_THREADS=1 python benchmarks/melody.py --quick   # five small files, a few epochs
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch

from common import load_average
from lstmkit.apps.music.melody import SPLITS, load_melodies
from lstmkit.apps.music.melody_job import ngram_rows, size_of
from lstmkit.apps.music.melody_lm import MelodyLM, vocabulary
from lstmkit.core.layers.encoder import count_parameters
from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.html import format_table

RESULTS = Path("benchmarks/results")
WIDTH = 256
EMBEDDING = 64
TRAIN: dict[str, Any] = {
    "max_epochs": 40,
    "patience": 3,
    "batch_size": 32,
    "lr": 3e-3,
    "dropout": 0.2,
    "seed": 0,
}
QUICK_TRAIN: dict[str, Any] = {**TRAIN, "max_epochs": 4, "patience": 1}
QUICK_FILES = ["erk5.abc", "test0.abc", "test1.abc", "testd.abc", "teste.abc"]
COLUMNS = ["model", "test_nll", "test_bits", "valid_nll", "params", "epochs", "seconds"]


def _network_row(
    architecture: str, hidden: int, train: dict[str, Any], data: tuple[list[Any], ...]
) -> tuple[dict[str, Any], MelodyLM]:
    fit, valid, test = data
    print(f"{architecture} {hidden} ...", file=sys.stderr, flush=True)
    model = MelodyLM(embedding_size=EMBEDDING, hidden_size=hidden, architecture=architecture, **train)
    model.fit(fit, valid)
    scored = model.score(test)
    row = {
        "model": f"{architecture.upper()} {hidden}",
        "test_nll": scored["nll"],
        "test_bits": scored["bits"],
        "valid_nll": model.score(valid)["nll"],
        "params": count_parameters(model.nets_[0]),
        "epochs": len(model.history_["train_loss"]),
        "best_epoch": int(model.history_["best_epoch"][0]) + 1,
        "seconds": model.fit_seconds_,
        "test_unk": scored["unk"],
        "test_events": scored["events"],
    }
    return row, model


def main() -> None:
    parser = argparse.ArgumentParser(description="A melody LM on music21's Essen folk songs (docs/music.md).")
    parser.add_argument("--quick", action="store_true", help="five small files, a few epochs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    tunes = load_melodies(QUICK_FILES if args.quick else None)
    load_seconds = time.perf_counter() - t0
    data = tuple(tunes.split(s) for s in SPLITS)
    train = QUICK_TRAIN if args.quick else TRAIN
    vocab = len(vocabulary(data[0]))
    gru_width, reference = size_of("gru", vocab, EMBEDDING, 1, None)
    rows, models = [], []
    for arch, width in (("lstm", WIDTH), ("gru", gru_width)):
        row, model = _network_row(arch, width, train, data)
        rows.append(row | {"ratio": row["params"] / reference})
        models.append(model)
    on_valid = {r["model"]: r["test_nll"] for r in ngram_rows(models[0], data[0], data[1])}
    for r in ngram_rows(models[0], data[0], data[2]):
        rows.append(r | {"valid_nll": on_valid[r["model"]], "epochs": 0, "seconds": 0.0})
    sample = models[0].generate(48, primer=data[2][0][:8], temperature=1.0, seed=0)
    summary = {
        "tunes": {s: len(d) for s, d in zip(SPLITS, data, strict=True)},
        "events": {s: sum(len(t) + 1 for t in d) for s, d in zip(SPLITS, data, strict=True)},
        "vocabulary": vocab,
        "rows": rows,
        "train": train,
        "embedding": EMBEDDING,
        "sample_after_test_tune_0": sample,
        "load_seconds": load_seconds,
        "torch_threads": torch.get_num_threads(),
        "load_average": load_average(),
        "total_seconds": time.perf_counter() - t0,
    }
    print(
        f"Essen folk songs (music21): tunes {summary['tunes']}, events {summary['events']}, "
        f"vocabulary {vocab}"
    )
    print(f"test NLL per event (every note or rest and each tune's end); 1 nat = {1 / math.log(2):.4f} bits")
    print(format_table(rows, COLUMNS, floatfmt=".4g"))
    print(f"load average {summary['load_average']}; {summary['total_seconds']:.0f} s in all")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("melody-quick.json" if args.quick else "melody.json")
    atomic_write_text(out, json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Interpretable units of character language models: `make bench-units` (or `python benchmarks/units.py`).

For each study (a corpus, its lines as they are or wrapped at 80 columns), trains a 2x256
character LM with ``lstmkit textgen train`` (one torch thread, a
budget of training CPU seconds), then runs it over the first ``--chars`` characters of the
validation split, correlates every layer's cell state c and hidden state h with named properties
of the text (:func:`lstmkit.apps.language.units.text_properties`) and prints the best units of
every property. Writes ``runs/units-<name>/units/units.html`` (the text coloured by the best
unit of each property), ``docs/images/units-<name>-<property>.png`` for the two strongest
properties a unit must remember (not the current character itself) and
``benchmarks/results/units.json``.

    OMP_NUM_THREADS=1 python benchmarks/units.py                        # train both, then search
    OMP_NUM_THREADS=1 python benchmarks/units.py --reuse --only pydoc   # search a trained model again
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch

from common import run_lstmkit

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs"
IMAGES = ROOT / "docs" / "images"
RESULTS = ROOT / "benchmarks" / "results" / "units.json"

#: the ``lstmkit textgen train`` options every study shares (a study's own options win)
BASE: dict[str, str] = {
    "--tokenizer": "char",
    "--embed-dim": "64",
    "--hidden-size": "256",
    "--layers": "2",
    "--bptt": "64",
    "--batch-size": "32",
    "--lr": "5e-3",
    "--budget-clock": "cpu",
    "--ngram-orders": "",
    "--threads": "1",
}
#: the regularized pydoc studies' options
REGULARIZED = {"--epochs": "60", "--dropout": "0.3", "--weight-drop": "0.2"}
#: study name (runs/units-<name>) -> (corpus, training CPU seconds, lines wrapped at, its options)
CORPORA: dict[str, tuple[str, int, int | None, dict[str, str]]] = {
    "kjv": ("kjv", 2400, None, {"--epochs": "40"}),
    "kjv-wrapped": ("kjv", 1500, 80, {"--epochs": "40"}),
    "pydoc": ("pydoc", 420, None, {"--epochs": "40", "--dropout": "0.1"}),
    # regularized: the 420-second model overfits the small corpus when trained longer; three seeds
    "pydoc-reg": ("pydoc", 1500, None, REGULARIZED),
    "pydoc-reg-s1": ("pydoc", 1500, None, {**REGULARIZED, "--seed": "1"}),
    "pydoc-reg-s2": ("pydoc", 1500, None, {**REGULARIZED, "--seed": "2"}),
    "fortunes": ("fortunes", 600, None, {"--epochs": "20"}),
}


def train_command(name: str) -> list[str]:
    """The ``lstmkit textgen train`` arguments of study ``name``'s model."""
    corpus, budget, wrap, own = CORPORA[name]
    options = {**BASE, "--time-budget": str(budget), **own, **({"--wrap": str(wrap)} if wrap else {})}
    flat = [item for pair in options.items() for item in pair]
    return [
        "textgen",
        "train",
        "--corpus",
        corpus,
        *flat,
        "--run-dir",
        str(RUNS / f"units-{name}"),
        "--no-progress",
    ]


def search(name: str, chars: int, k: int) -> dict[str, Any]:
    """Find the units of study ``name``'s trained model over its validation text (wrapped as its
    training text was); print and save."""
    from lstmkit.apps.language.bundle import load_bundle
    from lstmkit.apps.language.corpora import load_text_corpus
    from lstmkit.apps.language.corpora.plain import wrap_lines
    from lstmkit.apps.language.lm import LanguageModel
    from lstmkit.apps.language.units import (
        INPUT_PROPERTIES,
        confirm_units,
        find_interpretable_units,
        ranked_properties,
        unit_excerpt,
        units_markdown,
        units_report,
    )
    from lstmkit.explain.units import text_heat_png

    corpus, _, wrap, _ = CORPORA[name]
    run = RUNS / f"units-{name}"
    bundle, tokenizers = load_bundle(run, "lm")
    model = LanguageModel(**bundle["config"])
    model.load_state_dict(bundle["model"])
    splits = load_text_corpus(corpus)
    text, other = splits.valid, splits.test
    if wrap:
        text, other = wrap_lines(text, wrap), wrap_lines(other, wrap)
    text, other = text[:chars], other[:chars]
    start = time.perf_counter()
    found = find_interpretable_units(model, tokenizers["text"], text, k=k)
    confirmed = confirm_units(found, model, tokenizers["text"], other)
    seconds = time.perf_counter() - start
    print(f"\n{name}: {found.table.correlations.shape[0]} units (c, h, tanh(c) of 2 layers) chosen on the "
          f"first {len(text):,} validation characters, checked on the first {len(other):,} test characters "
          f"({seconds:.0f} s)\n")  # fmt: skip
    print(units_markdown(found, k, confirmed))
    units_report(found, run / "units")
    memory = [p for p in ranked_properties(found) if p not in INPUT_PROPERTIES]
    IMAGES.mkdir(parents=True, exist_ok=True)
    for prop in memory[:2]:
        excerpt, values, score = unit_excerpt(found, prop, 600)
        title = f"{name}, {prop}: unit {score.unit}, r = {score.r:+.2f}"
        text_heat_png(excerpt, values, IMAGES / f"units-{name}-{'-'.join(prop.split())}.png", title=title)
    best = {p: [(s.unit, round(s.r, 4)) for s in scores] for p, scores in found.best.items()}
    test_r = {p: round(r, 4) for p, r in confirmed.items()}
    return {"run": str(run.relative_to(ROOT)), "chars": len(text), "best": best, "best_r_on_test": test_r}


def main() -> int:
    parser = argparse.ArgumentParser(description="Interpretable units of character LMs.")
    parser.add_argument("--only", default=",".join(CORPORA), help="corpora, comma-separated")
    parser.add_argument("--chars", type=int, default=30000, help="validation characters (default 30000)")
    parser.add_argument("--k", type=int, default=3, help="best units printed per property (default 3)")
    parser.add_argument("--reuse", action="store_true", help="search the trained models in runs/ again")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), python {sys.version.split()[0]}")
    corpora = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = [c for c in corpora if c not in CORPORA]
    if unknown:
        parser.error(f"--only: expected some of {list(CORPORA)}, got {unknown}")
    results: dict[str, Any] = {}
    for name in corpora:
        if not (args.reuse and (RUNS / f"units-{name}" / "model.pt").exists()):
            run_lstmkit([*train_command(name), "--overwrite"])
        command = "lstmkit " + shlex.join(train_command(name))
        results[name] = {"command": command.replace(f"{ROOT}/", "")}
        results[name].update(search(name, args.chars, args.k))
    from lstmkit.io.atomic import atomic_write_text

    # read the file again now: studies run side by side each add their own entries
    merged = {**(json.loads(RESULTS.read_text()) if RESULTS.exists() else {}), **results}
    atomic_write_text(RESULTS, json.dumps(merged, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

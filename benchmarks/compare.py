"""The architecture comparison of every task (``make bench-compare``) into
benchmarks/results/compare.json and docs/comparison.md.

For each task of :data:`lstmkit.apps.compare.registry.TASKS`: the LSTM, GRU, Elman RNN,
Transformer and TCN at equal parameter counts (and the task's baselines), a rate search on
validation, ``--seeds`` seeds at the chosen rate, equal budgets, and streaming latency at batch
1 (:func:`lstmkit.apps.compare.study.study_task`). The json is saved after each task (a rerun
skips the tasks it holds from a run of the same kind, full or ``--quick``, unless ``--redo``);
``--render`` writes docs/comparison.md and docs/images/compare_*.png from the json alone.
Run with OMP_NUM_THREADS=1 on a quiet machine:
the times are measured.

    python benchmarks/compare.py [--only TASK ...] [--seeds N] [--quick] [--render]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
from typing import Any

import torch

from lstmkit.apps.compare.latency import LENGTHS, QUICK_LENGTHS
from lstmkit.apps.compare.registry import NOT_WIRED, TASKS, make_task
from lstmkit.apps.compare.report import render_markdown
from lstmkit.apps.compare.study import study_task
from lstmkit.io.atomic import atomic_write_text

DEFAULT_JSON = "benchmarks/results/compare.json"
DOC, IMAGES = "docs/comparison.md", "docs/images"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _load(path: str) -> dict[str, Any]:
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return {"runs": {}, "tasks": {}}


def _save(path: str, data: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")


def measure(args: argparse.Namespace) -> None:
    data = _load(args.json)
    command = "OMP_NUM_THREADS=1 python benchmarks/compare.py " + shlex.join(sys.argv[1:])
    data["runs"][datetime.datetime.now().isoformat(timespec="seconds")] = {
        "command": command,
        "quick": args.quick,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch": torch.__version__,
        "threads": os.environ.get("OMP_NUM_THREADS", "unset"),
    }
    for name in args.only or list(TASKS):
        held = data["tasks"].get(name)
        if held is not None and held.get("quick") == args.quick and not args.redo:
            log(f"{name}: in {args.json} already (--redo to measure again)")
            continue  # (a smoke result is measured again by a full run, and the other way round)
        task = make_task(name, quick=args.quick)
        lengths = QUICK_LENGTHS if args.quick else LENGTHS
        study = study_task(task, seeds=args.seeds, lengths=lengths, repeats=args.repeats, echo=log)
        data["tasks"][name] = {**study, "quick": args.quick, "command": command}
        _save(args.json, data)
        log(f"{name}: saved to {args.json}")


def render(args: argparse.Namespace) -> None:
    data = _load(args.json)
    order = [t for t in TASKS if t in data["tasks"]]
    studies = [data["tasks"][t] for t in order]
    commands = sorted({s["command"] for s in studies})
    quick = [f"`{t}`" for t, s in zip(order, studies) if s.get("quick")]
    full = [f"`{t}`" for t, s in zip(order, studies) if not s.get("quick")]
    preamble = ["# LSTM vs GRU, RNN, Transformer and TCN at equal size", ""]
    if quick or args.smoke_note:
        preamble += [
            "> **PARTLY A SMOKE RUN.** "
            + (f"Full budgets: {', '.join(full)}. " if full else "")
            + f"Smoke (`--quick`) budgets, tiny models and a few steps: {', '.join(quick) or 'all'}; those",
            "> check the pipeline only: their metrics are not the comparison and the full",
            "> `make bench-compare` run replaces them.",
            "",
        ]
    if args.beside_note:
        preamble += [
            "> **Timings measured beside another job.** Another single-threaded study ran on the",
            "> second core while these tasks were measured: training seconds and latencies are",
            "> upper bounds, comparable within a task, not across machines.",
            "",
        ]
    preamble += [
        "Made by:",
        "",
        *[f"    {c}" for c in commands],
        "    python benchmarks/compare.py --render",
        "",
    ]
    missing = [f"`{t}`" for t in TASKS if t not in data["tasks"]]
    missing += [f"`{k}` ({v})" for k, v in NOT_WIRED.items()]
    preamble += [f"Not measured yet: {'; '.join(missing)}.", ""] if missing else []
    preamble += [
        "Parameters: every network of a task is sized to the LSTM's trainable parameters",
        "(a Transformer's learned positions count the rows the task's sequences reach; in",
        "`vader` and `en-fr` the word embeddings, the same tables in every network, are not",
        "counted). `en-fr` compares the LSTM with attention and the Transformer only: lstmkit's",
        "`Seq2Seq` has no GRU, RNN or TCN encoder-decoder.",
        "",
    ]
    os.makedirs(IMAGES, exist_ok=True)
    atomic_write_text(DOC, render_markdown(studies, IMAGES, "images", preamble))
    log(f"wrote {DOC}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=list(TASKS), help="tasks to measure")
    p.add_argument("--seeds", type=int, default=5, help="seeds per model at the chosen rate")
    p.add_argument("--repeats", type=int, default=50, help="timed streaming steps per length")
    p.add_argument("--quick", action="store_true", help="smoke-run budgets")
    p.add_argument("--redo", action="store_true", help="measure tasks the json holds again")
    p.add_argument("--json", default=DEFAULT_JSON, help="results file")
    p.add_argument("--render", action="store_true", help="write docs/comparison.md from the json only")
    p.add_argument("--smoke-note", action="store_true", help="label the page a smoke run")
    p.add_argument(
        "--beside-note", action="store_true", help="say the timings were measured beside another job"
    )
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.render:
        render(args)
    else:
        measure(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

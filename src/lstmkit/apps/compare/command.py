"""``lstmkit compare TASK``: the LSTM against a GRU, an Elman RNN, a Transformer and a TCN of
equal parameter count (and the task's baselines). The work is :func:`lstmkit.apps.compare.job.run`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.compare import job
from lstmkit.apps.compare.registry import NOT_WIRED, TASKS

HELP = "compare the LSTM with a GRU, RNN, Transformer and TCN of equal size on a task"
DESCRIPTION = """
Size every architecture to the LSTM's parameter count (within 10%; a miss is flagged), search the
learning rate (--lrs, scored on a validation split), train --seeds seeds at the chosen rate for the
same budget, fit the task's baselines, and time one streaming step at batch 1 after 16 to 4096
steps of context. Progress goes to stderr, the table to stdout; results.json, table.txt and
index.html (with the plots) to --out (default runs/compare-TASK).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "compare", HELP, DESCRIPTION, _main)
    tasks = ", ".join(TASKS)
    later = f" (not yet: {', '.join(NOT_WIRED)})" if NOT_WIRED else ""
    p.add_argument("task", metavar="TASK", help=f"task: {tasks}{later}")
    p.add_argument("--models", nargs="+", help="models to compare (default: all of the task's)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per model at the chosen rate (default 3)")
    p.add_argument("--lrs", nargs="+", type=float, help="learning rates searched (default: the task's three)")
    p.add_argument(
        "--budget", type=float, help="training budget in the task's unit (sequences, epochs, steps)"
    )
    p.add_argument("--lengths", nargs="+", type=int, help="context lengths of the latency measurement")
    p.add_argument("--repeats", type=int, default=50, help="timed steps per context length (default 50)")
    p.add_argument("--quick", action="store_true", help="smoke-run budgets and data sizes")
    p.add_argument("--out", help="run folder (default runs/compare-TASK)")
    p.add_argument("--overwrite", action="store_true", help="replace an lstmkit run of another kind")
    p.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")


def _main(args: argparse.Namespace) -> int:
    values = {
        "models": tuple(args.models) if args.models else None,
        "lrs": tuple(args.lrs) if args.lrs else None,
        "lengths": tuple(args.lengths) if args.lengths else None,
    }
    result = job.run(opt.config_from_args(job.CompareConfig, args, values))
    print(result.table)
    print(f"results in {result.out}")
    return 0

"""``lstmkit tune TASK``: Optuna search over hidden size, layers, learning rate, dropout
variants and cell variant on a synthetic task, with pruning; prints the trials table and
saves it with the best configuration. The work is :func:`lstmkit.apps.experiments.search.run`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.experiments import search
from lstmkit.apps.experiments.model import CELLS
from lstmkit.apps.experiments.registry import ALIASES, EXPERIMENTS
from lstmkit.fit.tune import SearchSpace

#: the ranges LOW HIGH of the search: option, default, help
RANGES = (
    ("--lr", (1e-4, 3e-2), "lr (log)"),
    ("--weight-decay", (0.0, 0.0), "L2 penalty"),
    ("--dropout", (0.0, 0.3), "dropout between layers"),
    ("--recurrent-dropout", (0.0, 0.0), "variational dropout on h"),
    ("--zoneout", (0.0, 0.0), "zoneout on h and c"),
    ("--weight-drop", (0.0, 0.0), "DropConnect on the recurrent weights"),
)


HELP = "hyperparameter search (Optuna, with pruning) on a synthetic task"
DESCRIPTION = """
Search hidden size, layers, learning rate, dropout variants and the cell variant with Optuna's TPE
sampler; each trial trains for --epochs epochs of fresh sequences and is pruned when its validation
value after an epoch is worse than the median of earlier trials. Prints the trials (best first) and
writes trials.csv, best.json, table.txt and history.png to --out. A range LOW HIGH with LOW == HIGH
fixes the value. From Python: lstmkit.fit.tune.tune.
"""


def register(sub: argparse._SubParsersAction) -> None:
    tasks = [k for k in EXPERIMENTS if k != "continual-reber"]
    p = opt.add_command(sub, "tune", HELP, DESCRIPTION, _main, defaults_in_help=True)
    p.add_argument("task", metavar="TASK", help=f"task: {', '.join(tasks)} (aliases {', '.join(ALIASES)})")
    p.add_argument("--trials", type=int, default=20, help="number of trials")
    p.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    p.add_argument("--epochs", type=int, default=8, help="epochs per trial (the pruning steps)")
    p.add_argument("--sequences-per-epoch", type=int, default=2048, help="fresh training sequences per epoch")
    p.add_argument("--val-size", type=int, default=512, help="fixed validation sequences")
    p.add_argument("--metric", choices=["loss", "error"], default="loss", help="validation value to minimize")
    p.add_argument("--variants", nargs="+", default=["classic"], choices=CELLS, help="cell variants to try")
    p.add_argument("--hidden", nargs="+", type=int, default=[16, 32, 64], help="hidden sizes to try")
    p.add_argument("--layers", nargs=2, type=int, default=[1, 2], metavar=("MIN", "MAX"), help="layers")
    for flag, default, help in RANGES:
        p.add_argument(flag, nargs=2, type=float, default=list(default), metavar=("LOW", "HIGH"), help=help)
    p.add_argument("--batch-size", nargs="+", type=int, default=[32], help="batch sizes to try")
    p.add_argument("--length", "-T", type=int, help="T of adding, multiplication, noise-signal, copy")
    p.add_argument("--pruner", choices=["median", "hyperband", "none"], default="median", help="pruner")
    opt.add_seed_arg(p, help="seed of the sampler and the data")
    p.add_argument("--out", help="folder for the results (default runs/tune-TASK)")
    p.add_argument("--storage", help="Optuna storage URL to resume a study, e.g. sqlite:///runs/t/study.db")
    p.add_argument("--progress", action="store_true", help="show Optuna's progress bar")


def _main(args: argparse.Namespace) -> int:
    ranges = {
        dest: tuple(getattr(args, dest)) for dest in (flag[2:].replace("-", "_") for flag, _, _ in RANGES)
    }
    space = SearchSpace(
        hidden=tuple(args.hidden),
        num_layers=(args.layers[0], args.layers[1]),
        variants=tuple(args.variants),
        batch_size=tuple(args.batch_size),
        **ranges,
    )
    search.run(opt.config_from_args(search.TuneJobConfig, args, {"space": space, "echo": True}))
    return 0

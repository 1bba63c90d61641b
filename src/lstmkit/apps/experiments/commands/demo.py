"""``lstmkit demo``: train the classic LSTM and a variant on the adding problem, print losses.
The work is :func:`lstmkit.apps.experiments.demo.run`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.experiments import demo

HELP = "train the classic LSTM and one variant on a generated task and print their losses"
DESCRIPTION = """
Train the classic LSTM and a variant on the adding problem (Hochreiter & Schmidhuber 1997, exp. 4)
and print the test loss of each.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "demo", HELP, DESCRIPTION, run_demo)
    p.add_argument("--variants", nargs="+", default=["classic", "cifg"], help="variants to train")
    p.add_argument("--length", type=int, default=30, help="sequence length T (default 30)")
    p.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    p.add_argument("--hidden", type=int, default=32, help="hidden size (default 32)")
    opt.add_seed_arg(p, help="random seed (default 0)")


def run_demo(args: argparse.Namespace) -> int:
    demo.run(opt.config_from_args(demo.DemoJobConfig, args, {"echo": True}))
    return 0

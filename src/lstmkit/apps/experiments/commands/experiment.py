"""``lstmkit experiment NAME``: the experiments of Hochreiter & Schmidhuber (1997) and Gers et al.
(2000), trained with :class:`lstmkit.fit.Trainer` and judged by the papers' criteria. The work is
:func:`lstmkit.apps.experiments.job.run` (from Python: :func:`~lstmkit.apps.experiments.job.run_experiment`).
"""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.experiments import job
from lstmkit.apps.experiments.model import CELLS
from lstmkit.apps.experiments.registry import ALIASES, EXPERIMENTS

__all__ = ["register"]

HELP = "reproduce an experiment of Hochreiter & Schmidhuber 1997 / Gers et al. 2000"
DESCRIPTION = """
Train a recurrent net on one of the 1997 LSTM paper's tasks and report the success rate over seeds,
the training sequences seen until success, the test error and the wall time, next to the paper's
numbers. Training uses mini-batches and Adam (the paper trained online with plain gradient descent).
"""


def register(sub: argparse._SubParsersAction) -> None:
    names = ", ".join(f"{k} ({v.title})" for k, v in EXPERIMENTS.items())
    description = f"{DESCRIPTION.strip()} Experiments: {names}."
    p = opt.add_command(sub, "experiment", HELP, description, _main, defaults_in_help=True)
    p.add_argument(
        "name",
        metavar="NAME",
        help=f"experiment: {', '.join(EXPERIMENTS)}; "
        f"aliases {', '.join(f'{k}={v}' for k, v in ALIASES.items())}",
    )
    p.add_argument(
        "--cell",
        nargs="+",
        choices=CELLS,
        help="cell(s) to train (default: the paper's original1997 LSTM; classic for continual-reber)",
    )
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (runs) per cell")
    p.add_argument("--hidden", type=int, help="hidden size (default: the experiment's)")
    p.add_argument("--batch-size", type=int, help="sequences per mini-batch")
    p.add_argument("--lr", type=float, help="Adam learning rate")
    p.add_argument("--max-sequences", type=int, help="training budget in sequences per seed")
    p.add_argument("--time-limit", type=float, help="wall-time budget per seed in seconds")
    p.add_argument("--window", type=int, help="recent training sequences that must all be right")
    p.add_argument("--eval-every", type=int, help="sequences between checks (reber, continual-reber)")
    p.add_argument(
        "--test-size",
        type=int,
        help="test sequences for the final test error (reber: its fixed test strings; continual-reber: "
        "test_size // 256 streams)",
    )
    p.add_argument("--length", "-T", type=int, help="T of adding, multiplication, noise-signal, copy")
    p.add_argument("--p", type=int, help="p of the long-lag tasks (number of symbols/distractors)")
    p.add_argument("--q", type=int, help="q of long-lag-2c (minimal time lag q + 1)")
    _add_model_options(p)
    p.add_argument(
        "--stream-end",
        choices=("error", "cap"),
        help="continual-reber: a training stream ends at its first error (Gers et al. 2000; default) "
        "or only after 100,000 symbols (cap)",
    )
    p.add_argument("--engine", help="LSTM engine, if this lstmkit's LSTM has the option")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--progress", action="store_true", help="show a progress bar per seed")


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """The network's and the training protocol's options."""
    p.add_argument(
        "--memory-bias",
        type=float,
        help="initial forget-gate (LSTM) / update-gate (GRU) bias (default 1 for the Reber tasks, else 5)",
    )
    p.add_argument(
        "--input-bias",
        type=float,
        help="initial LSTM input-gate bias (the paper: negative, against state drift)",
    )
    p.add_argument(
        "--shortcut",
        action="store_true",
        default=None,
        help="the readout also sees each step's input (direct input-to-output connections)",
    )
    p.add_argument(
        "--protocol",
        choices=("modern", "paper"),
        help="modern (default: mini-batches, Adam, clipping) or the 1997 paper's (online: one sequence "
        "per update, plain gradient descent at --lr on the summed error, squared for sigmoid outputs, "
        "no clipping, weights uniform in [-0.1, 0.1])",
    )
    p.add_argument(
        "--truncated",
        action=argparse.BooleanOptionalAction,
        help="the 1997 paper's truncated gradient (one plain LSTM layer): h_{t-1} feeds the gates as a "
        "constant, so errors reach earlier steps only through the cell state (off unless given)",
    )
    p.add_argument(
        "--readout-bias",
        action=argparse.BooleanOptionalAction,
        help="the readout has a bias (on unless --no-readout-bias; the 1997 paper's nets have none)",
    )
    p.add_argument(
        "--add-cell-after",
        type=int,
        metavar="N",
        help="with --shortcut: the net is its direct input-to-output connections for N training "
        "sequences, then the recurrent units' readout weights get their initial values (the paper adds "
        "the memory cell of experiment 2a once the error stops decreasing)",
    )
    p.add_argument(
        "--init-range",
        type=float,
        metavar="R",
        help="every weight uniform in [-R, R] (unless given: 0.1 under --protocol paper, else the layers' "
        "own)",
    )
    p.add_argument("--num-layers", type=int, help="stacked layers (Transformer or TCN blocks; default 1)")


def _main(args: argparse.Namespace) -> int:
    settings = opt.pick(args, "seeds", "hidden", "batch_size", "lr", "max_sequences", "time_limit", "window")
    settings |= opt.pick(args, "eval_every", "test_size", "memory_bias", "num_layers", "stream_end", "engine")
    settings |= opt.pick(args, "input_bias", "shortcut", "protocol", "truncated", "readout_bias")
    settings |= opt.pick(args, "add_cell_after", "init_range")
    settings |= opt.pick(args, "progress")
    values = {"cells": args.cell or (), "echo": True, "settings": settings}
    job.run(opt.config_from_args(job.ExperimentJobConfig, args, values))
    return 0

"""The options the language commands (textgen, sentiment, translate) share, and the
:class:`~lstmkit.apps.language.training.TrainOptions` their ``train`` subcommands become."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.language.training import TrainOptions
from lstmkit.io.runfolder import OVERWRITE_HELP

__all__ = ["add_subcommands", "add_texts_args", "add_train_args", "train_options"]


def add_subcommands(
    sub: argparse._SubParsersAction, name: str, help: str, description: str, actions: str
) -> argparse._SubParsersAction:
    """Add the command ``name`` whose ``actions`` (``"{train,predict}"``) are subcommands, one
    of which is required; return its subparsers."""
    p = opt.add_command(sub, name, help, description)
    s = p.add_subparsers(dest=f"{name}_command", metavar=actions)
    s.required = True
    return s


def add_train_args(p: argparse.ArgumentParser, *, lr: float, batch_size: int, epochs: int) -> None:
    """Options every language `train` subcommand shares."""
    g = p.add_argument_group("training")
    g.add_argument("--lr", type=float, default=lr, help=f"learning rate (default {lr})")
    g.add_argument("--batch-size", type=int, default=batch_size, help=f"batch size (default {batch_size})")
    g.add_argument("--epochs", type=int, default=epochs, help=f"maximum epochs (default {epochs})")
    g.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    g.add_argument(
        "--time-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop training after this much time (see --budget-clock)",
    )
    g.add_argument(
        "--budget-clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="what --time-budget counts: this process's CPU time (default; fair on a shared machine) "
        "or wall time",
    )
    g.add_argument("--clip-norm", type=float, default=1.0, help="gradient norm clipping (default 1.0)")
    opt.add_seed_arg(g, help="random seed (default 0)")
    g.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    g.add_argument("--run-dir", default=None, help="run folder for logs, curves and model.pt")
    g.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    opt.add_progress_arg(g, help="no progress bar")


def train_options(args: argparse.Namespace) -> TrainOptions:
    """The :class:`~lstmkit.apps.language.training.TrainOptions` of :func:`add_train_args`'s options."""
    return opt.config_from_args(TrainOptions, args)


def add_texts_args(q: argparse.ArgumentParser, *, texts_help: str, checkpoint: str, file_help: str) -> None:
    """The input of a `predict` subcommand: texts (or ``--file``), and the ``--checkpoint``."""
    q.add_argument("texts", nargs="*", help=texts_help)
    q.add_argument("--checkpoint", default=checkpoint, help="model.pt or its run folder")
    q.add_argument("--file", default=None, help=file_help)
    q.add_argument("--encoding", default="utf-8", help="encoding of --file (default utf-8)")

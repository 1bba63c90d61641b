"""What the language commands (textgen, sentiment, translate) share: their subcommands as
:class:`Job` values, the options they have in common, and the
:class:`~lstmkit.apps.language.training.TrainOptions` their ``train`` subcommands become."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lstmkit.apps.common import options as opt
from lstmkit.apps.language.training import TrainOptions
from lstmkit.core.layers.encoder import ARCHITECTURES
from lstmkit.io.runfolder import OVERWRITE_HELP

__all__ = [
    "Job",
    "add_architecture_args",
    "add_dropout_args",
    "add_jobs",
    "add_size_args",
    "add_subcommands",
    "add_texts_args",
    "add_train_args",
    "architecture_values",
    "size_values",
    "train_options",
    "train_values",
]


def _echo(args: argparse.Namespace) -> dict[str, Any]:
    return {"echo": True}


@dataclass(frozen=True)
class Job:
    """A subcommand that runs a job, ``lstmkit COMMAND NAME``; called with the parsed options,
    it runs the job and returns the exit status 0.

    Args:
        help, description: its line in ``lstmkit COMMAND --help``, and its own ``--help`` text.
        options: adds its options to its parser.
        run: the job, given its config.
        config: the job config's type, made of the options of the same names
            (:func:`~lstmkit.apps.common.options.config_from_args`) and of ``values``.
        values: the config's other values, of the options (default: ``echo=True``).
    """

    help: str
    description: str
    options: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Any], object]
    config: type
    values: Callable[[argparse.Namespace], Mapping[str, Any]] = _echo

    def __call__(self, args: argparse.Namespace) -> int:
        self.run(opt.config_from_args(self.config, args, self.values(args)))
        return 0


def add_jobs(
    sub: argparse._SubParsersAction, name: str, help: str, description: str, jobs: Mapping[str, Job]
) -> None:
    """Add the command ``name`` whose subcommands are ``jobs`` (by name), one of them required."""
    s = add_subcommands(sub, name, help, description, actions="{" + ",".join(jobs) + "}")
    for action, job in jobs.items():
        job.options(opt.add_command(s, action, job.help, job.description, job))


def add_subcommands(
    sub: argparse._SubParsersAction, name: str, help: str, description: str, actions: str
) -> argparse._SubParsersAction:
    """Add the command ``name`` whose ``actions`` (``"{train,predict}"``) are subcommands, one
    of which is required; return its subparsers."""
    p = opt.add_command(sub, name, help, description)
    s = p.add_subparsers(dest=f"{name}_command", metavar=actions)
    s.required = True
    return s


def add_size_args(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    *,
    embed_dim: int,
    hidden_size: int,
    layers: int,
    width: str = "LSTM width",
    depth: str = "LSTM layers",
) -> None:
    """``--embed-dim``, ``--hidden-size`` and ``--layers`` with these defaults; ``width`` and
    ``depth`` say in their help what the hidden size and the layers are."""
    p.add_argument("--embed-dim", type=int, default=embed_dim, help=f"embedding width (default {embed_dim})")
    p.add_argument("--hidden-size", type=int, default=hidden_size, help=f"{width} (default {hidden_size})")
    p.add_argument("--layers", type=int, default=layers, help=f"{depth} (default {layers})")


def size_values(args: argparse.Namespace) -> dict[str, Any]:
    """The model's arguments of :func:`add_size_args`' options (``--layers`` is ``num_layers``)."""
    return opt.pick(args, "embed_dim", "hidden_size") | {"num_layers": args.layers}


def add_architecture_args(
    p: argparse.ArgumentParser | argparse._ArgumentGroup, choices: tuple[str, ...] = ARCHITECTURES
) -> None:
    """``--architecture`` (one of ``choices``, default lstm) and the options of the others:
    ``--heads`` (a Transformer's) and, where a TCN is a choice, ``--kernel-size``."""
    p.add_argument(
        "--architecture",
        choices=choices,
        default="lstm",
        help="the network that reads the tokens (default lstm; the others are comparison models)",
    )
    p.add_argument("--heads", type=int, default=4, help="a Transformer's attention heads (default 4)")
    if "tcn" in choices:
        p.add_argument("--kernel-size", type=int, default=3, help="a TCN's kernel (default 3)")


def architecture_values(args: argparse.Namespace) -> dict[str, Any]:
    """The model's arguments of :func:`add_architecture_args`' options: the architecture, and
    the options of the chosen one only."""
    arch = args.architecture
    values: dict[str, Any] = {"architecture": arch}
    if arch == "transformer":
        values["num_heads"] = args.heads
    if arch == "tcn":
        values["kernel_size"] = args.kernel_size
    return values


def add_dropout_args(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    *,
    dropout: tuple[float, str],
    embed_dropout: tuple[float, str],
    input_dropout: tuple[float, str],
) -> None:
    """The dropouts of a model with AWD-LSTM's regularizers: ``--dropout``, ``--embed-dropout``
    and ``--input-dropout``, each given as (default, help), and ``--recurrent-dropout`` (0)."""
    for name, (default, help) in (
        ("--dropout", dropout),
        ("--embed-dropout", embed_dropout),
        ("--input-dropout", input_dropout),
    ):
        p.add_argument(name, type=float, default=default, help=help)
    p.add_argument("--recurrent-dropout", type=float, default=0.0, help="variational dropout on h_{t-1}")


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


def train_values(args: argparse.Namespace, model: Mapping[str, Any], **values: Any) -> dict[str, Any]:
    """The values of a ``train`` job's config besides its options of the same names: the
    training options (:func:`train_options`), the ``model``'s arguments, ``values``; echo."""
    return {"training": train_options(args), "model": dict(model), **values, "echo": True}


def add_texts_args(q: argparse.ArgumentParser, *, texts_help: str, checkpoint: str, file_help: str) -> None:
    """The input of a `predict` subcommand: texts (or ``--file``), and the ``--checkpoint``."""
    q.add_argument("texts", nargs="*", help=texts_help)
    q.add_argument("--checkpoint", default=checkpoint, help="model.pt or its run folder")
    q.add_argument("--file", default=None, help=file_help)
    q.add_argument("--encoding", default="utf-8", help="encoding of --file (default utf-8)")

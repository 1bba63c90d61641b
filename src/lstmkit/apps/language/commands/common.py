"""Helpers shared by the language commands (textgen, sentiment, translate): checkpoints that
carry the tokenizers, a training-time budget, reading user text, and a model summary."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from torch import nn

from lstmkit.apps.language.text import Tokenizer, read_text, tokenizer_from_state
from lstmkit.fit import Callback, atomic_save
from lstmkit.io.runfolder import OVERWRITE_HELP

__all__ = [
    "TimeBudget",
    "add_train_args",
    "count_parameters",
    "load_bundle",
    "read_input_text",
    "save_bundle",
    "train_options",
]


class TimeBudget(Callback):
    """A trainer callback that stops training once ``seconds`` have been used (checked after
    every optimizer step), counted on ``clock``: ``"cpu"`` (this process's CPU time, what the
    training itself consumed, robust to other programs sharing the cores) or ``"wall"``.
    Records both in ``cpu`` and ``wall``; ``used`` is the one on the chosen clock."""

    def __init__(self, seconds: float | None, clock: str = "cpu") -> None:
        if clock not in ("cpu", "wall"):
            raise ValueError(f"clock: expected 'cpu' or 'wall', got {clock!r}")
        self.seconds, self.clock = seconds, clock
        self._t0 = (0.0, 0.0)
        self.cpu = self.wall = 0.0

    @property
    def used(self) -> float:
        return self.cpu if self.clock == "cpu" else self.wall

    def _tick(self) -> None:
        self.wall = time.perf_counter() - self._t0[0]
        self.cpu = time.process_time() - self._t0[1]

    def on_fit_start(self, trainer: Any) -> None:
        self._t0 = (time.perf_counter(), time.process_time())

    def on_train_batch_end(self, trainer: Any, out: Any) -> None:
        self._tick()
        if self.seconds is not None and self.used >= self.seconds:
            trainer.should_stop = True

    def on_fit_end(self, trainer: Any, history: Any) -> None:
        self._tick()


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (pipes), numbers right-aligned; floats as given (format them first)."""
    align = ["---" if i == 0 else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def count_parameters(model: nn.Module) -> int:
    """Number of distinct trainable parameters (tied weights counted once)."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def save_bundle(
    path: str | Path, *, kind: str, model: nn.Module, tokenizers: dict[str, Tokenizer], extra: dict[str, Any]
) -> None:
    """Write model config + weights + tokenizers (+ extra JSON-like data) atomically."""
    bundle = {
        "format": f"lstmkit-{kind}",
        "version": 1,
        "config": model.config(),  # type: ignore[operator]
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "tokenizers": {k: t.state_dict() for k, t in tokenizers.items()},
        "extra": extra,
    }
    atomic_save(bundle, path)


def load_bundle(path: str | Path, kind: str) -> tuple[dict[str, Any], dict[str, Tokenizer]]:
    """Read what :func:`save_bundle` wrote; a clear error if it is not a ``kind`` bundle."""
    p = Path(path)
    if p.is_dir():
        p = p / "model.pt"
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint: no file at {p} (train first, or pass --checkpoint)")
    from lstmkit.fit.checkpoint import load_file

    bundle = load_file(p, "an lstmkit model bundle")
    if not isinstance(bundle, dict) or bundle.get("format") != f"lstmkit-{kind}":
        got = bundle.get("format") if isinstance(bundle, dict) else type(bundle).__name__
        raise ValueError(f"checkpoint: {p} is not an lstmkit {kind} model (format {got!r})")
    tokenizers = {k: tokenizer_from_state(v) for k, v in bundle["tokenizers"].items()}
    return bundle, tokenizers


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
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    g.add_argument("--run-dir", default=None, help="run folder for logs, curves and model.pt")
    g.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def train_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the language trainers that :func:`add_train_args`'s options set."""
    return {
        "lr": args.lr,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "max_steps": args.max_steps,
        "time_budget": args.time_budget,
        "budget_clock": args.budget_clock,
        "clip_norm": args.clip_norm,
        "seed": args.seed,
        "progress": not args.no_progress,
    }


def read_input_text(text: str | None, file: str | None, encoding: str, *, what: str = "text") -> str:
    """The text given on the command line, or read from ``file`` (``-``: stdin)."""
    if text is not None and file is not None:
        raise ValueError(f"{what}: give the text or --file, not both")
    if file is None:
        if text is None:
            raise ValueError(f"{what}: expected a text argument or --file")
        return text
    if file == "-":
        data = sys.stdin.buffer.read()
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ValueError(f"stdin: not valid {encoding} (offset {exc.start}); pass --encoding") from exc
    return read_text(file, encoding=encoding)

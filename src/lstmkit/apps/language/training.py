"""How the language jobs train: the options they share and the time budget.

:class:`TrainOptions` holds what every language ``train`` job takes (learning rate, batch
size, epochs, step and time budgets, clipping, seed, threads, run folder, progress);
:class:`TimeBudget` is the trainer callback that stops training when the time is spent.

Example::

    >>> budget = TimeBudget(60.0, "cpu")
    >>> trainer = Trainer(model, config, callbacks=[budget])  # stops after 60 s of CPU time
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from lstmkit.fit import Callback

__all__ = ["TimeBudget", "TrainOptions"]


@dataclass(frozen=True)
class TrainOptions:
    """The training settings every language ``train`` job shares.

    Args:
        lr: learning rate. batch_size: sequences per batch. epochs: the most epochs.
        max_steps: stop after this many optimizer steps. time_budget: stop after this many
            seconds on ``budget_clock`` (``"cpu"``: this process's CPU time; ``"wall"``).
        clip_norm: gradient norm clipping. seed: the random seed.
        threads: torch threads (``None``: torch's choice).
        run_dir: the run folder (``None``: the job's default).
        overwrite: replace an earlier run of another kind or with edited files.
        progress: a progress bar on stderr.
    """

    lr: float
    batch_size: int
    epochs: int
    max_steps: int | None = None
    time_budget: float | None = None
    budget_clock: str = "cpu"
    clip_norm: float | None = 1.0
    seed: int = 0
    threads: int | None = None
    run_dir: str | None = None
    overwrite: bool = False
    progress: bool = True

    def trainer_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the language trainers these options set."""
        return {
            "lr": self.lr,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "max_steps": self.max_steps,
            "time_budget": self.time_budget,
            "budget_clock": self.budget_clock,
            "clip_norm": self.clip_norm,
            "seed": self.seed,
            "progress": self.progress,
        }


class TimeBudget(Callback):
    """A trainer callback that stops training once ``seconds`` have been used (checked after
    every optimizer step), counted on ``clock``: ``"cpu"`` (this process's CPU time, what the
    training itself consumed, robust to other programs sharing the cores) or ``"wall"``.
    Records both in ``cpu`` and ``wall``; ``used`` is the one on the chosen clock.

    Args:
        seconds: the budget (``None``: no limit, the times are still recorded).
        clock: ``"cpu"`` or ``"wall"``.
    """

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

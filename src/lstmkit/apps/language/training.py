"""How the language jobs train: the options they share, the time budget and the fit itself.

:class:`TrainOptions` holds what every language ``train`` job takes (learning rate, batch
size, epochs, step and time budgets, clipping, seed, threads, run folder, progress); the
trainers take it as ``training=`` or its fields one by one (:class:`TrainKeywords`).
:class:`TimeBudget` is the trainer callback that stops training when the time is spent, and
:func:`fit` trains a model with both.

Example::

    >>> budget = TimeBudget(60.0, "cpu")
    >>> trainer = Trainer(model, config, callbacks=[budget])  # stops after 60 s of CPU time
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, TypedDict

from torch import Tensor, nn

from lstmkit.fit import Callback, History, StepOutput, TrainConfig, Trainer

__all__ = ["Fitted", "TimeBudget", "TrainKeywords", "TrainOptions", "fit", "train_options"]


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

    The trainers take it as ``training=`` (``threads`` and ``overwrite`` are the jobs' alone).
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


class TrainKeywords(TypedDict, total=False):
    """The fields of :class:`TrainOptions` that a language trainer (``train_classifier``,
    ``train_translator``, ``train_language_model``) also takes one by one, over its ``training``."""

    lr: float
    batch_size: int
    epochs: int
    max_steps: int | None
    time_budget: float | None
    budget_clock: str
    clip_norm: float | None
    seed: int
    run_dir: str | None
    progress: bool


def train_options(training: TrainOptions, keywords: Mapping[str, Any]) -> TrainOptions:
    """``training`` with the fields that ``keywords`` (a trainer's :class:`TrainKeywords`) name replaced.

    Example::

        >>> train_options(TrainOptions(lr=2e-3, batch_size=32, epochs=12), {"epochs": 1}).epochs
        1
    """
    unknown = sorted(set(keywords) - set(TrainKeywords.__annotations__))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {unknown}: expected fields of TrainKeywords")
    return replace(training, **keywords)


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


class Fitted(NamedTuple):
    """What :func:`fit` returns: the trainer's history, the time budget (its ``cpu``, ``wall``
    and ``used`` seconds) and the optimizer steps taken."""

    history: History
    budget: TimeBudget
    steps: int


def fit(
    model: nn.Module,
    options: TrainOptions,
    train: Iterable[Any],
    valid: Iterable[Any] | None,
    *,
    task: Mapping[str, Any],
    step: Callable[[Any, Any], StepOutput] | None = None,
    loss_fn: Callable[[Any, Any], Tensor] | None = None,
    metrics: Mapping[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
) -> Fitted:
    """Train ``model`` with the :class:`~lstmkit.fit.Trainer` on the ``train`` batches,
    validating on ``valid``, within ``options``' time budget.

    Args:
        model: the network.
        options: the shared settings: rate, clipping, epochs, steps, seed, progress and run
            folder (where the curves are plotted, if any), and the time budget.
        train, valid: the batches.
        task: the trainer's settings that are the task's own (optimizer, monitor, early
            stopping...), further :class:`~lstmkit.fit.TrainConfig` fields.
        step, loss_fn, metrics: the :class:`~lstmkit.fit.Trainer`'s.
        callbacks: more trainer callbacks, after the time budget's (a job server's progress
            rows, for one).
    """
    config = TrainConfig(
        lr=options.lr,
        clip_norm=options.clip_norm,
        max_epochs=options.epochs,
        max_steps=options.max_steps,
        run_dir=options.run_dir,
        progress=options.progress,
        plot=options.run_dir is not None,
        seed=options.seed,
        **task,
    )
    budget = TimeBudget(options.time_budget, options.budget_clock)
    runner = Trainer(
        model, config, step=step, loss_fn=loss_fn, metrics=metrics, callbacks=[budget, *callbacks]
    )
    history = runner.fit(train, valid)
    return Fitted(history, budget, runner.global_step)

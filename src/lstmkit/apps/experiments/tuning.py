"""Ready objectives for :func:`lstmkit.fit.tune.tune`: the synthetic tasks of the 1997 paper.

An objective trains a :class:`~lstmkit.apps.experiments.model.SequenceModel` with the sampled
parameters for a few epochs of fresh sequences and reports, after every epoch, the validation
value on a fixed validation set (so that a poor trial is pruned early):

* ``"loss"``: the task's loss (:func:`~lstmkit.apps.experiments.registry.task_loss`);
* ``"error"``: the share of sequences wrong by the paper's criterion.

Example::

    >>> from lstmkit.fit.tune import SearchSpace, tune
    >>> result = tune(synthetic_objective("adding", epochs=2), SearchSpace(hidden=(8,)), n_trials=2)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch

from lstmkit.apps.experiments import tasks as syn
from lstmkit.apps.experiments.model import SequenceModel
from lstmkit.apps.experiments.registry import EXPERIMENTS, activate, resolve_name, task_loss
from lstmkit.fit import StepOutput, TrainConfig, Trainer
from lstmkit.fit.tune.search import TrialReporter

__all__ = ["synthetic_objective"]


class _Fresh:
    """``count`` batches of ``batch`` fresh sequences per pass."""

    def __init__(self, task: syn.Task, batch: int, count: int, gen: torch.Generator) -> None:
        self.task, self.batch, self.count, self.gen = task, batch, count, gen

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[syn.SyntheticBatch]:
        for _ in range(len(self)):
            yield self.task.sample(self.batch, self.gen)


def _stepper(task: syn.Task) -> Callable[[torch.nn.Module, syn.SyntheticBatch], StepOutput]:
    """The task's loss; in evaluation, also which sequences are wrong (the ``error`` metric)."""

    def step(model: torch.nn.Module, b: syn.SyntheticBatch) -> StepOutput:
        logits, _ = model(b.inputs, None, b.lengths)
        loss = task_loss(task, logits, b.targets, b.mask)
        wrong = None
        if not model.training:
            wrong = (~task.correct(activate(task, logits), b)).float()
        return StepOutput(loss, output=wrong, weight=float(len(b)))

    return step


def _error(out: StepOutput) -> float:
    assert out.output is not None
    return float(out.output.mean())


def _model(task: syn.Task, params: dict[str, Any], memory_bias: float) -> SequenceModel:
    """The network of a trial: its cell, sizes and regularizers from the sampled ``params``."""
    return SequenceModel(
        params["variant"],
        task.input_size,
        params["hidden"],
        task.output_size,
        num_layers=params["num_layers"],
        dropout=params["dropout"],
        recurrent_dropout=params["recurrent_dropout"],
        zoneout=params["zoneout"],
        weight_drop=params["weight_drop"],
        memory_bias=memory_bias,
    )


def _check(key: str, metric: str, counts: dict[str, int]) -> None:
    if key == "continual-reber":
        raise ValueError("name: continual-reber trains on endless streams; tune it from Python")
    if metric not in ("loss", "error"):
        raise ValueError(f"metric: expected 'loss' or 'error', got {metric!r}")
    for arg, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg}: expected an int >= 1, got {value!r}")


def synthetic_objective(
    name: str,
    *,
    epochs: int = 8,
    sequences_per_epoch: int = 2048,
    val_size: int = 512,
    metric: str = "loss",
    task_options: dict[str, Any] | None = None,
    seed: int = 0,
) -> Callable[[dict[str, Any], TrialReporter], float]:
    """An objective that trains :class:`~lstmkit.apps.experiments.model.SequenceModel` with the
    sampled parameters on experiment ``name`` (see ``lstmkit experiment --help``; not
    ``continual-reber``) for ``epochs`` epochs of fresh sequences, reporting after every epoch
    the validation ``metric`` on a fixed validation set: ``"loss"`` (the task's loss) or
    ``"error"`` (the share of sequences wrong by the paper's criterion). Returns the best value.

    Args:
        name: the experiment (a key or an alias). epochs: epochs per trial.
        sequences_per_epoch: fresh training sequences per epoch. val_size: validation sequences.
        metric: ``"loss"`` or ``"error"``. task_options: override the task's options.
        seed: the seed of the validation set and (plus the trial's number) of each trial.
    """
    key = resolve_name(name)
    _check(key, metric, {"epochs": epochs, "sequences_per_epoch": sequences_per_epoch, "val_size": val_size})
    spec = EXPERIMENTS[key]
    task = spec.task(**{**spec.options, **(task_options or {})})
    val = task.sample(val_size, torch.Generator().manual_seed(50_000 + seed))

    def objective(params: dict[str, Any], reporter: TrialReporter) -> float:
        torch.manual_seed(seed + reporter.number)
        gen = torch.Generator().manual_seed(60_000 + seed + reporter.number)
        model = _model(task, params, spec.memory_bias)  # the memory bias as `lstmkit experiment` runs it
        batch = params["batch_size"]
        cfg = TrainConfig(
            optimizer="adam",
            lr=params["lr"],
            weight_decay=params["weight_decay"],
            clip_norm=1.0,
            max_epochs=epochs,
            monitor=f"val_{metric}",
            progress=False,
            plot=False,
            seed=None,
        )
        callbacks = [reporter.callback()]
        trainer = Trainer(model, cfg, step=_stepper(task), metrics={"error": _error}, callbacks=callbacks)
        history = trainer.fit(_Fresh(task, batch, max(1, sequences_per_epoch // batch), gen), [val])
        assert history.best_value is not None
        return float(history.best_value)

    return objective

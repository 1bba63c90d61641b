"""Ready objectives for :func:`lstmkit.fit.tune.tune`: the synthetic tasks of the 1997 paper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lstmkit.fit.tune.search import TrialReporter

__all__ = ["synthetic_objective"]


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
    """An objective that trains :class:`~lstmkit.apps.experiments.commands.experiment.SequenceModel` with the
    sampled parameters on experiment ``name`` (see ``lstmkit experiment --help``; not
    ``continual-reber``) for ``epochs`` epochs of fresh sequences, reporting after every epoch
    the validation ``metric`` on a fixed validation set: ``"loss"`` (the task's loss) or
    ``"error"`` (the share of sequences wrong by the paper's criterion). Returns the best value.
    """
    from lstmkit.apps.experiments import tasks as syn
    from lstmkit.apps.experiments.commands.experiment import (
        EXPERIMENTS,
        SequenceModel,
        activate,
        resolve_name,
        task_loss,
    )
    from lstmkit.fit import StepOutput, TrainConfig, Trainer

    key = resolve_name(name)
    if key == "continual-reber":
        raise ValueError("name: continual-reber trains on endless streams; tune it from Python")
    if metric not in ("loss", "error"):
        raise ValueError(f"metric: expected 'loss' or 'error', got {metric!r}")
    for arg, value in (
        ("epochs", epochs),
        ("sequences_per_epoch", sequences_per_epoch),
        ("val_size", val_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg}: expected an int >= 1, got {value!r}")
    spec = EXPERIMENTS[key]
    task = spec.task(**{**spec.options, **(task_options or {})})
    val = task.sample(val_size, torch.Generator().manual_seed(50_000 + seed))

    def objective(params: dict[str, Any], reporter: TrialReporter) -> float:
        torch.manual_seed(seed + reporter.number)
        gen = torch.Generator().manual_seed(60_000 + seed + reporter.number)
        model = SequenceModel(
            params["variant"],
            task.input_size,
            params["hidden"],
            task.output_size,
            num_layers=params["num_layers"],
            dropout=params["dropout"],
            recurrent_dropout=params["recurrent_dropout"],
            zoneout=params["zoneout"],
            weight_drop=params["weight_drop"],
            memory_bias=spec.memory_bias,  # as `lstmkit experiment` runs it
        )
        batch = params["batch_size"]

        class Fresh:
            def __len__(self) -> int:
                return max(1, sequences_per_epoch // batch)

            def __iter__(self) -> Any:
                for _ in range(len(self)):
                    yield task.sample(batch, gen)

        def step(model: torch.nn.Module, b: syn.SyntheticBatch) -> StepOutput:
            logits, _ = model(b.inputs, None, b.lengths)
            loss = task_loss(task, logits, b.targets, b.mask)
            wrong = None
            if not model.training:
                wrong = (~task.correct(activate(task, logits), b)).float()
            return StepOutput(loss, output=wrong, weight=float(len(b)))

        def error(out: StepOutput) -> float:
            assert out.output is not None
            return float(out.output.mean())

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
        trainer = Trainer(model, cfg, step=step, metrics={"error": error}, callbacks=[reporter.callback()])
        history = trainer.fit(Fresh(), [val])
        assert history.best_value is not None
        return float(history.best_value)

    return objective

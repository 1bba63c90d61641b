"""The search job (``lstmkit tune TASK``): an Optuna search of the network's settings on a
synthetic task, with pruning, and the trials table.

Each trial trains a :class:`~lstmkit.apps.experiments.model.SequenceModel` with the settings
sampled from a :class:`~lstmkit.fit.tune.SearchSpace` for a few epochs of fresh sequences
(:func:`~lstmkit.apps.experiments.tuning.synthetic_objective`) and is pruned when its
validation value after an epoch is worse than the median of earlier trials. The results
(``trials.csv``, ``best.json``, ``table.txt``, ``history.png``) go to the output folder.

Example::

    >>> from lstmkit.fit.tune import SearchSpace
    >>> result = run(TuneJobConfig("adding", space=SearchSpace(hidden=(4, 8)), trials=3, epochs=2))
    >>> result.best_params["hidden"] in (4, 8)
    True
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from lstmkit.apps.common.options import pick
from lstmkit.apps.experiments.registry import resolve_name
from lstmkit.apps.experiments.tuning import synthetic_objective
from lstmkit.fit.tune import SearchSpace, TuneResult, tune

__all__ = ["TuneJobConfig", "run"]


@dataclass(frozen=True)
class TuneJobConfig:
    """The settings of :func:`run` (``lstmkit tune TASK``).

    Args:
        task: the experiment (a key of :data:`~lstmkit.apps.experiments.registry.EXPERIMENTS`
            or an alias; not ``continual-reber``).
        space: what to search.
        trials: number of trials. timeout: no new trial after this many seconds.
        epochs: epochs per trial (the pruning steps). sequences_per_epoch: fresh training
            sequences per epoch. val_size: fixed validation sequences.
        metric: the validation value to minimize, ``"loss"`` or ``"error"``.
        length: the task's ``T`` (``None``: the experiment's).
        pruner: ``"median"``, ``"hyperband"`` or ``"none"``. seed: the seed of the sampler and the data.
        out: the results folder (``None``: ``runs/tune-TASK``). storage: an Optuna storage URL
            to resume a study. progress: Optuna's progress bar. echo: print the trials (stdout).
    """

    task: str
    space: SearchSpace = field(default_factory=SearchSpace)
    trials: int = 20
    timeout: float | None = None
    epochs: int = 8
    sequences_per_epoch: int = 2048
    val_size: int = 512
    metric: str = "loss"
    length: int | None = None
    pruner: str = "median"
    seed: int = 0
    out: str | None = None
    storage: str | None = None
    progress: bool = False
    echo: bool = False


def run(config: TuneJobConfig) -> TuneResult:
    """Search ``config.space`` on ``config.task`` and write the results folder.

    Args:
        config: the settings.

    Returns:
        the trials, the best trial's value and settings (:class:`~lstmkit.fit.tune.TuneResult`).
    """
    name = resolve_name(config.task)
    task_options = {} if config.length is None else {"T": config.length}
    trial = pick(config, "epochs", "sequences_per_epoch", "val_size", "metric", "seed")
    objective = synthetic_objective(name, task_options=task_options, **trial)
    out = config.out or f"runs/tune-{name}"
    study = pick(config, "timeout", "pruner", "seed", "storage", "progress")
    result = tune(
        objective, config.space, n_trials=config.trials, study_name=f"lstmkit-{name}", out_dir=out, **study
    )
    if config.echo:
        pruned = sum(t["state"] == "PRUNED" for t in result.trials)
        print(f"{name}: {len(result.trials)} trials ({pruned} pruned), minimizing validation {config.metric}")
        print(result.table())
        print(
            f"best: trial {result.best_trial}, {config.metric} {result.best_value:.6g}, {result.best_params}"
        )
        print(f"saved: {out}/best.json, trials.csv, table.txt, history.png")
        sys.stdout.flush()
    return result

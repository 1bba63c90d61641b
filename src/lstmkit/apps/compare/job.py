"""The comparison job (``lstmkit compare TASK``): study one task and write its run folder
(``results.json``, ``table.txt``, ``index.html`` with the plots of the metric against training
time and of the streaming latency against the context length).

Example::

    >>> result = run(CompareConfig("adding-50", models=("lstm", "gru"), seeds=1, quick=True))
    >>> print(result.table)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from dataclasses import dataclass
from typing import Any

from lstmkit.apps.compare.base import CompareTask
from lstmkit.apps.compare.latency import LENGTHS, QUICK_LENGTHS
from lstmkit.apps.compare.registry import make_task
from lstmkit.apps.compare.report import lstm_losses, plot_latency, plot_metric_vs_time, text_table
from lstmkit.apps.compare.study import study_task
from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.html import write_json, write_page
from lstmkit.io.runfolder import prepare_run_folder, run_folder

__all__ = ["CompareConfig", "CompareResult", "build_task", "run"]

KIND = "compare"


@dataclass(frozen=True)
class CompareConfig:
    """The settings of :func:`run`.

    Args:
        task: a name of :data:`~lstmkit.apps.compare.registry.TASKS`.
        models: the models (architectures and baselines) to compare; ``None``: all of the task's.
        seeds: seeds per model at the chosen rate. lrs: the rates searched (``None``: the task's).
        budget: every network's training budget in the task's unit (``None``: the task's).
        out: the run folder (``None``: ``runs/compare-TASK``). quick: smoke-run budgets.
        lengths: the context lengths of the latency measurement; repeats: timed steps per length.
        overwrite: replace an lstmkit run of another kind. progress: progress lines on stderr.
    """

    task: str
    models: tuple[str, ...] | None = None
    seeds: int = 3
    lrs: tuple[float, ...] | None = None
    budget: float | None = None
    out: str | None = None
    quick: bool = False
    lengths: tuple[int, ...] | None = None
    repeats: int = 50
    overwrite: bool = False
    progress: bool = True


@dataclass(frozen=True)
class CompareResult:
    """The study (a JSON-ready dict), its table and the run folder."""

    study: dict[str, Any]
    table: str
    out: str


def _check(config: CompareConfig) -> None:
    if isinstance(config.seeds, bool) or not isinstance(config.seeds, int) or config.seeds < 1:
        raise ValueError(f"seeds: expected an int >= 1, got {config.seeds!r}")
    if config.lrs is not None and not (config.lrs and all(0 < lr < math.inf for lr in config.lrs)):
        raise ValueError(f"lrs: expected positive finite rates, got {config.lrs!r}")
    if config.budget is not None and not 0 < config.budget < math.inf:
        raise ValueError(f"budget: expected a positive number, got {config.budget!r}")
    if config.lengths is not None and not (config.lengths and all(n >= 1 for n in config.lengths)):
        raise ValueError(f"lengths: expected context lengths >= 1, got {config.lengths!r}")
    if config.repeats < 1:
        raise ValueError(f"repeats: expected an int >= 1, got {config.repeats!r}")


def build_task(config: CompareConfig) -> CompareTask:
    """The task of ``config`` with its budget."""
    _check(config)
    task = make_task(config.task, quick=config.quick)
    unknown = [m for m in config.models or () if m not in task.models]
    if unknown:  # before the run folder is made
        raise ValueError(f"models: expected some of {', '.join(task.models)} for {task.name}, got {unknown}")
    return task if config.budget is None else dataclasses.replace(task, budget=config.budget)


def _echo(config: CompareConfig) -> Any:
    def echo(line: str) -> None:
        if config.progress:
            print(line, file=sys.stderr, flush=True)

    return echo


def _write(folder: str, study: dict[str, Any], table: str) -> None:
    write_json(os.path.join(folder, "results.json"), study)
    atomic_write_text(os.path.join(folder, "table.txt"), table + "\n")
    plot_metric_vs_time(study, os.path.join(folder, "metric_vs_time.png"))
    plot_latency(study, os.path.join(folder, "latency.png"))
    losses = "".join(f"<li>{line}</li>" for line in lstm_losses(study)) or "<li>nowhere in this run</li>"
    write_page(
        os.path.join(folder, "index.html"),
        f"lstmkit compare {study['task']}",
        [
            ("", f"<p>{study['title']}</p><pre>{table}</pre>"),
            ("Metric vs training time", "<img src='metric_vs_time.png'>"),
            ("Streaming latency vs context length", "<img src='latency.png'>"),
            ("Where the LSTM loses", f"<ul>{losses}</ul>"),
        ],
    )


def run(config: CompareConfig) -> CompareResult:
    """Study the task and write the run folder; returns the study and its table."""
    task = build_task(config)
    out = config.out or os.path.join("runs", f"compare-{task.name}")
    prepare_run_folder(out, KIND, overwrite=config.overwrite)  # before the long work
    study = study_task(
        task,
        models=config.models,
        seeds=config.seeds,
        lrs=config.lrs,
        lengths=config.lengths or (QUICK_LENGTHS if config.quick else LENGTHS),
        repeats=config.repeats,
        echo=_echo(config),
    )
    table = text_table(study)
    with run_folder(out, KIND, overwrite=config.overwrite) as tmp:
        _write(tmp, study, table)
    return CompareResult(study, table, out)

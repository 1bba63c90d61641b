r"""The experiments job (``lstmkit experiment``): train a cell on a task of Hochreiter &
Schmidhuber (1997) or Gers et al. (2000) for several seeds and judge it by the paper's criterion.

Protocol (what differs from the paper is said in every table): the paper trained online, one
sequence per update with plain gradient descent; here training uses mini-batches and Adam
(gradient norm clipped at 1), and "sequences seen" counts every training sequence of every
mini-batch. A run succeeds by the paper's stopping rule:

* ``reber``: every string of the 256 training and 256 test strings predicted right, checked
  every ``eval_every`` sequences;
* ``continual-reber``: 5 streams of 100 concatenated strings each (no reset) without a single
  wrong prediction;
* the others: the most recent ``window`` training sequences (2,000 in the paper; 10,000 for 2c)
  all right by the task's criterion.

After training, the test error is measured on fresh test sequences (2,560 as in the paper; for
``reber``, its fixed 256 test strings; for ``continual-reber``, ``test_size // 256`` streams of
100 strings; ``test_size`` sets each number). The success rate over seeds is

.. math::

    \text{success} = \frac{1}{S} \sum_{s=1}^{S} [\text{seed } s \text{ solved}]

Example::

    >>> from lstmkit.apps.experiments.job import run_experiment
    >>> result = run_experiment("reber", cell="classic", seeds=3)
    >>> result.success_rate, result.mean_sequences
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import statistics
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lstmkit.apps.experiments import tasks as syn
from lstmkit.apps.experiments.model import CELLS
from lstmkit.apps.experiments.registry import EXPERIMENTS, ExperimentSpec, TrainSettings, resolve_name
from lstmkit.apps.experiments.tables import experiment_report
from lstmkit.apps.experiments.train import SeedResult, run_seed
from lstmkit.io.atomic import atomic_write_text

__all__ = ["ExperimentJobConfig", "ExperimentResult", "run", "run_experiment"]

log = logging.getLogger("lstmkit.experiment")


@dataclass
class ExperimentResult:
    """One experiment run with one cell over seeds: each seed's result, their means, and the
    paper's result to compare with."""

    name: str
    title: str
    cell: str
    settings: dict[str, Any]
    seeds: list[SeedResult]
    paper: str
    paper_sequences: float | None

    @property
    def success_rate(self) -> float:
        return sum(s.success for s in self.seeds) / len(self.seeds)

    @property
    def mean_sequences(self) -> float | None:
        solved = [s.sequences for s in self.seeds if s.success]
        return statistics.mean(solved) if solved else None

    @property
    def mean_test_error(self) -> float:
        return statistics.mean(s.test_error for s in self.seeds)

    @property
    def mean_seconds(self) -> float:
        return statistics.mean(s.seconds for s in self.seeds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "cell": self.cell,
            "settings": self.settings,
            "success_rate": self.success_rate,
            "mean_sequences": self.mean_sequences,
            "mean_test_error": self.mean_test_error,
            "mean_seconds": self.mean_seconds,
            "paper": self.paper,
            "paper_sequences": self.paper_sequences,
            "seeds": [dataclasses.asdict(s) | {"test_error": s.test_error} for s in self.seeds],
        }


#: the settings that may be zero, negative, ``False`` or ``None`` (the others must be > 0)
_MAY_BE_ZERO = ("memory_bias", "input_bias", "shortcut", "stream_end", "protocol", "truncated",
                "readout_bias", "add_cell_after", "init_range")  # fmt: skip


def _settings(spec: ExperimentSpec, overrides: dict[str, Any]) -> TrainSettings:
    """The experiment's default settings, with the overrides that are not ``None``; each > 0
    (but the memory bias)."""
    defaults = {f.name: getattr(spec, f.name) for f in dataclasses.fields(TrainSettings)}
    settings = TrainSettings(
        **{k: v if overrides.get(k) is None else overrides[k] for k, v in defaults.items()}
    )
    if settings.stream_end not in ("error", "cap"):
        raise ValueError(f"stream_end: expected 'error' or 'cap', got {settings.stream_end!r}")
    if settings.protocol not in ("modern", "paper"):
        raise ValueError(f"protocol: expected 'modern' or 'paper', got {settings.protocol!r}")
    if settings.protocol == "paper":  # online: one sequence per update
        settings = dataclasses.replace(settings, batch_size=1)
    for key, value in dataclasses.asdict(settings).items():
        if key not in _MAY_BE_ZERO and not value > 0:
            raise ValueError(f"{key}: expected a value > 0, got {value}")
    if settings.init_range is not None and not settings.init_range > 0:
        raise ValueError(f"init_range: expected a value > 0 or None, got {settings.init_range}")
    if settings.add_cell_after < 0 or (settings.add_cell_after and not settings.shortcut):
        raise ValueError(
            "add_cell_after: expected 0, or sequences >= 0 with shortcut=True (the net is its direct "
            f"input-to-output connections until then), got {settings.add_cell_after} with "
            f"shortcut={settings.shortcut}"
        )
    return settings


@contextlib.contextmanager
def _quiet_training() -> Iterator[None]:
    """The trainer's log at WARNING (the many tiny epochs of a run are not news), unless this
    module logs DEBUG."""
    train_log = logging.getLogger("lstmkit.fit")
    level = train_log.level
    if not log.isEnabledFor(logging.DEBUG):
        train_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        train_log.setLevel(level)


def _check_run(
    name: str, cell: str | None, seeds: int | Sequence[int]
) -> tuple[ExperimentSpec, str, list[int]]:
    """The experiment, the cell (default: the experiment's) and the list of seeds, checked."""
    spec = EXPERIMENTS[resolve_name(name)]
    cell = cell or spec.cell
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {list(CELLS)}, got {cell!r}")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise ValueError(f"seeds: expected at least one seed, got {seeds!r}")
    return spec, cell, seed_list


def run_experiment(
    name: str,
    *,
    cell: str | None = None,
    seeds: int | Sequence[int] = 1,
    hidden: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    max_sequences: int | None = None,
    time_limit: float | None = None,
    window: int | None = None,
    eval_every: int | None = None,
    test_size: int | None = None,
    task_options: dict[str, Any] | None = None,
    memory_bias: float | None = None,
    num_layers: int | None = None,
    input_bias: float | None = None,
    shortcut: bool | None = None,
    stream_end: str | None = None,
    protocol: str | None = None,
    truncated: bool | None = None,
    readout_bias: bool | None = None,
    add_cell_after: int | None = None,
    init_range: float | None = None,
    engine: str | None = None,
    progress: bool = False,
) -> ExperimentResult:
    """Train ``cell`` on experiment ``name`` for each seed and judge it by the paper's criterion.

    Args:
        name: a key of :data:`~lstmkit.apps.experiments.registry.EXPERIMENTS` or an alias
            (``"1"``, ``"2a"``, ..., ``"6b"``).
        cell: an LSTM variant (:data:`lstmkit.core.cells.VARIANTS`), ``"gru"`` or ``"rnn"``; default:
            the experiment's (the paper's ``original1997`` cell; ``classic`` for continual-reber).
        seeds: how many seeds (0, 1, ...) or the seeds themselves.
        hidden, batch_size, lr, max_sequences, time_limit, window, eval_every, test_size,
        memory_bias, num_layers, input_bias, shortcut, stream_end, protocol, truncated, readout_bias,
        add_cell_after, init_range: override the experiment's
            defaults (the fields of :class:`~lstmkit.apps.experiments.registry.TrainSettings`).
        task_options: override the task's options (e.g. ``{"T": 500}``).
        engine: passed to :class:`~lstmkit.core.layers.LSTM` (when it has that option).
    """
    spec, cell, seed_list = _check_run(name, cell, seeds)
    task = spec.task(**{**spec.options, **(task_options or {})})
    if isinstance(task, syn.EmbeddedReber):  # its test set is the fixed one the run is judged on
        task = dataclasses.replace(task, n_test=task.n_test if test_size is None else test_size)
        test_size = task.n_test
    given = locals()  # the arguments named as the fields of TrainSettings override them
    overrides = {f.name: given[f.name] for f in dataclasses.fields(TrainSettings) if f.name in given}
    settings = _settings(spec, overrides)
    results = []
    with _quiet_training():
        for seed in seed_list:
            r = run_seed(task, cell, seed, settings, engine=engine, progress=progress)
            results.append(r)
            log.info("%s %s seed %d: %s after %d sequences, test error %.4f, %.1fs",
                     spec.name, cell, seed, r.stop, r.sequences, r.test_error, r.seconds)  # fmt: skip
    described = _described(settings, task)
    return ExperimentResult(spec.name, spec.title, cell, described, results, spec.paper, spec.paper_sequences)


def _described(settings: TrainSettings, task: syn.Task) -> dict[str, Any]:
    """The settings of a result, as its table and JSON show them."""
    optimizer = (
        "adam, mini-batches, clip_norm=1"
        if settings.protocol == "modern"
        else "online plain gradient descent on the summed error, no clipping"
    )
    return {**dataclasses.asdict(settings), "task": dict(vars(task)), "optimizer": optimizer}


@dataclass(frozen=True)
class ExperimentJobConfig:
    """The settings of :func:`run` (``lstmkit experiment NAME``).

    Args:
        name: the experiment (a key of :data:`~lstmkit.apps.experiments.registry.EXPERIMENTS`
            or an alias).
        cells: the cells to train, each for every seed (empty: the experiment's own cell).
        length, p, q: the task's ``T``, ``p`` and ``q`` (``None``: the experiment's).
        json: also write the results as JSON to this file.
        echo: print the header and the table (stdout).
        settings: the keyword arguments of :func:`run_experiment` for each cell (``seeds``,
            ``hidden``, ``lr``, ...).
    """

    name: str
    cells: Sequence[str] = ()
    length: int | None = None
    p: int | None = None
    q: int | None = None
    json: str | None = None
    echo: bool = False
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)


def task_options(name: str, length: int | None, p: int | None, q: int | None) -> dict[str, Any]:
    """The task options ``T``, ``p`` and ``q`` that are given, each checked to be an option of
    experiment ``name``'s task (naming the flag ``--length``, ``--p`` or ``--q``)."""
    options: dict[str, Any] = {}
    task_fields = set(inspect.signature(EXPERIMENTS[name].task).parameters)
    for arg, key, value in (("length", "T", length), ("p", "p", p), ("q", "q", q)):
        if value is not None:
            if key not in task_fields:
                raise ValueError(f"--{arg}: experiment {name!r} has no option {key}")
            options[key] = value
    return options


def run(config: ExperimentJobConfig) -> list[ExperimentResult]:
    """Run experiment ``config.name`` with each of ``config.cells``; print the header and the
    table (with ``echo``) and write the JSON (with ``config.json``).

    Args:
        config: the settings.

    Returns:
        one :class:`ExperimentResult` per cell.
    """
    name = resolve_name(config.name)
    options = task_options(name, config.length, config.p, config.q)
    cells = list(config.cells) or [EXPERIMENTS[name].cell]
    results = [run_experiment(name, cell=c, task_options=options, **config.settings) for c in cells]
    if config.echo:
        print(experiment_report(name, results))
        sys.stdout.flush()
    if config.json:
        atomic_write_text(config.json, json.dumps([r.to_dict() for r in results], indent=2) + "\n")
    return results

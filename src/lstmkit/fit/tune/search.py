"""Hyperparameter search with Optuna: a search space for recurrent nets, pruning of bad
trials through the trainer, a results table and the best configuration saved.

Example::

    >>> from lstmkit.fit.tune import SearchSpace, tune
    >>> def objective(params, reporter):
    ...     model = build(params)                     # your model from the sampled values
    ...     trainer = Trainer(model, TrainConfig(lr=params["lr"], max_epochs=10),
    ...                       loss_fn=..., callbacks=[reporter.callback()])   # prunes
    ...     return trainer.fit(train, val).best_value
    >>> result = tune(objective, SearchSpace(variants=("classic", "cifg")), n_trials=30,
    ...               out_dir="runs/tune")
    >>> print(result.table()); result.best_params

optuna is imported lazily (``pip install 'optuna==5.0.*'``).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lstmkit.core.cells import VARIANTS
from lstmkit.fit.checkpoint import atomic_write_text
from lstmkit.fit.logs import save_png, write_csv
from lstmkit.fit.loop import Callback

__all__ = ["PRUNERS", "SearchSpace", "TrialReporter", "TuneResult", "tune"]

PRUNERS = ("median", "hyperband", "none")


def _optuna() -> Any:
    """The optuna module, or an ImportError saying how to install it."""
    if importlib.util.find_spec("optuna") is None:  # pragma: no cover - depends on the environment
        raise ImportError("lstmkit.fit.tune needs optuna: pip install 'optuna==5.0.*' (or `make setup`)")
    return importlib.import_module("optuna")


def _range(name: str, value: tuple[float, float], low: float, high: float) -> tuple[float, float]:
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"{name}: expected a (low, high) pair, got {value!r}")
    a, b = float(value[0]), float(value[1])
    if not low <= a <= b <= high:
        raise ValueError(f"{name}: expected {low} <= low <= high <= {high}, got {value!r}")
    return a, b


@dataclass(frozen=True)
class SearchSpace:
    """What :func:`tune` samples. A ``(low, high)`` range with ``low == high`` is fixed (not
    searched); tuples of choices with one element are fixed too.

    Args:
        hidden: hidden sizes to choose from.
        num_layers: (min, max) stacked layers.
        lr: (low, high) learning rate, sampled log-uniformly.
        weight_decay: (low, high), log-uniform when low > 0, else fixed 0 or uniform.
        dropout: (low, high) between layers (sampled only with more than one layer).
        recurrent_dropout: (low, high) variational dropout on h.
        zoneout: (low, high) zoneout on h and c (LSTM variants only).
        weight_drop: (low, high) DropConnect on the recurrent weights (LSTM variants only).
        variants: LSTM variants (``lstmkit.core.cells.VARIANTS``), ``"gru"`` or ``"rnn"``.
        batch_size: batch sizes to choose from.
    """

    hidden: tuple[int, ...] = (16, 32, 64)
    num_layers: tuple[int, int] = (1, 2)
    lr: tuple[float, float] = (1e-4, 3e-2)
    weight_decay: tuple[float, float] = (0.0, 0.0)
    dropout: tuple[float, float] = (0.0, 0.3)
    recurrent_dropout: tuple[float, float] = (0.0, 0.0)
    zoneout: tuple[float, float] = (0.0, 0.0)
    weight_drop: tuple[float, float] = (0.0, 0.0)
    variants: tuple[str, ...] = ("classic",)
    batch_size: tuple[int, ...] = (32,)

    def __post_init__(self) -> None:
        for name in ("hidden", "batch_size", "variants"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
            if not getattr(self, name):
                raise ValueError(f"{name}: expected at least one choice, got {value!r}")
        for h in (*self.hidden, *self.batch_size):
            if isinstance(h, bool) or not isinstance(h, int) or h < 1:
                raise ValueError(f"hidden, batch_size: expected ints >= 1, got {h!r}")
        for v in self.variants:
            if v not in VARIANTS and v not in ("gru", "rnn"):
                raise ValueError(f"variants: expected names from {[*VARIANTS, 'gru', 'rnn']}, got {v!r}")
        lo, hi = self.num_layers
        if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
            raise ValueError(f"num_layers: expected (min, max) with 1 <= min <= max, got {self.num_layers!r}")
        _range("lr", self.lr, 1e-12, 10.0)
        _range("weight_decay", self.weight_decay, 0.0, 1.0)
        for name in ("dropout", "recurrent_dropout", "zoneout", "weight_drop"):
            _range(name, getattr(self, name), 0.0, 0.95)

    def sample(self, trial: Any) -> dict[str, Any]:
        """Draw one configuration from an Optuna ``trial``."""

        def choice(name: str, options: Sequence[Any]) -> Any:
            return options[0] if len(options) == 1 else trial.suggest_categorical(name, list(options))

        def uniform(name: str, rng: tuple[float, float], log: bool = False) -> float:
            a, b = rng
            return a if a == b else trial.suggest_float(name, a, b, log=log)

        variant = choice("variant", self.variants)
        lo, hi = self.num_layers
        layers = lo if lo == hi else trial.suggest_int("num_layers", lo, hi)
        wd_lo, wd_hi = self.weight_decay
        params = {
            "variant": variant,
            "hidden": int(choice("hidden", self.hidden)),
            "num_layers": layers,
            "lr": uniform("lr", self.lr, log=True),
            "weight_decay": uniform("weight_decay", self.weight_decay, log=wd_lo > 0 and wd_hi > wd_lo),
            "batch_size": int(choice("batch_size", self.batch_size)),
            "dropout": uniform("dropout", self.dropout) if layers > 1 else 0.0,
            "recurrent_dropout": uniform("recurrent_dropout", self.recurrent_dropout),
            "zoneout": 0.0,
            "weight_drop": 0.0,
        }
        if variant not in ("gru", "rnn"):
            params["zoneout"] = uniform("zoneout", self.zoneout)
            params["weight_drop"] = uniform("weight_drop", self.weight_drop)
        return params

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TrialReporter:
    """Given to the objective: :meth:`report` intermediate values (raises Optuna's
    ``TrialPruned`` when the pruner stops the trial) or use :meth:`callback` in a Trainer."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial
        self.steps = 0

    @property
    def number(self) -> int:
        return int(self.trial.number)

    def report(self, value: float, step: int | None = None) -> None:
        """Report a value of the objective at ``step`` (default: 0, 1, 2, ...); prune if told."""
        optuna = _optuna()
        step = self.steps if step is None else step
        self.steps = step + 1
        if math.isfinite(value):
            self.trial.report(float(value), step)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step} with value {value:.6g}")

    def callback(self, monitor: str | None = None) -> Callback:
        """A trainer callback reporting ``monitor`` (default: the trainer's) after every epoch
        that logged it."""
        reporter = self

        class _Report(Callback):
            def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
                key = monitor or trainer.monitor
                if key in row:
                    reporter.report(float(row[key]), int(row["epoch"]))

        return _Report()


@dataclass
class TuneResult:
    """What :func:`tune` returns: the best trial and every trial as a row."""

    best_params: dict[str, Any]
    best_value: float
    best_trial: int
    direction: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    study: Any = None

    def table(self, limit: int | None = None) -> str:
        """The trials, best first (pruned and failed last), as a text table."""
        done = [t for t in self.trials if t["state"] == "COMPLETE"]
        rest = [t for t in self.trials if t["state"] != "COMPLETE"]
        done.sort(key=lambda t: t["value"], reverse=self.direction == "maximize")
        rows = (done + rest)[:limit] if limit else done + rest
        keys = sorted({k for t in self.trials for k in t["params"]})
        varying = [k for k in keys if len({repr(t["params"].get(k)) for t in self.trials}) > 1]
        keys = varying or keys  # the searched parameters; fixed ones are in best.json
        head = ["trial", "state", "value", "epochs", *keys]
        lines = [head]
        for t in rows:
            value = "-" if t["value"] is None else f"{t['value']:.5g}"
            cells = [str(t["number"]), t["state"].lower(), value, str(t["steps"])]
            for k in keys:
                v = t["params"].get(k, "")
                cells.append(f"{v:.3g}" if isinstance(v, float) else str(v))
            lines.append(cells)
        widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
        out = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in lines]
        out.insert(1, "-" * len(out[0]))
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        """Every field but the Optuna study."""
        return {k: v for k, v in vars(self).items() if k != "study"}


def _pruner(name: str, optuna: Any) -> Any:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"pruner: expected one of {list(PRUNERS)}, got {name!r}")


def tune(
    objective: Callable[[dict[str, Any], TrialReporter], float],
    space: SearchSpace | None = None,
    *,
    n_trials: int = 20,
    timeout: float | None = None,
    direction: str = "minimize",
    pruner: str = "median",
    seed: int = 0,
    study_name: str = "lstmkit",
    storage: str | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> TuneResult:
    """Search ``space`` with Optuna's TPE sampler for the configuration that optimizes
    ``objective(params, reporter) -> float``.

    Args:
        objective: trains with the sampled ``params`` (see :meth:`SearchSpace.sample`) and
            returns the value to optimize; calls ``reporter.report(value)`` (or uses
            ``reporter.callback()`` in a :class:`~lstmkit.fit.Trainer`) so bad trials are pruned.
        space: the :class:`SearchSpace`.
        n_trials, timeout: stop after this many trials or seconds (whichever first).
        direction: ``"minimize"`` or ``"maximize"``.
        pruner: ``"median"`` (stop a trial below the median of earlier ones at the same epoch),
            ``"hyperband"`` or ``"none"``.
        seed: seed of the sampler (the search is reproducible given deterministic objectives).
        study_name, storage: an Optuna storage URL (e.g. ``"sqlite:///runs/tune/study.db"``)
            makes the study resumable: rerunning adds trials to it.
        out_dir: write ``trials.csv``, ``best.json`` (best params and value), ``table.txt`` and
            ``history.png`` there (atomically).
    """
    optuna = _optuna()
    space = space or SearchSpace()
    _check_arguments(objective, n_trials, direction)
    study = _new_study(optuna, study_name, storage, direction, seed, pruner)

    def run(trial: Any) -> float:
        params = space.sample(trial)
        trial.set_user_attr("params", params)
        value = float(objective(params, TrialReporter(trial)))
        if not math.isfinite(value):
            raise optuna.TrialPruned(f"objective returned {value}")
        return value

    study.optimize(
        run, n_trials=n_trials, timeout=timeout, show_progress_bar=progress, catch=(FloatingPointError,)
    )
    if not any(t.state.name == "COMPLETE" for t in study.trials):
        raise ValueError("tune: no trial completed (all pruned or failed); widen the space or budget")
    best = study.best_trial
    trials = [_trial_row(t) for t in study.trials]
    result = TuneResult(best.user_attrs["params"], float(best.value), best.number, direction, trials, study)
    if out_dir is not None:
        _save(result, Path(out_dir), space)
    return result


def _check_arguments(objective: object, n_trials: object, direction: object) -> None:
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction: expected 'minimize' or 'maximize', got {direction!r}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials: expected an int >= 1, got {n_trials!r}")
    if not callable(objective):
        raise TypeError(f"objective: expected a callable(params, reporter), got {type(objective).__name__}")


def _new_study(optuna: Any, name: str, storage: str | None, direction: str, seed: int, pruner: str) -> Any:
    """An Optuna study with the TPE sampler (seeded) and the named pruner; resumed from
    ``storage`` when it holds one of that name."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=name,
        storage=storage,
        load_if_exists=storage is not None,
        direction=direction,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=_pruner(pruner, optuna),
    )


def _trial_row(t: Any) -> dict[str, Any]:
    """One Optuna trial as a row of :attr:`TuneResult.trials`."""
    return {
        "number": t.number,
        "state": t.state.name,
        "value": t.value,
        "params": t.user_attrs.get("params", t.params),
        "steps": len(t.intermediate_values),
        "last": t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None,
        "seconds": t.duration.total_seconds() if t.duration else None,
    }


def _save(result: TuneResult, out: Path, space: SearchSpace) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for t in result.trials:
        row = {k: t[k] for k in ("number", "state", "value", "steps", "last", "seconds")}
        row.update(t["params"])
        rows.append(row)
    write_csv(out / "trials.csv", rows)
    best = result.to_dict()
    best.pop("trials")
    best["space"] = space.to_dict()
    atomic_write_text(out / "best.json", json.dumps(best, indent=2) + "\n")
    atomic_write_text(out / "table.txt", result.table() + "\n")
    with contextlib.suppress(ImportError):
        _plot_history(out / "history.png", result)


def _plot_history(path: Path, result: TuneResult) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    done = [t for t in result.trials if t["state"] == "COMPLETE"]
    pruned = [t for t in result.trials if t["state"] == "PRUNED"]
    ax.scatter([t["number"] for t in done], [t["value"] for t in done], s=18, label="complete")
    pruned = [t for t in pruned if t["last"] is not None]
    if pruned:
        ax.scatter(
            [t["number"] for t in pruned],
            [t["last"] for t in pruned],
            marker="x",
            color="0.6",
            label="pruned (last)",
        )
    best, xs, ys = None, [], []
    for t in sorted(done, key=lambda t: t["number"]):
        v = t["value"]
        if best is None or (v < best if result.direction == "minimize" else v > best):
            best = v
        xs.append(t["number"])
        ys.append(best)
    ax.step(xs, ys, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("objective")
    ax.set_title("hyperparameter search")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_png(fig, path)

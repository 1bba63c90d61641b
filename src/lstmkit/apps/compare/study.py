"""The study of one task: equal sizes, a small rate search, several seeds, and latency.

For each architecture: its size (:func:`~lstmkit.apps.compare.sizing.match_sizes`), then each
rate of the task trained once (seed 0 of the search) and scored on the validation split, the
best of them (by the validation metric only; a run that diverged never wins) trained from
``seeds`` seeds and scored on the test split. A baseline is fitted once per seed (the
classical ones are deterministic: one fit). Every result is a plain dict (JSON-ready).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from lstmkit.apps.compare.base import ARCHITECTURES, CompareTask, Size
from lstmkit.apps.compare.latency import stream_latency
from lstmkit.apps.compare.sizing import match_sizes

__all__ = ["pick_rate", "study_baseline", "study_model", "study_task", "summarize"]

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def summarize(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sample standard deviation; 0 for one value) of the finite ``values`` (NaN if none)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    return statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else 0.0


def pick_rate(task: CompareTask, scores: dict[float, float]) -> float:
    """The rate of the best validation score (the middle rate if every run diverged)."""
    best = None
    for lr, value in scores.items():
        if best is None or task.metric.better(value, scores[best]):
            best = lr
    rates = list(scores)
    if best is None or not math.isfinite(scores[best]):
        return rates[len(rates) // 2]
    return best


def study_model(
    task: CompareTask, size: Size, seeds: int, lrs: Sequence[float] | None = None, echo: Echo = _quiet
) -> dict[str, Any]:
    """The rate search and the seeds of one architecture at ``size``."""
    search = {}
    for lr in lrs or task.lrs:
        search[lr] = task.train(size, lr, 0, "valid").value
        echo(f"{task.name} {size.architecture:11s} lr {lr:g}: valid {task.metric.name} {search[lr]:.4g}")
    lr = pick_rate(task, search)
    runs = []
    for seed in range(seeds):
        score = task.train(size, lr, seed, "test")
        runs.append({"seed": seed, "value": score.value, "seconds": score.seconds, "steps": score.steps})
        echo(f"{task.name} {size.architecture:11s} seed {seed}: {task.metric.name} {score.value:.4g}")
    mean, std = summarize([r["value"] for r in runs])
    return {
        "model": size.architecture,
        "kind": "neural",
        "width": size.width,
        "layers": size.layers,
        "params": size.params,
        "param_ratio": size.ratio,
        "matched": size.matched,
        "lr": lr,
        "search": [{"lr": k, "valid": v} for k, v in search.items()],
        "runs": runs,
        "mean": mean,
        "std": std,
        "train_seconds": summarize([r["seconds"] for r in runs])[0],
    }


def study_baseline(task: CompareTask, name: str, echo: Echo = _quiet) -> dict[str, Any]:
    """A baseline's test score (one fit: the classical baselines are deterministic)."""
    score = task.baseline(name, 0, "test")
    echo(f"{task.name} {name:11s}: {task.metric.name} {score.value:.4g}")
    return {
        "model": name,
        "kind": "baseline",
        "runs": [{"seed": 0, "value": score.value, "seconds": score.seconds, "steps": score.steps}],
        "mean": score.value,
        "std": 0.0,
        "train_seconds": score.seconds,
    }


def study_task(
    task: CompareTask,
    *,
    models: Sequence[str] | None = None,
    seeds: int = 3,
    lrs: Sequence[float] | None = None,
    lengths: Sequence[int] = (16, 64, 256, 1024, 4096),
    repeats: int = 50,
    echo: Echo = _quiet,
) -> dict[str, Any]:
    """Every model of ``task`` (or ``models``): sizes, rates, seeds, latency; a JSON-ready dict."""
    chosen = list(models or task.models)
    unknown = [m for m in chosen if m not in task.models]
    if unknown:
        raise ValueError(f"models: expected some of {', '.join(task.models)} for {task.name}, got {unknown}")
    neural = [m for m in chosen if m in ARCHITECTURES]
    sizes = match_sizes(task, sorted(set(neural) | {"lstm"}, key=ARCHITECTURES.index))
    rows, latency = [], {}
    for arch in neural:
        size = sizes[arch]
        flag = "" if size.matched else "  NOT within 10% of the LSTM"
        echo(f"{task.name} {arch:11s} width {size.width} x {size.layers}: {size.params} params{flag}")
        rows.append(study_model(task, size, seeds, lrs, echo))
        latency[arch] = stream_latency(size, task.input_size, lengths, repeats=repeats)
    rows += [study_baseline(task, b, echo) for b in chosen if b not in ARCHITECTURES]
    return {
        "task": task.name,
        "title": task.title,
        "metric": task.metric.name,
        "higher_better": task.metric.higher_better,
        "budget": task.budget,
        "budget_unit": task.budget_unit,
        "time_limit": task.time_limit,
        "seeds": seeds,
        "lrs": list(lrs or task.lrs),
        "reference_params": sizes["lstm"].params,
        "models": rows,
        "latency": latency,
    }

"""The worker process of one training job of ``lstmkit serve`` (started by
:class:`~lstmkit.apps.serve.jobs.JobStore`, one at a time, ``spawn`` context).

It reads ``request.json`` and ``input.csv`` from the job's folder, runs the forecasting app's
own job (:func:`lstmkit.apps.forecasting.job.run`: backtest against the baselines, final fit,
report folder ``run/`` built aside and swapped in whole), appends one line per training epoch
to ``progress.jsonl`` and ends by writing ``status.json`` (``done`` with ``result.json``, or
``failed`` with the error's first line). One torch thread.

Progress rows: ``{"training": k, "epoch": e, "train_loss": ..., "val_loss": ... | null,
"elapsed": s, "fraction": f}``; ``k`` counts the networks trained (backtest, then the final
fit; each may be an early-stopped training and its refit), ``e`` counts from 1, ``fraction``
is the share of the planned epochs done, or of the time budget spent when that is more (early
stopping makes it jump).

A text job (``"task": "text"``, :mod:`lstmkit.apps.serve.textjob`) trains one character
language model on ``input.txt`` instead; its rows also hold ``train_bits`` and ``val_bits``.
A detect or classify job (:mod:`lstmkit.apps.serve.detectjob`,
:mod:`lstmkit.apps.serve.classifyjob`) trains one detector or classifier on ``input.csv``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from lstmkit.fit.loop import Callback, TrainingLoop
from lstmkit.io.atomic import atomic_write_text

__all__ = ["ProgressFile", "read_json", "work", "write_status"]

STATUS, PROGRESS, REQUEST, RESULT, INPUT = (
    "status.json",
    "progress.jsonl",
    "request.json",
    "result.json",
    "input.csv",
)
#: the share of a time budget the trainings may take (the baselines and the report need the rest)
TRAINING_SHARE = 0.7
#: the share of a time budget the "tune" switch's search may take (the job's run has the rest)
TUNE_SHARE = 0.5


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def write_status(folder: Path, **fields: Any) -> dict[str, Any]:
    """Update ``status.json`` (atomically) with ``fields``; the new status."""
    path = folder / STATUS
    status = read_json(path) if path.exists() else {}
    status.update(fields)
    atomic_write_text(path, json.dumps(status, indent=1))
    return status


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


class ProgressFile(Callback):
    """Append a row per epoch to ``progress.jsonl``; stop a training whose share of the time
    budget is spent.

    Args:
        path: the file. trainings: the trainings planned. epochs: epochs per training.
        budget_s: seconds all trainings may take together (``None``: no limit).
        bits: also write the losses in bits (``train_bits``, ``val_bits``: a loss in nats
            per token over :math:`\\ln 2`; a language model's bits per character).
    """

    def __init__(
        self, path: Path, trainings: int, epochs: int, budget_s: float | None, bits: bool = False
    ) -> None:
        self.path, self.trainings, self.epochs = path, max(1, trainings), max(1, epochs)
        self.bits = bits
        self.per_training = None if budget_s is None else budget_s / self.trainings
        self.budget_s = budget_s
        self.started = time.perf_counter()
        self.training = 0
        self.training_start = self.started

    def on_fit_start(self, trainer: TrainingLoop) -> None:
        self.training += 1
        self.training_start = time.perf_counter()

    def on_epoch_end(self, trainer: TrainingLoop, row: dict[str, Any]) -> None:
        now = time.perf_counter()
        done = (min(self.training, self.trainings) - 1) + min(1.0, (int(row["epoch"]) + 1) / self.epochs)
        share = done / self.trainings
        if self.budget_s:  # a time budget may end the trainings first
            share = max(share, (now - self.started) / self.budget_s)
        line = {
            "training": self.training,
            "epoch": int(row["epoch"]) + 1,
            "train_loss": _finite(row.get("train_loss")),
            "val_loss": _finite(row.get("val_loss")),
            "elapsed": round(now - self.started, 3),
            "fraction": round(min(0.99, share), 4),
        }
        if self.bits:
            for key in ("train", "val"):
                loss = line[f"{key}_loss"]
                line[f"{key}_bits"] = None if loss is None else loss / math.log(2)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        if self.per_training is not None and now - self.training_start > self.per_training:
            trainer.should_stop = True


def _result(out: Any) -> dict[str, Any]:
    """What the page shows: the history's tail, the forecast with its 80%/95% intervals and
    the backtest rows."""
    series, fc = out.series, out.forecast
    tail = max(4 * out.horizon, 48)
    return {
        "history": {
            "index": [str(i) for i in series.index[-tail:]],
            "values": series.values[-tail:].tolist(),
        },
        "forecast": {
            "index": [str(i) for i in fc.index],
            "point": fc.point.tolist(),
            **{
                f"{side}{level}": fc.interval(level / 100)[k].tolist()
                for level in (80, 95)
                for k, side in enumerate(("lower", "upper"))
            },
        },
        "rows": [{k: v if isinstance(v, str) else _finite(v) for k, v in row.items()} for row in out.rows],
        "horizon": out.horizon,
        "windows": out.windows,
        "series": series.name,
        "frequency": series.freq,
    }


def _tuned(folder: Path, request: dict[str, Any], source: Any, budget: float | None) -> dict[str, Any]:
    """The "tune" switch of a forecast job: the best settings of a search within a share of the
    budget (see :mod:`lstmkit.apps.serve.tuning`), also written to ``tuned.json``."""
    from lstmkit.apps.forecasting import job as forecasting
    from lstmkit.apps.serve.tuning import tune_forecaster

    series, _ = forecasting.load_series(source)
    assert not isinstance(series, list)
    horizon, windows = int(request["horizon"]), int(request["windows"])
    start = forecasting.backtest_start(series, horizon, windows, horizon, "windows")
    return tune_forecaster(
        series, horizon, start, int(request["epochs"]), folder, trials=int(request["trials"]),
        timeout=_share(budget),
    )  # fmt: skip


def _share(budget: float | None) -> float | None:
    return None if budget is None else budget * TUNE_SHARE


def _left(budget: float | None, started: float) -> float | None:
    """What is left of ``budget`` seconds since ``started`` (``time.perf_counter()``)."""
    return None if budget is None else max(0.0, budget - (time.perf_counter() - started))


def _run(folder: Path, request: dict[str, Any]) -> dict[str, Any]:
    from lstmkit.apps.forecasting import job as forecasting
    from lstmkit.fit.estimator import also_report_to

    epochs, ensemble, budget = int(request["epochs"]), int(request["ensemble"]), request.get("budget_s")
    source = forecasting.SeriesSource(csv=str(folder / INPUT), target=request["target"], time=request["time"])
    chosen: dict[str, Any] = {"hidden": int(request["hidden"])}
    tuned = None
    if request.get("tune"):
        started = time.perf_counter()
        tuned = _tuned(folder, request, source, budget)
        chosen = tuned["settings"]
        budget = _left(budget, started)
    model = forecasting.ForecasterSettings(
        horizon=request["horizon"], ensemble=ensemble, max_epochs=epochs, **chosen
    )
    config = forecasting.RunJobConfig(
        source,
        model,
        windows=int(request["windows"]),
        refit="once",
        baselines=tuple(request["baselines"]),
        name="run",
        out=str(folder),
        progress=False,
    )
    # two fits (backtest, final), each an early-stopped training and its refit
    share = None if budget is None else budget * TRAINING_SHARE
    with also_report_to(ProgressFile(folder / PROGRESS, 4 * ensemble, epochs, share)):
        out = forecasting.run(config)
    return _result(out) | {"tuned": tuned}


def _run_text(folder: Path, request: dict[str, Any]) -> dict[str, Any]:
    """A text job (see :mod:`lstmkit.apps.serve.textjob`): one training, its rows in bits too."""
    from lstmkit.apps.serve.textjob import run_text

    progress = ProgressFile(folder / PROGRESS, 1, int(request["epochs"]), request.get("budget_s"), bits=True)
    return run_text(folder, request, progress)


def _run_task(folder: Path, request: dict[str, Any]) -> dict[str, Any]:
    """A detect or classify job (:mod:`lstmkit.apps.serve.detectjob`, :mod:`~lstmkit.apps.serve.classifyjob`):
    with ``tune``, first a search of its settings on its training part within a share of the
    budget (:mod:`lstmkit.apps.serve.tuning`), whose best settings the job then uses; one
    training, its progress rows as the forecasting job's."""
    from lstmkit.apps.serve.classifyjob import run_classify, training_split
    from lstmkit.apps.serve.detectjob import run_detect, training_rows
    from lstmkit.apps.serve.tuning import tune_classifier, tune_detector

    budget, tuned, epochs = request.get("budget_s"), None, int(request["epochs"])
    limits = {"trials": int(request.get("trials", 20)), "timeout": _share(budget)}
    if request.get("tune"):
        started = time.perf_counter()
        if request["task"] == "detect":
            tuned = tune_detector(training_rows(folder, request), epochs, folder, **limits)
        else:
            data, train, _ = training_split(folder, request)
            x, y, lengths = data.x[train], data.y[train], data.lengths[train]
            tuned = tune_classifier(x, y, lengths, epochs, int(request["seed"]), folder, **limits)
        request = request | tuned["settings"]
        budget = _left(budget, started)
    run = run_detect if request["task"] == "detect" else run_classify
    return run(folder, request, ProgressFile(folder / PROGRESS, 1, epochs, budget)) | {"tuned": tuned}


def work(folder_name: str) -> None:
    """The worker's entry point: run the job in ``folder_name`` and record how it ended."""
    import torch

    torch.set_num_threads(1)
    folder = Path(folder_name)
    logging.basicConfig(
        filename=folder / "log.txt", level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    try:
        request = read_json(folder / REQUEST)
        task = request.get("task", "forecast")
        run = {"text": _run_text, "detect": _run_task, "classify": _run_task}.get(task, _run)
        result = run(folder, request)
    except Exception as exc:  # the job's error, in one line, for the page
        logging.getLogger("lstmkit.serve").exception("job failed")
        text = str(exc).strip()
        line = text.splitlines()[0] if text else type(exc).__name__
        write_status(folder, state="failed", error=line, ended=time.time())
        return
    atomic_write_text(folder / RESULT, json.dumps(result))
    write_status(folder, state="done", ended=time.time())

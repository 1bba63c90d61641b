"""The "tune" switch of the browser app's forecast, classify and detect jobs: one Optuna search
driver (:func:`search`, over :func:`lstmkit.fit.tune.tune`) and what each task searches and how
a trial is scored, within a share of the job's time budget, before the job's own run.

The search stops at the first of ``trials`` trials or the time given (the running trial's
trainings end at the next epoch). Each finished trial is appended to ``trials.jsonl`` as
``{"trial", "metric", <metric>: value, <settings>..., "seconds"}`` (lower is better); the best
trial's settings and score are written to ``tuned.json`` and the job's run uses them. No trial
ever sees the data the page's result is measured on:

* **forecast** (:func:`tune_forecaster`; architecture, LSTM variant, layers, input window, size,
  learning rate): a trial fits a forecaster on the data before the backtest's first origin, less
  its last ``horizon`` steps, and is scored by the MASE of its forecast of those steps; the
  backtest that follows scores the chosen settings on windows the search did not use.
* **classify** (:func:`tune_classifier`; the architecture among :data:`CLASSIFY_ARCHITECTURES`,
  LSTM variant, hidden size, learning rate): the search is given the job's training split only.
  A stratified :data:`VALIDATION` share of it is carved off (:func:`~.classifyjob.split`); a
  trial trains on the rest and is scored by its cross-entropy on that validation part (in nats
  per sequence; less tied than accuracy on a few sequences). The held-out test split the page
  reports is never seen.
* **detect** (:func:`tune_detector`; the window, LSTM variant, hidden size, learning rate): the
  search is given the training part only (the first rows, which the user says are normal; no
  labels exist). Its last :data:`VALIDATION` share is held out; a trial's detector trains on the
  rows before it and is scored by its mean absolute one-step prediction error on the held-out
  rows (the state warmed on the rows before them), in standard deviations of the training rows.
  Prediction error on normal data is what the detector's anomaly score measures, so a lower one
  is a sharper model of normal behaviour; the rows after the training part, which may hold the
  anomalies, are never seen.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmkit.fit.estimator import also_report_to
from lstmkit.fit.loop import Callback, TrainingLoop
from lstmkit.fit.tune import SearchSpace, tune
from lstmkit.fit.tune.search import TrialReporter
from lstmkit.io.atomic import atomic_write_text

if TYPE_CHECKING:
    from lstmkit.apps.forecasting.series import TimeSeries

__all__ = [
    "CLASSIFY_ARCHITECTURES",
    "SPACE",
    "TRIALS",
    "TUNED",
    "VALIDATION",
    "search",
    "tune_classifier",
    "tune_detector",
    "tune_forecaster",
]

TRIALS, TUNED = "trials.jsonl", "tuned.json"
#: the share of the training data a classify or detect search holds out to score its trials
VALIDATION = 0.25
#: what the forecaster's search chooses from (the window is chosen in the objective: it
#: depends on the horizon)
SPACE = SearchSpace(
    hidden=(8, 16, 32, 64), num_layers=(1, 2), lr=(1e-3, 3e-2), dropout=(0.0, 0.0),
    variants=("classic", "cifg", "gru"),
)  # fmt: skip
#: the classifier's and the detector's: one layer, the LSTM variant, size and learning rate
TASK_SPACE = SearchSpace(
    hidden=(8, 16, 32, 64), num_layers=(1, 1), lr=(1e-3, 3e-2), dropout=(0.0, 0.0),
    variants=("classic", "cifg"),
)  # fmt: skip
#: the classifier architectures searched (``SequenceClassifier``'s recurrent ones)
CLASSIFY_ARCHITECTURES = ("lstm-fcn", "lstm", "bilstm", "gru")
#: a trial: (sampled parameters, reporter) -> (the settings it trained with, its score)
Trial = Callable[[dict[str, Any], TrialReporter], tuple[dict[str, Any], float]]


class _Deadline(Callback):
    """Stop every training at the first epoch's end past ``at`` (``time.monotonic()``): Optuna's
    timeout only starts no new trial, this ends the one running."""

    def __init__(self, at: float) -> None:
        self.at = at

    def on_epoch_end(self, trainer: TrainingLoop, row: dict[str, Any]) -> None:
        if time.monotonic() > self.at:
            trainer.should_stop = True


def search(
    trial: Trial, space: SearchSpace, folder: Path, *, metric: str, trials: int, timeout: float | None
) -> dict[str, Any]:
    """Run the search (see the module docstring) and write ``tuned.json``.

    Args:
        trial: trains with a trial's sampled parameters (it may sample more through
            ``reporter.trial``) and returns the settings it used and its score (lower is better).
        space: what :func:`~lstmkit.fit.tune.tune` samples.
        folder: the job's folder (``trials.jsonl``, ``tuned.json``).
        metric: the score's name in the rows. trials, timeout: stop at the first reached.

    Returns:
        ``{"settings", "metric", <metric>: the best score, "trial": its number}``.
    """
    started = time.perf_counter()

    def objective(params: dict[str, Any], reporter: TrialReporter) -> float:
        settings, value = trial(params, reporter)
        reporter.trial.set_user_attr("settings", settings)
        shown = value if math.isfinite(value) else None
        row = {"trial": reporter.number, "metric": metric, metric: shown} | settings
        row["seconds"] = round(time.perf_counter() - started, 2)
        with open(folder / TRIALS, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        return value

    deadline = _Deadline(time.monotonic() + (timeout if timeout is not None else float("inf")))
    with also_report_to(deadline):
        result = tune(objective, space, n_trials=trials, timeout=timeout, pruner="none", seed=0)
    best = {
        "settings": result.study.best_trial.user_attrs["settings"],
        "metric": metric,
        metric: result.best_value,
        "trial": result.best_trial,
    }
    atomic_write_text(folder / TUNED, json.dumps(best, indent=1))
    return best


def _sampled(params: dict[str, Any], variant: str | None = None) -> dict[str, Any]:
    """The variant (``variant`` when given: a GRU has none), hidden size and learning rate of
    a trial's sampled ``params``."""
    return {
        "variant": variant or params["variant"],
        "hidden": int(params["hidden"]),
        "lr": float(params["lr"]),
    }


def _choose(reporter: TrialReporter, name: str, options: Sequence[Any]) -> Any:
    """A further choice of the trial, beyond the search space's."""
    return reporter.trial.suggest_categorical(name, list(options))


def _windows(horizon: int, season: int, length: int) -> list[int]:
    """Input windows to choose from: 1, 2 and 3 seasons (or horizons), those that fit the data."""
    unit = season if 1 < season <= 52 else horizon
    fits = [k * unit for k in (1, 2, 3) if k * unit + 2 * horizon < length]
    return fits or [max(2, min(unit, length // 3))]


def tune_forecaster(
    series: TimeSeries, horizon: int, backtest_start: int, epochs: int, folder: Path, *, trials: int,
    timeout: float | None,
) -> dict[str, Any]:  # fmt: skip
    """Search the forecaster's settings (``ForecasterSettings`` fields: architecture, variant,
    hidden, layers, lr, window) on the :class:`TimeSeries` ``series`` before ``backtest_start``
    (see the module docstring); :func:`search`'s result, metric ``"MASE"``."""
    from lstmkit.apps.forecasting.base import backtest
    from lstmkit.apps.forecasting.estimator import Forecaster

    data = series.head(backtest_start)
    windows = _windows(horizon, series.season, len(data) - horizon)

    def trial(params: dict[str, Any], reporter: TrialReporter) -> tuple[dict[str, Any], float]:
        gru = params["variant"] == "gru"
        chosen: dict[str, Any] = {"architecture": "gru" if gru else "lstm"} | _sampled(
            params, "classic" if gru else None
        )
        chosen |= {"layers": int(params["num_layers"]), "window": _choose(reporter, "window", windows)}
        model = Forecaster(
            horizon, window=chosen["window"], hidden_size=chosen["hidden"], num_layers=chosen["layers"],
            variant=chosen["variant"], architecture=chosen["architecture"], lr=chosen["lr"], ensemble=1,
            max_epochs=epochs, progress=False,
        )  # fmt: skip
        return chosen, backtest(model, data, horizon, start=len(data) - horizon).metrics()["MASE"]

    return search(trial, SPACE, folder, metric="MASE", trials=trials, timeout=timeout)


def tune_classifier(
    x: np.ndarray, y: np.ndarray, lengths: np.ndarray, epochs: int, seed: int, folder: Path, *,
    trials: int, timeout: float | None,
) -> dict[str, Any]:  # fmt: skip
    """Search the classifier's settings (architecture, variant, hidden, lr) on the training
    split only, ``x`` (N, L, C), ``y`` (N,), ``lengths`` (N,) (see the module docstring);
    :func:`search`'s result, metric ``"val_loss"`` (cross-entropy, nats per sequence)."""
    from lstmkit.apps.classification.estimator import SequenceClassifier

    from .classifyjob import split

    fit, val = split(y, VALIDATION, seed)

    def trial(params: dict[str, Any], reporter: TrialReporter) -> tuple[dict[str, Any], float]:
        architecture = _choose(reporter, "architecture", CLASSIFY_ARCHITECTURES)
        chosen = {"architecture": architecture} | _sampled(
            params, "classic" if architecture == "gru" else None
        )
        model = SequenceClassifier(
            architecture, hidden_size=chosen["hidden"], variant=chosen["variant"], lr=chosen["lr"],
            max_epochs=epochs, seed=seed, progress=False,
        ).fit(x[fit], y[fit], lengths[fit])  # fmt: skip
        probs = model.predict_proba(x[val], lengths[val])  # (N_val, K)
        return chosen, float(-np.log(np.clip(probs[np.arange(len(val)), y[val]], 1e-12, None)).mean())

    return search(trial, TASK_SPACE, folder, metric="val_loss", trials=trials, timeout=timeout)


def detect_windows(rows: int) -> list[int]:
    """The windows a detect search chooses from for ``rows`` training rows: half, once and twice
    :func:`~.detectjob.auto_window` of the rows before its held-out part, those that fit."""
    from .detectjob import auto_window

    fit = rows - math.ceil(rows * VALIDATION)
    base = auto_window(fit)
    return sorted({w for w in (base // 2, base, 2 * base) if 4 <= w <= 512 and 2 * w <= fit})


def tune_detector(
    values: np.ndarray, epochs: int, folder: Path, *, trials: int, timeout: float | None
) -> dict[str, Any]:
    """Search the detector's settings (window, variant, hidden, lr) on the training part only,
    ``values`` (T,) (see the module docstring); :func:`search`'s result, metric ``"val_error"``."""
    from lstmkit.apps.anomaly.estimator import AnomalyDetector

    windows = detect_windows(len(values))
    if not windows:
        raise ValueError(f"tune: the {len(values)} training rows are too few to hold out a validation part")
    cut = len(values) - math.ceil(len(values) * VALIDATION)
    fit, val = values[:cut], values[cut:]

    def trial(params: dict[str, Any], reporter: TrialReporter) -> tuple[dict[str, Any], float]:
        chosen = {"window": _choose(reporter, "window", windows)} | _sampled(params)
        detector = AnomalyDetector(
            "forecast", window=chosen["window"], hidden_size=chosen["hidden"], variant=chosen["variant"],
            lr=chosen["lr"], max_epochs=epochs, smooth=1, progress=False,
        ).fit(fit)  # fmt: skip
        assert detector.resid_var_ is not None  # the training rows' mean absolute residual
        error = detector.score(val, context=fit) * float(detector.resid_var_[0])  # (T_val,), unsmoothed
        return chosen, float(error.mean())

    return search(trial, TASK_SPACE, folder, metric="val_error", trials=trials, timeout=timeout)

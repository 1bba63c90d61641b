"""The "tune" switch of the browser app's forecasting jobs: an Optuna search
(:func:`lstmkit.fit.tune.tune`) of the forecaster's architecture, LSTM variant, input window,
size and learning rate, within a share of the job's time budget, before the job's own run.

The search stops at the first of ``trials`` trials or the time given (the running trial's
trainings end at the next epoch). A trial fits a forecaster on the data before the backtest's
first origin, less its last ``horizon`` steps, and is scored by the MASE of its forecast of
those steps; the backtest windows are never seen by the search, so the backtest that follows
scores the chosen settings on data the search did not use. Each finished trial is appended to
``trials.jsonl``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from lstmkit.apps.forecasting.base import backtest
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.fit.estimator import also_report_to
from lstmkit.fit.loop import Callback, TrainingLoop
from lstmkit.fit.tune import SearchSpace, tune
from lstmkit.fit.tune.search import TrialReporter

__all__ = ["SPACE", "TRIALS", "tune_forecaster"]

TRIALS = "trials.jsonl"
#: what the search chooses from (the window is chosen in the objective: it depends on the horizon)
SPACE = SearchSpace(
    hidden=(8, 16, 32, 64),
    num_layers=(1, 2),
    lr=(1e-3, 3e-2),
    dropout=(0.0, 0.0),
    variants=("classic", "cifg", "gru"),
)


class _Deadline(Callback):
    """Stop every training at the first epoch's end past ``at`` (``time.monotonic()``): Optuna's
    timeout only starts no new trial, this ends the one running."""

    def __init__(self, at: float) -> None:
        self.at = at

    def on_epoch_end(self, trainer: TrainingLoop, row: dict[str, Any]) -> None:
        if time.monotonic() > self.at:
            trainer.should_stop = True


def _windows(horizon: int, season: int, length: int) -> list[int]:
    """Input windows to choose from: 1, 2 and 3 seasons (or horizons), those that fit the data."""
    unit = season if 1 < season <= 52 else horizon
    fits = [k * unit for k in (1, 2, 3) if k * unit + 2 * horizon < length]
    return fits or [max(2, min(unit, length // 3))]


def _settings(params: dict[str, Any], window: int) -> dict[str, Any]:
    """:class:`~lstmkit.apps.forecasting.job.ForecasterSettings` fields of a sampled trial."""
    gru = params["variant"] == "gru"
    return {
        "architecture": "gru" if gru else "lstm",
        "variant": "classic" if gru else params["variant"],
        "hidden": int(params["hidden"]),
        "layers": int(params["num_layers"]),
        "lr": float(params["lr"]),
        "window": int(window),
    }


def tune_forecaster(
    series: TimeSeries,
    horizon: int,
    backtest_start: int,
    epochs: int,
    folder: Path,
    *,
    trials: int,
    timeout: float | None,
) -> dict[str, Any]:
    """Search for the forecaster's settings (see the module docstring); the best trial's
    settings (``ForecasterSettings`` fields) and its score, ``{"settings", "MASE", "trial"}``."""
    data = series.head(backtest_start)
    windows = _windows(horizon, series.season, len(data) - horizon)
    path = folder / TRIALS
    started = time.perf_counter()

    def objective(params: dict[str, Any], reporter: TrialReporter) -> float:
        window = reporter.trial.suggest_categorical("window", windows)
        chosen = _settings(params, window)
        model = Forecaster(
            horizon,
            window=chosen["window"],
            hidden_size=chosen["hidden"],
            num_layers=chosen["layers"],
            variant=chosen["variant"],
            architecture=chosen["architecture"],
            lr=chosen["lr"],
            ensemble=1,
            max_epochs=epochs,
            progress=False,
        )
        mase = backtest(model, data, horizon, start=len(data) - horizon).metrics()["MASE"]
        row = {"trial": reporter.number, "MASE": mase, "seconds": round(time.perf_counter() - started, 2)}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row | chosen) + "\n")
        return mase

    deadline = _Deadline(time.monotonic() + (timeout if timeout is not None else float("inf")))
    with also_report_to(deadline):
        result = tune(objective, SPACE, n_trials=trials, timeout=timeout, pruner="none", seed=0)
    best = result.study.best_trial
    return {
        "settings": _settings(result.best_params, best.params["window"]),
        "MASE": result.best_value,
        "trial": result.best_trial,
    }

"""Accuracy of lstmkit's time-series models on bundled real data (issue 5), into docs/accuracy.md.

* Forecasting: the LSTM forecaster (library defaults) against seasonal naive, ARIMA (automatic
  order) and ETS (automatic model) on airline, sunspots, CO2, lynx and Seattle max temperature,
  expanding-window backtests over the same windows and horizon for every model.
* Classification: LSTM-FCN test accuracy on GunPoint, ItalyPowerDemand, ArrowHead, OSULeaf
  next to Karim et al. (2018).
* Anomaly detection: precision / recall / F1 / ROC-AUC on the MIT-BIH ECG excerpt.

Run ``make bench-accuracy`` (``--only`` selects parts, ``--quick`` cuts budgets for a smoke run).
Each table row is computed in this run; nothing is copied from elsewhere.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
import warnings
from typing import Any

import numpy as np
import torch

# (horizon, first origin counted from the end, stride, LSTM refit at every origin?)
FORECAST_SETUPS: dict[str, tuple[int, int, int, bool]] = {
    "airline": (12, -36, 12, True),
    "sunspots": (10, -50, 10, True),
    "co2": (52, -208, 52, False),
    "lynx": (10, -30, 10, True),
    "seattle_weather": (14, -364, 50, False),
}
PAPER_ACC = {"gunpoint": 1.000, "italypowerdemand": 0.962, "arrowhead": 0.897, "osuleaf": 0.983}
TARGET_ACC = {"gunpoint": 0.97, "italypowerdemand": 0.95, "arrowhead": 0.85, "osuleaf": 0.90}
# ``--select``: LSTM-FCN settings compared by stratified 4-fold cross-validation on the training
# split only (one seed each, three different splits); the winner is then fitted on the whole
# training split and tested once. The grid: augmentation, the paper's longer training and larger
# LSTM, and test-time averaging over window slices (Le Guennec et al. 2016). The paper's own
# recipe is the 2000-epoch entry: the rate times 2^(-1/3) after 100 epochs without a lower
# training loss, down to 1e-4.
SELECT_GRID: dict[str, dict[str, Any]] = {
    "defaults": {},
    "light": {"augment": "light"},
    "warp": {"augment": "warp"},
    "warp, 5 views": {"augment": "warp", "test_views": 5},
    "warp, 64 cells": {"augment": "warp", "hidden_size": 64},
    "warp, 1000 epochs": {"augment": "warp", "max_epochs": 1000},
    "warp, 1000 epochs, 5 views": {"augment": "warp", "max_epochs": 1000, "test_views": 5},
    "light, 1000 epochs": {"augment": "light", "max_epochs": 1000},
    "warp, 64 cells, 1000 epochs": {"augment": "warp", "hidden_size": 64, "max_epochs": 1000},
    "warp, 2000 epochs, paper schedule": {
        "augment": "warp",
        "max_epochs": 2000,
        "lr_factor": 2 ** (-1 / 3),
        "lr_patience": 100,
    },
}
SELECT_FOLDS, SELECT_REPEATS = 4, 3
QUICK_EPOCHS = 30  # LSTM-FCN epochs of a --quick smoke run
DEFAULT_JSON = "benchmarks/results/accuracy.json"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def forecasting(names: list[str], quick: bool) -> list[dict[str, Any]]:
    from lstmkit.apps.datasets import sources
    from lstmkit.apps.forecasting.base import backtest
    from lstmkit.apps.forecasting.baselines import make_baseline
    from lstmkit.apps.forecasting.estimator import Forecaster

    rows = []
    for name in names:
        horizon, start, stride, refit = FORECAST_SETUPS[name]
        series = sources.load_series(name)
        row: dict[str, Any] = {
            "series": name,
            "length": len(series),
            "horizon": horizon,
            "season": series.season,
            "windows": len(range(len(series) + start, len(series) - horizon + 1, stride)),
            "lstm_refit": "every origin" if refit else "once",
        }
        kw: dict[str, Any] = {"progress": False}
        if quick:
            kw.update(ensemble=1, max_epochs=20)
        models = [("LSTM", Forecaster(horizon, **kw))] + [
            (b, make_baseline(b)) for b in ("seasonal_naive", "arima", "ets")
        ]
        for label, model in models:
            t0 = time.perf_counter()
            r = backtest(
                model, series, horizon, start=start, stride=stride, refit=refit if label == "LSTM" else True
            )
            m = r.metrics()
            row[f"{label}_MASE"] = m["MASE"]
            row[f"{label}_sMAPE"] = m["sMAPE"]
            row[f"{label}_CRPS"] = m["CRPS"]
            row[f"{label}_cov80"] = m["coverage80"]
            row[f"{label}_seconds"] = time.perf_counter() - t0
            log(
                f"{name:16s} {label:15s} MASE {m['MASE']:.3f}  sMAPE {m['sMAPE']:.2f}  "
                f"cov80 {m['coverage80']:.2f}  {row[f'{label}_seconds']:.0f}s"
            )
        best = min(row["arima_MASE"], row["ets_MASE"])
        row["beats_snaive"] = row["LSTM_MASE"] < row["seasonal_naive_MASE"]
        row["matches_best_stat"] = row["LSTM_MASE"] <= 1.02 * best
        rows.append(row)
    return rows


def _spawn_pool(jobs: int) -> Any:
    """A pool of ``jobs`` worker processes, spawned: a fork of a process whose OpenMP threads
    already run can hang. The workers set their own thread count."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))


def cv_plan(quick: bool) -> tuple[int, int]:
    """(folds, repeats) of ``--select``'s cross-validation (a smoke run: 2 folds, 1 split)."""
    return (2, 1) if quick else (SELECT_FOLDS, SELECT_REPEATS)


def grid_changes(name: str, quick: bool) -> dict[str, Any]:
    """The constructor changes of :data:`SELECT_GRID` entry ``name``; a smoke run trains
    :data:`QUICK_EPOCHS` epochs whatever the entry says."""
    return {**SELECT_GRID[name], **({"max_epochs": QUICK_EPOCHS} if quick else {})}


def _cross_validate(clf: Any, name: str, d: Any, quick: bool, threads: int) -> dict[str, Any]:
    """One :data:`SELECT_GRID` entry's cross-validation row (run in a worker process)."""
    torch.set_num_threads(threads)
    folds, repeats = cv_plan(quick)
    cv = clf.clone(**grid_changes(name, quick), ensemble=1).cross_validate(
        d.x_train, d.y_train, d.lengths_train, folds=folds, repeats=repeats
    )
    log(f"  cross-validation {name:28s} accuracy {cv.accuracy:.4f} log loss {cv.log_loss:.4f}")
    return {
        "name": name,
        "changes": SELECT_GRID[name],
        "accuracy": cv.accuracy,
        "log_loss": cv.log_loss,
        "seconds": cv.seconds,
        "fold_accuracy": list(cv.fold_accuracy),
    }


def select_settings(clf: Any, d: Any, quick: bool, jobs: int = 1) -> tuple[str, list[dict[str, Any]]]:
    """Cross-validate each :data:`SELECT_GRID` entry on the training split of ``d`` (``jobs``
    entries at a time, in processes of one thread each); the name of the best (highest
    out-of-fold accuracy, then lowest log loss) and one row per entry, in the grid's order."""
    names = list(SELECT_GRID)
    if jobs == 1:
        cv_rows = [_cross_validate(clf, n, d, quick, torch.get_num_threads()) for n in names]
    else:
        # longest (most epochs) first, so the workers finish together
        order = sorted(names, key=lambda n: -SELECT_GRID[n].get("max_epochs", 300))
        with _spawn_pool(jobs) as pool:
            futures = {n: pool.submit(_cross_validate, clf, n, d, quick, 1) for n in order}
            cv_rows = [futures[n].result() for n in names]
    best = min(cv_rows, key=lambda r: (-r["accuracy"], r["log_loss"]))
    return str(best["name"]), cv_rows


def _resample_score(clf: Any, d: Any, seed: int) -> float:
    """Test accuracy of ``clf`` (unfitted) on resample ``seed`` of ``d`` (run in a worker process):
    the train and test splits pooled, a training set drawn with the original split's count of each
    class, the rest for testing."""
    torch.set_num_threads(1)
    x = _pad_cat(d.x_train, d.x_test)
    lengths = np.concatenate([d.lengths_train, d.lengths_test])
    y = np.concatenate([d.y_train, d.y_test])
    rng = np.random.default_rng(seed)
    train = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), int((d.y_train == c).sum()), replace=False) for c in np.unique(y)]
    )
    test = np.setdiff1d(np.arange(len(y)), train)
    clf.fit(x[train], y[train], lengths[train])
    acc = clf.score(x[test], y[test], lengths[test])
    log(f"  resample {seed}: accuracy {acc:.4f}")
    return acc


def _pad_cat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N1, L1, C) and (N2, L2, C) stacked into (N1 + N2, max L, C), zero-padded."""
    length = max(a.shape[1], b.shape[1])
    pad = [np.pad(v, ((0, 0), (0, length - v.shape[1]), (0, 0))) for v in (a, b)]
    return np.concatenate(pad)


def resampled(
    name: str, settings: str, resamples: int, ensemble: int, jobs: int, quick: bool = False
) -> dict[str, Any]:
    """Accuracy of the :data:`SELECT_GRID` entry ``settings`` over ``resamples`` random train/test
    splits of the pooled data of ``name`` (the UCR practice, Bagnall et al. 2017): how much of a
    single split's score is the split."""
    from lstmkit.apps.classification.estimator import SequenceClassifier
    from lstmkit.apps.datasets import sources

    d = sources.load_classification(name)
    clf = SequenceClassifier("lstm-fcn", ensemble=ensemble, progress=False, **grid_changes(settings, quick))
    t0 = time.perf_counter()
    with _spawn_pool(jobs) as pool:
        accs = list(pool.map(_resample_score, [clf] * resamples, [d] * resamples, range(resamples)))
    arr = np.array(accs)
    return {
        "dataset": name,
        "settings": settings,
        "ensemble": ensemble,
        "resamples": resamples,
        "accuracies": accs,
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if resamples > 1 else float("nan"),
        "seconds": time.perf_counter() - t0,
    }


def classification(
    names: list[str], quick: bool, ensemble: int = 1, select: bool = False, jobs: int = 1
) -> list[dict[str, Any]]:
    from lstmkit.apps.classification.estimator import SequenceClassifier
    from lstmkit.apps.datasets import sources

    rows = []
    for name in names:
        d = sources.load_classification(name)
        t0 = time.perf_counter()
        clf = SequenceClassifier(
            "lstm-fcn", max_epochs=QUICK_EPOCHS if quick else 300, ensemble=ensemble, progress=False
        )
        chosen, cv_rows = "defaults", []
        if select:
            chosen, cv_rows = select_settings(clf, d, quick, jobs)
            clf = clf.clone(**grid_changes(chosen, quick))
            torch.set_num_threads(max(jobs, torch.get_num_threads()))  # the pool is done: all cores
        clf.fit(d.x_train, d.y_train, d.lengths_train)
        acc = clf.score(d.x_test, d.y_test, d.lengths_test)
        row = {
            "dataset": name,
            "train": len(d.y_train),
            "test": len(d.y_test),
            "length": d.x_train.shape[1],
            "accuracy": acc,
            "paper": PAPER_ACC[name],
            "target": TARGET_ACC[name],
            "seconds": time.perf_counter() - t0,
            "ensemble": ensemble,
            "settings": chosen,
            "selection": cv_rows,
            "cv_folds": cv_plan(quick)[0] if select else None,
            "cv_repeats": cv_plan(quick)[1] if select else None,
        }
        log(f"{name:18s} LSTM-FCN accuracy {acc:.4f} (paper {PAPER_ACC[name]:.3f}) {row['seconds']:.0f}s")
        rows.append(row)
    return rows


def anomaly(quick: bool) -> list[dict[str, Any]]:
    from lstmkit.apps.anomaly.estimator import AnomalyDetector
    from lstmkit.apps.datasets import sources

    d = sources.load_anomaly("mitdb")
    x, labels = d.values, d.labels
    assert labels is not None
    a, b = int(0.55 * len(x)), int(0.75 * len(x))
    rows = []
    for method in ("forecast", "autoencoder"):
        for seed in range(1 if quick else 3):
            t0 = time.perf_counter()
            det = AnomalyDetector(
                method, window=96, downsample=4, max_epochs=10 if quick else 40, seed=seed, progress=False
            ).fit(x[:a], val=x[a:b])
            m = det.evaluate(x[b:], labels[b:], context=x[:b])
            rows.append({"method": method, "seed": seed, **m, "seconds": time.perf_counter() - t0})
            log(f"mitdb {method:12s} seed {seed}: AUC {m['roc_auc']:.3f} F1 {m['f1']:.3f}")
    return rows


def markdown(results: dict[str, Any], command: str) -> str:
    out = ["# Accuracy of lstmkit's time-series models on bundled real data", ""]
    out.append(
        f"Measured on {results['date']} ({results['machine']}; torch {torch.__version__}; one thread "
        "per process, `nice`, on a machine shared with other jobs, so the seconds are indicative only). "
        f"`{command}` runs everything; the parts below were measured by the commands given with each "
        "table (raw values in `benchmarks/results/accuracy.json`). Every number comes from those runs."
    )
    out.append("")
    fc = results.get("forecasting")
    if fc:
        out += [
            "## Forecasting: backtest MASE (lower is better)",
            "",
            "Commands: "
            + "; ".join(
                sorted({f"`{r.get('command', results.get('forecasting_command', ''))}`" for r in fc})
            ),
            "",
            "Expanding-window backtests: for each series every model forecasts the same windows "
            "(horizon H, origins `stride` steps apart over the end of the series); MASE is scaled by "
            "the in-sample seasonal-naive error of each window's own history and averaged over windows. "
            "Baselines (statsmodels) are refitted at every origin, ARIMA with automatic order selection "
            "(Hyndman-Khandakar stepwise AICc, Fourier terms for seasons > 24), ETS with automatic "
            "model selection (STL + ETS for seasons > 24). The LSTM uses the library defaults "
            "(`Forecaster(horizon)`: direct multi-output, quantile loss, log for strongly growing "
            "positive series, per-window level normalization for log-transformed or trending series "
            "and a global level for stationary ones, calendar features, early stopping "
            "then a refit on all data, an ensemble of 5 seeds); it is refitted at every origin on the "
            "short series and fitted once before the first origin on the two long ones (CO2, Seattle; "
            "a disadvantage for it).",
            "",
            "| series | n | H | windows | LSTM refit | LSTM | seasonal naive | ARIMA | ETS "
            "| beats s. naive | <= 1.02 x best of ARIMA/ETS |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in fc:
            out.append(
                f"| {r['series']} | {r['length']} | {r['horizon']} | {r['windows']} | {r['lstm_refit']} | "
                f"**{r['LSTM_MASE']:.3f}** | {r['seasonal_naive_MASE']:.3f} | {r['arima_MASE']:.3f} | "
                f"{r['ets_MASE']:.3f} | {'yes' if r['beats_snaive'] else 'NO'} | "
                f"{'yes' if r['matches_best_stat'] else 'no'} |"
            )
        n_beat = sum(r["beats_snaive"] for r in fc)
        n_match = sum(r["matches_best_stat"] for r in fc)
        out += [
            "",
            f"Targets: beat seasonal naive everywhere: **{n_beat}/{len(fc)}**; match or beat the best of "
            f"ARIMA/ETS (within 2%) on at least 3 of 5: **{n_match}/{len(fc)}**.",
            "",
            "sMAPE (%), CRPS and 80% interval coverage of the same backtests:",
            "",
            "| series | LSTM sMAPE | ARIMA sMAPE | ETS sMAPE | LSTM CRPS | ARIMA CRPS | ETS CRPS | "
            "LSTM cov80 | ARIMA cov80 | ETS cov80 | LSTM s | ARIMA s | ETS s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in fc:
            out.append(
                f"| {r['series']} | {r['LSTM_sMAPE']:.2f} | {r['arima_sMAPE']:.2f} | {r['ets_sMAPE']:.2f} | "
                f"{r['LSTM_CRPS']:.4g} | {r['arima_CRPS']:.4g} | {r['ets_CRPS']:.4g} | "
                f"{r['LSTM_cov80']:.2f} | "
                f"{r['arima_cov80']:.2f} | {r['ets_cov80']:.2f} | {r['LSTM_seconds']:.0f} | "
                f"{r['arima_seconds']:.0f} | {r['ets_seconds']:.0f} |"
            )
        out.append("")
    cl = results.get("classification")
    if cl:
        out += [
            "## Classification: LSTM-FCN test accuracy",
            "",
            "Commands: "
            + "; ".join(
                sorted({f"`{r.get('command', results.get('classification_command', ''))}`" for r in cl})
            ),
            "",
            "`SequenceClassifier('lstm-fcn')` defaults (8 LSTM cells with the dimension shuffle, "
            "dropout 0.8, FCN 128-256-128, Adam 1e-3 with the rate halved on training-loss plateaus, "
            "300 epochs, the weights of the lowest training loss). "
            "The test split is used only for this table.",
            "",
            "| dataset | train | test | length | seeds | accuracy | paper (Karim et al. 2018) | target | met "
            "| seconds |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in cl:
            out.append(
                f"| {r['dataset']} | {r['train']} | {r['test']} | {r['length']} | {r.get('ensemble', 1)} | "
                f"**{r['accuracy']:.4f}** | "
                f"{r['paper']:.3f} | {r['target']:.2f} | {'yes' if r['accuracy'] >= r['target'] else 'NO'} | "
                f"{r['seconds']:.0f} |"
            )
        out.append("")
        for r in cl:
            if not r.get("selection"):
                continue
            out += [
                f"{r['dataset']}: settings chosen with `--select` by stratified "
                f"{r.get('cv_folds') or SELECT_FOLDS}-fold cross-validation on the {r['train']} training "
                f"sequences ({r.get('cv_repeats') or 2} different "
                "splits, one seed per fit; out-of-fold accuracy, ties broken by log loss); the winner "
                f"(`{r['settings']}`) was then fitted on the whole training split and tested once.",
                "",
                "| settings | changes | CV accuracy | CV log loss | seconds |",
                "|---|---|---|---|---|",
            ]
            for c in r["selection"]:
                mark = "**" if c["name"] == r["settings"] else ""
                out.append(
                    f"| {mark}{c['name']}{mark} | `{c['changes'] or 'library defaults'}` | "
                    f"{c['accuracy']:.4f} | {c['log_loss']:.4f} | {c['seconds']:.0f} |"
                )
            out.append("")
        history = results.get("test_history", {})
        for name, rows in history.items():
            out += [
                f"Every earlier evaluation of {name} on its test split, oldest first (the table's row is the "
                "latest; none of these settings was chosen by its test score):",
                "",
                "| settings | chosen by | seeds | test accuracy | command |",
                "|---|---|---|---|---|",
            ]
            for h in rows:
                out.append(
                    f"| `{h['settings']}` | {h['chosen_by']} | {h['ensemble']} | {h['accuracy']:.4f} | "
                    f"{h['command']} |"
                )
            out.append("")
        rows_by_name = {r["dataset"]: r for r in results.get("classification", [])}
        for name, studies in results.get("resamples", {}).items():
            out += _resample_paragraphs(name, studies, rows_by_name.get(name))
    an = results.get("anomaly")
    if an:
        out += [
            "## Anomaly detection: MIT-BIH ECG excerpt (sktime `datasets/data/mitdb`)",
            "",
            f"`{results.get('anomaly_command', '')}`",
            "",
            "7500 samples at 360 Hz, one labelled anomalous stretch of 352 samples. Train on the first 55% "
            "(normal), threshold = 0.99 quantile of the scores on the next 20% (normal), evaluate on the "
            "last 25% (with the anomaly), scored with the preceding signal as context. Downsampled 4x, "
            "window 96, scores smoothed over 96 samples, absolute errors.",
            "",
            "| method | seed | precision | recall | F1 | ROC-AUC | seconds |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in an:
            out.append(
                f"| {r['method']} | {r['seed']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
                f"**{r['roc_auc']:.3f}** | {r['seconds']:.0f} |"
            )
        out.append("")
    out += notes(results)
    out += data_sources()
    return "\n".join(out) + "\n"


def _resample_paragraphs(
    name: str, studies: dict[str, dict[str, Any]], row: dict[str, Any] | None = None
) -> list[str]:
    """A paragraph per resampling study of ``name``, where the standard split's score ``row``
    lies in the study of its settings, and, with several studies, their means on the splits
    they share (resample i is the same split in every study)."""
    out = []
    target = TARGET_ACC.get(name)
    for r in studies.values():
        accs = np.array(r["accuracies"])
        se = r["std"] / np.sqrt(len(accs))
        out += [
            f"{name} over {r['resamples']} random train/test splits of its pooled data (each "
            f"training set with the original split's count of each class; settings `{r['settings']}`, "
            f"{r['ensemble']} seeds, not re-selected per split): mean accuracy **{r['mean']:.4f}** "
            f"(standard deviation {r['std']:.4f}, standard error of the mean {se:.4f}; range "
            f"{accs.min():.4f}-{accs.max():.4f}"
            + (f"; {int((accs >= target).sum())} of {len(accs)} splits reach {target:.2f}" if target else "")
            + f"). `{r['command']}`"
            + (
                f" The standard split's {row['accuracy']:.4f} with these settings is "
                f"{_from_mean(row['accuracy'], r)} this mean."
                if row and row.get("settings") == r["settings"] and r["std"] > 0
                else ""
            ),
            "",
        ]
    if len(studies) > 1:
        shared = min(len(r["accuracies"]) for r in studies.values())
        means = ", ".join(
            f"`{r['settings']}` {np.mean(r['accuracies'][:shared]):.4f}" for r in studies.values()
        )
        out += [f"On the {shared} splits all these studies share (resamples 0-{shared - 1}): {means}.", ""]
    return out


def _from_mean(accuracy: float, study: dict[str, Any]) -> str:
    """Where ``accuracy`` lies in a resampling ``study``: "1.7 standard deviations above"."""
    side = "above" if accuracy > study["mean"] else "below"
    return f"{abs(accuracy - study['mean']) / study['std']:.1f} standard deviations {side}"


def _history_summary(results: dict[str, Any]) -> list[str]:
    """A sentence per dataset whose test split was scored more than once: how often, the range and
    mean of the scores, and one score's standard error."""
    current = {r["dataset"]: r for r in results.get("classification", [])}
    out = []
    for name, rows in results.get("test_history", {}).items():
        if name not in current:
            continue
        scores = [h["accuracy"] for h in rows] + [current[name]["accuracy"]]
        mean = float(np.mean(scores))
        se = float(np.sqrt(mean * (1 - mean) / current[name]["test"]))
        target = current[name]["target"]
        reached = sum(a >= target for a in scores)
        selections = sum(h["chosen_by"].startswith("cross-validation") for h in rows) + bool(
            current[name].get("selection")
        )
        adaptive = (
            f"; but `--select` ran {selections} times and its grid grew in between, after the earlier "
            "scores had been seen, so the latest score ends a sequence of looks and is optimistic by an "
            "unknown amount: the resampling studies under the classification table are less biased"
            if selections > 1
            else ""
        )
        out.append(
            f" {name}'s test split has been scored {len(scores)} times (all listed under the "
            f"classification table; none of the settings was chosen by its test score{adaptive}): "
            f"{min(scores):.3f} to {max(scores):.3f}, mean {mean:.3f}, against a standard error of about "
            f"{se:.3f} for one score on {current[name]['test']} sequences; {reached} of them "
            f"{'reaches' if reached == 1 else 'reach'} {target:.2f}."
        )
    return out


def notes(results: dict[str, Any]) -> list[str]:
    """Where a target is not met, said plainly, and how the defaults were chosen."""
    out = [
        "## How the defaults were chosen (read before trusting the forecasting table)",
        "",
        "The forecasting defaults were settled while looking at these same five series, so the table is "
        "not an out-of-sample test of those choices. In particular the `normalize='auto'` rule (window "
        "level for log-transformed or trending series, global level for additive stationary ones) was "
        "picked after a run in which window-level normalization scored MASE 1.08 on sunspots and global "
        "normalization 1.34 on lynx (both runs of `benchmarks/accuracy.py` during development; the rule "
        "gave 0.82 and 1.09 then). Earlier reruns followed two fixes: ARIMA's drift term (it had fitted a "
        "quadratic trend; ARIMA's MASE on airline went from 0.794 to 0.676 and on CO2 from 0.524 to "
        "0.423) and the LSTM's refit length after early stopping (airline's LSTM 0.714 -> 0.684). The "
        "table's run followed a purely numerical change: the fused kernels' tanh made accurate near 0, "
        "which moves every training trajectory by rounding. It moved airline's LSTM from 0.684 to 0.745 "
        "(now 11% behind ETS), lynx from 1.095 to 1.074 (now within 1% of ARIMA), sunspots from 0.839 to "
        "0.826, CO2 from 0.427 to 0.421 and Seattle from 0.681 to 0.671: on series this short a single "
        "run's MASE moves by several percent with nothing but rounding, so read differences under ~10% "
        "as ties. Lynx and sunspots backtests have only 3 and 5 windows, airline 3. The classification "
        "and anomaly settings were not tuned on the test "
        "splits; Karim et al.'s numbers are the best of their runs with 8, 64 and 128 LSTM cells, picked "
        "on the test split itself." + "".join(_history_summary(results)),
        "",
        "## Where the targets are not met",
        "",
    ]
    missed = []
    for r in results.get("forecasting", []):
        if not r["beats_snaive"]:
            missed.append(
                f"- {r['series']}: the LSTM (MASE {r['LSTM_MASE']:.3f}) does not beat seasonal naive "
                f"({r['seasonal_naive_MASE']:.3f})."
            )
        if not r["matches_best_stat"]:
            best = min(("ARIMA", r["arima_MASE"]), ("ETS", r["ets_MASE"]), key=lambda t: t[1])
            missed.append(
                f"- {r['series']}: the LSTM (MASE {r['LSTM_MASE']:.3f}) is behind {best[0]} "
                f"({best[1]:.3f}) by {100 * (r['LSTM_MASE'] / best[1] - 1):.0f}%."
            )
    fc = results.get("forecasting", [])
    if fc and sum(r["matches_best_stat"] for r in fc) < 3:
        missed.append(
            f"- The LSTM matches or beats the best of ARIMA/ETS on only "
            f"{sum(r['matches_best_stat'] for r in fc)} of {len(fc)} series (target: 3)."
        )
    for r in results.get("classification", []):
        if r["accuracy"] < r["target"]:
            rs = results.get("resamples", {}).get(r["dataset"], {}).get(r["settings"])
            spread = (
                f" Over {rs['resamples']} random splits of the pooled data the settings `{rs['settings']}` "
                f"average {rs['mean']:.4f} (standard deviation {rs['std']:.4f}); the standard split's score "
                f"is {_from_mean(r['accuracy'], rs)} that mean."
                if rs
                else ""
            )
            missed.append(
                f"- {r['dataset']}: LSTM-FCN accuracy {r['accuracy']:.4f} is below the target "
                f"{r['target']:.2f} (paper {r['paper']:.3f}).{spread}"
            )
    an = results.get("anomaly", [])
    if an:
        fcast = [r["roc_auc"] for r in an if r["method"] == "forecast"]
        if fcast and min(fcast) < 0.9:
            missed.append(
                f"- ECG: the forecast-residual detector's ROC-AUC drops to {min(fcast):.3f} for one seed."
            )
        ae = [r["roc_auc"] for r in an if r["method"] == "autoencoder"]
        if ae and max(ae) < 0.9:
            missed.append(
                f"- ECG: the autoencoder reaches ROC-AUC {max(ae):.3f} at best; the forecast-residual "
                "score is the default of `lstmkit detect` for that reason."
            )
    return out + (missed or ["All targets above are met in this run."]) + [""]


def data_sources() -> list[str]:
    """Where every bundled dataset lies (nothing is downloaded)."""
    from lstmkit.apps.datasets import sources

    out = [
        "## The data",
        "",
        "Every dataset is a file inside an installed package (`requirements.txt` pins them); "
        "`lstmkit data list` prints this table and `lstmkit data list --check` loads each one.",
        "",
        "| name | task | size | frequency | file (package: path) | origin |",
        "|---|---|---|---|---|---|",
    ]
    for d in sources.list_datasets():
        out.append(f"| {d.name} | {d.task} | {d.size} | {d.frequency} | `{d.source}` | {d.origin} |")
    out += [
        "",
        "Notes: the CO2 record has 59 missing weeks, filled by linear interpolation in time (logged). "
        "The ECG excerpt `mitdb` is `sktime/datasets/data/mitdb/mitdb.csv` (a `data,label` CSV; sktime "
        "1.2 has no loader function for it, lstmkit reads the file). heartpy's PPG recordings carry no "
        "anomaly labels; `lstmkit detect --dataset ppg` reports flagged samples only. The Yahoo S5 "
        "excerpt bundled with sktime (`yahoo`) is a second labelled anomaly set.",
        "",
    ]
    return out


def _at_commit() -> str:
    """`` (at commit abc1234)`` for the checkout that runs, ``+ changes`` if its code (src/,
    benchmarks/) differs from the commit; ``""`` outside git."""
    import subprocess

    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "src",
                "benchmarks",
                ":!benchmarks/results",
            ],
            capture_output=True,
            text=True,
            check=True,
        )  # fmt: skip  (the code, not the results it writes)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f" (at commit {sha.stdout.strip()}{' + changes' if dirty.stdout.strip() else ''})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--only",
        default="forecasting,classification,anomaly",
        help="parts, comma-separated: forecasting, classification, anomaly, resamples (not in the default)",
    )
    p.add_argument("--series", default=",".join(FORECAST_SETUPS))
    p.add_argument("--datasets", default=",".join(PAPER_ACC))
    p.add_argument("--quick", action="store_true", help="tiny budgets (a smoke run, not for the docs)")
    p.add_argument("--ensemble", type=int, default=1, help="LSTM-FCN seeds averaged (classification)")
    p.add_argument(
        "--select",
        action="store_true",
        help="choose LSTM-FCN settings by cross-validation on each training split (classification)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="--select and --only resamples: fits at once, in processes of one thread each (default 1)",
    )
    p.add_argument(
        "--resamples",
        type=int,
        default=10,
        help="--only resamples: score the --resample-settings entry of the --select grid on this many "
        "random train/test splits of each dataset's pooled data (same class counts as its training "
        "split; default 10)",
    )
    p.add_argument(
        "--resample-settings",
        default=None,
        help="the grid entry --resamples scores (default: the one in the dataset's classification "
        "row, i.e. what --select last chose; 'defaults' without one)",
    )
    p.add_argument("--markdown", default=None, help="write the tables here (e.g. docs/accuracy.md)")
    p.add_argument("--json", default=DEFAULT_JSON, help=f"results, kept across runs (default {DEFAULT_JSON})")
    args = p.parse_args()
    if args.resample_settings is not None and args.resample_settings not in SELECT_GRID:
        p.error(f"--resample-settings: expected one of {list(SELECT_GRID)}, got {args.resample_settings!r}")
    if args.quick and os.path.abspath(args.json) == os.path.abspath(DEFAULT_JSON):
        p.error("--quick: a smoke run must not overwrite the measured results; give --json PATH")
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    parts = set(args.only.split(","))
    results: dict[str, Any] = {}
    if os.path.exists(args.json):  # keep parts measured by earlier --only runs
        with open(args.json) as f:
            results = json.load(f)
    results.update(
        {
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        }
    )
    t0 = time.perf_counter()
    argv = sys.argv[:]
    for flag in ("--json", "--markdown"):  # where the results went is not how they were made
        if flag in argv:
            i = argv.index(flag)
            del argv[i : i + 2]
        argv = [a for a in argv if not a.startswith(flag + "=")]
    command = "OMP_NUM_THREADS=1 python " + " ".join(argv) + _at_commit()
    if "forecasting" in parts:
        rows = forecasting(args.series.split(","), args.quick)
        for r in rows:
            r["command"] = command
        kept = [r for r in results.get("forecasting", []) if r["series"] not in {x["series"] for x in rows}]
        order = list(FORECAST_SETUPS)
        results["forecasting"] = sorted(kept + rows, key=lambda r: order.index(r["series"]))
    if "classification" in parts:
        rows = classification(args.datasets.split(","), args.quick, args.ensemble, args.select, args.jobs)
        for r in rows:
            r["command"] = command
        new = {x["dataset"] for x in rows}
        kept = [r for r in results.get("classification", []) if r["dataset"] not in new]
        for old in results.get("classification", []):  # every test evaluation stays on record
            if old["dataset"] in new:
                results.setdefault("test_history", {}).setdefault(old["dataset"], []).append(
                    {
                        "settings": old.get("settings", "defaults"),
                        "chosen_by": "cross-validation (`--select`)" if old.get("selection") else "defaults",
                        "ensemble": old.get("ensemble", 1),
                        "accuracy": old["accuracy"],
                        "command": old.get("command", ""),
                    }
                )
        order = list(PAPER_ACC)
        results["classification"] = sorted(kept + rows, key=lambda r: order.index(r["dataset"]))
    if "resamples" in parts:
        current = {r["dataset"]: r.get("settings", "defaults") for r in results.get("classification", [])}
        for name in args.datasets.split(","):
            settings = args.resample_settings or current.get(name, "defaults")
            res = resampled(name, settings, args.resamples, args.ensemble, args.jobs, args.quick)
            res["command"] = command
            results.setdefault("resamples", {}).setdefault(name, {})[settings] = res
    if "anomaly" in parts:
        results["anomaly"] = anomaly(args.quick)
        results["anomaly_command"] = command
    results["seconds"] = time.perf_counter() - t0
    from lstmkit.io.atomic import atomic_write_text

    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    as_json = json.dumps(
        results, indent=2, default=lambda o: o.item() if isinstance(o, np.generic) else str(o)
    )
    atomic_write_text(args.json, as_json + "\n")
    text = markdown(results, "make bench-accuracy")
    print(text)
    if args.markdown:
        atomic_write_text(args.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

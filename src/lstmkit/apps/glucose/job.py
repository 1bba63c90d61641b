r"""The glucose forecasting job (``lstmkit glucose``): one global LSTM across simulated
patients, tested on patients it never saw, against persistence and a per-patient ARIMA.

1. **Cohort**: ``patients`` virtual patients of each group (adults, adolescents, children) of
   the UVa/Padova simulator, ``days`` simulated days each (:mod:`lstmkit.apps.glucose.data`,
   cached).
2. **Split by patient**: in each group a ``test_share`` of the patients (at least one when the
   group has two or more; with one patient per group, the child) is held out; the rest train.
3. **Models**, one per horizon (30 and 60 minutes: 6 and 12 steps): a global
   :class:`~lstmkit.apps.forecasting.estimator.Forecaster` (LSTM encoder, direct strategy,
   quantile loss; the point forecast is its median) on the training patients' whole traces,
   with meals and insulin as past covariates and the time of day as a future covariate;
   persistence and ARIMA (:mod:`lstmkit.apps.glucose.baselines`) per test patient.
4. **Evaluation** on the test patients after their warm-up (the first ``warmup_hours``, at most
   half a trace, which conditions the forecasts and fits the ARIMA): at every origin (every
   ``stride`` steps) the value predicted for exactly the horizon ahead against the CGM reading
   there: RMSE, MAE (mg/dL) and the Clarke zones (:mod:`lstmkit.apps.glucose.clarke`).

The report folder (``runs/NAME/``) holds ``index.html``, ``metrics.json`` and the Clarke grid
and a test patient's day for each horizon.

Example::

    >>> from lstmkit.apps.glucose.job import GlucoseJobConfig, run
    >>> result = run(GlucoseJobConfig(patients=1, days=1, epochs=5, out=None))
    >>> [row["model"] for row in result.rows][:3]
    ['persistence', 'ARIMA', 'LSTM']
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmkit.apps.common.reports import OutputOptions, check_device, check_folder_name
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.glucose import baselines
from lstmkit.apps.glucose.clarke import clarke_shares, mae, rmse
from lstmkit.apps.glucose.data import STEPS_PER_DAY, cohort_patients, load_cohort
from lstmkit.apps.glucose.simulate import GROUPS, STEP_MINUTES, patient_group
from lstmkit.io.html import format_table
from lstmkit.io.runfolder import prepare_run_folder

__all__ = ["MODELS", "QUICK", "GlucoseJobConfig", "GlucoseJobResult", "run", "split_patients"]

log = logging.getLogger("lstmkit.glucose")

#: the models, in the tables' order
MODELS = ("persistence", "ARIMA", "LSTM")
#: the settings of ``--quick`` (those not given on the command line)
QUICK: dict[str, Any] = {"patients": 2, "days": 2.0, "epochs": 15, "ensemble": 1, "name": "glucose-quick"}


@dataclass(frozen=True)
class GlucoseJobConfig(OutputOptions):
    """The settings of :func:`run` (``lstmkit glucose``).

    Args:
        patients: virtual patients per group, 1..10 (10: all 30).
        days: simulated days per patient.
        horizons: forecast horizons in minutes (multiples of 5).
        test_share: the share of each group's patients held out for testing, in (0, 1).
        warmup_hours: the start of a test patient's trace that is history only.
        window: the LSTM's input window in 5-minute steps. hidden: its hidden size.
        epochs, patience, ensemble, batch_size, lr: its training (early stopping on the end
            of each training trace, then a refit; ``ensemble`` networks from other seeds).
        covariates: give the LSTM the meals and insulin (``False``: the CGM and the time of
            day only).
        arima_order: fix the ARIMA's ``(p, d, q)`` instead of searching it per patient.
        stride: steps between forecast origins.
        seed: the cohort's and the networks' seed. device: where the LSTM trains.
        name: the report folder's name. cache: the cohort's cache folder (``None``: the
            default, ``""``: none).
        (and :class:`~lstmkit.apps.common.reports.OutputOptions`: out, overwrite, progress, echo)
    """

    patients: int = 10
    days: float = 4.0
    horizons: tuple[int, ...] = (30, 60)
    test_share: float = 0.3
    warmup_hours: float = 24.0
    window: int = 36
    hidden: int = 64
    epochs: int = 60
    patience: int = 10
    ensemble: int = 2
    batch_size: int = 256
    lr: float = 3e-3
    covariates: bool = True
    arima_order: tuple[int, int, int] | None = None
    stride: int = 1
    seed: int = 0
    device: str = "cpu"
    name: str = "glucose"
    cache: str | None = None


@dataclass
class GlucoseJobResult:
    """What :func:`run` found.

    Attributes:
        train, test: the training and test patients.
        rows: a row per model and horizon: ``model``, ``horizon`` (minutes), ``RMSE``,
            ``MAE``, the Clarke shares ``A`` .. ``E`` and ``A+B`` (%), ``RMSE <group>``.
        pairs: ``(model, horizon) -> (reference (N,), prediction (N,), patient (N,))`` over
            every test origin.
        series: the test patients' series. origins: their forecast origins.
        metrics: what ``metrics.json`` holds. folder: the report folder (``None``: none).
    """

    train: list[str]
    test: list[str]
    rows: list[dict[str, Any]]
    pairs: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]]
    series: list[TimeSeries]
    origins: dict[str, np.ndarray]
    metrics: dict[str, Any]
    folder: str | None = None
    arima: dict[str, str] = field(default_factory=dict)


def _check(config: GlucoseJobConfig) -> None:
    """The settings that a long run would otherwise trip on, checked first."""
    if not config.horizons or any(
        isinstance(h, bool) or not isinstance(h, int) or h < STEP_MINUTES or h % STEP_MINUTES
        for h in config.horizons
    ):
        raise ValueError(
            f"--horizons: expected minutes, multiples of {STEP_MINUTES}, got {list(config.horizons)}"
        )
    if not 0 < config.test_share < 1:
        raise ValueError(f"--test-share: expected a fraction in (0, 1), got {config.test_share}")
    if not config.warmup_hours > 0:
        raise ValueError(f"--warmup-hours: expected hours > 0, got {config.warmup_hours}")
    for flag, value, low in (("--stride", config.stride, 1), ("--window", config.window, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{flag}: expected an int >= {low}, got {value!r}")
    check_folder_name(config.name)
    check_device(config.device)


def split_patients(names: list[str], test_share: float, seed: int) -> tuple[list[str], list[str]]:
    """Training and test patients: in each group ``round(test_share * n)`` (at least one,
    at most ``n - 1``) of its ``n >= 2`` patients, drawn with ``seed``; with one patient per
    group the child is the test patient."""
    rng = np.random.default_rng(seed)
    test: list[str] = []
    for group in GROUPS:
        members = [n for n in names if patient_group(n) == group]
        if len(members) >= 2:
            k = min(max(1, round(test_share * len(members))), len(members) - 1)
            test += sorted(rng.choice(members, size=k, replace=False).tolist())
    if not test:
        test = [n for n in names if patient_group(n) == "child"][-1:] or names[-1:]
    train = [n for n in names if n not in test]
    if not train:
        raise ValueError(f"--patients: a split needs two patients or more, got {names}")
    return train, test


def _warmup(config: GlucoseJobConfig, length: int) -> int:
    """The steps of a test trace that are history only: the warm-up, at most half the trace,
    and at least the LSTM's window."""
    steps = round(config.warmup_hours * 60 / STEP_MINUTES)
    return max(config.window, min(steps, length // 2))


def _origins(config: GlucoseJobConfig, length: int, longest: int) -> np.ndarray:
    """The forecast origins of a test trace of ``length`` steps (``longest``: the longest horizon)."""
    origins = np.arange(_warmup(config, length), length - longest + 1, config.stride)
    if not len(origins):
        raise ValueError(
            f"--days: a test trace of {length} steps leaves no forecast origin after the warm-up "
            f"for a horizon of {longest} steps; simulate more days"
        )
    return origins


def _forecaster(config: GlucoseJobConfig, steps: int) -> Forecaster:
    """The global LSTM for a horizon of ``steps``."""
    return Forecaster(
        horizon=steps,
        window=config.window,
        hidden_size=config.hidden,
        ensemble=config.ensemble,
        max_epochs=config.epochs,
        patience=config.patience,
        batch_size=config.batch_size,
        lr=config.lr,
        log=False,
        normalize="global",
        calendar=False,
        seed=config.seed,
        device=config.device,
        progress=config.progress,
    )


def _without_meals(s: TimeSeries) -> TimeSeries:
    return dataclasses.replace(s, past_covariates=None, past_covariate_names=())


def _lstm_predictions(fc: Forecaster, s: TimeSeries, origins: np.ndarray, steps: int) -> np.ndarray:
    """(N,) the LSTM's median ``steps`` ahead from each origin of ``s``."""
    forecasts = fc.predict(steps, series=[s.head(int(t)) for t in origins])
    assert isinstance(forecasts, list)
    return np.array([f.point[steps - 1] for f in forecasts])


def _predict_all(
    config: GlucoseJobConfig, train: list[TimeSeries], test: list[TimeSeries], origins: dict[str, np.ndarray]
) -> tuple[dict[tuple[str, int], dict[str, np.ndarray]], dict[str, str], dict[str, float]]:
    """Every model's predictions at every test origin, ``(model, minutes) -> {patient: (N,)}``;
    the ARIMA chosen for each patient; seconds spent per model."""
    steps = [h // STEP_MINUTES for h in config.horizons]
    preds: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    seconds: dict[str, float] = dict.fromkeys(MODELS, 0.0)
    labels: dict[str, str] = {}
    for s in test:
        o = origins[s.name]
        t0 = time.perf_counter()
        for h, p in baselines.persistence(s.values, o, steps).items():
            preds.setdefault(("persistence", h * STEP_MINUTES), {})[s.name] = p
        t1 = time.perf_counter()
        fit = baselines.fit_arima(s.head(_warmup(config, len(s))), config.arima_order)
        labels[s.name] = fit.label
        for h, p in baselines.arima_forecasts(fit, s.values, o, steps).items():
            preds.setdefault(("ARIMA", h * STEP_MINUTES), {})[s.name] = p
        seconds["persistence"] += t1 - t0
        seconds["ARIMA"] += time.perf_counter() - t1
    for h in steps:
        t0 = time.perf_counter()
        fc = _forecaster(config, h).fit(train)
        for s in test:
            preds.setdefault(("LSTM", h * STEP_MINUTES), {})[s.name] = _lstm_predictions(
                fc, s, origins[s.name], h
            )
        seconds["LSTM"] += time.perf_counter() - t0
    return preds, labels, seconds


def _row(model: str, minutes: int, ref: np.ndarray, pred: np.ndarray, who: np.ndarray) -> dict[str, Any]:
    """The table row of one model and horizon."""
    row: dict[str, Any] = {"model": model, "horizon": minutes, "RMSE": rmse(ref, pred), "MAE": mae(ref, pred)}
    row.update(clarke_shares(ref, pred))
    groups = np.array([patient_group(str(n)) for n in who])
    for g in GROUPS:
        row[f"RMSE {g}"] = rmse(ref[groups == g], pred[groups == g]) if (groups == g).any() else math.nan
    return row


def _score(
    config: GlucoseJobConfig,
    test: list[TimeSeries],
    origins: dict[str, np.ndarray],
    preds: dict[tuple[str, int], dict[str, np.ndarray]],
) -> tuple[list[dict[str, Any]], dict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """The rows and the (reference, prediction, patient) pairs of every model and horizon."""
    rows, pairs = [], {}
    for minutes in config.horizons:
        h = minutes // STEP_MINUTES
        ref = np.concatenate([s.values[origins[s.name] + h - 1] for s in test])
        who = np.concatenate([np.full(len(origins[s.name]), s.name) for s in test])
        for model in MODELS:
            pred = np.concatenate([preds[(model, minutes)][s.name] for s in test])
            pairs[(model, minutes)] = (ref, pred, who)
            rows.append(_row(model, minutes, ref, pred, who))
    return rows, pairs


def run(config: GlucoseJobConfig) -> GlucoseJobResult:
    """Simulate (or read) the cohort, split it by patient, fit and evaluate every model, print
    the table (``echo``) and write the report (``out``).

    Returns:
        the split, the table's rows and every prediction (:class:`GlucoseJobResult`).
    """
    _check(config)
    names = list(cohort_patients(config.patients))
    folder = None if config.out is None else os.path.join(config.out, config.name)
    if folder is not None:
        prepare_run_folder(folder, "glucose", overwrite=config.overwrite)
    train_names, test_names = split_patients(names, config.test_share, config.seed)
    cohort = load_cohort(names, config.days, config.seed, cache=config.cache, progress=config.progress)
    if not config.covariates:
        cohort = [_without_meals(s) for s in cohort]
    by_name = {s.name: s for s in cohort}
    train, test = [by_name[n] for n in train_names], [by_name[n] for n in test_names]
    longest = max(config.horizons) // STEP_MINUTES
    origins = {s.name: _origins(config, len(s), longest) for s in test}
    t0 = time.perf_counter()
    preds, labels, seconds = _predict_all(config, train, test, origins)
    rows, pairs = _score(config, test, origins, preds)
    metrics = _metrics(config, train_names, test_names, rows, labels, seconds, time.perf_counter() - t0)
    result = GlucoseJobResult(train_names, test_names, rows, pairs, test, origins, metrics, folder, labels)
    if config.echo:
        print(summary_text(result))
    if folder is not None:
        from lstmkit.apps.glucose.report import write_report

        write_report(result, config)
    return result


def _metrics(
    config: GlucoseJobConfig,
    train: list[str],
    test: list[str],
    rows: list[dict[str, Any]],
    labels: dict[str, str],
    seconds: dict[str, float],
    total: float,
) -> dict[str, Any]:
    return {
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k not in ("echo", "progress")},
        "train_patients": train,
        "test_patients": test,
        "steps_per_day": STEPS_PER_DAY,
        "rows": rows,
        "arima": labels,
        "seconds": seconds,
        "total_seconds": total,
    }


def summary_text(result: GlucoseJobResult) -> str:
    """The split and the table, as printed on stdout."""
    n_origins = sum(len(o) for o in result.origins.values())
    cols = ["model", "horizon", "RMSE", "MAE", "A", "B", "C", "D", "E", "A+B"]
    group_cols = ["model", "horizon"] + [f"RMSE {g}" for g in GROUPS]
    return "\n".join(
        [
            f"train patients ({len(result.train)}): {', '.join(result.train)}",
            f"test patients ({len(result.test)}): {', '.join(result.test)}; {n_origins} forecast origins",
            "RMSE, MAE in mg/dL at the horizon (minutes); Clarke zones A..E in % of the origins",
            format_table(result.rows, cols, floatfmt=".1f"),
            "",
            "RMSE by group of test patients (mg/dL)",
            format_table(result.rows, group_cols, floatfmt=".1f"),
        ]
    )

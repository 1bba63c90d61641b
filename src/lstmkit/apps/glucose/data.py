r"""A fixed cohort of simulated type-1 diabetes patients, cached, as forecasting series.

:func:`load_cohort` simulates each patient of a cohort once
(:func:`lstmkit.apps.glucose.simulate.simulate_patient`: random meals, basal-bolus
controller, a CGM reading every 5 minutes) and caches the trace under
``$LSTMKIT_DATA/glucose`` (default ``~/.cache/lstmkit/glucose``), one ``.npz`` file per
patient written atomically, named by the settings that determine it (patient, days, seed,
sensor, simglucose's version), so a cohort of other settings never reads it and a larger
cohort reuses the patients already simulated.

Each patient becomes a :class:`~lstmkit.apps.forecasting.series.TimeSeries` named after the
patient: the CGM readings (mg/dL) every 5 minutes as the target; the carbohydrates eaten (g
per step) and the insulin delivered (U per step) as **past covariates** (known up to the
forecast origin: the meals to come are not announced); the time of day (sine and cosine of
the daily cycle) as **future covariates**, known :data:`KNOWN_FUTURE` steps past the end.

Example::

    >>> cohort = load_cohort(cohort_patients(1), days=1, seed=0)
    >>> [s.name for s in cohort]
    ['adult#001', 'adolescent#001', 'child#001']
    >>> cohort[0].past_covariate_names, len(cohort[0])
    (('carbs_g', 'insulin_U'), 288)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.glucose.simulate import (
    GROUPS,
    SENSOR,
    STEP_MINUTES,
    PatientTrace,
    patient_group,
    simulate_patient,
)
from lstmkit.io.atomic import atomic_write_bytes
from lstmkit.io.progress import progress_bar

__all__ = [
    "KNOWN_FUTURE",
    "STEPS_PER_DAY",
    "cache_dir",
    "cohort_patients",
    "load_cohort",
    "load_traces",
    "to_series",
]

#: 5-minute steps in a day
STEPS_PER_DAY = 24 * 60 // STEP_MINUTES
#: rows of the time-of-day covariates past a series' end (two hours)
KNOWN_FUTURE = 24
#: what changes the simulated numbers besides the settings: bump to invalidate old caches
FORMAT = 1


def cache_dir() -> Path:
    """Where simulated cohorts are kept: ``$LSTMKIT_DATA/glucose`` or ``~/.cache/lstmkit/glucose``."""
    return Path(os.environ.get("LSTMKIT_DATA") or Path.home() / ".cache" / "lstmkit") / "glucose"


def cohort_patients(per_group: int) -> tuple[str, ...]:
    """The first ``per_group`` patients of each group (1 to 10), adults first."""
    if isinstance(per_group, bool) or not isinstance(per_group, int) or not 1 <= per_group <= 10:
        raise ValueError(f"--patients: expected patients per group, an int in 1..10, got {per_group!r}")
    return tuple(f"{g}#{k:03d}" for k in range(1, per_group + 1) for g in GROUPS)


def _check_days(days: float) -> None:
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not days * STEPS_PER_DAY >= 1:
        raise ValueError(
            f"--days: expected a positive number of simulated days (at least 5 minutes), got {days!r}"
        )


def _simglucose_version() -> str:
    try:
        return metadata.version("simglucose")
    except metadata.PackageNotFoundError:
        return "missing"


def _cache_file(folder: Path, name: str, days: float, seed: int) -> Path:
    """The file of one patient's trace: readable settings, then a digest of all of them."""
    key = json.dumps([name, float(days), seed, SENSOR, _simglucose_version(), FORMAT])
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return folder / f"{name.replace('#', '-')}_{days:g}d_seed{seed}_{digest}.npz"


def _write_trace(path: Path, trace: PatientTrace) -> None:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        cgm=trace.cgm,
        bg=trace.bg,
        carbs=trace.carbs,
        insulin=trace.insulin,
        meta=np.array(json.dumps({"name": trace.name, "start": trace.start.isoformat()})),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())


def _read_trace(path: Path) -> PatientTrace:
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["meta"]))
        arrays = {k: np.array(f[k], dtype=np.float64) for k in ("cgm", "bg", "carbs", "insulin")}
    return PatientTrace(meta["name"], datetime.fromisoformat(meta["start"]), **arrays)


def load_traces(
    patients: Sequence[str],
    days: float,
    seed: int = 0,
    *,
    cache: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> list[PatientTrace]:
    """The traces of ``patients``: read from the cache, or simulated and cached.

    Args:
        patients: names from :data:`~lstmkit.apps.glucose.simulate.PATIENTS`.
        days: simulated days per patient (> 0; fractions are fine).
        seed: the cohort's seed: the same seed gives the same meals and sensor noise.
        cache: the cache folder (default :func:`cache_dir`); ``""`` caches nothing.
        progress: a progress bar over the patients still to simulate.
    """
    _check_days(days)
    for name in patients:
        patient_group(name)
    folder = cache_dir() if cache is None else Path(cache) if cache != "" else None
    files = {name: _cache_file(folder, name, days, seed) if folder else None for name in patients}
    todo = [name for name, f in files.items() if f is None or not f.is_file()]
    bar = progress_bar(len(todo), f"simulate {days:g} days", enable=progress and bool(todo), unit="patient")
    traces = {}
    for name in todo:
        traces[name] = simulate_patient(name, days, seed)
        path = files[name]
        if path is not None:
            _write_trace(path, traces[name])
        bar.update(1)
    bar.close()
    return [traces[name] if name in traces else _read_trace(files[name]) for name in patients]  # type: ignore[arg-type]


def _time_of_day(rows: int, start: datetime) -> np.ndarray:
    """(rows, 2) sine and cosine of the time of day of ``rows`` 5-minute steps from ``start``."""
    minutes = start.hour * 60 + start.minute + STEP_MINUTES * np.arange(rows)
    angle = 2 * np.pi * (minutes % (24 * 60)) / (24 * 60)
    return np.stack([np.sin(angle), np.cos(angle)], axis=1)


def to_series(trace: PatientTrace) -> TimeSeries:
    """A patient's trace as a forecasting series (see the module docstring)."""
    import pandas as pd

    T = len(trace.cgm)
    index = pd.date_range(trace.start, periods=T, freq=f"{STEP_MINUTES}min")
    return TimeSeries(
        trace.cgm,
        index,
        name=trace.name,
        season=STEPS_PER_DAY,
        past_covariates=np.stack([trace.carbs, trace.insulin], axis=1),
        past_covariate_names=("carbs_g", "insulin_U"),
        future_covariates=_time_of_day(T + KNOWN_FUTURE, trace.start),
        future_covariate_names=("tod_sin", "tod_cos"),
        description=f"simulated CGM of the virtual patient {trace.name} (UVa/Padova, simglucose)",
    )


def load_cohort(
    patients: Sequence[str],
    days: float,
    seed: int = 0,
    *,
    cache: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> list[TimeSeries]:
    """The cohort as forecasting series, one per patient in the order given (arguments as
    :func:`load_traces`)."""
    return [to_series(t) for t in load_traces(patients, days, seed, cache=cache, progress=progress)]

"""A univariate target series with its time index, season and covariates.

:class:`TimeSeries` is what the forecasting loaders return and what
:class:`lstmkit.Forecaster` and the baselines consume. It validates on construction (finite
values, matching lengths, a regular index), so a model never sees NaN or misaligned
covariates; :mod:`lstmkit.apps.forecasting.data` builds one from user data.

Covariates come in two kinds:

* **past covariates** (T, K_p): observed alongside the target, known only up to the last
  target step (e.g. the minimum temperature when forecasting the maximum);
* **future covariates** (T + F, K_f): known ahead (holidays, planned prices); the F >= 0 rows
  past the target's end are the known future and a forecast of horizon H needs F >= H.

Calendar features (month, day of week, ...) are derived from the index and need not be
given; see :func:`lstmkit.apps.forecasting.windows.calendar_features`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "FREQ_UNITS",
    "SEASON_OF_FREQ",
    "TimeSeries",
    "freq_unit",
    "season_of_freq",
]

# The pandas frequency aliases (pandas 2 and 3 spellings, start/end, business, custom) of each
# calendar unit, and the unit's usual seasonal period (observations per cycle).
FREQ_UNITS: dict[str, tuple[tuple[str, ...], int]] = {
    "year": (("Y", "YS", "YE", "A", "AS", "BY", "BYS", "BYE", "BA", "BAS"), 1),
    "quarter": (("Q", "QS", "QE", "BQ", "BQS", "BQE"), 4),
    "month": (("M", "MS", "ME", "BM", "BMS", "BME", "CBM", "CBMS", "CBME"), 12),
    "semimonth": (("SM", "SMS", "SME"), 24),
    "week": (("W",), 52),
    "day": (("D", "C"), 7),
    "business day": (("B",), 5),
    "hour": (("h", "H", "bh", "BH", "cbh", "CBH"), 24),
    "minute": (("min", "T"), 60),
    "second": (("s", "S"), 60),
}
SEASON_OF_FREQ = {alias: season for aliases, season in FREQ_UNITS.values() for alias in aliases}


def freq_unit(freq: str | None) -> str | None:
    """The calendar unit of a pandas frequency string (``"QE-DEC"`` -> ``"quarter"``,
    ``"2W-SUN"`` -> ``"week"``), ``None`` if none or unknown."""
    if not freq:
        return None
    base = freq.split("-")[0].lstrip("0123456789")
    return next((unit for unit, (aliases, _) in FREQ_UNITS.items() if base in aliases), None)


def season_of_freq(freq: str | None) -> int:
    """The usual seasonal period of a pandas frequency string (1 if none or unknown).

    ``"MS"`` -> 12, ``"QE-DEC"`` -> 4, ``"W-SUN"`` -> 52, ``"D"`` -> 7, ``"B"`` -> 5, ``"h"`` -> 24.
    """
    unit = freq_unit(freq)
    return 1 if unit is None else FREQ_UNITS[unit][1]


def _pd() -> Any:
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is a forecasting requirement
        raise ImportError(
            "pandas is required for time series: pip install 'pandas==3.0.*' (or `make setup`)"
        ) from exc
    return pd


def _as_2d(name: str, array: Any, rows: int | None) -> np.ndarray:
    arr = np.asarray(array, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a (T, K) array, got shape {tuple(arr.shape)}")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{name}: expected {rows} rows to match the target, got {arr.shape[0]}")
    return arr


def _target_values(values: Any, name: str) -> np.ndarray:
    """The target as a (T,) float64 array: numbers, not empty, no infinity, no NaN."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"values: expected a 1-D target series, got shape {tuple(values.shape)}")
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise TypeError(f"values: expected numbers, got dtype {values.dtype}")
    values = values.astype(np.float64)
    if len(values) == 0:
        raise ValueError(f"values: the series {name!r} is empty")
    for bad, what, advice in (
        (
            np.isinf(values),
            "infinite",
            "infinity is not a missing value: replace it with a finite number, or with NaN "
            "and fill it (from_pandas(..., missing='interpolate'))",
        ),
        (np.isnan(values), "missing", "fill them first, e.g. from_pandas(..., missing='interpolate')"),
    ):
        if bad.any():
            where = np.flatnonzero(bad)[:5].tolist()
            raise ValueError(
                f"values: {int(bad.sum())} {what} values in {name!r} (positions {where}); {advice}"
            )
    return values


def _regular_index(index: Any, length: int, name: str, freq: str | None) -> tuple[Any, str | None]:
    """The index as a pandas Index of ``length`` regular steps (time stamps with a frequency, or
    evenly spaced integers), and its frequency."""
    pd = _pd()
    if index is None:
        index = pd.RangeIndex(length)
    elif not isinstance(index, pd.Index):
        index = pd.Index(index)
    if len(index) != length:
        raise ValueError(f"index: expected {length} entries like values, got {len(index)}")
    if isinstance(index, pd.DatetimeIndex):
        if not index.is_monotonic_increasing or index.has_duplicates:
            raise ValueError("index: expected strictly increasing time stamps")
        if freq is None:
            freq = index.freqstr or (pd.infer_freq(index) if len(index) >= 3 else None)
            if freq is None:
                raise ValueError(
                    f"index: irregular time index for {name!r} (no frequency can be inferred); "
                    "resample it to a regular frequency or pass freq="
                )
        return pd.DatetimeIndex(index, freq=freq), freq
    if not pd.api.types.is_integer_dtype(index.dtype):
        raise TypeError(f"index: expected a DatetimeIndex or integers, got dtype {index.dtype}")
    steps = np.diff(np.asarray(index, dtype=np.int64))
    if len(steps) and (steps <= 0).any():
        raise ValueError("index: expected strictly increasing integers")
    if len(steps) and (steps != steps[0]).any():
        gaps = np.flatnonzero(steps != steps[0])[:3]
        raise ValueError(
            f"index: irregular integer index for {name!r} (step {steps[0]} but "
            f"{steps[gaps].tolist()} at positions {gaps.tolist()}); fill the gaps first"
        )
    return index, freq


def _covariates(
    kind: str, cov: Any, names: tuple[str, ...], length: int
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The ``kind`` ("past" or "future") covariates as a finite (rows, K) array and their K
    names (``past_0``, ... when none are given)."""
    arr = _as_2d(f"{kind}_covariates", cov, length if kind == "past" else None)
    if kind == "future" and arr.shape[0] < length:
        raise ValueError(
            f"future_covariates: expected at least {length} rows (the target's length, "
            f"plus the known future), got {arr.shape[0]}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{kind}_covariates: contains missing or infinite values")
    if not names:
        names = tuple(f"{kind}_{k}" for k in range(arr.shape[1]))
    if len(names) != arr.shape[1]:
        raise ValueError(f"{kind}_covariate_names: expected {arr.shape[1]} names, got {len(names)}")
    return arr, names


@dataclass(frozen=True, eq=False)
class TimeSeries:
    """A regular univariate series (the target) with optional covariates.

    Args:
        values: (T,) the target, finite floats.
        index: (T,) a pandas ``DatetimeIndex`` with a frequency, or an integer index (years,
            steps). ``None`` means ``0 .. T-1``.
        name: the target's name.
        freq: pandas frequency string (``"MS"``, ``"W-SAT"``, ``"D"``...); inferred from a
            ``DatetimeIndex`` if not given.
        season: observations per seasonal cycle (12 for monthly data, 1 for none); the
            seasonal naive baseline and MASE use it.
        past_covariates: (T, K_p) observed with the target.
        past_covariate_names: K_p names.
        future_covariates: (T + F, K_f) known ahead; the last F rows lie past the target.
        future_covariate_names: K_f names.
        description: free text shown in reports.

    Example::

        >>> ts = TimeSeries(np.arange(24.0), pd.date_range("2000-01", periods=24, freq="MS"))
        >>> ts.freq, ts.season, len(ts)
        ('MS', 12, 24)
    """

    values: np.ndarray
    index: Any = None
    name: str = "y"
    freq: str | None = None
    season: int = 0
    past_covariates: np.ndarray | None = None
    past_covariate_names: tuple[str, ...] = ()
    future_covariates: np.ndarray | None = None
    future_covariate_names: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        values = _target_values(self.values, self.name)
        index, freq = _regular_index(self.index, len(values), self.name, self.freq)
        season = self.season or season_of_freq(freq)
        if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or season < 1:
            raise ValueError(f"season: expected an int >= 1, got {self.season!r}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "freq", freq)
        object.__setattr__(self, "season", int(season))
        for kind in ("past", "future"):
            cov = getattr(self, f"{kind}_covariates")
            names = tuple(getattr(self, f"{kind}_covariate_names"))
            if cov is None:
                if names:
                    raise ValueError(f"{kind}_covariate_names: given without {kind}_covariates")
                continue
            arr, names = _covariates(kind, cov, names, len(values))
            object.__setattr__(self, f"{kind}_covariates", arr)
            object.__setattr__(self, f"{kind}_covariate_names", names)

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        span = f"{self.index[0]} .. {self.index[-1]}"
        extra = ""
        if self.past_covariates is not None:
            extra += f", past_covariates={list(self.past_covariate_names)}"
        if self.future_covariates is not None:
            extra += f", future_covariates={list(self.future_covariate_names)}"
        return (
            f"TimeSeries({self.name!r}, T={len(self)}, {span}, freq={self.freq}, season={self.season}{extra})"
        )

    @property
    def known_future(self) -> int:
        """F: rows of future covariates past the target's end (0 without future covariates)."""
        if self.future_covariates is None:
            return 0
        return self.future_covariates.shape[0] - len(self)

    def head(self, n: int) -> TimeSeries:
        """The first ``n`` steps; future covariates keep the rows after them (they are known)."""
        if not 1 <= n <= len(self):
            raise ValueError(f"n: expected 1 <= n <= {len(self)}, got {n}")
        past = None if self.past_covariates is None else self.past_covariates[:n]
        return dataclasses.replace(self, values=self.values[:n], index=self.index[:n], past_covariates=past)

    def future_index(self, horizon: int) -> Any:
        """The ``horizon`` time stamps after the end of the series."""
        pd = _pd()
        if isinstance(self.index, pd.DatetimeIndex):
            return pd.date_range(self.index[-1], periods=horizon + 1, freq=self.freq)[1:]
        step = int(self.index[1] - self.index[0]) if len(self.index) > 1 else 1
        start = int(self.index[-1]) + step
        return pd.RangeIndex(start, start + step * horizon, step)

    def extended_index(self, extra: int) -> Any:
        """The index followed by ``extra`` future stamps."""
        return self.index.append(self.future_index(extra)) if extra > 0 else self.index

    def to_pandas(self) -> Any:
        """A DataFrame indexed by time: the target, then the past and future covariates."""
        pd = _pd()
        frame = pd.DataFrame({self.name: self.values}, index=self.index)
        if self.past_covariates is not None:
            for k, col in enumerate(self.past_covariate_names):
                frame[col] = self.past_covariates[:, k]
        if self.future_covariates is not None:
            fut = pd.DataFrame(
                self.future_covariates,
                columns=list(self.future_covariate_names),
                index=self.extended_index(self.known_future),
            )
            frame = frame.join(fut, how="outer")
        return frame

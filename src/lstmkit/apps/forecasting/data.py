"""A univariate target series with its time index, season and covariates.

:class:`TimeSeries` is what the forecasting loaders return and what
:class:`lstmkit.Forecaster` and the baselines consume. It validates on construction (finite
values, matching lengths, a regular index), so a model never sees NaN or misaligned
covariates. :func:`from_pandas` and :func:`from_csv` build one from user data and apply the
documented missing-value treatment.

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
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    pass

__all__ = [
    "FREQ_UNITS",
    "SEASON_OF_FREQ",
    "TimeSeries",
    "freq_unit",
    "from_csv",
    "from_pandas",
    "season_of_freq",
]

log = logging.getLogger("lstmkit.data")

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
        pd = _pd()
        values = np.asarray(self.values)
        if values.ndim != 1:
            raise ValueError(f"values: expected a 1-D target series, got shape {tuple(values.shape)}")
        if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
            raise TypeError(f"values: expected numbers, got dtype {values.dtype}")
        values = values.astype(np.float64)
        if len(values) == 0:
            raise ValueError(f"values: the series {self.name!r} is empty")
        infinite = np.isinf(values)
        if infinite.any():
            where = np.flatnonzero(infinite)[:5].tolist()
            raise ValueError(
                f"values: {int(infinite.sum())} infinite values in {self.name!r} (positions {where}); "
                "infinity is not a missing value: replace it with a finite number, or with NaN "
                "and fill it (from_pandas(..., missing='interpolate'))"
            )
        missing = np.isnan(values)
        if missing.any():
            where = np.flatnonzero(missing)[:5].tolist()
            raise ValueError(
                f"values: {int(missing.sum())} missing values in {self.name!r} (positions {where}); "
                "fill them first, e.g. from_pandas(..., missing='interpolate')"
            )
        index = self.index
        if index is None:
            index = pd.RangeIndex(len(values))
        elif not isinstance(index, pd.Index):
            index = pd.Index(index)
        if len(index) != len(values):
            raise ValueError(f"index: expected {len(values)} entries like values, got {len(index)}")
        freq = self.freq
        if isinstance(index, pd.DatetimeIndex):
            if not index.is_monotonic_increasing or index.has_duplicates:
                raise ValueError("index: expected strictly increasing time stamps")
            if freq is None:
                freq = index.freqstr or (pd.infer_freq(index) if len(index) >= 3 else None)
                if freq is None:
                    raise ValueError(
                        f"index: irregular time index for {self.name!r} (no frequency can be inferred); "
                        "resample it to a regular frequency or pass freq="
                    )
            index = pd.DatetimeIndex(index, freq=freq)
        else:
            if not pd.api.types.is_integer_dtype(index.dtype):
                raise TypeError(f"index: expected a DatetimeIndex or integers, got dtype {index.dtype}")
            steps = np.diff(np.asarray(index, dtype=np.int64))
            if len(steps) and (steps <= 0).any():
                raise ValueError("index: expected strictly increasing integers")
            if len(steps) and (steps != steps[0]).any():
                gaps = np.flatnonzero(steps != steps[0])[:3]
                raise ValueError(
                    f"index: irregular integer index for {self.name!r} (step {steps[0]} but "
                    f"{steps[gaps].tolist()} at positions {gaps.tolist()}); fill the gaps first"
                )
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
            arr = _as_2d(f"{kind}_covariates", cov, len(values) if kind == "past" else None)
            if kind == "future" and arr.shape[0] < len(values):
                raise ValueError(
                    f"future_covariates: expected at least {len(values)} rows (the target's length, "
                    f"plus the known future), got {arr.shape[0]}"
                )
            if not np.isfinite(arr).all():
                raise ValueError(f"{kind}_covariates: contains missing or infinite values")
            if not names:
                names = tuple(f"{kind}_{k}" for k in range(arr.shape[1]))
            if len(names) != arr.shape[1]:
                raise ValueError(f"{kind}_covariate_names: expected {arr.shape[1]} names, got {len(names)}")
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


# ---------------------------------------------------------------------- constructors
def _fill_missing(frame: Any, columns: Sequence[str], missing: str, what: str) -> Any:
    """Apply the missing-value treatment to ``columns``; log what was done. Infinite values
    are not missing values: they are an error naming the first of them."""
    for c in columns:
        col = _pd().to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)
        infinite = np.isinf(col)
        if infinite.any():
            first = frame.index[int(np.flatnonzero(infinite)[0])]
            raise ValueError(
                f"{what}: column {c!r} holds {int(infinite.sum())} infinite values, the first at "
                f"{first}; --missing/missing= fills only empty cells and NaN: replace them with "
                "finite numbers (or empty cells, to fill them)"
            )
    n_missing = int(frame[list(columns)].isna().sum().sum())
    if n_missing == 0:
        return frame
    if missing == "error":
        where = {
            c: [str(t) for t in frame.index[frame[c].isna().to_numpy()][:3]]
            for c in columns
            if frame[c].isna().any()
        }
        counts = {c: int(frame[c].isna().sum()) for c in where}
        raise ValueError(
            f"{what}: missing values {counts}, first at {where}; pass missing='interpolate' (or "
            "--missing interpolate) to fill them, or clean the data"
        )
    frame = frame.copy()
    if missing == "interpolate":
        method = (
            "time"
            if hasattr(frame.index, "freq") and _pd().api.types.is_datetime64_any_dtype(frame.index)
            else "linear"
        )
        frame[list(columns)] = frame[list(columns)].interpolate(method=method, limit_area="inside")
    elif missing == "ffill":
        frame[list(columns)] = frame[list(columns)].ffill()
    elif missing == "zero":
        frame[list(columns)] = frame[list(columns)].fillna(0.0)
    else:
        raise ValueError(f"missing: expected 'error', 'interpolate', 'ffill' or 'zero', got {missing!r}")
    left = int(frame[list(columns)].isna().sum().sum())
    log.warning(
        "%s: filled %d missing values with %r%s",
        what,
        n_missing - left,
        missing,
        f" ({left} at the edges could not be filled)" if left else "",
    )
    return frame


def from_pandas(
    data: Any,
    target: str | None = None,
    *,
    past_covariates: Sequence[str] = (),
    future_covariates: Sequence[str] = (),
    freq: str | None = None,
    season: int = 0,
    missing: str = "interpolate",
    description: str = "",
) -> TimeSeries:
    """Build a :class:`TimeSeries` from a pandas Series or DataFrame.

    The index may be a ``DatetimeIndex`` (a frequency is inferred; an irregular index is an
    error unless ``freq`` is given, in which case the data are resampled to it by their
    mean, which is logged), a ``PeriodIndex`` (converted to time stamps) or integers.

    Missing values: ``missing="interpolate"`` (default) fills gaps inside the series
    linearly in time and logs how many; leading rows with a missing target are dropped (logged);
    trailing rows whose target is missing but whose future covariates are given become the
    known future. ``"ffill"`` and ``"zero"`` fill the other ways; ``"error"`` rejects them.

    Args:
        data: a Series (the target) or a DataFrame holding ``target`` and the covariates.
        target: the target column (required for a DataFrame with more than one column).
        past_covariates: columns observed with the target.
        future_covariates: columns known ahead.
        freq: force this frequency (resampling an irregular index by the mean).
        season: observations per cycle; default from the frequency.
        missing: ``"interpolate"``, ``"ffill"``, ``"zero"`` or ``"error"``.
        description: text for reports.

    Example::

        >>> s = pd.Series([1.0, 2.0, None, 4.0], index=pd.date_range("2020", periods=4, freq="D"))
        >>> from_pandas(s).values
        array([1., 2., 3., 4.])
    """
    pd = _pd()
    if isinstance(data, pd.Series):
        name = str(data.name) if data.name is not None else (target or "y")
        frame = data.to_frame(name)
        target = name
    elif isinstance(data, pd.DataFrame):
        frame = data.rename(columns=str)  # column labels are names (a label 0 is "0")
        past_covariates = [str(c) for c in past_covariates]
        future_covariates = [str(c) for c in future_covariates]
        if target is None:
            if frame.shape[1] != 1:
                raise ValueError(
                    "target: required for a DataFrame with several columns; "
                    f"choose one of {list(frame.columns)}"
                )
            target = str(frame.columns[0])
        target = str(target)
    else:
        raise TypeError(f"data: expected a pandas Series or DataFrame, got {type(data).__name__}")
    cols = [target, *past_covariates, *future_covariates]
    unknown = [c for c in cols if c not in frame.columns]
    if unknown:
        raise ValueError(f"columns {unknown} not found; the data has {list(frame.columns)}")
    dup = {c for c in cols if cols.count(c) > 1}
    if dup:
        raise ValueError(f"columns {sorted(dup)} given more than once (target and covariates must differ)")
    frame = frame[cols].copy()
    for col in cols:
        if not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
            sample = frame[col].dropna().astype(str).head(3).tolist()
            raise TypeError(f"column {col!r}: expected numbers, got dtype {frame[col].dtype} (e.g. {sample})")
    if isinstance(frame.index, pd.PeriodIndex):
        # each period becomes its start time; the frequency is inferred from those below (a
        # period's own alias, "M" or "Q-DEC", means month or quarter *end* for time stamps)
        frame.index = frame.index.to_timestamp(how="start")
    if isinstance(frame.index, pd.DatetimeIndex):
        if frame.index.has_duplicates:
            dups = frame.index[frame.index.duplicated()][:3].tolist()
            raise ValueError(f"index: duplicated time stamps {dups}; aggregate them first")
        if not frame.index.is_monotonic_increasing:
            log.warning("index: time stamps were not sorted; sorted them")
            frame = frame.sort_index()
        inferred = frame.index.freqstr or (pd.infer_freq(frame.index) if len(frame) >= 3 else None)
        if freq is None and inferred is None and len(frame) < 3:
            raise ValueError(
                f"index: {len(frame)} time stamps are too few to tell the frequency; pass freq= "
                "(e.g. 'D'), or give a longer series"
            )
        if freq is None and inferred is None:
            steps = pd.Series(frame.index).diff().value_counts()
            raise ValueError(
                f"index: irregular time index ({len(steps)} different steps, most common "
                f"{steps.index[0]}); pass freq= (e.g. 'D') to resample it by the mean"
            )
        if (
            freq is not None
            and inferred != freq
            and not frame.index.equals(pd.date_range(frame.index[0], periods=len(frame), freq=freq))
        ):
            n_before = len(frame)
            frame = frame.resample(freq).mean()
            log.warning(
                "index: resampled %d rows to frequency %s (%d rows, mean)", n_before, freq, len(frame)
            )
        freq = freq or inferred
        frame.index = pd.DatetimeIndex(frame.index, freq=freq)
    elif not pd.api.types.is_integer_dtype(frame.index.dtype):
        raise TypeError(
            f"index: expected time stamps, periods or integers, got dtype {frame.index.dtype}; "
            "pass the time column (--time) or reset the index"
        )
    # leading rows without target
    tvals = frame[target].to_numpy(dtype=float)
    observed = np.flatnonzero(np.isfinite(tvals))
    if len(observed) == 0:
        raise ValueError(f"target {target!r}: no observed values")
    first, last = int(observed[0]), int(observed[-1])
    if first > 0:
        log.warning("target %r: dropped %d leading rows without a value", target, first)
    tail = frame.iloc[last + 1 :]
    frame = frame.iloc[first : last + 1]
    if len(tail):
        if future_covariates:
            log.info("%d rows after the last target value hold known future covariates", len(tail))
        else:
            log.warning("target %r: dropped %d trailing rows without a value", target, len(tail))
    frame = _fill_missing(frame, [target, *past_covariates], missing, f"series {target!r}")
    fut = None
    if future_covariates:
        fut_frame = pd.concat([frame[list(future_covariates)], tail[list(future_covariates)]])
        fut_frame = _fill_missing(fut_frame, list(future_covariates), missing, "future covariates")
        fut = fut_frame.to_numpy(dtype=float)
        if not np.isfinite(fut).all():
            raise ValueError("future_covariates: missing values remain at the edges; fill or trim them")
    past = frame[list(past_covariates)].to_numpy(dtype=float) if past_covariates else None
    if past is not None and not np.isfinite(past).all():
        raise ValueError("past_covariates: missing values remain at the edges; fill or trim them")
    return TimeSeries(
        values=frame[target].to_numpy(dtype=float),
        index=frame.index,
        name=str(target),
        freq=freq,
        season=season,
        past_covariates=past,
        past_covariate_names=tuple(past_covariates),
        future_covariates=fut,
        future_covariate_names=tuple(future_covariates),
        description=description,
    )


def _read_csv_text(path: str, encoding: str) -> str:
    """The text of a (possibly .gz/.bz2/.xz compressed) file; decoding errors name the file
    and the byte offset."""
    import bz2
    import gzip
    import lzma

    from lstmkit.apps.language.text import decode_text

    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no such file {path!r}")
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(os.path.splitext(path)[1].lower())
    try:
        if opener is None:
            with open(path, "rb") as fh:
                data = fh.read()
        else:
            with opener(path, "rb") as fh:
                data = fh.read()
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise ValueError(f"path: cannot read {path!r} ({exc})") from None
    return decode_text(data, path, encoding=encoding)


def from_csv(
    path: str | os.PathLike[str],
    target: str,
    *,
    time: str | None = None,
    past_covariates: Sequence[str] = (),
    future_covariates: Sequence[str] = (),
    freq: str | None = None,
    season: int = 0,
    missing: str = "interpolate",
    encoding: str = "utf-8",
) -> TimeSeries:
    """Read a CSV file into a :class:`TimeSeries` (see :func:`from_pandas` for the rules).

    Args:
        path: the file.
        target: the column to forecast.
        time: the column of time stamps (parsed as dates) or integer steps; without it the
            rows are steps 0, 1, ...
        past_covariates, future_covariates, freq, season, missing: as :func:`from_pandas`.
        encoding: the file's text encoding (a UTF-8 byte-order mark is skipped); a byte that
            does not decode is an error naming the file and its offset.
    """
    pd = _pd()
    shown = os.fspath(path)
    text = _read_csv_text(shown, encoding)
    if text.startswith("\ufeff"):  # a byte-order mark, as spreadsheets write
        text = text[1:]
    try:
        frame = pd.read_csv(io.StringIO(text))
    except pd.errors.EmptyDataError:
        raise ValueError(f"path: {shown!r} is empty (expected a CSV file with a header row)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"path: {shown!r} is not a readable CSV file ({first})") from None
    if frame.empty:
        raise ValueError(f"path: {shown!r} holds no rows")
    if time is not None:
        if time not in frame.columns:
            raise ValueError(f"time: column {time!r} not found; the file has {list(frame.columns)}")
        col = frame[time]
        if not pd.api.types.is_integer_dtype(col):
            try:
                col = pd.to_datetime(col)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"time: column {time!r} holds neither dates nor integers ({exc})") from exc
        frame = frame.drop(columns=[time]).set_index(pd.Index(col, name=time))
    name = os.path.basename(os.fspath(path))
    return from_pandas(
        frame,
        target,
        past_covariates=past_covariates,
        future_covariates=future_covariates,
        freq=freq,
        season=season,
        missing=missing,
        description=f"{target} from {name}",
    )

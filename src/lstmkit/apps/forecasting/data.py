"""A :class:`~lstmkit.apps.forecasting.series.TimeSeries` from user data: pandas objects and
CSV files, with the documented missing-value treatment.

:func:`from_pandas` takes a Series or DataFrame (time stamps, periods or integer steps as the
index), :func:`from_csv` a CSV file (plain or compressed, in any encoding). Both check the
columns, make the index regular and fill or refuse missing values, logging what they did.

Example::

    >>> import pandas as pd
    >>> s = from_pandas(pd.Series([1.0, 2.0, None, 4.0], index=pd.date_range("2020", periods=4, freq="D")))
    >>> s.values, s.freq
    (array([1., 2., 3., 4.]), 'D')
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from lstmkit.apps.forecasting.series import (
    FREQ_UNITS,
    SEASON_OF_FREQ,
    TimeSeries,
    freq_unit,
    season_of_freq,
)
from lstmkit.apps.forecasting.series import _pd as _pd
from lstmkit.io.text import decode_text

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
    frame, target, past_covariates, future_covariates = _columns(
        data, target, past_covariates, future_covariates
    )
    frame, freq = _time_index(frame, freq)
    frame, tail = _observed_span(frame, target, bool(future_covariates))
    frame = _fill_missing(frame, [target, *past_covariates], missing, f"series {target!r}")
    fut = _future_array(frame, tail, future_covariates, missing)
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


def _columns(
    data: Any, target: str | None, past: Sequence[str], future: Sequence[str]
) -> tuple[Any, str, list[str], list[str]]:
    """The frame of the target and covariate columns (numbers, each named once), and the
    names as strings (a Series is its own target)."""
    pd = _pd()
    past, future = list(past), list(future)
    if isinstance(data, pd.Series):
        name = str(data.name) if data.name is not None else (target or "y")
        frame = data.to_frame(name)
        target = name
    elif isinstance(data, pd.DataFrame):
        frame = data.rename(columns=str)  # column labels are names (a label 0 is "0")
        past = [str(c) for c in past]
        future = [str(c) for c in future]
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
    cols = [target, *past, *future]
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
    return frame, target, past, future


def _time_index(frame: Any, freq: str | None) -> tuple[Any, str | None]:
    """The frame on a regular index: periods become their start times, time stamps get a
    frequency (resampled by the mean to ``freq`` when they do not follow it); integers stay."""
    pd = _pd()
    if isinstance(frame.index, pd.PeriodIndex):
        # each period becomes its start time; the frequency is inferred from those below (a
        # period's own alias, "M" or "Q-DEC", means month or quarter *end* for time stamps)
        frame.index = frame.index.to_timestamp(how="start")
    if not isinstance(frame.index, pd.DatetimeIndex):
        if not pd.api.types.is_integer_dtype(frame.index.dtype):
            raise TypeError(
                f"index: expected time stamps, periods or integers, got dtype {frame.index.dtype}; "
                "pass the time column (--time) or reset the index"
            )
        return frame, freq
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
        log.warning("index: resampled %d rows to frequency %s (%d rows, mean)", n_before, freq, len(frame))
    freq = freq or inferred
    frame.index = pd.DatetimeIndex(frame.index, freq=freq)
    return frame, freq


def _observed_span(frame: Any, target: str, has_future: bool) -> tuple[Any, Any]:
    """The rows from the first to the last observed target value, and the rows after them
    (the known future of the future covariates; dropped, with a warning, without them)."""
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
        if has_future:
            log.info("%d rows after the last target value hold known future covariates", len(tail))
        else:
            log.warning("target %r: dropped %d trailing rows without a value", target, len(tail))
    return frame, tail


def _future_array(frame: Any, tail: Any, columns: Sequence[str], missing: str) -> np.ndarray | None:
    """The future covariates over the target's span and the known future after it, filled."""
    if not columns:
        return None
    fut_frame = _pd().concat([frame[list(columns)], tail[list(columns)]])
    fut_frame = _fill_missing(fut_frame, list(columns), missing, "future covariates")
    fut = fut_frame.to_numpy(dtype=float)
    if not np.isfinite(fut).all():
        raise ValueError("future_covariates: missing values remain at the edges; fill or trim them")
    return fut


def _read_csv_text(path: str, encoding: str) -> str:
    """The text of a (possibly .gz/.bz2/.xz compressed) file; decoding errors name the file
    and the byte offset."""
    import bz2
    import gzip
    import lzma

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
    encoding: str = "utf-8",
    past_covariates: Sequence[str] = (),
    future_covariates: Sequence[str] = (),
    freq: str | None = None,
    season: int = 0,
    missing: str = "interpolate",
) -> TimeSeries:
    """Read a CSV file into a :class:`TimeSeries` (see :func:`from_pandas` for the rules).

    Args:
        path: the file.
        target: the column to forecast.
        time: the column of time stamps (parsed as dates) or integer steps; without it the
            rows are steps 0, 1, ...
        encoding: the file's text encoding (a UTF-8 byte-order mark is skipped); a byte that
            does not decode is an error naming the file and its offset.
        past_covariates, future_covariates, freq, season, missing: as :func:`from_pandas`.
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

"""What the browser app shows of an uploaded CSV before training: its columns, the column
that holds the time, the frequency, the gaps, the first rows; and the check of a forecasting
job's data (the same reading as ``lstmkit run --csv``), so a bad table is refused before a
worker starts.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
import pandas as pd

from lstmkit.apps.forecasting.data import from_csv
from lstmkit.apps.forecasting.job import backtest_start, default_horizon
from lstmkit.apps.forecasting.series import TimeSeries

from .handlers import WrongInput

__all__ = ["check_forecast_data", "preview", "table"]

#: rows of the table shown
FIRST_ROWS = 8


def table(text: str) -> pd.DataFrame:
    """The CSV text as a table (a header and at least 3 rows; column names as strings)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WrongInput(f"csv: expected a table with a header row ({line})") from None
    if frame.shape[0] < 3 or frame.shape[1] < 1:
        raise WrongInput(f"csv: expected a header and at least 3 rows, got {frame.shape[0]} rows")
    return frame.rename(columns=str)


def _stamps(column: pd.Series) -> pd.Series | None:
    """The column as time stamps when every value reads as one (numbers are not dates)."""
    if pd.api.types.is_numeric_dtype(column):
        return None
    stamps = pd.to_datetime(column, errors="coerce", format="mixed")
    return stamps if stamps.notna().all() else None


def _regularity(stamps: pd.Series) -> dict[str, Any]:
    """The inferred frequency (``None``: irregular), the most common step and the missing steps."""
    ordered = pd.DatetimeIndex(stamps.sort_values())
    freq = pd.infer_freq(ordered) if len(ordered) >= 3 else None
    steps = pd.Series(ordered).diff().dropna()
    common = steps.mode().iloc[0] if len(steps) else None
    gaps = 0
    if common is not None and common > pd.Timedelta(0):
        gaps = int(sum(max(0, round(step / common) - 1) for step in steps))
    return {
        "frequency": freq,
        "step": str(common) if common is not None else None,
        "gaps": gaps,
        "duplicates": int(ordered.duplicated().sum()),
        "sorted": bool(stamps.is_monotonic_increasing),
        "start": str(ordered[0]),
        "end": str(ordered[-1]),
    }


def preview(text: str) -> dict[str, Any]:
    """The columns (numeric ones apart), the detected time column and its regularity, the
    missing values per column and the first rows (as strings) of a CSV text."""
    frame = table(text)
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    time, regular = None, None
    for name in frame.columns:
        stamps = _stamps(frame[name])
        if stamps is not None:
            time, regular = name, _regularity(stamps)
            break
    if not numeric:
        raise WrongInput(f"csv: expected a column of numbers to forecast, got columns {list(frame.columns)}")
    head = frame.head(FIRST_ROWS).astype(object).where(frame.head(FIRST_ROWS).notna(), "")
    return {
        "columns": list(frame.columns),
        "numeric": numeric,
        "rows": int(frame.shape[0]),
        "time": time,
        "time_info": regular,
        "missing": {c: int(frame[c].isna().sum()) for c in frame.columns if frame[c].isna().any()},
        "target": numeric[-1],
        "first_rows": [[str(v) for v in row] for row in head.itertuples(index=False)],
    }


def check_forecast_data(
    path: str | os.PathLike[str], target: str, time: str | None, horizon: int | None, windows: int
) -> tuple[TimeSeries, int]:
    """The series a forecasting job will train on and its horizon; :class:`WrongInput` (one
    line) when the table, the columns or the length do not allow the job."""
    try:
        series = from_csv(path, target, time=time)
        horizon = horizon if horizon is not None else default_horizon(series)
        if horizon < 1:
            raise ValueError(f"horizon: expected an int >= 1, got {horizon}")
        backtest_start(series, horizon, windows, horizon, "windows")
    except (ValueError, TypeError) as exc:
        raise WrongInput(str(exc).replace(os.fspath(path), "csv").strip().splitlines()[0]) from None
    if not np.isfinite(series.values).all():
        raise WrongInput(f"column {target!r}: expected finite numbers")
    return series, horizon

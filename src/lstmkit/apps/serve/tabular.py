"""Reading the tables of the browser app's detect and classify jobs: the CSV, its rows in time
order, a column of finite numbers; each problem a one-line :class:`~.handlers.WrongInput`
naming the column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .handlers import WrongInput
from .preview import table

__all__ = ["column_values", "ordered_rows", "read_table"]


def read_table(path: Path) -> pd.DataFrame:
    """The CSV file at ``path`` (a header and at least 3 rows; column names as strings)."""
    return table(path.read_text(encoding="utf-8"))


def _column(frame: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in frame.columns:
        raise WrongInput(f"{what}: expected one of {list(frame.columns)}, got {name!r}")
    return frame[name]


def ordered_rows(frame: pd.DataFrame, time: str | None, within: str | None = None) -> pd.DataFrame:
    """The rows sorted by the ``time`` column (dates, or numbers such as a step), stably, inside
    each group of ``within`` (kept in order of first appearance); unsorted without ``time``."""
    if not time:
        return frame
    column = _column(frame, time, "time")
    key = pd.Series(pd.to_numeric(column, errors="coerce"), index=column.index)
    if key.isna().any():
        key = pd.Series(pd.to_datetime(column, errors="coerce", format="mixed"), index=column.index)
    missing = np.asarray(key.isna(), dtype=bool)
    if missing.any():
        bad = int(np.flatnonzero(missing)[0])
        raise WrongInput(
            f"time: column {time!r} holds dates or numbers, row {bad + 1} is {column.iloc[bad]!r}"
        )
    out = frame.assign(_key=key.to_numpy())
    if within is not None:
        groups = pd.unique(out[within])
        out = out.assign(_group=out[within].map({g: k for k, g in enumerate(groups)}))
        return out.sort_values(["_group", "_key"], kind="stable").drop(columns=["_key", "_group"])
    return out.sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)


def column_values(frame: pd.DataFrame, name: str, what: str = "target") -> np.ndarray:
    """(T,) the column's values as finite floats."""
    column = _column(frame, name, what)
    values = np.asarray(pd.to_numeric(column, errors="coerce"), dtype=np.float64)  # NaN where unparsable
    if not np.isfinite(values).all():
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise WrongInput(
            f"{what}: column {name!r} must hold finite numbers, row {bad + 1} is {column.iloc[bad]!r}"
        )
    return values

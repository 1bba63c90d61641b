"""CSV tables that are safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or
carriage return) as a formula: a series, column or class name taken from a user's file could
then run a formula on the machine of whoever opens lstmkit's output (CSV injection). Every CSV
lstmkit writes goes through :func:`write_csv`/:func:`csv_text`, which prefix such *text* cells,
header and index labels included, with an apostrophe (OWASP's advice); numbers stay numbers,
so ``-1.5`` is written as it is.
"""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Any

__all__ = ["csv_text", "neutralize", "safe_frame", "write_csv", "write_rows"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> Any:
    """``value`` with a leading apostrophe if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def safe_frame(frame: Any) -> Any:
    """A copy of a pandas ``DataFrame`` with every text cell, column label and index label
    passed through :func:`neutralize`."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(neutralize).astype(object)
    out.columns = out.columns.map(lambda c: neutralize(c) if isinstance(c, str) else c)
    if out.index.dtype == object or pd.api.types.is_string_dtype(out.index.dtype):
        out.index = out.index.map(neutralize)
    if out.index.name is not None:
        out.index.name = neutralize(out.index.name)
    return out


def csv_text(frame: Any, **to_csv: Any) -> str:
    """``frame.to_csv(**to_csv)`` as a string, spreadsheet-safe (for stdout)."""
    buffer = io.StringIO()
    safe_frame(frame).to_csv(buffer, **to_csv)
    return buffer.getvalue()


def write_csv(frame: Any, path: str | os.PathLike[str], **to_csv: Any) -> None:
    """Write ``frame`` as CSV at ``path``, atomically and spreadsheet-safe."""
    from lstmkit.io.atomic import atomic_write_text

    if "index_label" in to_csv and isinstance(to_csv["index_label"], str):
        to_csv["index_label"] = neutralize(to_csv["index_label"])
    atomic_write_text(path, csv_text(frame, **to_csv))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return "" if value is None else str(neutralize(value))


def write_rows(path: str | os.PathLike[str], rows: Any) -> None:
    """Write ``rows`` (dicts; the header is the union of their keys, in first-seen order) as
    CSV at ``path``, atomically and spreadsheet-safe; missing values and NaN are empty cells."""
    from lstmkit.io.atomic import atomic_write_text

    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([neutralize(k) for k in keys])
    for row in rows:
        writer.writerow([_cell(row.get(k)) for k in keys])
    atomic_write_text(path, buf.getvalue())

"""A self-contained HTML page per run, and the run folder written atomically."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.runfolder import prepare_run_folder, run_folder

__all__ = [
    "atomic_write_text",
    "format_table",
    "metrics_table_html",
    "prepare_run_folder",
    "run_folder",
    "write_page",
]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}tr.best td{font-weight:bold}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}code,pre{background:#f6f6f6;padding:2px 4px}
.note{color:#555;font-size:0.9em}
"""


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], floatfmt: str = ".3f") -> str:
    """A plain-text table (for stdout)."""
    cells = [[str(c) for c in columns]]
    for r in rows:
        cells.append(
            [format(r[c], floatfmt) if isinstance(r.get(c), float) else str(r.get(c, "")) for c in columns]
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for k, row in enumerate(cells):
        lines.append(
            "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths)))
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any, floatfmt: str) -> str:
    return format(value, floatfmt) if isinstance(value, float) else html.escape(str(value))


def metrics_table_html(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    best_by: str | None = None,
    floatfmt: str = ".3f",
) -> str:
    """An HTML table; the row with the lowest ``best_by`` is bold."""
    best = None
    if best_by:
        vals = [r.get(best_by) for r in rows]
        finite = [v for v in vals if isinstance(v, float)]
        best = min(finite) if finite else None
    out = ["<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>"]
    for r in rows:
        cls = ' class="best"' if best is not None and best_by and r.get(best_by) == best else ""
        tds = "".join(f"<td>{_cell(r.get(c, ''), floatfmt)}</td>" for c in columns)
        out.append(f"<tr{cls}>{tds}</tr>")
    out.append("</table>")
    return "\n".join(out)


def write_page(path: str | os.PathLike[str], title: str, sections: Sequence[tuple[str, str]]) -> None:
    """Write an HTML page: ``sections`` are (heading, HTML body) pairs."""
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{b}" if h else b for h, b in sections)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )
    atomic_write_text(path, page)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")

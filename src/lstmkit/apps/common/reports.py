"""What a job does with its run folder: checks made before the work, files written after it.

A job that writes a run folder (``runs/airline/``) checks its settings and the folder before
any long work (:func:`check_device`, :func:`check_folder_name`, then
:func:`lstmkit.io.runfolder.prepare_run_folder`), and writes the folder inside
:func:`lstmkit.io.runfolder.run_folder` once the work is done; :func:`write_summary` writes the
two files every report holds: ``metrics.json`` and the page ``index.html``.

Example::

    >>> from lstmkit.io.runfolder import run_folder
    >>> with run_folder("runs/demo", "demo") as tmp:
    ...     write_summary(tmp, "lstmkit demo", [("", "<p>done</p>")], {"loss": 0.1})
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lstmkit.fit.config import resolve_device
from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.html import write_json, write_page

__all__ = [
    "OutputOptions",
    "add_sections",
    "check_device",
    "check_folder_name",
    "html_value_rows",
    "write_summary",
]


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    """Where a job that writes a run folder writes, and what it shows (the base of its config).

    Args:
        out: the parent folder of the run folder; ``None`` writes none.
        overwrite: replace an earlier run of another kind or with edited files.
        progress: progress bars on stderr.
        echo: print the results on stdout (as the command does).
    """

    out: str | None = "runs"
    overwrite: bool = False
    progress: bool = True
    echo: bool = False


def check_device(device: str) -> None:
    """Refuse a device that is not present, naming ``--device`` (before any data is read)."""
    resolve_device(device, "--device")


def check_folder_name(name: str | None, flag: str = "--name") -> None:
    """Refuse a run folder name that is a path (``a/b``, ``.``, ``..``), naming ``flag``."""
    if name is not None and (name in ("", ".", "..") or any(c in name for c in "/\\")):
        raise ValueError(f"{flag}: expected a folder name (no path separators, not . or ..), got {name!r}")


def html_value_rows(values: Mapping[str, Any]) -> str:
    """Table rows (``<tr><td>name</td><td>value</td></tr>``) of the float entries of ``values``."""
    return "".join(
        f"<tr><td>{k}</td><td>{v:.4g}</td></tr>" for k, v in values.items() if isinstance(v, float)
    )


def write_summary(
    folder: str | os.PathLike[str],
    title: str,
    sections: Sequence[tuple[str, str]],
    metrics: Mapping[str, Any],
) -> None:
    """Write ``metrics.json`` (``metrics``) and ``index.html`` (``title`` and the (heading,
    HTML) ``sections``) into ``folder``."""
    write_json(os.path.join(folder, "metrics.json"), dict(metrics))
    write_page(os.path.join(folder, "index.html"), title, sections)


def add_sections(page: str | os.PathLike[str], sections: Sequence[tuple[str, str]]) -> bool:
    """Add the (heading, HTML) ``sections`` at the end of the body of the HTML file ``page``
    written earlier (a trainer's ``report.html``), atomically; ``False`` (nothing written) when
    there is no such file or no section."""
    if not sections or not os.path.isfile(page):
        return False
    with open(page, encoding="utf-8") as fh:
        text = fh.read()
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{b}" if h else b for h, b in sections)
    end = text.rfind("</body>")
    text = text + body if end < 0 else f"{text[:end]}{body}\n{text[end:]}"
    atomic_write_text(page, text)
    return True

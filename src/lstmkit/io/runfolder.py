"""Run folders: built aside, swapped in on success, and only ever replacing lstmkit's own.

A command that writes a folder of results (``runs/airline/``) calls
:func:`prepare_run_folder` before any long work and builds the folder inside
:func:`run_folder`, which yields a temporary sibling (``.tmp-<name>-<pid>-<random>``) and
moves it into place only when the block succeeds. The promises:

* **A user's folder is never deleted.** lstmkit replaces a folder only if it made it: the
  folder carries a marker file (``.lstmkit-run.json``: the run's kind and the size and
  modification time of every file lstmkit wrote). A folder without the marker, or with files
  lstmkit did not write, is an error naming the folder, whatever ``overwrite`` says. A run of
  another kind, or one whose files were changed since, is replaced only with
  ``overwrite=True`` (``--overwrite``). An empty folder is used as it is.
* **A failed or interrupted run changes nothing**: the temporary folder is removed (on an
  exception, Ctrl-C, or SIGTERM, which the command line turns into the same path).
* **The swap is recoverable.** Replacing an old run takes two renames (old run aside as
  ``.old-<name>-<pid>-<random>``, new run into place); a process killed between them leaves no
  folder at the final path. The next :func:`prepare_run_folder` of that path, or the next
  ``lstmkit`` command for folders under ``runs/``, puts the old run back (or removes it, when
  the new run did land), and removes the temporary folders of killed runs (their process no
  longer runs).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lstmkit.io.atomic import atomic_write_text, check_writable_folder, new_file_mode, pid_alive

__all__ = [
    "MARKER",
    "OVERWRITE_HELP",
    "add_to_run",
    "claim_folder",
    "prepare_run_folder",
    "recover_run_folders",
    "run_folder",
]

MARKER = ".lstmkit-run.json"
#: ``--help`` of the commands' ``--overwrite``.
OVERWRITE_HELP = (
    "replace an earlier lstmkit run of another kind, or one whose files were changed, at the "
    "output folder (a folder lstmkit did not make is never replaced)"
)
log = logging.getLogger("lstmkit")


def _manifest(folder: Path) -> dict[str, list[int]]:
    """Every file below ``folder`` (symlinks not followed): relative path -> [size, mtime_ns]."""
    files: dict[str, list[int]] = {}
    for root, dirs, names in os.walk(folder):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, folder).replace(os.sep, "/")
            if rel == MARKER:
                continue
            st = os.lstat(full)
            files[rel] = [st.st_size, st.st_mtime_ns]
    return files


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or not isinstance(marker.get("files"), dict):
        return None
    return marker


def _check_replaceable(final: Path, shown: str, kind: str, overwrite: bool) -> None:
    """Raise unless ``final`` is absent, an empty folder, or an lstmkit run we may replace."""
    if final.is_symlink():
        raise FileExistsError(
            f"run folder {shown!r} is a symbolic link; lstmkit writes run folders only at real paths"
        )
    if not final.exists():
        return
    if not final.is_dir():
        raise FileExistsError(f"run folder {shown!r} exists and is not a folder; choose another name")
    current = _manifest(final)
    if not current and not (final / MARKER).exists():
        return  # an empty folder: nothing to lose
    marker = _read_marker(final)
    if marker is None:
        raise FileExistsError(
            f"run folder {shown!r} exists and was not made by lstmkit (no {MARKER}); "
            "lstmkit never replaces a folder it did not make: move it or choose another name"
        )
    if marker.get("in_place"):  # written in place (a trainer's run_dir): files not listed
        if overwrite:
            return
        raise FileExistsError(
            f"run folder {shown!r} holds an lstmkit {marker.get('kind')!r} run written in place; "
            "pass --overwrite (overwrite=True) to replace it, or choose another name"
        )
    recorded = marker["files"]
    foreign = sorted(set(current) - set(recorded))
    if foreign:
        listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise FileExistsError(
            f"run folder {shown!r} holds files lstmkit did not write ({listed}); "
            "lstmkit never deletes them: move them out or choose another name"
        )
    if overwrite:
        return
    if marker.get("kind") != kind:
        raise FileExistsError(
            f"run folder {shown!r} holds an lstmkit {marker.get('kind')!r} run, not {kind!r}; "
            "pass --overwrite (overwrite=True) to replace it, or choose another name"
        )
    changed = sorted(f for f in recorded if f in current and list(recorded[f]) != current[f])
    if changed:
        listed = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        raise FileExistsError(
            f"run folder {shown!r}: files changed since lstmkit wrote them ({listed}); "
            "pass --overwrite (overwrite=True) to replace the run, or choose another name"
        )


def _leftovers(final: Path) -> list[tuple[str, int, Path]]:
    """The temporary and set-aside folders of runs of ``final``: (kind, pid, path)."""
    pattern = re.compile(rf"^\.(tmp|old)-{re.escape(final.name)}-(\d+)-[A-Za-z0-9_]+$")
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(final.parent):
            m = pattern.match(entry.name)
            if m and entry.is_dir(follow_symlinks=False):
                found.append((m.group(1), int(m.group(2)), Path(entry.path)))
    return found


def _recover(final: Path) -> None:
    """Finish or undo what killed runs of ``final`` left (see the module docstring)."""
    for what, pid, path in _leftovers(final):
        if pid_alive(pid):
            continue  # a run in progress
        if what == "tmp":
            shutil.rmtree(path, ignore_errors=True)
            log.warning("removed %s, the unfinished folder of an interrupted run", path)
        elif not final.exists() and not final.is_symlink():
            os.replace(path, final)
            log.warning("restored %s: a run was interrupted while replacing it", final)
        elif _read_marker(path) is not None:
            shutil.rmtree(path, ignore_errors=True)
            log.warning("removed %s, the replaced run that an interrupted run left", path)
        else:
            log.warning("%s: left by an interrupted run; not an lstmkit run, so kept", path)


def recover_run_folders(parent: str | os.PathLike[str]) -> None:
    """:func:`prepare_run_folder`'s recovery for every run folder under ``parent``."""
    parent = Path(parent)
    names = set()
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            m = re.match(r"^\.(?:tmp|old)-(.+)-\d+-[A-Za-z0-9_]+$", entry.name)
            if m:
                names.add(m.group(1))
    for name in sorted(names):
        _recover(parent / name)


def prepare_run_folder(path: str | os.PathLike[str], kind: str, *, overwrite: bool = False) -> Path:
    """Check, before any long work, that a run of ``kind`` can be written at ``path``.

    Recovers what interrupted runs of ``path`` left, then raises a one-line
    ``FileExistsError``/``ValueError``/``OSError`` naming the folder if ``path`` is the
    current folder or holds it, exists and may not be replaced (see the module docstring), or
    its parent cannot be written. Returns the absolute final path.
    """
    shown = os.fspath(path)
    final = Path(os.path.abspath(shown))
    cwd = Path(os.path.abspath(os.curdir))
    if final == cwd or final in cwd.parents:
        raise ValueError(f"run folder {shown!r} is the current folder or holds it; name a run folder")
    check_writable_folder(final.parent, f"run folder {shown!r}")
    _recover(final)
    _check_replaceable(final, shown, kind, overwrite)
    return final


def _record_final_path(tmp: Path, final: Path) -> None:
    """A trainer writing in the temporary folder recorded it as ``run_dir`` in its
    ``config.json``; name the folder the run lands in instead."""
    for config in tmp.rglob("config.json"):
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        recorded = data.get("run_dir") if isinstance(data, dict) else None
        if recorded is None:
            continue
        rel = os.path.relpath(os.path.abspath(str(recorded)), tmp)
        if rel == "." or not rel.startswith(".."):
            data["run_dir"] = os.path.normpath(os.path.join(final, rel))
            atomic_write_text(config, json.dumps(data, indent=2) + "\n")


@contextlib.contextmanager
def run_folder(path: str | os.PathLike[str], kind: str, *, overwrite: bool = False) -> Iterator[str]:
    """Build a run folder of ``kind`` in a temporary sibling; move it into place on success.

    Args:
        path: the run folder, e.g. ``runs/airline``.
        kind: what made it (the command, e.g. ``"run"``, ``"classify"``); a run of the same
            kind replaces an unchanged earlier one.
        overwrite: also replace an lstmkit run of another kind or with changed files (never a
            folder lstmkit did not make, nor files it did not write).

    Yields the temporary folder to write into. A run that fails leaves an existing folder
    untouched; one that succeeds replaces it as a whole.

    Example::

        >>> with run_folder("runs/demo", "demo") as tmp:
        ...     write_page(os.path.join(tmp, "index.html"), "demo", [])
    """
    shown = os.fspath(path)
    final = prepare_run_folder(path, kind, overwrite=overwrite)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".tmp-{final.name}-{os.getpid()}-"))
    os.chmod(tmp, new_file_mode(directory=True))  # a report folder is readable as others are
    try:
        yield str(tmp)
        _record_final_path(tmp, final)
        marker = {"lstmkit_run": 1, "kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_write_text(tmp / MARKER, json.dumps({**marker, "files": _manifest(tmp)}, indent=1) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        _check_replaceable(final, shown, kind, overwrite)  # again: it may have changed meanwhile
    except OSError as exc:  # keep the finished run beside it rather than lose it
        kept = _free_sibling(final)
        os.replace(tmp, kept)
        raise type(exc)(f"{exc}; this run's results are in {os.fspath(kept)!r}") from None
    _swap(tmp, final)


def _free_sibling(final: Path) -> Path:
    for k in range(1, 10_000):
        candidate = final.with_name(f"{final.name}-{k}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
    raise FileExistsError(f"no free folder name beside {os.fspath(final)!r}")


def _swap(tmp: Path, final: Path) -> None:
    if not final.exists():
        os.replace(tmp, final)
        return
    if not any(final.iterdir()):
        os.rmdir(final)
        os.replace(tmp, final)
        return
    old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".old-{final.name}-{os.getpid()}-"))
    os.rmdir(old)
    os.replace(final, old)
    os.replace(tmp, final)  # a kill before this line is undone by the next run (_recover)
    shutil.rmtree(old, ignore_errors=True)


def add_to_run(folder: str | os.PathLike[str], names: list[str]) -> None:
    """Record files lstmkit wrote later into a finished run folder (``lstmkit explain``'s page)
    in its marker, so that the folder stays one lstmkit may replace (``--overwrite``) and knows
    unchanged. A folder written in place lists no files; one without a marker is left alone."""
    path = Path(folder)
    marker = _read_marker(path)
    if marker is None or marker.get("in_place"):
        return
    current = _manifest(path)
    marker["files"].update({name: current[name] for name in names if name in current})
    atomic_write_text(path / MARKER, json.dumps(marker, indent=1) + "\n")


def claim_folder(path: str | os.PathLike[str], kind: str, *, what: str = "run_dir") -> Path:
    """Make ``path`` a folder that lstmkit writes into in place (a trainer's ``run_dir``).

    A new or empty folder is marked as lstmkit's; one that lstmkit marked before (or that holds
    a trainer checkpoint, ``checkpoints/last.pt``) is used again; any other folder that holds
    files is a one-line ``FileExistsError`` naming ``what``: lstmkit does not write its logs
    over a folder of someone else's files.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{what}: {os.fspath(path)!r} exists and is not a folder")
    ours = (folder / MARKER).exists() or (folder / "checkpoints" / "last.pt").is_file()
    if folder.is_dir() and not ours and any(folder.iterdir()):
        raise FileExistsError(
            f"{what}: {os.fspath(path)!r} holds files and was not made by lstmkit (no {MARKER}); "
            "lstmkit writes its logs only into new, empty or its own folders: choose another"
        )
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / MARKER).exists():
        marker = {"lstmkit_run": 1, "kind": kind, "in_place": True, "files": {}}
        atomic_write_text(folder / MARKER, json.dumps(marker, indent=1) + "\n")
    return folder

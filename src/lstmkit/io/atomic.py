"""Files written atomically: a reader sees the old file or the complete new one, never half.

Every file lstmkit writes goes through :func:`atomic_write_bytes`: the bytes go to a temporary
file in the same folder (``.<name>.<pid>.<random>.tmp``, made by :func:`tempfile.mkstemp`, so
a planted symlink is never followed and two writers never share one), are flushed and
fsynced, and the temporary file is renamed over the target. A process killed before the
rename (SIGKILL, power loss) leaves its temporary file behind; the next write to the same
target removes the leftovers of processes that no longer run.
"""

from __future__ import annotations

import io
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_save",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_file",
    "check_writable_folder",
    "new_file_mode",
    "pid_alive",
    "remove_stale_temporaries",
]

log = logging.getLogger("lstmkit")


def new_file_mode(directory: bool = False) -> int:
    """The permissions ``open()`` (``mkdir()`` with ``directory``) gives a new file: 0666 (0777)
    less the process's umask; ``mkstemp``/``mkdtemp`` make 0600/0700 instead."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (``True`` when unsure)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs under another user
        return True
    return True


def _temporary_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(name)}\.(\d+)\.[^.]+\.tmp$")


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[str]:
    """Delete the temporary files that writers of ``path`` left behind when they were killed
    (their process no longer runs); returns the names removed."""
    path = Path(path)
    pattern = _temporary_pattern(path.name)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry.name)
        if m and entry.is_file(follow_symlinks=False) and not pid_alive(int(m.group(1))):
            try:
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(entry.name)
            log.warning("removed %s, left by an interrupted write of %s", entry.path, path)
    return removed


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and
    :func:`os.replace`, so ``path`` is either the old file or the complete new one.

    A new file gets the permissions ``open()`` would give it; a replaced file keeps its own.
    Raises ``IsADirectoryError`` when ``path`` is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {os.fspath(path)!r}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        mode = path.stat().st_mode & 0o777 if path.exists() else new_file_mode()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # name the file the user asked for, not a temporary one
        reason = exc.strerror or type(exc).__name__
        raise type(exc)(f"cannot write {os.fspath(path)!r} ({reason})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; a new file gets what open() would give it
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """:func:`atomic_write_bytes` for text (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save(obj, path)``, atomically (temporary file in the same folder, then replace)."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _is_torch_file(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("/data.pkl") or n == "data.pkl" for n in zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def check_output_file(path: str | os.PathLike[str], what: str, *, torch_file: bool = False) -> Path:
    """Check, before any long work, that ``path`` can be written; returns it as a ``Path``.

    Raises a one-line ``OSError`` naming ``what`` (the argument, e.g. ``--save``) and the path
    when ``path`` is a folder, its folder cannot be made or written (probed by creating and
    removing a temporary file there), or (``torch_file``) it exists and is not a file that
    ``torch.save`` wrote: lstmkit never overwrites a file of another kind.
    """
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"{what}: expected a file path, got the folder {os.fspath(p)!r}")
    if torch_file and p.exists() and not _is_torch_file(p):
        raise FileExistsError(
            f"{what}: {os.fspath(p)!r} exists and is not a model file written by lstmkit "
            "(torch.save); lstmkit does not overwrite it: choose another path"
        )
    check_writable_folder(p.parent, what)
    return p


def check_writable_folder(folder: str | os.PathLike[str], what: str) -> Path:
    """Make ``folder`` if needed and check that files can be created in it (by creating and
    removing one); a one-line ``OSError`` naming ``what`` and the folder otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".lstmkit-probe.{os.getpid()}.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise type(exc)(f"{what}: cannot write in the folder {os.fspath(folder)!r} ({reason})") from None
    return folder

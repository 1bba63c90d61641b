"""The model files a server offers: found under one folder, loaded once, shared.

A model is named by its path relative to the folder, with ``/`` between parts and no suffix
(``airline/model`` for ``DIR/airline/model.pt``). Names are checked before any file is touched:
no absolute paths, no ``..``, nothing outside the folder once links are resolved, so no request
can read a file the folder does not hold.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from lstmkit.apps.deploy.models import Loaded, load_model

__all__ = ["ModelNotFound", "ModelStore"]

SUFFIX = ".pt"
_NAME = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")


class ModelNotFound(LookupError):
    """No model of that name in the served folder (the message says which names exist)."""


class ModelStore:
    """The ``.pt`` files under ``folder``, each loaded on first use and kept.

    Args:
        folder: the served folder (must exist).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        root = Path(folder)
        if not root.is_dir():
            raise ValueError(f"--models: expected a folder of model files, got {os.fspath(folder)!r}")
        self.root = root.resolve()
        self._loaded: dict[str, Loaded] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Every model name the folder holds (files inside it, links that stay inside it)."""
        found = []
        for path in sorted(self.root.rglob(f"*{SUFFIX}")):
            if path.is_file() and path.resolve().is_relative_to(self.root):
                found.append(path.relative_to(self.root).with_suffix("").as_posix())
        return found

    def path(self, name: str) -> Path:
        """The file of model ``name``; :class:`ModelNotFound` unless it lies inside the folder."""
        if not _NAME.fullmatch(name) or any(part in (".", "..") for part in name.split("/")):
            raise ModelNotFound(f"model: expected a name like 'airline/model' (see /v1/models), got {name!r}")
        path = (self.root / f"{name}{SUFFIX}").resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise ModelNotFound(f"model: no model {name!r} in the served folder (see /v1/models)")
        return path

    def get(self, name: str) -> Loaded:
        """Model ``name``, loaded once (later calls share it)."""
        path = self.path(name)
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = load_model(path)
            return self._loaded[name]

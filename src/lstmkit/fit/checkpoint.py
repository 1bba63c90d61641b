"""Checkpoints written atomically, and the random-number state needed to resume exactly."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmkit.io.atomic import atomic_save, atomic_write_bytes, atomic_write_text, new_file_mode

__all__ = [
    "atomic_save",
    "atomic_write_bytes",
    "atomic_write_text",
    "get_rng_state",
    "load_checkpoint",
    "load_file",
    "new_file_mode",
    "seed_everything",
    "set_rng_state",
]


def _looks_like_torch_file(path: str) -> bool:
    """A zip archive (torch.save's format) or a pickle (its legacy format)."""
    import zipfile

    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return True  # let torch.load report it
    return head[:1] == b"\x80" or head[:2] == b"PK" or not head or zipfile.is_zipfile(path)


def load_file(path: str | os.PathLike[str], what: str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU (no code is executed).

    Any failure is one ``OSError``/``ValueError`` line naming the file and ``what`` it is not
    (missing, a folder, truncated, not written by ``torch.save``, or holding Python objects
    that a weights-only load refuses to run).
    """
    import pickle

    shown = os.fspath(path)
    if not os.path.exists(shown):
        raise FileNotFoundError(f"{shown}: no such file (expected {what})")
    if os.path.isdir(shown):
        raise IsADirectoryError(f"{shown}: is a folder, not {what}")
    if not _looks_like_torch_file(shown):
        raise ValueError(f"{shown}: not {what} (not a file written by torch.save)")
    try:
        return torch.load(shown, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower():
            reason = "it holds Python objects beyond tensors and plain values, which lstmkit does not load"
        else:
            reason = "not a file written by torch.save"
        raise ValueError(f"{shown}: not {what} ({reason})") from None
    except (RuntimeError, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno not in (None, 22):  # permissions and the like
            raise type(exc)(f"{shown}: cannot read {what} ({exc.strerror})") from None
        raise ValueError(f"{shown}: not {what} (the file is truncated or damaged)") from None
    except Exception:  # KeyError, UnicodeDecodeError, ... from a file of another format
        raise ValueError(f"{shown}: not {what} (not a file written by torch.save)") from None


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a checkpoint written by the trainer (``weights_only``: no code is executed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint: no file at {path}")
    ckpt = load_file(path, "an lstmkit trainer checkpoint")
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise ValueError(f"checkpoint: {path} is not an lstmkit trainer checkpoint (no 'model' entry)")
    return ckpt


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def get_rng_state() -> dict[str, Any]:
    """The global random states of Python, NumPy and torch, in tensors and plain values
    (so a checkpoint loads with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    py_version, py_state, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {"version": py_version, "state": list(py_state), "gauss": py_gauss},
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))

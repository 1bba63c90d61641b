"""Checkpoints: files read safely, the random-number state a resume restores, and the check
that a resumed run is the run that saved the checkpoint.

A trainer checkpoint (``run_dir/checkpoints/last.pt``, written atomically) holds tensors and
plain values only, so :func:`load_checkpoint` reads it with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
import pickle
import random
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lstmkit.fit.config import RESUMABLE_FIELDS, TrainConfig
from lstmkit.io.atomic import atomic_save, atomic_write_bytes, atomic_write_text, new_file_mode

__all__ = [
    "CHECKPOINT_VERSION",
    "atomic_save",
    "atomic_write_bytes",
    "atomic_write_text",
    "get_rng_state",
    "load_checkpoint",
    "load_file",
    "loader_generators",
    "loader_info",
    "new_file_mode",
    "read_resume_checkpoint",
    "resume_changes",
    "seed_everything",
    "set_rng_state",
]

#: the layout of the trainer's checkpoints
CHECKPOINT_VERSION = 1


def _looks_like_torch_file(path: str) -> bool:
    """A zip archive (torch.save's format) or a pickle (its legacy format)."""
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


# ---------------------------------------------------------------------- resuming
def loader_generators(loader: Iterable[Any]) -> list[torch.Generator]:
    """Random generators a DataLoader draws its order from (its own, its samplers')."""
    gens: list[torch.Generator] = []
    candidates = [
        getattr(loader, "generator", None),
        getattr(getattr(loader, "sampler", None), "generator", None),
        getattr(getattr(getattr(loader, "batch_sampler", None), "sampler", None), "generator", None),
    ]
    for g in candidates:
        if isinstance(g, torch.Generator) and all(g is not h for h in gens):
            gens.append(g)
    return gens


def loader_info(loader: Iterable[Any]) -> dict[str, int | None]:
    """What a resumed run must find again in its training loader: the batch size, the batches
    per epoch and the samples (each ``None`` where the loader does not say)."""
    dataset = getattr(loader, "dataset", None)
    batch_size = getattr(loader, "batch_size", None)
    return {
        "batch_size": batch_size if isinstance(batch_size, int) else None,
        "batches": len(loader) if hasattr(loader, "__len__") else None,  # type: ignore[arg-type]
        "samples": len(dataset) if dataset is not None and hasattr(dataset, "__len__") else None,
    }


def _plain(value: Any) -> Any:
    """A configuration value comparable across a save (tuples and lists alike)."""
    return list(value) if isinstance(value, (tuple, list)) else value


def _model_changes(saved: Mapping[str, Any], current: Mapping[str, torch.Tensor]) -> list[str]:
    changes = []
    for key, tensor in current.items():
        if key not in saved:
            changes.append(f"model {key}: not in the checkpoint")
        elif tuple(saved[key].shape) != tuple(tensor.shape):
            changes.append(f"model {key} shape {tuple(saved[key].shape)} -> {tuple(tensor.shape)}")
    return changes + [f"model {key}: only in the checkpoint" for key in saved if key not in current]


def resume_changes(
    ckpt: Mapping[str, Any],
    config: TrainConfig,
    data: Mapping[str, int | None],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
) -> list[str]:
    """Each way this run differs from the one that saved ``ckpt`` beyond what a resume may
    change (:data:`~lstmkit.fit.config.RESUMABLE_FIELDS`), as ``"name old -> new"``.

    Args:
        ckpt: a trainer checkpoint.
        config: this run's settings.
        data: :func:`loader_info` of this run's training loader.
        model, optimizer: this run's.
    """
    changes = []
    saved = ckpt.get("config") or {}
    for name, new in config.to_dict().items():
        if name in RESUMABLE_FIELDS or name not in saved:
            continue
        if _plain(saved[name]) != _plain(new):
            changes.append(f"{name} {_plain(saved[name])!r} -> {_plain(new)!r}")
    names = {"batch_size": "batch_size", "batches": "batches per epoch", "samples": "training samples"}
    for key, old in (ckpt.get("data") or {}).items():
        new = data.get(key)
        if old is not None and new is not None and old != new:
            changes.append(f"{names.get(key, key)} {old} -> {new}")
    old_opt = ckpt.get("optimizer_class")
    if old_opt is not None and old_opt != type(optimizer).__name__:
        changes.append(f"optimizer class {old_opt} -> {type(optimizer).__name__}")
    return changes + _model_changes(ckpt.get("model") or {}, model.state_dict())


def read_resume_checkpoint(
    path: Path,
    config: TrainConfig,
    data: Mapping[str, int | None],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
) -> dict[str, Any]:
    """The trainer checkpoint at ``path``, after checking that this run may continue it.

    Raises:
        ValueError: another checkpoint version, or settings, loader or model shapes that
            differ (:func:`resume_changes`, each listed as old -> new).
    """
    ckpt = load_checkpoint(path)
    if ckpt.get("version") != CHECKPOINT_VERSION:
        raise ValueError(
            f"resume: {path} has checkpoint version {ckpt.get('version')}, expected {CHECKPOINT_VERSION}"
        )
    changes = resume_changes(ckpt, config, data, model, optimizer)
    if changes:
        shown = changes if len(changes) <= 8 else [*changes[:8], f"and {len(changes) - 8} more"]
        raise ValueError(
            f"resume: {path} was saved by a run with other settings: {'; '.join(shown)}; resume "
            f"with the saved ones (only {', '.join(RESUMABLE_FIELDS)} may change) or start a new run"
        )
    return ckpt

"""The training configuration: one frozen dataclass, validated on construction."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = ["OPTIMIZERS", "RESUMABLE_FIELDS", "SCHEDULES", "TrainConfig", "resolve_device"]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "ntasgd")
SCHEDULES = ("constant", "step", "cosine", "plateau")
PRECISIONS = ("fp32", "bf16")

#: The fields a resumed run may change (see "Resuming" in :class:`TrainConfig`).
RESUMABLE_FIELDS = (
    "max_epochs",
    "max_steps",
    "patience",
    "restore_best",
    "run_dir",
    "checkpoint_every",
    "tensorboard",
    "progress",
    "plot",
    "log_every",
    "device",
    "deterministic",
)


@dataclass(frozen=True)
class TrainConfig:
    """Everything :class:`~lstmkit.fit.Trainer` needs besides the model, data and loss.

    Optimization:
        optimizer: ``"sgd"`` (with ``momentum``, ``nesterov``), ``"adam"``, ``"adamw"``,
            ``"rmsprop"`` (with ``momentum``) or ``"ntasgd"`` (non-monotonically triggered
            averaged SGD, Merity et al. 2018: plain SGD that starts averaging the weights once
            the monitored validation value has not improved on the best value from more than
            ``ntasgd_nonmono`` validations ago; validation and the final weights use the
            average). A ready optimizer instance passed to the trainer overrides this.
        lr: base learning rate.
        weight_decay: L2 penalty (decoupled for ``adamw``).
        momentum: momentum of SGD and RMSprop.
        nesterov: Nesterov momentum for SGD.
        betas: Adam/AdamW betas.
        eps: Adam/AdamW/RMSprop epsilon.
        ntasgd_nonmono: the non-monotone interval n of NT-ASGD.

    Learning-rate schedule (a multiplier on ``lr``):
        schedule: ``"constant"``, ``"step"`` (times ``gamma`` every ``step_size`` epochs),
            ``"cosine"`` (from 1 down to ``min_lr / lr`` over the training steps after warmup;
            needs ``max_steps`` or a loader with a length) or ``"plateau"`` (times ``gamma``
            when the monitored value has not improved for ``plateau_patience`` validations,
            not below ``min_lr``).
        warmup_steps: linear warmup from ``lr / warmup_steps`` to ``lr`` over the first
            optimizer steps; combines with every schedule.
        step_size, gamma, min_lr, plateau_patience: parameters of the schedules.

    Gradients:
        clip_norm: clip the global L2 norm of the gradients to this value (``None``: off).
        clip_value: clamp every gradient element to ``[-clip_value, clip_value]``.
        tbptt_k1: truncated BPTT: run ``k1`` steps forward between parameter updates
            (``None``: full BPTT over each batch).
        tbptt_k2: backpropagate through the last ``k2 >= k1`` steps at each update (default
            ``k1``). Needs a stateful model, see :class:`~lstmkit.fit.Trainer`.
        time_dim: the time dimension of every tensor in a batch (1 for (N, L, *) batches as
            :class:`torch.utils.data.DataLoader` collates them, 0 for (L, N, *)); used by
            truncated BPTT only.
        carry_state: with truncated BPTT, carry the (detached) final state of one batch into
            the next (language-model style, consecutive stream segments); reset every epoch.

    Length and validation:
        max_epochs: epochs over the training loader.
        max_steps: stop after this many optimizer steps (``None``: no limit); with truncated
            BPTT it is checked after each batch (all its windows), where a checkpoint resumes
            exactly, so a run may take up to one batch's windows more.
        val_every: validate every this many epochs.

    Early stopping and best weights:
        monitor: the logged value that decides the best epoch, e.g. ``"val_loss"`` or
            ``"val_acc"`` (``None``: ``"val_loss"`` with a validation loader, else
            ``"train_loss"``).
        mode: ``"min"`` or ``"max"``.
        patience: stop after this many validations without improvement (``0``: at the first one
            without; ``None``: never).
        min_delta: an improvement must beat the best by more than this.
        restore_best: load the best weights at the end of :meth:`~lstmkit.fit.Trainer.fit`.

    Run folder, logging:
        run_dir: folder for ``config.json``, ``metrics.csv``, ``steps.csv``,
            ``checkpoints/{last,best}.pt``, ``curves.png``, ``report.html`` and ``tensorboard/``
            (``None``: nothing is written).
        checkpoint_every: also write ``last.pt`` every this many optimizer steps (it is
            always written at the end of each epoch and of training).
        tensorboard: log to TensorBoard under ``run_dir/tensorboard`` (needs ``tensorboard``).
        progress: show a progress bar on stderr.
        plot: write ``curves.png`` and ``report.html`` at the end (needs ``matplotlib``).
        log_every: write a ``steps.csv`` row every this many optimizer steps.

    Reproducibility and numerics:
        seed: seed Python, NumPy and torch at the start of ``fit`` (``None``: leave them).
        deterministic: ``torch.use_deterministic_algorithms(True)`` during ``fit``.
        precision: ``"fp32"`` or ``"bf16"`` (autocast of the forward pass and loss; parameters
            and optimizer stay float32).
        device: where the model and batches go: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``
            or ``"auto"`` (CUDA when present, else the CPU); checked against the devices
            present when the trainer is built (see :func:`resolve_device`).

    Resuming (``Trainer.fit(..., resume=...)``):
        a run continues with the checkpoint's settings. It may change only the limits and
        the bookkeeping (:data:`RESUMABLE_FIELDS`): ``max_epochs``, ``max_steps`` (to train
        longer, or shorter), ``patience``, ``restore_best``, ``run_dir``, ``checkpoint_every``,
        ``tensorboard``, ``progress``, ``plot``, ``log_every``, ``device`` and
        ``deterministic``. A schedule sized by the run's length (``cosine``) then follows the
        new length from the resumed step on, as a run configured with it from the start would
        at that step. Any other change (optimizer, learning rate or schedule settings,
        clipping, truncated BPTT, monitor, seed, precision), a training loader with another
        batch size, number of batches or samples, and a model whose parameters differ in name
        or shape are refused with one error listing each difference (old -> new).

    Example::

        >>> cfg = TrainConfig(optimizer="adamw", lr=3e-3, schedule="cosine", warmup_steps=100,
        ...                   clip_norm=1.0, max_epochs=20, patience=5, run_dir="runs/demo")
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    ntasgd_nonmono: int = 5

    schedule: str = "constant"
    warmup_steps: int = 0
    step_size: int = 10
    gamma: float = 0.1
    min_lr: float = 0.0
    plateau_patience: int = 2

    clip_norm: float | None = None
    clip_value: float | None = None
    tbptt_k1: int | None = None
    tbptt_k2: int | None = None
    time_dim: int = 1
    carry_state: bool = False

    max_epochs: int = 10
    max_steps: int | None = None
    val_every: int = 1

    monitor: str | None = None
    mode: str = "min"
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True

    run_dir: str | None = None
    checkpoint_every: int | None = None
    tensorboard: bool = False
    progress: bool = True
    plot: bool = True
    log_every: int = 1

    seed: int | None = 0
    deterministic: bool = False
    precision: str = "fp32"
    device: str = "cpu"

    def __post_init__(self) -> None:
        if isinstance(self.run_dir, Path):  # accept a Path, store a str (JSON-friendly)
            object.__setattr__(self, "run_dir", str(self.run_dir))
        if isinstance(self.betas, list):
            object.__setattr__(self, "betas", tuple(self.betas))
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("mode", self.mode, ("min", "max"))
        _choice("precision", self.precision, PRECISIONS)
        _positive("lr", self.lr)
        _nonneg("weight_decay", self.weight_decay)
        _nonneg("momentum", self.momentum)
        _positive("eps", self.eps)
        _nonneg("min_lr", self.min_lr)
        _nonneg("min_delta", self.min_delta)
        if not 0 < self.gamma <= 1:
            raise ValueError(f"gamma: expected a factor in (0, 1], got {self.gamma}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas: expected two values in [0, 1), got {self.betas}")
        for name in (
            "ntasgd_nonmono",
            "step_size",
            "plateau_patience",
            "max_epochs",
            "val_every",
            "log_every",
        ):
            _int(name, getattr(self, name), low=1)
        _int("warmup_steps", self.warmup_steps, low=0)
        _int("time_dim", self.time_dim, low=0)
        for name in ("max_steps", "tbptt_k1", "tbptt_k2", "checkpoint_every", "patience"):
            value = getattr(self, name)
            if value is not None:
                _int(name, value, low=0 if name == "patience" else 1)
        if self.seed is not None:
            _int("seed", self.seed, low=0)
        for name in ("clip_norm", "clip_value"):
            value = getattr(self, name)
            if value is not None:
                _positive(name, value)
        if self.tbptt_k2 is not None and self.tbptt_k1 is None:
            raise ValueError("tbptt_k2: needs tbptt_k1 (the steps between updates), got tbptt_k1=None")
        if self.tbptt_k1 is not None and self.tbptt_k2 is not None and self.tbptt_k2 < self.tbptt_k1:
            raise ValueError(
                f"tbptt_k2: expected >= tbptt_k1 ({self.tbptt_k1}); with k2 < k1 part of each "
                f"chunk's error would never reach the weights, got {self.tbptt_k2}"
            )
        if self.carry_state and self.tbptt_k1 is None:
            raise ValueError("carry_state: needs truncated BPTT (tbptt_k1), got tbptt_k1=None")
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr: expected <= lr ({self.lr}), got {self.min_lr}")
        resolve_device(self.device, check_available=False)

    # ------------------------------------------------------------------ helpers
    @property
    def k2(self) -> int | None:
        """The backward window of truncated BPTT (``tbptt_k2`` or ``tbptt_k1``)."""
        return self.tbptt_k2 if self.tbptt_k2 is not None else self.tbptt_k1

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed, validated again."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict (e.g. ``config.json``); unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"TrainConfig: unknown fields {unknown}; known: {sorted(known)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


DEVICE_TYPES = ("cpu", "cuda", "mps")


def _available_devices() -> list[str]:
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def resolve_device(device: object, name: str = "device", *, check_available: bool = True) -> torch.device:
    """The ``torch.device`` that ``device`` names, or a one-line ``ValueError`` naming ``name``.

    Accepts ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, ``"auto"`` (the first CUDA GPU
    when one is present, else the CPU) or a ``torch.device`` of those types. With
    ``check_available`` the device must also be present on this machine (``"cuda:3"`` with
    one GPU is refused, listing the devices there are); without it only the spelling is
    checked (a saved configuration read on another machine).

    Example::

        >>> resolve_device("auto")
        device(type='cpu')
        >>> resolve_device("tpu")
        Traceback (most recent call last):
        ValueError: device: expected 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto', got 'tpu'; ...
    """
    import torch

    expected = "expected 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'"
    if isinstance(device, str) and device.strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{name}: {expected}, got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        dev = None
    if dev is None or dev.type not in DEVICE_TYPES:
        here = ", ".join(_available_devices())
        raise ValueError(f"{name}: {expected}, got {str(device)!r}; available here: {here}")
    if not check_available or dev.type == "cpu":
        return dev
    available = _available_devices()
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{name}: {str(device)!r} needs a CUDA GPU and this machine (or this torch build) has "
                f"none; available here: {', '.join(available)} (or 'auto')"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(
                f"{name}: {str(device)!r} names GPU {dev.index}, but {count} GPU(s) are present; "
                f"available here: {', '.join(available)}"
            )
    elif "mps" not in available:
        raise ValueError(
            f"{name}: 'mps' needs Apple's Metal backend, which this machine lacks; available here: "
            f"{', '.join(available)}"
        )
    return dev


def _choice(name: str, value: object, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"{name}: expected one of {list(options)}, got {value!r}")


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if value != value:  # NaN
        raise ValueError(f"{name}: expected a number, got NaN")
    return float(value)


def _positive(name: str, value: object) -> None:
    if not 0 < _number(name, value) < math.inf:
        raise ValueError(f"{name}: expected a finite value > 0, got {value}")


def _nonneg(name: str, value: object) -> None:
    if not 0 <= _number(name, value) < math.inf:
        raise ValueError(f"{name}: expected a finite value >= 0, got {value}")


def _int(name: str, value: object, *, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {value}")

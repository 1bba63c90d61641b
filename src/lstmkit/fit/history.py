"""The record of a training run that :meth:`lstmkit.fit.Trainer.fit` returns."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["History"]


@dataclass
class History:
    """What :meth:`Trainer.fit` returns: the epoch rows, the per-step rows and the outcome.

    Attributes:
        epochs: one dict per epoch (``epoch``, ``step``, ``train_loss``, ``lr``, ``seconds``,
            and ``val_loss``/``val_<metric>`` on validation epochs).
        steps: one dict per logged optimizer step (``step``, ``epoch``, ``loss``, ``lr``,
            ``grad_norm``).
        monitor: the quantity that chooses the best epoch.
        best_epoch: the epoch (from 0) of the best monitored value, ``None`` before one.
        best_value: that value.
        stop_reason: ``"max_epochs"``, ``"max_steps"``, ``"early_stopping"`` or ``"callback"``.

    Example::

        >>> h = History([{"epoch": 0, "val_loss": 0.5}, {"epoch": 1}])
        >>> h["val_loss"]  # a column over epochs, NaN where missing
        [0.5, nan]
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    monitor: str = "val_loss"
    best_epoch: int | None = None
    best_value: float | None = None
    stop_reason: str = ""

    def __getitem__(self, key: str) -> list[float]:
        return [float(r.get(key, math.nan)) for r in self.epochs]

    @property
    def losses(self) -> list[float]:
        """The training loss of every logged optimizer step."""
        return [float(r["loss"]) for r in self.steps]

    @property
    def stopped_early(self) -> bool:
        return self.stop_reason == "early_stopping"

    def to_dict(self) -> dict[str, Any]:
        """A snapshot: later rows do not change it."""
        return {
            "epochs": [dict(r) for r in self.epochs],
            "steps": [dict(r) for r in self.steps],
            "monitor": self.monitor,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> History:
        return cls(
            [dict(r) for r in d["epochs"]],
            [dict(r) for r in d["steps"]],
            d["monitor"],
            d["best_epoch"],
            d["best_value"],
            d["stop_reason"],
        )

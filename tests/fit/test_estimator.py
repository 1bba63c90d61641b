"""The estimator base: seeded ensembles trained under one progress bar, save/load with a format
tag and version, one-line errors; the shared checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from lstmkit.fit import StepOutput, TrainConfig, atomic_save
from lstmkit.fit.estimator import (
    EpochTicker,
    Estimator,
    check_int,
    check_rates,
    class_indices,
    finite,
    float32_modules,
    settings,
)
from lstmkit.io.progress import SilentBar


@dataclass(frozen=True)
class LineConfig:
    size: int = 3
    members: int = 2
    seed: int = 0
    device: str = "cpu"


class Line(Estimator):
    """y = w x + b fitted by an ensemble of linear layers."""

    format = "lstmkit.Line"

    def __init__(
        self, size: int = 3, members: int = 2, seed: int = 0, device: str = "cpu", progress: bool = False
    ):
        super().__init__(LineConfig(size, members, seed, device), progress)
        self.scale_: float | None = None

    def _build_net(self) -> nn.Module:
        return nn.Linear(self.config.size, 1)

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> Line:
        self.scale_ = float(y.abs().max())
        data = TensorDataset(x, y)

        def member(k: int, bar: Any) -> tuple[nn.Module, dict[str, list[float]]]:
            net = self._new_net(k)
            settings = TrainConfig(lr=0.1, max_epochs=3)
            hist = self._train_member(k, net, data, settings=settings, step=_mse, batch_size=8, bar=bar)
            return net, {"train_loss": hist["train_loss"]}

        self._fit_ensemble(self.config.members, 3, "fit line", member)
        return self

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.stack([net(x) for net in self._members()]).mean(0)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "scale": self.scale_}

    def _set_state(self, payload: Any) -> None:
        super()._set_state(payload)
        self.scale_ = payload["scale"]


def _mse(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> StepOutput:
    x, y = batch
    return StepOutput(nn.functional.mse_loss(model(x), y))


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3


def test_members_are_seeded_and_kept_with_the_first_ones_curves() -> None:
    x, y = data()
    a, b = Line().fit(x, y), Line().fit(x, y)
    assert len(a.nets_) == 2 and all(not net.training for net in a.nets_)
    assert not torch.equal(a.nets_[0].weight, a.nets_[1].weight)  # seeds 0 and 1
    assert all(torch.equal(p, q) for p, q in zip(a.nets_[1].parameters(), b.nets_[1].parameters()))
    assert len(a.history_["train_loss"]) == 3 and a.fit_seconds_ is not None
    assert repr(a) == "Line(LineConfig(size=3, members=2, seed=0, device='cpu'), fitted)"
    assert a.clone().nets_ == [] and a.clone().config == a.config


def test_save_and_load_round_trip(tmp_path) -> None:
    x, y = data()
    model = Line().fit(x, y)
    model.save(tmp_path / "line.pt")
    payload = torch.load(tmp_path / "line.pt", weights_only=True)
    assert (payload["format"], payload["version"], payload["config"]["size"]) == ("lstmkit.Line", 1, 3)
    again = Line.load(tmp_path / "line.pt")
    assert torch.equal(again.predict(x), model.predict(x)) and again.scale_ == model.scale_
    assert again.history_ == model.history_ and not again.progress


def test_one_line_errors(tmp_path) -> None:
    with pytest.raises(RuntimeError, match=r"^Line: call fit\(\) \(or Line.load\) before save\(\)$"):
        Line().save(tmp_path / "x.pt")
    atomic_save({"format": "lstmkit.Other", "version": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"other\.pt' is not a saved lstmkit Line"):
        Line.load(tmp_path / "other.pt")
    atomic_save({"format": "lstmkit.Line", "version": 2}, tmp_path / "newer.pt")
    with pytest.raises(ValueError, match=r"written by a newer lstmkit \(format 2\)"):
        Line.load(tmp_path / "newer.pt")
    with pytest.raises(FileNotFoundError, match="expected a saved lstmkit Line"):
        Line.load(tmp_path / "missing.pt")


def test_epoch_ticker_shows_the_losses() -> None:
    shown: list[str] = []

    class Bar(SilentBar):
        def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
            shown.append(s)

    ticker = EpochTicker(Bar(), "member 1/2 ")
    ticker.on_epoch_end(None, {"train_loss": 0.5})  # type: ignore[arg-type]
    ticker.on_epoch_end(None, {"train_loss": 0.25, "val_loss": 0.125})  # type: ignore[arg-type]
    assert shown == ["member 1/2 loss=0.5000", "member 1/2 loss=0.2500 val=0.1250"]


@dataclass(frozen=True)
class Rates:
    lr: float = 1e-3
    weight_decay: float = 0.0
    dropout: float = 0.0
    variant: str = "classic"
    engine: str | None = None
    device: str = "cpu"


def test_shared_checks() -> None:
    check_int("n", 3)
    check_int("n", None, optional=True)
    check_int("n", np.int64(2), numpy=True)
    for bad in (0, True, 2.0, np.int64(2)):
        with pytest.raises(ValueError, match="n: expected an int >= 1"):
            check_int("n", bad)
    check_rates(Rates())
    check_rates(Rates(weight_decay=0.1, dropout=0.5))
    with pytest.raises(ValueError, match="lr: expected a finite learning rate > 0, got inf"):
        check_rates(Rates(lr=float("inf")))
    with pytest.raises(ValueError, match=r"dropout: expected a value in \[0, 1\), got 1.0"):
        check_rates(Rates(dropout=1.0))
    with pytest.raises(ValueError, match="variant"):
        check_rates(Rates(variant="nope"))
    with pytest.raises(ValueError, match="x: expected finite values, got nan at step 1"):
        finite("x", np.array([0.0, np.nan]), axes=("step",))
    assert class_indices([0, 1, 1.0], 3).tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="none has \\[1\\]"):
        class_indices([0, 2, 2], 3)


def test_float32_modules_whatever_the_default_dtype() -> None:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with float32_modules():
            layer = nn.Linear(2, 2)
        assert layer.weight.dtype == torch.float32 and torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(previous)


def test_settings_take_the_constructor_arguments_named_as_fields() -> None:
    def init(size: int = 3, members: int = 2, seed: int = 0, device: str = "cpu", progress: bool = True):
        return settings(LineConfig, locals())

    assert init(5, seed=2) == LineConfig(size=5, members=2, seed=2)

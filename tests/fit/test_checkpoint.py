"""Checkpoints: safe loading, the random state round trip, and what a resume refuses."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.fit import TrainConfig, atomic_save
from lstmkit.fit.checkpoint import (
    CHECKPOINT_VERSION,
    get_rng_state,
    load_checkpoint,
    loader_generators,
    loader_info,
    read_resume_checkpoint,
    resume_changes,
    set_rng_state,
)


def test_rng_state_round_trip() -> None:
    state = get_rng_state()
    draws = (random.random(), np.random.rand(), torch.rand(1))
    set_rng_state(state)
    assert (random.random(), np.random.rand()) == draws[:2] and torch.equal(torch.rand(1), draws[2])


def test_loader_info_and_generators() -> None:
    gen = torch.Generator().manual_seed(0)
    loader = DataLoader(TensorDataset(torch.zeros(10, 1)), batch_size=4, shuffle=True, generator=gen)
    assert loader_info(loader) == {"batch_size": 4, "batches": 3, "samples": 10}
    assert loader_generators(loader) == [gen]
    assert loader_info([1, 2]) == {"batch_size": None, "batches": 2, "samples": None}


def _checkpoint(model: nn.Module, config: TrainConfig, **extra: object) -> dict:
    optimizer = torch.optim.Adam(model.parameters())
    return {
        "version": CHECKPOINT_VERSION,
        "model": model.state_dict(),
        "config": config.to_dict(),
        "data": {"batch_size": 4, "batches": 3, "samples": 10},
        "optimizer_class": type(optimizer).__name__,
        **extra,
    }


def test_resume_changes_list_each_difference() -> None:
    model, cfg = nn.Linear(2, 1), TrainConfig(lr=1e-2)
    ckpt = _checkpoint(model, cfg)
    data = {"batch_size": 4, "batches": 3, "samples": 10}
    opt = torch.optim.Adam(model.parameters())
    assert resume_changes(ckpt, cfg.replace(max_epochs=99), data, model, opt) == []  # a resumable field
    sgd = torch.optim.SGD(model.parameters())
    changes = resume_changes(ckpt, cfg.replace(lr=0.5), {**data, "batch_size": 8}, nn.Linear(3, 1), sgd)
    assert changes == [
        "lr 0.01 -> 0.5",
        "batch_size 4 -> 8",
        "optimizer class Adam -> SGD",
        "model weight shape (1, 2) -> (1, 3)",
    ]


def test_read_resume_checkpoint_refuses_other_versions_and_settings(tmp_path) -> None:
    model, cfg = nn.Linear(2, 1), TrainConfig()
    data = {"batch_size": 4, "batches": 3, "samples": 10}
    opt = torch.optim.Adam(model.parameters())
    atomic_save(_checkpoint(model, cfg), tmp_path / "ok.pt")
    assert read_resume_checkpoint(tmp_path / "ok.pt", cfg, data, model, opt)["version"] == CHECKPOINT_VERSION
    atomic_save(_checkpoint(model, cfg, version=99), tmp_path / "new.pt")
    with pytest.raises(ValueError, match="checkpoint version 99, expected 1"):
        read_resume_checkpoint(tmp_path / "new.pt", cfg, data, model, opt)
    with pytest.raises(ValueError, match=r"other settings: lr 0\.001 -> 0\.1; resume with the saved ones"):
        read_resume_checkpoint(tmp_path / "ok.pt", cfg.replace(lr=0.1), data, model, opt)
    atomic_save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an lstmkit trainer checkpoint"):
        load_checkpoint(tmp_path / "other.pt")

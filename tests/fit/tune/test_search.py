"""Hyperparameter search: the best configuration is found, bad trials are pruned, results saved."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from lstmkit.fit import TrainConfig, Trainer, masked_mse
from lstmkit.fit.tune import SearchSpace, tune


def test_tune_finds_the_minimum_and_prunes(tmp_path):
    # a deterministic objective: the closer lr is to 1e-2 and the larger the hidden size, the
    # lower the curve; every trial reports a decreasing curve over 6 "epochs"
    def objective(params, reporter):
        base = abs(torch.log10(torch.tensor(params["lr"])).item() + 2) + 1.0 / params["hidden"]
        value = base
        for epoch in range(6):
            value = base + 1.0 / (epoch + 1)
            reporter.report(value, epoch)
        return value

    space = SearchSpace(hidden=(4, 64), lr=(1e-4, 1.0), dropout=(0.0, 0.0), num_layers=(1, 1))
    result = tune(objective, space, n_trials=30, seed=0, out_dir=tmp_path)
    states = [t["state"] for t in result.trials]
    assert states.count("PRUNED") >= 5  # the median pruner stops the bad curves early
    pruned = [t for t in result.trials if t["state"] == "PRUNED"]
    assert all(t["steps"] < 6 for t in pruned)
    assert result.best_params["hidden"] == 64
    assert abs(torch.log10(torch.tensor(result.best_params["lr"])).item() + 2) < 0.3
    done = [t["value"] for t in result.trials if t["state"] == "COMPLETE"]
    assert result.best_value == min(done)
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["best_params"] == result.best_params and best["space"]["hidden"] == [4, 64]
    assert (tmp_path / "history.png").read_bytes()[:4] == b"\x89PNG"
    table = result.table()
    assert table.splitlines()[2].split()[0] == str(result.best_trial)  # best first


def test_reporter_callback_prunes_a_trainer_run():
    x = torch.randn(64, 5, 1)
    y = x.sum(1).squeeze(-1)
    data = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]

    def objective(params, reporter):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Flatten(), nn.Linear(5, params["hidden"]), nn.Tanh(), nn.Linear(params["hidden"], 1)
        )

        def loss_fn(pred, target):
            return masked_mse(pred.squeeze(-1), target)

        cfg = TrainConfig(lr=params["lr"], max_epochs=5, progress=False, plot=False)
        trainer = Trainer(model, cfg, loss_fn=loss_fn, callbacks=[reporter.callback()])
        h = trainer.fit(data, data)
        assert h.best_value is not None
        return h.best_value

    space = SearchSpace(hidden=(8,), lr=(1e-5, 1e-1), dropout=(0.0, 0.0), num_layers=(1, 1))
    result = tune(objective, space, n_trials=10, seed=1)
    assert any(t["state"] == "PRUNED" for t in result.trials)
    assert result.best_params["lr"] > 1e-3  # tiny learning rates lose


def test_search_space_validation():
    with pytest.raises(ValueError, match="variants"):
        SearchSpace(variants=("lstm9",))
    with pytest.raises(ValueError, match="lr"):
        SearchSpace(lr=(0.1, 0.01))
    with pytest.raises(ValueError, match="num_layers"):
        SearchSpace(num_layers=(0, 2))
    with pytest.raises(ValueError, match="n_trials"):
        tune(lambda p, r: 0.0, n_trials=0)

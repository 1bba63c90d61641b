"""The trainer: it learns, clips, stops early, checks its arguments and writes its run folder."""

from __future__ import annotations

import itertools
import json
import math
import os

import pytest
import torch
from tests.fit.nets import SeqRegressor, loaders, quiet, running_sum_data
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.core.layers import LSTM
from lstmkit.fit import (
    NTASGD,
    Callback,
    StepOutput,
    TrainConfig,
    Trainer,
    accuracy,
    load_checkpoint,
    masked_mse,
    sequence_cross_entropy,
)


@pytest.mark.slow
def test_trainer_learns_what_an_untrained_model_cannot():
    torch.manual_seed(0)
    train, val = loaders()
    trainer = Trainer(SeqRegressor(), quiet(lr=2e-2, max_epochs=12), loss_fn=masked_mse)
    untrained = trainer.evaluate(val)["loss"]
    history = trainer.fit(train, val)
    trained = trainer.evaluate(val)["loss"]
    assert untrained > 0.3  # the target's variance is ~0.4 * 0.4 * 6.5 ~ 1
    assert trained < 0.03 < untrained
    assert history["val_loss"][-1] == pytest.approx(min(history["val_loss"]), rel=0.5)
    assert len(history.steps) == 12 * 8 and history.stop_reason == "max_epochs"


class GradNorms(Callback):
    def __init__(self) -> None:
        self.norms: list[float] = []
        self.max_abs: list[float] = []

    def on_before_optimizer_step(self, trainer):
        grads = [p.grad for p in trainer.model.parameters() if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads]))))
        self.max_abs.append(max(float(g.abs().max()) for g in grads))


@pytest.mark.parametrize(("option", "limit"), [("clip_norm", 0.05), ("clip_value", 0.01)])
def test_clipping_bounds_the_gradient(option, limit):
    train, _ = loaders()
    seen = {}
    for clip in (False, True):
        torch.manual_seed(0)
        cb = GradNorms()
        cfg = quiet(lr=1e-3, max_epochs=1, **({option: limit} if clip else {}))
        Trainer(SeqRegressor(), cfg, loss_fn=masked_mse, callbacks=[cb]).fit(train)
        seen[clip] = cb.norms if option == "clip_norm" else cb.max_abs
    assert max(seen[False]) > 2 * limit  # without clipping the bound is exceeded ...
    assert max(seen[True]) <= limit * (1 + 1e-5)  # ... with it, never


class Scalar(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, target):
        return self.w.expand_as(target)


def test_early_stopping_restores_the_best_weights(tmp_path):
    # training pulls w to 5 (w_k = 5 (1 - 0.9^k)); validation wants w = 1: best after epoch 2
    train = [(torch.tensor([5.0]), torch.tensor([5.0]))]
    val = [(torch.tensor([1.0]), torch.tensor([1.0]))]
    out = {}
    for restore in (True, False):
        model = Scalar()
        cfg = quiet(
            optimizer="sgd",
            lr=0.05,
            max_epochs=50,
            patience=2,
            restore_best=restore,
            run_dir=str(tmp_path / str(restore)),
        )
        trainer = Trainer(model, cfg, loss_fn=masked_mse)
        h = trainer.fit(train, val)
        out[restore] = (model.w.item(), h)
    w_best, h = out[True]
    assert h.stop_reason == "early_stopping" and h.stopped_early
    assert h.best_epoch == 1 and len(h.epochs) == 4  # best, then 2 epochs without improvement
    assert w_best == pytest.approx(5 * (1 - 0.9**2), abs=1e-6)
    assert out[False][0] == pytest.approx(5 * (1 - 0.9**4), abs=1e-6)  # the last weights, not the best
    best = load_checkpoint(tmp_path / "True" / "checkpoints" / "best.pt")
    assert float(best["model"]["w"]) == pytest.approx(w_best)


def test_monitor_max_and_metrics():
    torch.manual_seed(0)
    x = torch.randn(64, 6, 3)
    y = (x.sum((1, 2)) > 0).long()

    class Clf(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = LSTM(3, 8, batch_first=True)
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[-1])

    model = Clf()
    data = DataLoader(TensorDataset(x, y), batch_size=16)
    trainer = Trainer(
        model,
        quiet(lr=2e-2, max_epochs=3, monitor="val_acc", mode="max"),
        loss_fn=sequence_cross_entropy,
        metrics={"acc": accuracy},
    )
    h = trainer.fit(data, data)
    res = trainer.evaluate(data)
    with torch.no_grad():
        manual = float((model(x).argmax(-1) == y).float().mean())
    assert res["acc"] == pytest.approx(manual)
    assert h.best_value == max(h["val_acc"])


def test_run_folder_contents(tmp_path):
    train, val = loaders(n=32)
    cfg = TrainConfig(lr=1e-2, max_epochs=2, run_dir=str(tmp_path / "run"), progress=True, tensorboard=True)
    Trainer(SeqRegressor(), cfg, loss_fn=masked_mse).fit(train, val)
    run = tmp_path / "run"
    assert TrainConfig.from_dict(json.loads((run / "config.json").read_text())) == cfg
    lines = (run / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,step,train_loss,lr,seconds,val_loss") and len(lines) == 3
    assert len((run / "steps.csv").read_text().splitlines()) == 1 + 2 * 2
    for name in ("curves.png", "report.html", "summary.json", "checkpoints/last.pt", "checkpoints/best.pt"):
        assert (run / name).is_file(), name
    assert (run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert any((run / "tensorboard").iterdir())
    assert not list(run.rglob("*.tmp"))


def test_failed_checkpoint_write_keeps_the_old_file(tmp_path, monkeypatch):
    train, _ = loaders(n=32)
    cfg = quiet(lr=1e-2, max_epochs=1, run_dir=str(tmp_path))
    trainer = Trainer(SeqRegressor(), cfg, loss_fn=masked_mse)
    trainer.fit(train)
    last = tmp_path / "checkpoints" / "last.pt"
    before = last.read_bytes()

    def broken(obj, f, *a, **k):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        Trainer(SeqRegressor(), cfg.replace(max_epochs=2), loss_fn=masked_mse).fit(train, resume=True)
    assert last.read_bytes() == before
    assert not list(tmp_path.rglob("*.tmp"))


def test_seeded_runs_are_identical_and_bf16_is_close():
    train, val = loaders(n=64)
    results = []
    for precision in ("fp32", "fp32", "bf16"):
        torch.manual_seed(0)
        cfg = quiet(lr=1e-2, max_epochs=2, deterministic=True, precision=precision)
        results.append(Trainer(SeqRegressor(dropout=0.1), cfg, loss_fn=masked_mse).fit(train, val))
    assert results[0].losses == results[1].losses
    assert results[2].losses != results[0].losses
    assert results[2]["val_loss"][-1] == pytest.approx(results[0]["val_loss"][-1], rel=0.1)


def test_warmup_then_step_schedule_and_ntasgd():
    train = [(torch.tensor([5.0]), torch.tensor([5.0]))] * 2
    cfg = quiet(
        optimizer="sgd", lr=0.1, warmup_steps=4, schedule="step", step_size=2, gamma=0.5, max_epochs=4
    )
    h = Trainer(Scalar(), cfg, loss_fn=masked_mse).fit(train)
    lrs = [r["lr"] for r in h.steps]
    assert lrs == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.05, 0.05, 0.05, 0.05])

    # NT-ASGD: validation gets worse (val wants w = -1 while training pulls to 5), so averaging
    # starts and the final weight is the mean of the iterates since the trigger
    model = Scalar()
    cfg = quiet(optimizer="ntasgd", lr=0.05, ntasgd_nonmono=2, max_epochs=8, restore_best=False)
    trainer = Trainer(model, cfg, loss_fn=masked_mse)
    h = trainer.fit(train[:1], [(torch.tensor([-1.0]), torch.tensor([-1.0]))])
    ws = [5 * (1 - 0.9**k) for k in range(1, 9)]
    # values logged after epochs 0, 1, 2 are increasing: at epoch 3 (logs > 2, value > min of logs[:-2])
    # averaging starts, so the iterates of steps 5..8 are averaged
    assert model.w.item() == pytest.approx(sum(ws[4:]) / 4, abs=1e-6)
    # the average is now the model's weights for good: evaluate() scores them, swaps nothing in
    assert isinstance(trainer.optimizer, NTASGD) and not trainer.optimizer.averaging
    val = trainer.evaluate([(torch.tensor([-1.0]), torch.tensor([-1.0]))])
    assert val["loss"] == pytest.approx((model.w.item() + 1.0) ** 2, rel=1e-6)

    # a second fit on the same trainer starts from the configured rate, not the decayed one
    cfg = quiet(optimizer="sgd", lr=0.1, schedule="cosine", min_lr=0.0, max_epochs=2)
    trainer = Trainer(Scalar(), cfg, loss_fn=masked_mse)
    first = [r["lr"] for r in trainer.fit(train).steps]
    second = [r["lr"] for r in trainer.fit(train).steps]
    assert first[0] == pytest.approx(0.1) and first[-1] < 0.05  # cosine over 4 steps
    assert second == pytest.approx(first)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="adagrad")
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=0)
    with pytest.raises(ValueError, match="tbptt_k2"):
        TrainConfig(tbptt_k1=5, tbptt_k2=3)
    with pytest.raises(TypeError, match="max_epochs"):
        TrainConfig(max_epochs=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown fields"):
        TrainConfig.from_dict({"lr": 0.1, "learning_rate": 0.1})
    with pytest.raises(ValueError, match="loss_fn"):
        Trainer(SeqRegressor())
    train, _ = loaders(n=16)
    with pytest.raises(ValueError, match="monitor"):
        Trainer(SeqRegressor(), quiet(monitor="val_loss"), loss_fn=masked_mse).fit(train)
    with pytest.raises(ValueError, match="batches \\(x, y\\)"):
        Trainer(SeqRegressor(), quiet(), loss_fn=masked_mse).fit([(torch.zeros(2, 3, 1),)])
    with pytest.raises(TypeError, match="stateful"):
        Trainer(Scalar(), quiet(tbptt_k1=2), loss_fn=masked_mse).fit([(torch.zeros(2, 4), torch.zeros(2, 4))])
    with pytest.raises(FloatingPointError, match="non-finite"):
        Trainer(Scalar(), quiet(), loss_fn=masked_mse).fit(
            [(torch.tensor([math.nan]), torch.tensor([math.nan]))]
        )
    with pytest.raises(TypeError, match="one-shot"):
        Trainer(Scalar(), quiet(), loss_fn=masked_mse).fit(iter([]))


def test_custom_step_with_mask_and_weight():
    x, y = running_sum_data(32)
    lengths = torch.randint(3, 13, (32,))
    mask = torch.arange(12).unsqueeze(0) < lengths.unsqueeze(1)  # (N, L)

    def step(model, batch):
        xb, yb, mb = batch
        pred, _ = model(xb)
        return StepOutput(masked_mse(pred, yb, mb), output=pred, target=yb, mask=mb)

    trainer = Trainer(SeqRegressor(), quiet(lr=1e-2, max_epochs=1), step=step)
    batches = [(x[i : i + 8], y[i : i + 8], mask[i : i + 8]) for i in range(0, 32, 8)]
    trainer.fit(batches)
    res = trainer.evaluate(batches)
    with torch.no_grad():
        pred, _ = trainer.model(x)
    # the weighted batch mean equals the mean over all real elements
    assert res["loss"] == pytest.approx(float(masked_mse(pred, y, mask)), rel=1e-5)


def test_run_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        train, _ = loaders(n=32)
        Trainer(SeqRegressor(), quiet(max_epochs=1, run_dir=str(tmp_path)), loss_fn=masked_mse).fit(train)
    finally:
        os.umask(umask)
    for name in ("checkpoints/last.pt", "metrics.csv", "config.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name  # not mkstemp's 0600


def test_patience_zero_stops_at_the_first_epoch_without_improvement():
    train, val = loaders(n=64)
    h = Trainer(SeqRegressor(), quiet(lr=1e-2, max_epochs=30, patience=0), loss_fn=masked_mse).fit(train, val)
    vals = h["val_loss"]
    assert h.stop_reason == "early_stopping" and len(vals) >= 2
    assert all(b < a for a, b in itertools.pairwise(vals[:-1]))  # improved every epoch until the last
    assert vals[-1] >= min(vals[:-1])  # which did not

"""Resuming a run: settings that would change what it computes are refused, the limits and the
bookkeeping may change, and a longer run keeps a sensible learning rate."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.core.layers import LSTM
from lstmkit.fit import Callback, TrainConfig, Trainer, load_checkpoint, masked_mse
from lstmkit.fit.checkpoint import atomic_save


class Tiny(nn.Module):
    def __init__(self, hidden: int = 4) -> None:
        super().__init__()
        self.lstm = LSTM(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, state=None):
        out, state = self.lstm(x, state)
        return self.head(out).squeeze(-1), state


def data(batch: int = 8, n: int = 32):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, 1, generator=g)
    y = torch.cumsum(x.squeeze(-1), 1) * 0.3
    return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)


class StopAt(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, out):
        if trainer.global_step == self.step:
            trainer.should_stop = True


BASE = {"lr": 1e-2, "schedule": "cosine", "max_epochs": 2, "progress": False, "plot": False, "seed": 1}


def run(run_dir, *, resume=None, hidden=4, batch=8, callbacks=(), make_optimizer=None, **changes):
    torch.manual_seed(0)
    model = Tiny(hidden)
    cfg = TrainConfig(**{**BASE, "run_dir": str(run_dir), **changes})
    opt = make_optimizer(model.parameters(), lr=cfg.lr) if make_optimizer is not None else None
    trainer = Trainer(model, cfg, loss_fn=masked_mse, callbacks=callbacks, optimizer=opt)
    return trainer, trainer.fit(data(batch), resume=resume)


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"batch": 16}, r"batch_size 8 -> 16; batches per epoch 4 -> 2"),
        ({"lr": 2e-2}, r"lr 0\.01 -> 0\.02"),
        ({"optimizer": "adamw"}, r"optimizer 'adam' -> 'adamw'"),
        ({"schedule": "constant"}, r"schedule 'cosine' -> 'constant'"),
        ({"warmup_steps": 2}, r"warmup_steps 0 -> 2"),
        ({"clip_norm": 1.0}, r"clip_norm None -> 1\.0"),
        ({"seed": 2}, r"seed 1 -> 2"),
        ({"hidden": 3}, r"model lstm\.weight_ih_l0 shape \(16, 1\) -> \(12, 1\)"),
        ({"optimizer": "adam", "lr": 1e-2, "weight_decay": 0.1}, r"weight_decay 0\.0 -> 0\.1"),
    ],
    ids=["batch_size", "lr", "optimizer", "schedule", "warmup", "clip_norm", "seed", "model_shape", "wd"],
)
def test_a_changed_setting_is_refused_naming_it(tmp_path, change, pattern):
    run(tmp_path, callbacks=[StopAt(3)])
    saved = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    with pytest.raises(
        ValueError, match=r"^resume: .*last\.pt was saved by a run with other settings: "
    ) as exc:
        run(tmp_path, resume=True, **change)
    assert re.search(pattern, one_line(exc))
    # nothing was trained or written by the refused run
    after = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert after["global_step"] == saved["global_step"] == 3


def test_another_optimizer_instance_is_refused(tmp_path):
    run(tmp_path, callbacks=[StopAt(3)], make_optimizer=torch.optim.Adam)
    with pytest.raises(ValueError, match=r"optimizer class Adam -> SGD") as exc:
        run(tmp_path, resume=True, make_optimizer=torch.optim.SGD)
    one_line(exc)


def test_more_samples_are_refused(tmp_path):
    run(tmp_path, callbacks=[StopAt(3)])
    torch.manual_seed(0)
    trainer = Trainer(Tiny(), TrainConfig(**{**BASE, "run_dir": str(tmp_path)}), loss_fn=masked_mse)
    with pytest.raises(ValueError, match=r"batches per epoch 4 -> 5; training samples 32 -> 40"):
        trainer.fit(data(8, n=40), resume=True)


def test_a_longer_run_keeps_the_cosine_of_its_new_length(tmp_path):
    """2 epochs end at lr 0; resumed for 4 the lr is the 4-epoch cosine's, never 0 on the way."""
    _, short = run(tmp_path / "cut", max_epochs=2)
    assert short.steps[-1]["lr"] > 0 and short.epochs[-1]["lr"] == 0.0  # the schedule ran out
    _, longer = run(tmp_path / "cut", resume=True, max_epochs=4)
    _, full = run(tmp_path / "full", max_epochs=4)
    resumed_lrs = [r["lr"] for r in longer.steps[len(short.steps) :]]
    assert len(resumed_lrs) == 8 and min(resumed_lrs) > 0
    assert resumed_lrs == pytest.approx([r["lr"] for r in full.steps[8:]], rel=1e-12)
    assert [r["epoch"] for r in longer.epochs] == [0, 1, 2, 3]


def test_compatible_changes_resume_exactly(tmp_path):
    """Limits and bookkeeping may change; the resumed run equals the uninterrupted one."""
    _, full = run(tmp_path / "full", schedule="constant", max_epochs=3)
    run(tmp_path / "cut", schedule="constant", max_epochs=3, callbacks=[StopAt(5)], checkpoint_every=1)
    _, resumed = run(
        tmp_path / "cut",
        resume=True,
        schedule="constant",
        max_epochs=3,
        checkpoint_every=2,
        patience=50,
        restore_best=False,
        progress=False,
    )
    assert resumed.losses == full.losses and len(full.losses) == 12


def test_a_checkpoint_without_loader_details_still_resumes(tmp_path):
    """Checkpoints written before the loader was recorded resume as they did."""
    run(tmp_path, callbacks=[StopAt(3)])
    path = tmp_path / "checkpoints" / "last.pt"
    ckpt = load_checkpoint(path)
    del ckpt["data"], ckpt["optimizer_class"]
    atomic_save(ckpt, path)
    _, history = run(tmp_path, resume=True)
    assert len(history.epochs) == 2 and len(history.steps) == 8

"""The epochs of a fit: a run stopped (politely, by a crash, inside a TBPTT batch) and resumed
goes on exactly as the uninterrupted run."""

from __future__ import annotations

import pytest
import torch
from tests.fit.nets import SeqRegressor, loaders, quiet, running_sum_data
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.fit import Callback, Trainer, load_checkpoint, masked_mse


class StopAt(Callback):
    """Interrupt a run after ``step`` optimizer steps: politely (should_stop) or by a crash."""

    def __init__(self, step: int, crash: bool = False) -> None:
        self.step, self.crash = step, crash

    def on_train_batch_end(self, trainer, out):
        if trainer.global_step == self.step:
            if self.crash:
                raise KeyboardInterrupt
            trainer.should_stop = True


class StopBeforeStep(Callback):
    """Ask to stop just before optimizer step ``step + 1`` (inside a TBPTT batch)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_before_optimizer_step(self, trainer):
        if trainer.global_step == self.step:
            trainer.should_stop = True


def _fit(run_dir, *, resume=None, callbacks=(), **kw):
    torch.manual_seed(0)
    model = SeqRegressor(dropout=0.2)  # dropout: the random state must resume too
    train, val = loaders()
    cfg = quiet(
        lr=1e-2,
        schedule="cosine",
        warmup_steps=3,
        max_epochs=4,
        max_steps=28,
        run_dir=str(run_dir),
        seed=7,
        **kw,
    )
    trainer = Trainer(model, cfg, loss_fn=masked_mse, callbacks=callbacks)
    history = trainer.fit(train, val, resume=resume)
    return trainer, history


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cut", "crash", "saved"),
    [(11, False, 11), (16, False, 16), (13, True, 10)],  # inside epoch 2, at its end, a crash after step 13
)
def test_resume_reproduces_the_uninterrupted_run(tmp_path, cut, crash, saved):
    full, h_full = _fit(tmp_path / "full", checkpoint_every=5)
    if crash:
        with pytest.raises(KeyboardInterrupt):
            _fit(tmp_path / "cut", callbacks=[StopAt(cut, crash)], checkpoint_every=5)
    else:
        _, h_part = _fit(tmp_path / "cut", callbacks=[StopAt(cut)], checkpoint_every=5)
        assert len(h_part.steps) == cut and h_part.stop_reason == "callback"
    ckpt = load_checkpoint(tmp_path / "cut" / "checkpoints" / "last.pt")
    assert ckpt["global_step"] == saved
    resumed, h_res = _fit(tmp_path / "cut", resume=True, checkpoint_every=5)
    assert len(h_full.steps) == 28 and h_full.stop_reason == "max_steps"
    assert h_res.losses == h_full.losses  # exactly, step by step
    assert [r["lr"] for r in h_res.steps] == [r["lr"] for r in h_full.steps]
    assert h_res["val_loss"] == h_full["val_loss"]
    for (k, a), (_, b) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), k


@pytest.mark.slow
def test_resume_with_truncated_bptt_and_carried_state(tmp_path):
    kw = {"tbptt_k1": 4, "tbptt_k2": 6, "carry_state": True, "checkpoint_every": 5}
    _, h_full = _fit(tmp_path / "full", **kw)
    _fit(tmp_path / "cut", callbacks=[StopAt(12)], **kw)  # after batch 4 of epoch 1: 3 updates per batch
    _, h_res = _fit(tmp_path / "cut", resume=True, **kw)
    # a stop asked for inside a batch (between its windows) takes effect after the batch
    _fit(tmp_path / "mid", callbacks=[StopBeforeStep(10)], **kw)  # the 1st window of batch 4
    _, h_mid = _fit(tmp_path / "mid", resume=True, **kw)
    assert h_mid.losses == h_full.losses
    # max_steps=28 takes effect between batches (3 updates each): 30 updates
    assert len(h_full.steps) == 30 and h_res.losses == h_full.losses
    assert [r["step"] for r in h_full.steps] == list(range(1, 31))  # each update's own step


def _run(run_dir, train, val, resume=None, **kw):
    torch.manual_seed(0)
    cfg = quiet(lr=1e-2, run_dir=str(run_dir), seed=3, **kw)
    trainer = Trainer(SeqRegressor(), cfg, loss_fn=masked_mse)
    return trainer, trainer.fit(train, val, resume=resume)


def test_resume_at_an_epoch_boundary_keeps_the_loaders_own_generator(tmp_path):
    def data():
        x, y = running_sum_data(64, seed=0)
        gen = torch.Generator().manual_seed(123)  # the loader's own order, not the global one
        return DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=gen), loaders()[1]

    _, full = _run(tmp_path / "full", *data(), max_epochs=3)
    _run(tmp_path / "cut", *data(), max_epochs=1)
    _, resumed = _run(tmp_path / "cut", *data(), resume=True, max_epochs=3)
    assert resumed.losses == full.losses


def test_resuming_a_run_that_reached_its_limits_changes_nothing(tmp_path):
    train, val = loaders(batch=32)  # 4 batches per epoch: max_steps=6 stops inside epoch 2
    trainer, first = _run(tmp_path / "run", train, val, max_epochs=5, max_steps=6)
    weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    files = {f: (tmp_path / "run" / f).read_text() for f in ("metrics.csv", "summary.json")}
    trainer, again = _run(tmp_path / "run", train, val, resume=True, max_epochs=5, max_steps=6)
    assert again.epochs == first.epochs and len(first.epochs) == 2  # the partial epoch's row kept
    assert (again.best_epoch, again.best_value) == (first.best_epoch, first.best_value)
    assert all(torch.equal(v, weights[k]) for k, v in trainer.model.state_dict().items())
    assert {f: (tmp_path / "run" / f).read_text() for f in files} == files

"""A small fit that tests/fit/test_distributed.py runs in one process and, under ``torchrun``,
in two: ``python -m torch.distributed.run --standalone --nproc-per-node 2 -m
tests.fit.ddp_worker OUT.pt`` writes rank 0's parameters and history to ``OUT.pt``.

Float64, an LSTM on padded sequences of several lengths (a masked loss, so the shards of a
batch weigh by their real steps, not their rows), Adam, shuffled batches of 5 out of 21
sequences (shards of 3 and 2 rows, and a last batch of one row: an empty shard), validation
and early stopping, 10 optimizer steps.
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.core.layers import LSTM
from lstmkit.fit import StepOutput, TrainConfig, Trainer, masked_mse
from lstmkit.fit.distributed import is_main_process

STEPS = 10


class Net(nn.Module):
    """An LSTM and a linear head on every step; ``gain`` is read by the step function."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = LSTM(2, 6, batch_first=True)
        self.head = nn.Linear(6, 1)
        self.gain = 0.5

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.lstm(x)
        return self.head(out).squeeze(-1)  # (N, L)


def data(n: int, seed: int) -> TensorDataset:
    """``n`` sequences of 2 channels, 4 to 8 real steps padded to 8; the target a running
    sum of the first channel plus the second."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, 2, generator=g, dtype=torch.float64)
    lengths = torch.randint(4, 9, (n,), generator=g)
    mask = torch.arange(8)[None, :] < lengths[:, None]  # (N, L)
    y = torch.cumsum(x[..., 0], 1) * 0.3 + x[..., 1]
    return TensorDataset(x * mask[..., None], y, mask)


def step(model: nn.Module, batch: tuple[Tensor, Tensor, Tensor]) -> StepOutput:
    assert isinstance(model, Net)  # the step gets the network itself, not a wrapper
    x, y, mask = batch
    pred = model(x) * model.gain * 2
    return StepOutput(masked_mse(pred, y, mask), output=pred, target=y, mask=mask)


def train(strategy: str) -> dict[str, Any]:
    """The fit with ``strategy``: the final parameters and the history's epochs."""
    torch.manual_seed(0)
    model = Net().double()
    loader = DataLoader(data(21, 1), batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(2))
    val = DataLoader(data(9, 3), batch_size=4)
    config = TrainConfig(
        optimizer="adam",
        lr=2e-2,
        max_epochs=50,
        max_steps=STEPS,
        patience=3,
        seed=0,
        progress=False,
        plot=False,
    )
    trainer = Trainer(model, config, step=step, strategy=strategy)
    history = trainer.fit(loader, val)
    params = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return {"params": params, "epochs": history.epochs, "steps": trainer.global_step}


if __name__ == "__main__":
    result = train("ddp")
    if is_main_process():
        torch.save(result, sys.argv[1])

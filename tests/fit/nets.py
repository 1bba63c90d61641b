"""Small models and data shared by the trainer's tests."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.core.layers import LSTM
from lstmkit.fit import TrainConfig


class SeqRegressor(nn.Module):
    """An LSTM with a linear head on every step; stateful: model(x, state) -> (y, state)."""

    def __init__(self, hidden: int = 12, dropout: float = 0.0) -> None:
        super().__init__()
        self.lstm = LSTM(1, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, state=None):
        out, state = self.lstm(x, state)
        return self.head(self.drop(out)).squeeze(-1), state


def running_sum_data(n: int = 128, length: int = 12, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, length, 1, generator=g)
    y = 0.4 * torch.cumsum(x.squeeze(-1), 1)  # (N, L)
    return x, y


def loaders(batch: int = 16, seed: int = 0, n: int = 128):
    x, y = running_sum_data(n, seed=seed)
    xv, yv = running_sum_data(64, seed=seed + 100)
    train = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
    val = DataLoader(TensorDataset(xv, yv), batch_size=64)
    return train, val


def quiet(**kw) -> TrainConfig:
    kw.setdefault("progress", False)
    kw.setdefault("plot", False)
    return TrainConfig(**kw)

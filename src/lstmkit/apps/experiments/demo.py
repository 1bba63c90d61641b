"""The demo job (``lstmkit demo``): train the classic LSTM and other variants on the adding
problem (Hochreiter & Schmidhuber 1997, exp. 4) and compare their test losses.

A sequence holds T pairs (value in [-1, 1], mark); two values are marked, one in each half,
and the target is

.. math::

    y = 0.5 + \\frac{X_1 + X_2}{4}

A prediction within 0.04 of it counts as solved.

Example::

    >>> rows = run(DemoJobConfig(variants=("classic", "cifg"), steps=50))
    >>> [r.variant for r in rows]
    ['classic', 'cifg']
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from lstmkit.core.layers import LSTM

__all__ = ["DemoJobConfig", "DemoRow", "adding_batch", "run"]

log = logging.getLogger("lstmkit.demo")


@dataclass(frozen=True)
class DemoJobConfig:
    """The settings of :func:`run` (``lstmkit demo``).

    Args:
        variants: the LSTM variants to train. length: the sequence length T (>= 2).
        steps: training steps (>= 1). hidden: the hidden size. seed: the random seed.
        echo: print the table (stdout), a row as each variant finishes.
    """

    variants: Sequence[str] = ("classic", "cifg")
    length: int = 30
    steps: int = 300
    hidden: int = 32
    seed: int = 0
    echo: bool = False


@dataclass
class DemoRow:
    """One variant's result: test MSE, the share of test sequences solved, seconds."""

    variant: str
    mse: float
    solved: float
    seconds: float


def adding_batch(n: int, length: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Adding problem: values in [-1, 1], two marked; target 0.5 + (X1 + X2) / 4.

    Returns:
        inputs (T, N, 2) (value, mark) and targets (N,).
    """
    values = torch.rand(length, n, generator=gen) * 2 - 1
    first = torch.randint(0, length // 2, (n,), generator=gen)
    second = torch.randint(length // 2, length, (n,), generator=gen)
    marks = torch.zeros(length, n)
    marks[first, torch.arange(n)] = 1.0
    marks[second, torch.arange(n)] = 1.0
    target = 0.5 + (values * marks).sum(0) / 4
    return torch.stack([values, marks], -1), target


class _Regressor(nn.Module):
    def __init__(self, variant: str, hidden: int) -> None:
        super().__init__()
        self.lstm = LSTM(2, hidden, variant=variant, forget_bias=1.0)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = self.lstm(x)
        return self.head(state.h[-1]).squeeze(-1)


def _train(variant: str, config: DemoJobConfig, gen: torch.Generator) -> _Regressor:
    """Adam (lr 0.01) on fresh batches of 64 sequences for ``config.steps`` steps."""
    torch.manual_seed(config.seed)
    model = _Regressor(variant, config.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(config.steps):
        x, y = adding_batch(64, config.length, gen)
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            log.info("%s step %d loss %.4f", variant, step, loss.item())
    return model


def run(config: DemoJobConfig) -> list[DemoRow]:
    """Train each variant from the same seed on the same stream of batches; test on 512
    sequences.

    Args:
        config: the settings.

    Returns:
        one :class:`DemoRow` per variant.
    """
    if config.length < 2 or config.steps < 1:
        raise ValueError(f"--length, --steps: expected >= 2 and >= 1, got {config.length} and {config.steps}")
    gen = torch.Generator().manual_seed(config.seed + 1)
    x_test, y_test = adding_batch(512, config.length, gen)
    if config.echo:
        baseline = float(((y_test - y_test.mean()) ** 2).mean())
        print(f"adding problem, T={config.length}: predicting the mean gives test MSE {baseline:.4f}")
        print(f"{'variant':<14}{'test MSE':>10}{'solved (|err|<0.04)':>22}{'seconds':>10}")
    rows = []
    for variant in config.variants:
        start = time.perf_counter()
        model = _train(variant, config, gen)
        with torch.no_grad():
            pred = model(x_test)
        mse = float(((pred - y_test) ** 2).mean())
        solved = float(((pred - y_test).abs() < 0.04).float().mean())
        rows.append(DemoRow(variant, mse, solved, time.perf_counter() - start))
        if config.echo:
            print(f"{variant:<14}{mse:>10.4f}{solved:>21.1%}{rows[-1].seconds:>10.1f}")
            sys.stdout.flush()
    return rows

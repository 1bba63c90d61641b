"""``lstmkit demo``: train the classic LSTM and a variant on the adding problem, print losses."""

from __future__ import annotations

import argparse
import logging
import sys
import time

import torch
from torch import nn

from lstmkit.core.layers import LSTM

log = logging.getLogger("lstmkit.demo")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="train the classic LSTM and one variant on a generated task and print their losses",
        description="Train the classic LSTM and a variant on the adding problem "
        "(Hochreiter & Schmidhuber 1997, exp. 4) and print the test loss of each.",
    )
    p.add_argument("--variants", nargs="+", default=["classic", "cifg"], help="variants to train")
    p.add_argument("--length", type=int, default=30, help="sequence length T (default 30)")
    p.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    p.add_argument("--hidden", type=int, default=32, help="hidden size (default 32)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=run_demo)


def adding_batch(n: int, length: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Adding problem: values in [-1, 1], two marked; target 0.5 + (X1 + X2) / 4."""
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


def run_demo(args: argparse.Namespace) -> int:
    if args.length < 2 or args.steps < 1:
        raise ValueError(f"--length, --steps: expected >= 2 and >= 1, got {args.length} and {args.steps}")
    gen = torch.Generator().manual_seed(args.seed + 1)
    x_test, y_test = adding_batch(512, args.length, gen)
    baseline = float(((y_test - y_test.mean()) ** 2).mean())
    print(f"adding problem, T={args.length}: predicting the mean gives test MSE {baseline:.4f}")
    print(f"{'variant':<14}{'test MSE':>10}{'solved (|err|<0.04)':>22}{'seconds':>10}")
    for variant in args.variants:
        torch.manual_seed(args.seed)
        model = _Regressor(variant, args.hidden)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        start = time.perf_counter()
        for step in range(args.steps):
            x, y = adding_batch(64, args.length, gen)
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 50 == 0:
                log.info("%s step %d loss %.4f", variant, step, loss.item())
        with torch.no_grad():
            pred = model(x_test)
        mse = float(((pred - y_test) ** 2).mean())
        solved = float(((pred - y_test).abs() < 0.04).float().mean())
        print(f"{variant:<14}{mse:>10.4f}{solved:>21.1%}{time.perf_counter() - start:>10.1f}")
        sys.stdout.flush()
    return 0

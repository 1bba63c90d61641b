"""One trial of the study: train a variant with one hyperparameter draw for a fixed number of
steps (SGD with momentum, as in the paper), then score it on the task's test split.

Example::

    >>> from lstmkit.apps.experiments.greff.tasks import CharLMTask
    >>> task = CharLMTask("lm", "abcabcabc" * 50, "abcabc" * 20, seq_len=16, batch_size=4)
    >>> hp = sample_trial("lm", 0)
    >>> run_trial(task, "nfg", hp, steps=2, trial=0).steps
    2
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from lstmkit.apps.experiments.greff.model import VariantNet
from lstmkit.apps.experiments.greff.space import Hyperparameters, sample_trial
from lstmkit.apps.experiments.greff.tasks import GreffTask

__all__ = ["TrialResult", "run_trial", "sample_trial"]

#: the gradient norm is clipped at this value before every update
CLIP_NORM = 1.0


@dataclass(frozen=True)
class TrialResult:
    """What one trial measured. ``metric`` is NaN for a run whose loss became non-finite."""

    task: str
    variant: str
    trial: int
    hyperparameters: Hyperparameters
    steps: int
    metric: float
    train_loss: float
    seconds: float
    diverged: bool

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["hyperparameters"] = self.hyperparameters.to_dict()
        for key in ("metric", "train_loss"):  # JSON has no NaN
            row[key] = None if not math.isfinite(row[key]) else row[key]
        return row


def train_steps(task: GreffTask, net: torch.nn.Module, hp: Hyperparameters, steps: int) -> tuple[float, int]:
    """Train ``net`` for ``steps`` batches; the mean loss of the last tenth of them (NaN if a loss
    became non-finite, then training stops) and the number of steps taken."""
    rng = np.random.default_rng(hp.seed)
    opt = torch.optim.SGD(net.parameters(), lr=hp.lr, momentum=hp.momentum)
    recent: list[float] = []
    net.train()
    for step in range(steps):
        x, lengths, target = task.batch(rng)
        if hp.input_noise > 0:
            x = x + hp.input_noise * torch.randn_like(x)
        loss = task.loss(net, x, lengths, target)
        if not torch.isfinite(loss):
            return math.nan, step
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), CLIP_NORM)
        opt.step()
        if step >= steps - max(1, steps // 10):
            recent.append(float(loss.detach()))
    return float(np.mean(recent)) if recent else math.nan, steps


def run_trial(
    task: GreffTask, variant: str, hp: Hyperparameters, *, steps: int, trial: int, engine: str = "auto"
) -> TrialResult:
    """Train ``variant`` on ``task`` with ``hp`` for ``steps`` updates and score it.

    The seed of ``hp`` fixes the initialization, the batches and the input noise, so trial
    ``k`` of two variants sees the same data in the same order.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an int >= 0, got {steps!r}")
    start = time.process_time()
    torch.manual_seed(hp.seed)
    net = VariantNet(task.input_size, hp.hidden_size, task.output_size, variant=variant, engine=engine)
    train_loss, done = train_steps(task, net, hp, steps)
    diverged = done < steps
    net.eval()
    metric = math.nan if diverged else task.evaluate(net)
    if not math.isfinite(metric):
        diverged = True
    return TrialResult(
        task.name, variant, trial, hp, done, metric, train_loss, time.process_time() - start, diverged
    )

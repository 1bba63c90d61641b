"""Validation metrics: accumulate over batches, compute once per evaluation.

A metric is either

* a function ``fn(out: StepOutput) -> float | Tensor`` giving a batch's mean value; the trainer
  averages it over batches weighted by ``out.weight`` (exact for means over elements when the
  weight counts the elements), or
* an object with ``reset()``, ``update(out: StepOutput)`` and ``compute() -> float`` for values
  that are not means of batch means (RMSE, perplexity, anything needing all predictions).

:class:`~lstmkit.fit.StepOutput` carries ``output`` (the predictions), ``target`` and
``mask``. The ready-made metrics below read those fields.

Example::

    >>> trainer = Trainer(model, cfg, loss_fn=F.cross_entropy,
    ...                   metrics={"acc": accuracy, "ppl": Perplexity()})
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from lstmkit.fit.step import StepOutput

__all__ = ["RMSE", "BatchMean", "Metric", "Perplexity", "accuracy", "mae", "mse"]


@runtime_checkable
class Metric(Protocol):
    """A stateful metric, reset before each evaluation."""

    def reset(self) -> None: ...

    def update(self, out: StepOutput) -> None: ...

    def compute(self) -> float: ...


def _need(out: StepOutput, metric: str) -> tuple[Tensor, Tensor]:
    if out.output is None or out.target is None:
        raise ValueError(
            f"{metric}: needs StepOutput.output and .target; return them from your step function "
            "(StepOutput(loss, output=pred, target=y))"
        )
    return out.output, out.target


def _masked(values: Tensor, mask: Tensor | None) -> Tensor:
    if mask is None:
        return values.reshape(-1)
    m = mask.reshape(*mask.shape, *([1] * (values.dim() - mask.dim()))).expand(values.shape)
    return values[m]


def accuracy(out: StepOutput) -> float:
    """Share of argmax predictions equal to the target (``output`` (*, C), ``target`` (*)),
    or of thresholded predictions for binary targets (``output`` and ``target`` of one shape,
    logits > 0 meaning class 1)."""
    pred, target = _need(out, "accuracy")
    hit = (pred > 0).to(target.dtype) == target if pred.shape == target.shape else pred.argmax(-1) == target
    hit = _masked(hit, out.mask)
    return float(hit.float().mean()) if hit.numel() else 0.0


def mse(out: StepOutput) -> float:
    """Mean squared error of ``output`` against ``target`` over the real elements."""
    pred, target = _need(out, "mse")
    err = _masked((pred.float() - target.float()) ** 2, out.mask)
    return float(err.mean()) if err.numel() else 0.0


def mae(out: StepOutput) -> float:
    """Mean absolute error of ``output`` against ``target`` over the real elements."""
    pred, target = _need(out, "mae")
    err = _masked((pred.float() - target.float()).abs(), out.mask)
    return float(err.mean()) if err.numel() else 0.0


class BatchMean:
    """Turn a per-batch function into a :class:`Metric`: the ``weight``-weighted mean."""

    def __init__(self, fn: Callable[[StepOutput], float | Tensor]) -> None:
        if not callable(fn):
            raise TypeError(f"fn: expected a callable fn(StepOutput) -> float, got {type(fn).__name__}")
        self.fn = fn
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.weight = 0.0

    def update(self, out: StepOutput) -> None:
        value = self.fn(out)
        value = float(value.detach()) if isinstance(value, Tensor) else float(value)
        w = float(out.weight) if out.weight is not None else 1.0
        self.total += value * w
        self.weight += w

    def compute(self) -> float:
        return self.total / self.weight if self.weight else float("nan")


class RMSE:
    """Root mean squared error over all real elements of the evaluation."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sq = 0.0
        self.n = 0

    def update(self, out: StepOutput) -> None:
        pred, target = _need(out, "RMSE")
        err = _masked((pred.detach().double() - target.double()) ** 2, out.mask)
        self.sq += float(err.sum())
        self.n += err.numel()

    def compute(self) -> float:
        return math.sqrt(self.sq / self.n) if self.n else float("nan")


def _loss(out: StepOutput) -> float:
    return float(torch.as_tensor(out.loss).detach())


class Perplexity(BatchMean):
    """``exp`` of the weighted mean loss (for a token-averaged cross-entropy with
    ``weight`` = number of tokens, this is the corpus perplexity)."""

    def __init__(self) -> None:
        super().__init__(_loss)

    def compute(self) -> float:
        return math.exp(min(self.total / self.weight, 700.0)) if self.weight else float("nan")

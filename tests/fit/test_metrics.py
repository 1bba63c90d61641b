"""The running metrics: accumulated over batches, they equal the metric of the whole evaluation
computed at once (RMSE, perplexity, weighted means), padding excluded."""

from __future__ import annotations

import math

import pytest
import torch

from lstmkit.fit.metrics import RMSE, BatchMean, Metric, Perplexity, accuracy, mae, mse
from lstmkit.fit.step import StepOutput


def batches() -> list[StepOutput]:
    g = torch.Generator().manual_seed(0)
    out = []
    for n in (3, 5, 2):
        pred, target = torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g)
        mask = torch.rand(n, 4, generator=g) > 0.3
        out.append(
            StepOutput(torch.tensor(0.0), output=pred, target=target, mask=mask, weight=int(mask.sum()))
        )
    return out


def test_rmse_over_batches_equals_rmse_of_all_real_elements() -> None:
    data = batches()
    metric = RMSE()
    for out in data:
        metric.update(out)
    err = torch.cat([(o.output.double() - o.target.double())[o.mask] for o in data])
    assert metric.compute() == pytest.approx(float(err.square().mean().sqrt()), rel=1e-12)
    metric.reset()
    assert math.isnan(metric.compute())


def test_batch_mean_weights_each_batch_by_its_elements() -> None:
    data = batches()
    metric = BatchMean(mse)
    for out in data:
        metric.update(out)
    err = torch.cat([(o.output - o.target)[o.mask] for o in data])
    assert metric.compute() == pytest.approx(float(err.square().mean()), rel=1e-6)
    assert isinstance(metric, Metric)
    with pytest.raises(TypeError, match="fn: expected a callable"):
        BatchMean(3)  # type: ignore[arg-type]


def test_perplexity_is_exp_of_the_token_weighted_mean_loss() -> None:
    metric = Perplexity()
    for loss, tokens in ((2.0, 10), (1.0, 30)):
        metric.update(StepOutput(torch.tensor(loss), weight=tokens))
    assert metric.compute() == pytest.approx(math.exp((2.0 * 10 + 1.0 * 30) / 40))


def test_batch_functions_ignore_padding() -> None:
    pred = torch.tensor([[2.0, -1.0], [0.5, 9.0]])
    target = torch.tensor([[1.0, 1.0], [0.5, 0.0]])
    mask = torch.tensor([[True, True], [True, False]])
    out = StepOutput(torch.tensor(0.0), output=pred, target=target, mask=mask)
    assert mae(out) == pytest.approx((1.0 + 2.0 + 0.0) / 3)
    assert mse(out) == pytest.approx((1.0 + 4.0 + 0.0) / 3)
    logits = torch.tensor([[[0.1, 0.9], [0.8, 0.2]], [[0.3, 0.7], [0.6, 0.4]]])
    labels = torch.tensor([[1, 1], [0, 0]])
    assert accuracy(StepOutput(torch.tensor(0.0), output=logits, target=labels, mask=mask)) == pytest.approx(
        1 / 3
    )
    with pytest.raises(ValueError, match=r"mse: needs StepOutput\.output and \.target"):
        mse(StepOutput(torch.tensor(0.0)))

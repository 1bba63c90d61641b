"""Losses against independent element-by-element computations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lstmkit.fit import (
    gaussian_nll,
    masked_huber,
    masked_mae,
    masked_mean,
    masked_mse,
    quantile_loss,
    sequence_cross_entropy,
)


def _mask(lengths: list[int], max_len: int) -> torch.Tensor:
    return torch.tensor([[t < n for t in range(max_len)] for n in lengths])


def test_masked_regression_losses_match_loops():
    torch.manual_seed(0)
    pred, target = torch.randn(3, 5, 2), torch.randn(3, 5, 2)
    lengths = [5, 2, 3]
    mask = _mask(lengths, 5)
    sq, ab, n = 0.0, 0.0, 0
    for b, length in enumerate(lengths):
        for t in range(length):
            for d in range(2):
                e = float(pred[b, t, d] - target[b, t, d])
                sq += e * e
                ab += abs(e)
                n += 1
    assert masked_mse(pred, target, mask).item() == pytest.approx(sq / n, rel=1e-6)
    assert masked_mae(pred, target, mask).item() == pytest.approx(ab / n, rel=1e-6)
    assert masked_mse(pred, target, mask, reduction="sum").item() == pytest.approx(sq, rel=1e-6)
    none = masked_mse(pred, target, mask, reduction="none")
    assert none.shape == pred.shape and bool((none[1, 2:] == 0).all())
    # no mask: the plain means
    assert torch.allclose(masked_mse(pred, target), F.mse_loss(pred, target))
    assert torch.allclose(masked_huber(pred, target, delta=0.5), F.huber_loss(pred, target, delta=0.5))


def test_huber_is_quadratic_then_linear():
    pred = torch.tensor([0.0, 0.0])
    target = torch.tensor([0.5, 3.0])
    # 0.5 * 0.5^2 = 0.125 ; 1 * (3 - 0.5) = 2.5
    assert masked_huber(pred, target, delta=1.0, reduction="none").tolist() == pytest.approx([0.125, 2.5])


def test_sequence_cross_entropy_token_sequence_sum():
    torch.manual_seed(1)
    logits = torch.randn(2, 4, 3)
    target = torch.randint(0, 3, (2, 4))
    mask = _mask([4, 1], 4)
    per = [[-float(torch.log_softmax(logits[b, t], -1)[target[b, t]]) for t in range(4)] for b in range(2)]
    token = (sum(per[0]) + per[1][0]) / 5
    seq = (sum(per[0]) / 4 + per[1][0] / 1) / 2
    assert sequence_cross_entropy(logits, target, mask).item() == pytest.approx(token, rel=1e-5)
    assert sequence_cross_entropy(logits, target, mask, average="sequence").item() == pytest.approx(
        seq, rel=1e-5
    )
    assert sequence_cross_entropy(logits, target, mask, average="sum").item() == pytest.approx(
        sum(per[0]) + per[1][0], rel=1e-5
    )
    # ignore_index acts like the mask
    t2 = target.clone()
    t2[1, 1:] = -100
    assert sequence_cross_entropy(logits, t2).item() == pytest.approx(token, rel=1e-5)
    # one label per sequence: plain cross-entropy
    assert torch.allclose(
        sequence_cross_entropy(logits[:, 0], target[:, 0]), F.cross_entropy(logits[:, 0], target[:, 0])
    )


def test_gaussian_nll_matches_torch_and_density():
    torch.manual_seed(2)
    mean, var, y = torch.randn(6), torch.rand(6) + 0.1, torch.randn(6)
    ours = gaussian_nll(mean, var, y)
    ref = F.gaussian_nll_loss(mean, y, var, full=True)
    assert torch.allclose(ours, ref, atol=1e-6)
    dens = [
        -math.log(math.exp(-((y[i] - mean[i]) ** 2) / (2 * var[i])) / math.sqrt(2 * math.pi * var[i]))
        for i in range(6)
    ]
    assert ours.item() == pytest.approx(sum(dens) / 6, rel=1e-5)
    with pytest.raises(ValueError, match="var"):
        gaussian_nll(mean, -var, y)


def test_quantile_loss_pinball():
    pred = torch.tensor([[1.0, 2.0]])  # one element, quantiles 0.1 and 0.9
    target = torch.tensor([3.0])
    # e = 2 and 1: q=0.1 -> 0.2 ; q=0.9 -> 0.9 ; mean 0.55
    assert quantile_loss(pred, target, [0.1, 0.9]).item() == pytest.approx(0.55)
    # over-prediction: e = -1 -> q=0.1: 0.9
    assert quantile_loss(torch.tensor([[4.0]]), target, [0.1]).item() == pytest.approx(0.9)
    # the median's pinball loss is half the MAE
    torch.manual_seed(3)
    p, t = torch.randn(10), torch.randn(10)
    assert torch.allclose(quantile_loss(p.unsqueeze(-1), t, [0.5]), 0.5 * (p - t).abs().mean())
    with pytest.raises(ValueError, match="quantiles"):
        quantile_loss(pred, target, [0.0, 1.0])
    with pytest.raises(ValueError, match="pred"):
        quantile_loss(pred, target, [0.5])


def test_bad_inputs_name_the_argument():
    x = torch.randn(2, 3)
    with pytest.raises(ValueError, match="target"):
        masked_mse(x, torch.randn(3, 2))
    with pytest.raises(TypeError, match="mask"):
        masked_mse(x, x, torch.ones(2, 3))
    with pytest.raises(ValueError, match="mask"):
        masked_mse(x, x, torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="reduction"):
        masked_mean(x, None, "avg")
    with pytest.raises(ValueError, match="class indices"):
        sequence_cross_entropy(torch.randn(2, 3), torch.tensor([0, 5]))
    with pytest.raises(TypeError, match="target"):
        sequence_cross_entropy(torch.randn(2, 3), torch.tensor([0.0, 1.0]))
    assert masked_mse(x, x + 1, torch.zeros(2, dtype=torch.bool)).item() == 0.0  # no real element


@pytest.mark.parametrize("name", ["mse", "mae", "huber", "gaussian", "quantile"])
def test_missing_targets_under_the_mask_leave_finite_gradients(name):
    target = torch.tensor([[1.0, 2.0, float("nan"), 4.0], [1.0, float("nan"), 3.0, 4.0]])
    mask = ~target.isnan()
    pred = torch.randn(2, 4, requires_grad=True)
    clean = torch.where(mask, target, torch.zeros(()))  # what the loss sees at real elements
    losses = {
        "mse": lambda t: masked_mse(pred, t, mask),
        "mae": lambda t: masked_mae(pred, t, mask),
        "huber": lambda t: masked_huber(pred, t, mask),
        "gaussian": lambda t: gaussian_nll(pred, torch.ones(2, 4), t, mask),
        "quantile": lambda t: quantile_loss(pred.unsqueeze(-1).expand(2, 4, 3), t, [0.1, 0.5, 0.9], mask),
    }
    loss = losses[name](target)
    (grad,) = torch.autograd.grad(loss, pred)
    (expected,) = torch.autograd.grad(losses[name](clean), pred)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    assert torch.allclose(grad, expected)
    assert torch.equal(grad[~mask], torch.zeros_like(grad[~mask]))  # masked elements teach nothing


def test_gaussian_nll_names_var_when_its_shape_is_wrong():
    with pytest.raises(ValueError, match=r"var: expected the shape of mean \(2, 3\), got \(2, 4\)"):
        gaussian_nll(torch.zeros(2, 3), torch.ones(2, 4), torch.zeros(2, 3))

"""Attributions: integrated-gradient completeness on an LSTM, occlusion where the answer is
known, rank agreement against scipy, and bad arguments."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

import lstmkit
from lstmkit.explain.attributions import (
    float64_copy,
    integrated_gradients,
    layer_integrated_gradients,
    occlusion,
    rank_agreement,
    relative_gap,
)


class Scorer(nn.Module):
    """LSTM over (N, L, C), a linear head on the last step: (N, K) scores."""

    def __init__(self, channels: int = 3, classes: int = 2) -> None:
        super().__init__()
        self.lstm = lstmkit.LSTM(channels, 16, batch_first=True)
        self.head = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


def test_integrated_gradients_are_complete_on_an_lstm() -> None:
    net = Scorer().eval()
    x = torch.randn(5, 30, 3) * 2
    attr = integrated_gradients(net, x, target=torch.tensor([0, 1, 0, 1, 1]))
    assert attr.values.shape == x.shape
    assert float(relative_gap(attr).max()) <= 0.01
    pick = torch.tensor([[0], [1], [0], [1], [1]])
    expected = (net(x).gather(1, pick) - net(torch.zeros_like(x)).gather(1, pick))[:, 0]
    torch.testing.assert_close(attr.output - attr.baseline_output, expected.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(attr.values.sum((1, 2)), expected.detach(), rtol=0.01, atol=1e-4)


def test_integrated_gradients_of_a_linear_function_are_exact_and_local() -> None:
    w = torch.randn(6, 2, dtype=torch.float64)
    x = torch.randn(3, 6, 2, dtype=torch.float64)
    b = torch.randn(6, 2, dtype=torch.float64)
    attr = integrated_gradients(lambda v: (v * w).sum((1, 2)), x, b, n_steps=4)
    torch.testing.assert_close(attr.values, (x - b) * w)  # A = (x - b) * gradient, exactly
    assert float(attr.delta.abs().max()) < 1e-12


def test_the_riemann_rule_misses_more_than_gauss_legendre_on_a_curved_function() -> None:
    net = float64_copy(Scorer(classes=1))
    x = torch.randn(2, 20, 3, dtype=torch.float64) * 3
    gl = integrated_gradients(lambda v: net(v)[:, 0], x, n_steps=16)
    left = integrated_gradients(lambda v: net(v)[:, 0], x, n_steps=16, method="riemann_left")
    assert float(relative_gap(gl).max()) < float(relative_gap(left).max())
    assert float(relative_gap(gl).max()) < 1e-4


def test_a_tolerance_refines_the_examples_a_kink_leaves_incomplete() -> None:
    x = torch.ones(3, 10, dtype=torch.float64) * torch.tensor([[1.0], [0.97], [2.0]], dtype=torch.float64)
    f = lambda v: torch.relu(v.sum(1) - 9.05)  # noqa: E731  (a kink on the path of examples 0, 1)
    coarse = integrated_gradients(f, x, n_steps=4)
    assert float(relative_gap(coarse).max()) > 0.01
    fine = integrated_gradients(f, x, n_steps=4, tolerance=0.01)
    assert float(relative_gap(fine).max()) <= 0.01
    capped = integrated_gradients(f, x, n_steps=4, tolerance=1e-9, max_depth=1)
    assert float(relative_gap(capped).max()) > 1e-9  # it stops at max_depth
    with pytest.raises(ValueError, match="max_depth: expected an int in"):
        integrated_gradients(f, x, n_steps=16, max_depth=-1)


def test_a_tolerance_resolves_a_near_jump_on_the_path() -> None:
    x = torch.ones(2, 5, dtype=torch.float64) * torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    f = lambda v: 10 * torch.tanh(2000 * (v.sum(1) - 2.3))  # noqa: E731  (steep at t = 0.46)
    coarse = integrated_gradients(f, x, n_steps=64)
    assert float(relative_gap(coarse)[0]) > 0.1  # the quadrature misses the jump
    fine = integrated_gradients(f, x, n_steps=64, tolerance=0.005)
    assert float(relative_gap(fine).max()) <= 0.005
    torch.testing.assert_close(
        fine.values[0],
        torch.full((5,), (fine.output[0] - fine.baseline_output[0]).item() / 5, dtype=torch.float64),
        rtol=0.01,
        atol=0,
    )


def test_occlusion_finds_the_one_element_that_matters() -> None:
    x = torch.randn(4, 8, 3)
    f = lambda v: v[:, 3, 1] * 2  # noqa: E731
    attr = occlusion(f, x, window=(1, 1))
    expected = torch.zeros_like(x)
    expected[:, 3, 1] = 2 * x[:, 3, 1]  # f(x) - f(x with that element 0)
    torch.testing.assert_close(attr, expected)
    # 2 steps x all channels, stride 1: both windows over step 3 drop f, one of the two over
    # steps 2 and 4 does, none over the others (attributions average the windows)
    steps = occlusion(f, x, window=2)
    drop = (2 * x[:, 3, 1])[:, None].expand(-1, 3)
    assert (steps[:, [0, 1, 5, 6, 7]] == 0).all()
    torch.testing.assert_close(steps[:, 3], drop)
    torch.testing.assert_close(steps[:, [2, 4]], drop[:, None].expand(-1, 2, -1) / 2)


def test_layer_integrated_gradients_on_token_embeddings_are_complete() -> None:
    emb = nn.Embedding(20, 4, padding_idx=0)
    net = Scorer(channels=4).eval()
    model = nn.Sequential(emb, net).eval()
    tokens = torch.randint(1, 20, (3, 7))
    attr = layer_integrated_gradients(model, emb, tokens, torch.zeros_like(tokens), target=1)
    assert attr.values.shape == (3, 7, 4)
    assert float(relative_gap(attr).max()) <= 0.01


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    result: Any = scipy.stats.spearmanr(a, b)
    return float(result[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rank_agreement_is_spearman(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=25)
    b = np.round(a + rng.normal(size=25), 0)  # ties
    assert rank_agreement(a, b) == pytest.approx(_spearman(a, b), abs=1e-12)
    assert rank_agreement(torch.tensor(a), torch.tensor(-a)) == pytest.approx(-1.0)
    assert np.isnan(rank_agreement(a, np.ones(25)))


def test_bad_arguments_are_named() -> None:
    net = Scorer()
    x = torch.randn(2, 5, 3)
    with pytest.raises(ValueError, match="forward: the module is in training mode"):
        integrated_gradients(net, x, target=0)
    net.eval()
    with pytest.raises(ValueError, match=r"forward: expected \(N,\) = \(2,\) outputs without a target"):
        integrated_gradients(net, x)
    with pytest.raises(ValueError, match=r"target: expected class indices in \[0, 2\)"):
        integrated_gradients(net, x, target=2)
    with pytest.raises(ValueError, match="n_steps: expected an int >= 2, got 1"):
        integrated_gradients(net, x, target=0, n_steps=1)
    with pytest.raises(ValueError, match="method: expected one of"):
        integrated_gradients(net, x, target=0, method="simpson")
    with pytest.raises(ValueError, match="inputs: expected a floating-point tensor"):
        integrated_gradients(net, x.long(), target=0)
    with pytest.raises(ValueError, match="baselines: expected a shape broadcastable"):
        integrated_gradients(net, x, torch.zeros(4), target=0)
    with pytest.raises(ValueError, match=r"window: expected 2 sizes .* got \(9, 1\)"):
        occlusion(net, x, window=(9, 1), target=0)
    with pytest.raises(ValueError, match="b: expected two vectors of one length"):
        rank_agreement([1.0, 2.0], [1.0, 2.0, 3.0])

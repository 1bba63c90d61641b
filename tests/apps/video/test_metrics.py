"""Video metrics: the published per-frame MSE convention and SSIM against a direct loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.apps.video import metrics


def _ssim_direct(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al.'s SSIM written out window by window (Gaussian 11, sigma 1.5, valid positions)."""
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = 0.01**2, 0.03**2
    vals = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            a, b = x[i : i + 11, j : j + 11], y[i : i + 11, j : j + 11]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cov = (w * (a - ma) * (b - mb)).sum()
            vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def test_frame_mse_is_the_sum_over_a_frames_pixels() -> None:
    target = torch.zeros(2, 3, 1, 64, 64)
    pred = torch.full_like(target, 0.1)
    mse = metrics.frame_mse(pred, target)
    assert mse.shape == (2, 3)
    assert torch.allclose(mse, torch.full((2, 3), 0.01 * 4096, dtype=torch.float64))


def test_ssim_matches_a_direct_loop() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((20, 24))
    y = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1)
    got = metrics.ssim(torch.tensor(x)[None, None, None], torch.tensor(y)[None, None, None])
    assert got.shape == (1, 1)
    assert float(got) == pytest.approx(_ssim_direct(x, y), abs=1e-10)


def test_ssim_properties() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 4, 1, 32, 32)
    assert torch.allclose(metrics.ssim(x, x), torch.ones(2, 4, dtype=torch.float64))
    noisy = [(x + s * torch.randn_like(x)).clamp(0, 1) for s in (0.05, 0.2, 0.5)]
    scores = [float(metrics.ssim(n, x).mean()) for n in noisy]
    assert scores[0] > scores[1] > scores[2]
    assert torch.allclose(metrics.ssim(noisy[1], x), metrics.ssim(x, noisy[1]))


def test_accuracy_and_roc_auc() -> None:
    assert metrics.accuracy([0, 1, 1, 2], [0, 1, 0, 2]) == 0.75
    assert metrics.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.3]) == 1.0
    assert metrics.roc_auc([0, 1, 0, 1], [0.1, 0.2, 0.8, 0.3]) == 0.5
    fpr, tpr = metrics.roc_curve([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.3])
    assert fpr[-1] == tpr[-1] == 1.0


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(ValueError, match="pred: expected shape"):
        metrics.frame_mse(torch.zeros(1, 2, 1, 8, 8), torch.zeros(1, 3, 1, 8, 8))
    with pytest.raises(ValueError, match="labels: ROC-AUC needs both"):
        metrics.roc_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="at least 11"):
        metrics.ssim(torch.zeros(1, 1, 1, 8, 8), torch.zeros(1, 1, 1, 8, 8))


def test_roc_auc_by_kind_scores_each_kind_against_the_normal_videos() -> None:
    labels = np.array([False, False, False, True, True, True])
    kinds = ["normal", "normal", "normal", "stop", "teleport", "teleport"]
    scores = np.array([0.1, 0.5, 0.3, 0.2, 0.9, 0.8])
    rows = metrics.roc_auc_by_kind(labels, kinds, scores)
    assert [r["kind"] for r in rows] == ["all", "stop", "teleport"]
    assert [r["videos"] for r in rows] == [6, 1, 2]
    assert rows[0]["roc_auc"] == pytest.approx(metrics.roc_auc(labels, scores))
    assert rows[1]["roc_auc"] == pytest.approx(1 / 3)  # the stop (0.2) beats one normal video of three
    assert rows[2]["roc_auc"] == pytest.approx(1.0)

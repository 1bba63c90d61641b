r"""Scores of the video tasks: per-frame MSE and SSIM of predicted frames, accuracy, ROC-AUC.

Conventions (those of the Moving MNIST literature, e.g. Wang et al. 2017's PredRNN tables):

* **per-frame MSE**: pixels in [0, 1]; the *sum* of squared errors over the H x W pixels of
  one frame, averaged over frames and sequences (so a 64 x 64 frame that is off by 0.1
  everywhere scores 40.96, not 0.01);
* **SSIM** (Wang et al. 2004): a Gaussian window of 11 x 11 pixels, sigma 1.5, constants
  :math:`C_1 = (0.01 R)^2`, :math:`C_2 = (0.03 R)^2` with data range :math:`R = 1`, population
  (co)variances, averaged over the window positions that lie wholly inside the image (the
  "valid" positions, as scikit-image's ``structural_similarity(gaussian_weights=True)`` crops
  them), then over frames:

.. math::
    \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
    {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)}

Shapes: N sequences, L frames, C channels, H x W pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "accuracy",
    "frame_mse",
    "gaussian_1d",
    "gaussian_window",
    "roc_auc",
    "roc_auc_by_kind",
    "roc_curve",
    "ssim",
    "ssim_map",
]

WINDOW = 11
SIGMA = 1.5


def _check_pair(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"pred: expected shape {tuple(target.shape)} like target, got {tuple(pred.shape)}")
    if pred.dim() < 2:
        raise ValueError(f"pred: expected frames (..., H, W), got shape {tuple(pred.shape)}")


def frame_mse(pred: Tensor, target: Tensor) -> Tensor:
    """Sum of squared errors over each frame's pixels (and channels).

    Args:
        pred, target: (N, L, C, H, W) frames in [0, 1] (any leading shape before (C, H, W)).

    Returns:
        (N, L) per-frame sums; ``.mean()`` is the published "MSE per frame".
    """
    _check_pair(pred, target)
    diff = (pred.double() - target.double()) ** 2
    return diff.flatten(-3).sum(-1)


def gaussian_1d(size: int = WINDOW, sigma: float = SIGMA) -> Tensor:
    """(size,) float64 Gaussian weights summing to 1."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> Tensor:
    """(size, size) float64 Gaussian weights summing to 1 (the outer product of
    :func:`gaussian_1d`, applied as two 1-D filters)."""
    g = gaussian_1d(size, sigma)
    return g[:, None] * g[None, :]


def ssim_map(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """The local SSIM at every valid window position.

    Args:
        x, y: (B, H, W) images (H, W >= 11).
        data_range: the values' range R.

    Returns:
        (B, H - 10, W - 10) float64.
    """
    _check_pair(x, y)
    if x.shape[-1] < WINDOW or x.shape[-2] < WINDOW:
        raise ValueError(f"x: expected images of at least {WINDOW} x {WINDOW} pixels, got {tuple(x.shape)}")
    g = gaussian_1d()
    rows, cols = g.reshape(1, 1, WINDOW, 1), g.reshape(1, 1, 1, WINDOW)
    parts = []
    for i in range(0, x.shape[0], 256):  # bounded memory: the filter's unfolded input
        a = x[i : i + 256].double().unsqueeze(1)
        b = y[i : i + 256].double().unsqueeze(1)
        stack = torch.cat([a, b, a * a, b * b, a * b], 1).reshape(-1, 1, *x.shape[-2:])  # (5B, 1, H, W)
        filt = torch.nn.functional.conv2d(torch.nn.functional.conv2d(stack, rows), cols)  # separable
        parts.append(filt.reshape(a.shape[0], 5, *filt.shape[-2:]))
    mu_a, mu_b, aa, bb, ab = torch.cat(parts).unbind(1)
    var_a, var_b, cov = aa - mu_a**2, bb - mu_b**2, ab - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return num / den


def ssim(pred: Tensor, target: Tensor, data_range: float = 1.0) -> Tensor:
    """Per-frame SSIM (channels averaged).

    Args:
        pred, target: (N, L, C, H, W) frames in [0, 1] (any leading shape before (C, H, W)).

    Returns:
        (N, L) float64; ``.mean()`` is the published SSIM per frame.
    """
    _check_pair(pred, target)
    lead = pred.shape[:-3]
    local = ssim_map(pred.reshape(-1, *pred.shape[-2:]), target.reshape(-1, *target.shape[-2:]), data_range)
    per_image = local.flatten(1).mean(1)  # (N * L * C,)
    return per_image.reshape(*lead, pred.shape[-3]).mean(-1)


def accuracy(labels: Any, predicted: Any) -> float:
    """The share of ``predicted`` class indices equal to ``labels`` (both (N,))."""
    a, b = np.asarray(labels), np.asarray(predicted)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"predicted: expected shape {a.shape} like labels (non-empty), got {b.shape}")
    return float((a == b).mean())


def roc_auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve of ``scores`` (N,) for the boolean ``labels`` (N,)
    (scikit-learn's ``roc_auc_score``)."""
    from sklearn.metrics import roc_auc_score

    a, s = np.asarray(labels, dtype=bool), np.asarray(scores, dtype=np.float64)
    if a.shape != s.shape:
        raise ValueError(f"scores: expected shape {a.shape} like labels, got {s.shape}")
    if a.all() or not a.any():
        raise ValueError("labels: ROC-AUC needs both anomalous and normal videos")
    return float(roc_auc_score(a, s))


def roc_auc_by_kind(labels: Any, kinds: Any, scores: Any) -> list[dict[str, Any]]:
    """ROC-AUC of ``scores`` (N,) over all videos, then of each anomaly kind against the normal
    videos: rows ``{"kind", "videos", "roc_auc"}`` (``kinds`` (N,): ``"normal"`` or the kind)."""
    a, k = np.asarray(labels, dtype=bool), np.asarray(kinds)
    s = np.asarray(scores, dtype=np.float64)
    rows = [{"kind": "all", "videos": len(a), "roc_auc": roc_auc(a, s)}]
    for kind in sorted(set(k.tolist()) - {"normal"}):
        pick = (k == kind) | ~a
        rows.append({"kind": kind, "videos": int((k == kind).sum()), "roc_auc": roc_auc(a[pick], s[pick])})
    return rows


def roc_curve(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """The ROC curve's false and true positive rates (scikit-learn's ``roc_curve``)."""
    from sklearn.metrics import roc_curve as _roc

    fpr, tpr, _ = _roc(np.asarray(labels, dtype=bool), np.asarray(scores, dtype=np.float64))
    return fpr, tpr

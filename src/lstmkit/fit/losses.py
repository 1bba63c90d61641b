r"""Sequence losses with masks: cross-entropy, MSE/MAE/Huber, Gaussian NLL, quantile.

Every loss takes an optional boolean ``mask`` of real (non-padded) elements. The mask's shape
is a prefix of the element-wise loss's shape (e.g. (N, L) for (N, L, D) predictions) and is
broadcast over the remaining dimensions; masked-out elements contribute nothing, and the
mean is over the real elements only. ``reduction`` is ``"mean"`` (default), ``"sum"`` or
``"none"`` (the element-wise loss, zero where masked).

For cross-entropy over sequences, ``average`` chooses the normalization:

.. math::

    \text{token: } \frac{\sum_{n,t} m_{nt}\,\ell_{nt}}{\sum_{n,t} m_{nt}} \qquad
    \text{sequence: } \frac{1}{N'}\sum_{n} \frac{\sum_t m_{nt}\,\ell_{nt}}{\sum_t m_{nt}}
    \qquad \text{sum: } \sum_{n,t} m_{nt}\,\ell_{nt}

(``sequence`` averages over the N' sequences with at least one real step, so short and long
sequences weigh the same.)

Example::

    >>> logits = torch.randn(2, 5, 7)                   # (N, L, C)
    >>> target = torch.randint(0, 7, (2, 5))            # (N, L)
    >>> mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=torch.bool)
    >>> sequence_cross_entropy(logits, target, mask).shape
    torch.Size([])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "gaussian_nll",
    "masked_huber",
    "masked_mae",
    "masked_mean",
    "masked_mse",
    "quantile_loss",
    "sequence_cross_entropy",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_pair(pred: Tensor, target: Tensor, pred_name: str = "pred", target_name: str = "target") -> None:
    if not isinstance(pred, Tensor) or not isinstance(target, Tensor):
        raise TypeError(
            f"{pred_name}, {target_name}: expected tensors, got {type(pred).__name__} and "
            f"{type(target).__name__}"
        )
    if pred.shape != target.shape:
        raise ValueError(
            f"{target_name}: expected the shape of {pred_name} {tuple(pred.shape)}, got {tuple(target.shape)}"
        )


def _real_target(target: Tensor, mask: Tensor | None) -> Tensor:
    """``target`` with its masked-out entries set to 0, so that missing values stored there (NaN)
    cannot turn the gradient into NaN (``0 * NaN``) before the mask drops them."""
    m = _broadcast_mask(mask, target.shape)
    return target if m is None else torch.where(m, target, target.new_zeros(()))


def _broadcast_mask(mask: Tensor | None, shape: torch.Size) -> Tensor | None:
    """Check ``mask`` is a bool tensor whose shape is a prefix of ``shape``; expand it."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask: expected a bool tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"mask: expected dtype torch.bool, got {mask.dtype}")
    if mask.dim() > len(shape) or tuple(mask.shape) != tuple(shape[: mask.dim()]):
        raise ValueError(
            f"mask: expected a shape that is a prefix of the loss's shape {tuple(shape)}, "
            f"got {tuple(mask.shape)}"
        )
    return mask.reshape(*mask.shape, *([1] * (len(shape) - mask.dim()))).expand(shape)


def masked_mean(values: Tensor, mask: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Reduce element-wise ``values`` over the real elements given by ``mask``.

    Args:
        values: any shape, e.g. (N, L, D).
        mask: bool, a prefix of ``values``'s shape, e.g. (N, L); ``None``: all real.
        reduction: ``"mean"`` over real elements (0 if there are none), ``"sum"``, or
            ``"none"`` (``values`` with masked elements set to 0).
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {list(_REDUCTIONS)}, got {reduction!r}")
    m = _broadcast_mask(mask, values.shape)
    if m is not None:
        values = torch.where(m, values, values.new_zeros(()))
    if reduction == "none":
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    count = values.numel() if m is None else int(m.sum())
    return total / max(count, 1)


def sequence_cross_entropy(
    logits: Tensor,
    target: Tensor,
    mask: Tensor | None = None,
    *,
    average: str = "token",
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
) -> Tensor:
    """Cross-entropy of every step of a batch of sequences, with a mask.

    Args:
        logits: (*, C) unnormalized class scores, e.g. (N, L, C) or (L, N, C), or (N, C) for
            one label per sequence.
        target: (*) class indices (int64).
        mask: bool (*) or a prefix of it; ``ignore_index`` targets are masked out too.
        average: ``"token"`` (mean over real steps), ``"sequence"`` (mean over sequences of
            each one's mean over its real steps; the sequence dimension is the first of
            ``target``, so give batch-first tensors) or ``"sum"``.
        label_smoothing: as in :func:`torch.nn.functional.cross_entropy`.
        ignore_index: target value that marks a step without a label.

    Returns:
        scalar loss.
    """
    _check_logits_target(logits, target, average)
    valid = target != ignore_index
    m = _broadcast_mask(mask, target.shape)
    valid = valid if m is None else valid & m
    safe_target = torch.where(valid, target, torch.zeros_like(target))
    n_classes = logits.shape[-1]
    if bool(((safe_target < 0) | (safe_target >= n_classes)).any()):
        bad = safe_target[(safe_target < 0) | (safe_target >= n_classes)][0]
        raise ValueError(f"target: expected class indices in [0, {n_classes}), got {int(bad)}")
    losses = F.cross_entropy(
        logits.reshape(-1, n_classes),
        safe_target.reshape(-1),
        reduction="none",
        label_smoothing=label_smoothing,
    ).view(target.shape)  # (*)
    losses = torch.where(valid, losses, losses.new_zeros(()))
    if average == "sum":
        return losses.sum()
    if average == "token":
        return losses.sum() / valid.sum().clamp(min=1)
    return _sequence_mean(losses, valid)


def _check_logits_target(logits: Tensor, target: Tensor, average: str) -> None:
    if logits.dim() < 2:
        raise ValueError(f"logits: expected (*, C) with at least 2 dims, got shape {tuple(logits.shape)}")
    if tuple(target.shape) != tuple(logits.shape[:-1]):
        raise ValueError(
            f"target: expected shape {tuple(logits.shape[:-1])} (logits without the class dim), "
            f"got {tuple(target.shape)}"
        )
    if target.dtype.is_floating_point or target.dtype == torch.bool:
        raise TypeError(f"target: expected integer class indices, got dtype {target.dtype}")
    if average not in ("token", "sequence", "sum"):
        raise ValueError(f"average: expected 'token', 'sequence' or 'sum', got {average!r}")


def _sequence_mean(losses: Tensor, valid: Tensor) -> Tensor:
    """The mean over sequences (the first dimension) with a real step of each one's mean over
    its real steps: ``losses`` and ``valid`` (N, L, ...)."""
    if losses.dim() < 2:
        raise ValueError(
            f"average='sequence': expected target of shape (N, L, ...), got {tuple(losses.shape)}"
        )
    per_seq_sum = losses.reshape(losses.shape[0], -1).sum(1)  # (N,)
    per_seq_n = valid.reshape(valid.shape[0], -1).sum(1)  # (N,)
    has = per_seq_n > 0
    return (per_seq_sum[has] / per_seq_n[has]).sum() / has.sum().clamp(min=1)


def masked_mse(pred: Tensor, target: Tensor, mask: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Mean squared error over the real elements: ``mean((pred - target)^2)``."""
    _check_pair(pred, target)
    return masked_mean((pred - _real_target(target, mask)) ** 2, mask, reduction)


def masked_mae(pred: Tensor, target: Tensor, mask: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Mean absolute error over the real elements: ``mean(|pred - target|)``."""
    _check_pair(pred, target)
    return masked_mean((pred - _real_target(target, mask)).abs(), mask, reduction)


def masked_huber(
    pred: Tensor, target: Tensor, mask: Tensor | None = None, delta: float = 1.0, reduction: str = "mean"
) -> Tensor:
    r"""Huber loss over the real elements:
    :math:`\tfrac12 e^2` for :math:`|e| \le \delta`, else :math:`\delta (|e| - \tfrac12\delta)`."""
    _check_pair(pred, target)
    if not delta > 0:
        raise ValueError(f"delta: expected > 0, got {delta}")
    target = _real_target(target, mask)
    return masked_mean(F.huber_loss(pred, target, reduction="none", delta=delta), mask, reduction)


def gaussian_nll(
    mean: Tensor,
    var: Tensor,
    target: Tensor,
    mask: Tensor | None = None,
    *,
    full: bool = True,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    r"""Negative log-likelihood of ``target`` under :math:`\mathcal N(\text{mean}, \text{var})`:

    .. math::

        \ell = \tfrac12 \Bigl(\log \max(\sigma^2, \epsilon) + \frac{(y - \mu)^2}{\max(\sigma^2, \epsilon)}
               + \log 2\pi \Bigr)

    (the constant only with ``full``). ``var`` must be positive (e.g. ``softplus`` of a head);
    it has the shape of ``mean`` and ``target``.
    """
    _check_pair(mean, target, "mean")
    _check_pair(mean, var, "mean", "var")
    target = _real_target(target, mask)
    if bool((var < 0).any()):
        raise ValueError("var: expected non-negative variances, got negative values")
    v = var.clamp(min=eps)
    nll = 0.5 * (torch.log(v) + (target - mean) ** 2 / v)
    if full:
        nll = nll + 0.5 * torch.log(torch.tensor(2 * torch.pi, dtype=nll.dtype, device=nll.device))
    return masked_mean(nll, mask, reduction)


def quantile_loss(
    pred: Tensor,
    target: Tensor,
    quantiles: Sequence[float] | Tensor,
    mask: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    r"""Pinball (quantile) loss, averaged over quantiles and real elements.

    For quantile :math:`q` and error :math:`e = y - \hat y_q`:
    :math:`\ell_q = \max(q e, (q - 1) e)`.

    Args:
        pred: (*, Q) one prediction per quantile.
        target: (*) observations.
        quantiles: Q levels in (0, 1).
        mask: bool (*) or a prefix of it.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` ((*, Q)).
    """
    q = torch.as_tensor(quantiles, dtype=pred.dtype, device=pred.device)
    if q.dim() != 1 or q.numel() == 0 or bool(((q <= 0) | (q >= 1)).any()):
        raise ValueError(f"quantiles: expected a non-empty 1-D list of levels in (0, 1), got {quantiles}")
    if pred.dim() < 1 or pred.shape[-1] != q.numel() or tuple(pred.shape[:-1]) != tuple(target.shape):
        raise ValueError(
            f"pred: expected shape {(*tuple(target.shape), q.numel())} (target's shape plus one entry per "
            f"quantile), got {tuple(pred.shape)}"
        )
    err = _real_target(target, mask).unsqueeze(-1) - pred  # (*, Q)
    loss = torch.maximum(q * err, (q - 1) * err)  # (*, Q)
    return masked_mean(loss, mask, reduction)

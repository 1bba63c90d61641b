"""Recurrent regularizers as plain tensor functions, shared by every engine and layer.

* Variational dropout (Gal & Ghahramani, 2016): one Bernoulli mask per sequence, reused at
  every step, on a layer's inputs and on h_{t-1} before the recurrent product.
* Zoneout (Krueger et al., 2017): each unit of h and c keeps its previous value with
  probability z at each step: ``s_t = d * s_{t-1} + (1 - d) * s_new``, ``d ~ Bernoulli(z)``.
  At evaluation the paper uses the expectation, ``d = z`` (so a zoneout model is
  deterministic but still blends states at test time, as it was trained to).
* DropConnect on the hidden-to-hidden weights (Wan et al., 2013; Merity et al., 2018, AWD-LSTM):
  one mask on W_hh per forward pass.

All masks come from PyTorch's global generator, so ``torch.manual_seed`` makes them repeatable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "check_probability",
    "check_zoneout",
    "drop_connect",
    "variational_mask",
    "zoneout",
    "zoneout_keep",
]


def check_probability(name: str, p: float) -> float:
    """Validate a drop probability in [0, 1); raise ``ValueError`` naming ``name``."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{name}: expected a float in [0, 1), got {type(p).__name__}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1), got {p}")
    return float(p)


def check_zoneout(zoneout: float | tuple[float, float] | list[float]) -> tuple[float, float]:
    """Validate a zoneout setting, one probability or a pair ``(z_h, z_c)``; the pair."""
    if isinstance(zoneout, (tuple, list)) and len(zoneout) != 2:
        raise ValueError(
            f"zoneout: expected a probability or a pair (z_h, z_c), got a {type(zoneout).__name__} "
            f"of {len(zoneout)}"
        )
    zh, zc = zoneout if isinstance(zoneout, (tuple, list)) else (zoneout, zoneout)
    return check_probability("zoneout", zh), check_probability("zoneout", zc)


def variational_mask(shape: tuple[int, ...], p: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """An inverted-dropout mask: zeros with probability ``p``, else ``1 / (1 - p)``."""
    keep = torch.empty(shape, dtype=dtype, device=device).bernoulli_(1.0 - p)
    return keep.div_(1.0 - p)


def zoneout_keep(
    shape: tuple[int, ...], z: float, training: bool, dtype: torch.dtype, device: torch.device
) -> Tensor:
    """Per-step keep weights of ``shape``: Bernoulli(z) samples in training, the constant ``z``
    otherwise (an expanded view, no memory per step)."""
    if training:
        return torch.empty(shape, dtype=dtype, device=device).bernoulli_(z)
    return torch.full((), z, dtype=dtype, device=device).expand(shape)


def zoneout(prev: Tensor, new: Tensor, keep: Tensor) -> Tensor:
    """``keep * prev + (1 - keep) * new`` (exactly ``prev`` where keep is 1, ``new`` where 0)."""
    return keep * prev + (1 - keep) * new


def drop_connect(weight: Tensor, p: float, training: bool) -> Tensor:
    """DropConnect: inverted dropout on the entries of a weight matrix."""
    return F.dropout(weight, p, training) if training and p > 0 else weight

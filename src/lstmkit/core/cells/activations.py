"""Squashing functions used by the cells, with their derivatives.

Each activation is named so that a cell spec stays hashable and a fused kernel can
pick the matching closed-form derivative. The derivative is written in terms of the
activation's *output* ``y``, which is what a hand-written backward has saved.

======================  ===========================  ===========================
name                    y = f(x)                     f'(x) as a function of y
======================  ===========================  ===========================
``"tanh"``              tanh(x)                      1 - y^2
``"sigmoid"``           1 / (1 + e^-x)               y (1 - y)
``"identity"``          x                            1
``"hs97_g"``            4 sigmoid(x) - 2, in [-2, 2] (4 - y^2) / 4
``"hs97_h"``            2 sigmoid(x) - 1, in [-1, 1] (1 - y^2) / 2
======================  ===========================  ===========================

``hs97_g`` and ``hs97_h`` are the input and output squashing functions g and h of
Hochreiter & Schmidhuber (1997), section 5 ("Experiments", eqs. for g and h). They are computed
as ``2 tanh(x / 2)`` and ``tanh(x / 2)``, the same functions without the cancellation of
``2 sigmoid(x) - 1`` near 0 (whose absolute error ~1e-7 in float32 is all of a tiny value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["ACTIVATIONS", "Activation", "get_activation"]


@dataclass(frozen=True)
class Activation:
    """A named activation ``fn`` with its derivative ``grad_from_output(y) = f'(f^-1(y))``."""

    name: str
    fn: Callable[[Tensor], Tensor]
    grad_from_output: Callable[[Tensor], Tensor]


def _identity(x: Tensor) -> Tensor:
    return x


def _one(y: Tensor) -> Tensor:
    return torch.ones_like(y)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", torch.tanh, lambda y: 1 - y * y),
    "sigmoid": Activation("sigmoid", torch.sigmoid, lambda y: y * (1 - y)),
    "identity": Activation("identity", _identity, _one),
    "hs97_g": Activation("hs97_g", lambda x: 2 * torch.tanh(x / 2), lambda y: (4 - y * y) / 4),
    "hs97_h": Activation("hs97_h", lambda x: torch.tanh(x / 2), lambda y: (1 - y * y) / 2),
}


def get_activation(name: str, *, argument: str = "activation") -> Activation:
    """Look up an activation by name; raise ``ValueError`` naming ``argument`` if unknown."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"{argument}: expected one of {sorted(ACTIVATIONS)}, got {name!r}") from None

"""The options every stacked recurrent layer takes, and the checks of a layer's arguments.

Each check raises ``TypeError``/``ValueError`` naming the argument, what it expects and what it
got, in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from lstmkit.core.scan import tracing

__all__ = ["LayerOptions", "check_bool", "check_factory_kwargs", "check_int", "check_positive_int"]


def check_positive_int(name: str, value: object, *, allow_zero: bool = False) -> int:
    """Validate a size argument; raise ``TypeError``/``ValueError`` naming it.

    A symbolic size (``torch.SymInt`` while torch compiles or exports; a 0-dim integer tensor
    while ``torch.jit.trace`` records) passes as it is: its value is not known yet.
    """
    if isinstance(value, torch.SymInt) or (
        tracing() and isinstance(value, torch.Tensor) and value.dim() == 0
    ):
        return value  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    low = 0 if allow_zero else 1
    if value < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {value}")
    return value


def check_int(name: str, value: object, low: int = 1, *, optional: bool = False, numpy: bool = False) -> None:
    """``ValueError`` unless ``value`` is an int >= ``low`` (or ``None`` when ``optional``;
    NumPy integers too with ``numpy``); bools are refused.

    Unlike :func:`check_positive_int` (a layer's sizes, ``TypeError`` for a non-int), one
    ``ValueError`` for any bad value: what a model's constructor raises.
    """
    if value is None and optional:
        return
    kinds = (int, np.integer) if numpy else int
    if isinstance(value, bool) or not isinstance(value, kinds) or value < low:  # type: ignore[operator]
        raise ValueError(f"{name}: expected an int >= {low}, got {value!r}")


def check_bool(name: str, value: object) -> bool:
    """Validate a flag (a bool, or the ints 0 and 1); raise ``TypeError`` naming it.

    A string such as ``"False"`` is refused rather than read as true.
    """
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")


def check_factory_kwargs(device: Any, dtype: Any) -> tuple[torch.device | None, torch.dtype | None]:
    """Validate the ``device`` and ``dtype`` of a layer's parameters (a floating dtype)."""
    if device is not None:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device: expected a torch device such as 'cpu' or 'cuda:0', got {device!r}"
            ) from None
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype: expected a floating-point torch.dtype, got {dtype}")
    return device, dtype


@dataclass(frozen=True)
class LayerOptions:
    """The options shared by :class:`~lstmkit.core.layers.LSTM`, :class:`~lstmkit.core.layers.GRU`
    and :class:`~lstmkit.core.layers.RNN`, as their constructors take them (documented there);
    :class:`~lstmkit.core.layers.stacked.StackedRecurrent` checks them and keeps each as an
    attribute of the layer.

    Example::

        >>> def make(input_size, hidden_size, num_layers=1, *, bias=True, batch_first=False,
        ...          bidirectional=False, dropout=0.0, input_dropout=0.0, recurrent_dropout=0.0,
        ...          engine="auto", check_finite=False):
        ...     return LayerOptions.of(locals())
        >>> make(3, 4, bidirectional=True).bidirectional
        True
    """

    input_size: int
    hidden_size: int
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    bidirectional: bool = False
    dropout: float = 0.0
    input_dropout: float = 0.0
    recurrent_dropout: float = 0.0
    engine: str = "auto"
    check_finite: bool = False

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> LayerOptions:
        """The options among a layer constructor's ``arguments`` (its ``locals()``), by name:
        the constructor keeps its explicit signature, and the options travel as one value."""
        return cls(**{f.name: arguments[f.name] for f in fields(cls)})

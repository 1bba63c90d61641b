"""Which axes of a model's inputs stay free in an exported graph, and the checks before export.

Both exporters (:mod:`lstmkit.export.onnx`, :mod:`lstmkit.export.program`) trace the model on
example inputs; every axis not named static becomes a symbol (``torch.export.Dim``), so one file
takes any batch size and sequence length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.core.layers.stacked import StackedRecurrent

__all__ = ["check_exportable", "dynamic_shapes", "example_tuple"]


def example_tuple(example_inputs: Any) -> tuple[Any, ...]:
    """``example_inputs`` as the tuple of positional arguments (one tensor becomes a 1-tuple)."""
    if isinstance(example_inputs, Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, (tuple, list)) and example_inputs:
        return tuple(example_inputs)
    got = type(example_inputs).__name__
    raise TypeError(
        f"example_inputs: expected a tensor or a non-empty tuple of the model's inputs, got {got}"
    )


def dynamic_shapes(args: tuple[Any, ...], static: Sequence[int] | None = None) -> tuple[Any, ...]:
    """``dynamic_shapes`` for ``torch.export``: every axis of every floating or integer tensor
    argument of two or more axes is free except the last (the features) and the axes in
    ``static``; other arguments stay constants. Axes of equal size in the examples are told apart
    by name, so a batch of 4 sequences of 4 steps still gives two symbols."""
    spec: list[Any] = []
    for k, a in enumerate(args):
        if not isinstance(a, Tensor) or a.dim() < 2:
            spec.append(None)
            continue
        free = [d for d in range(a.dim() - 1) if static is None or d not in static]
        spec.append({d: torch.export.Dim(f"arg{k}_axis{d}", min=1) for d in free} or None)
    return tuple(spec)


def check_exportable(model: nn.Module, what: str) -> None:
    """One-line ``ValueError``s for what no inference graph can hold: a model in training mode
    (dropout, zoneout and DropConnect draw masks there)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if model.training:
        layers = [n or "model" for n, m in model.named_modules() if isinstance(m, StackedRecurrent)]
        hint = f" (lstmkit layers: {', '.join(layers)})" if layers else ""
        raise ValueError(
            f"model: {what} writes an inference graph, but the model is in training mode, where "
            f"dropout, zoneout and DropConnect draw random masks{hint}; call model.eval() first"
        )

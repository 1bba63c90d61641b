"""Which axes of a model's inputs stay free in an exported graph, and the checks before export.

Both exporters (:mod:`lstmkit.export.onnx`, :mod:`lstmkit.export.program`) trace the model on
example inputs; every axis not named static becomes a symbol (``torch.export.Dim``), so one file
takes any batch size and sequence length.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.core.layers.stacked import StackedRecurrent
from lstmkit.io.atomic import check_output_file

__all__ = ["check_exportable", "check_new_file", "dynamic_shapes", "example_tuple", "free_axes"]


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


def free_axes(arg: Any, static: Sequence[int] | None = None) -> list[int]:
    """The axes of an argument that an exported graph leaves free: of a floating tensor every
    axis but its last (the features), of an integer or bool tensor every axis (token ids
    (N, L), lengths (N,), masks (L, N)), none of anything else; minus the axes in ``static``."""
    if not isinstance(arg, Tensor) or arg.dim() == 0:
        return []
    last = arg.dim() - 1 if arg.dtype.is_floating_point else arg.dim()
    return [d for d in range(last) if static is None or d not in static]


def dynamic_shapes(args: tuple[Any, ...], static: Sequence[int] | None = None) -> tuple[Any, ...]:
    """``dynamic_shapes`` for ``torch.export``: the :func:`free_axes` of each argument, sized
    by torch (``Dim.AUTO``: axes of equal size in different arguments are taken to be one, as the
    batch of an input and of its lengths). Two free axes of one argument must differ in size in
    the examples (``ValueError`` otherwise), or the graph could not tell them apart."""
    spec: list[Any] = []
    for k, arg in enumerate(args):
        free = free_axes(arg, static)
        sizes = [arg.shape[d] for d in free]
        if len(set(sizes)) < len(sizes):
            raise ValueError(
                f"example_inputs: argument {k} has free axes {free} of sizes {sizes}; give them "
                "different sizes (e.g. 6 steps of a batch of 2) so that the graph keeps them apart"
            )
        spec.append({d: torch.export.Dim.AUTO for d in free} or None)
    return tuple(spec)


def check_new_file(path: str | os.PathLike[str], overwrite: bool) -> Path:
    """The file an exporter writes, checked before the work: writable, and not an existing file
    unless ``overwrite`` (``FileExistsError`` naming it)."""
    target = check_output_file(path, "path")
    if target.exists() and not overwrite:
        raise FileExistsError(f"path: {os.fspath(target)!r} exists; pass overwrite=True to replace it")
    return target


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

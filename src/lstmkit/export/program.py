"""``torch.export`` of models that hold lstmkit layers (:func:`to_exported_program`).

Each lstmkit layer call becomes one node: lstmkit's fused operator (``lstmkit::fused_forward``,
:mod:`lstmkit.core.engines.fused.ops`) for the LSTM family on the CPU, torch's own kernel where
the policy table picks it, or torch's ``scan`` operator over the cell's step otherwise
(:mod:`lstmkit.core.scan`). Batch and sequence axes stay symbolic.

A program holding lstmkit's operator needs lstmkit imported where it runs (the operator is
registered on import); the ONNX file of :func:`lstmkit.export.to_onnx` needs only onnxruntime.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lstmkit.export.axes import check_exportable, check_new_file, dynamic_shapes, example_tuple
from lstmkit.io.atomic import atomic_write_bytes

__all__ = ["save_exported_program", "to_exported_program"]


def to_exported_program(
    model: nn.Module,
    example_inputs: Any,
    *,
    static_axes: Sequence[int] | None = None,
    shapes: Any = None,
) -> torch.export.ExportedProgram:
    """``torch.export.export`` of ``model`` (in eval mode) with every axis of its tensor
    arguments but the last free (batch and sequence length), except ``static_axes``; or with
    ``shapes``, ``dynamic_shapes`` as ``torch.export`` takes them (e.g. one batch
    ``torch.export.Dim`` shared by several arguments, or a free last axis of token ids).

    Example::

        >>> import lstmkit
        >>> lstm = lstmkit.LSTM(3, 4, variant="vanilla").eval()
        >>> program = to_exported_program(lstm, torch.randn(5, 2, 3))
        >>> program.module()(torch.randn(9, 3, 3))[0].shape
        torch.Size([9, 3, 4])
    """
    check_exportable(model, "to_exported_program")
    args = example_tuple(example_inputs)
    with torch.no_grad():
        spec = dynamic_shapes(args, static_axes) if shapes is None else shapes
        return torch.export.export(model, args, dynamic_shapes=spec)


def save_exported_program(
    program: torch.export.ExportedProgram, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``program`` as a ``.pt2`` file (atomically; an existing file only with
    ``overwrite``); ``torch.export.load`` reads it back (after ``import lstmkit``)."""
    target = check_new_file(path, overwrite)
    import io

    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    atomic_write_bytes(target, buffer.getvalue())
    return target

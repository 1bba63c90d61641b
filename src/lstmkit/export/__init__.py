"""Take a trained model out of eager Python: ONNX and ``torch.export``.

The deployment tier (docs/deployment.md): :func:`to_onnx` writes an ONNX file that picks the
best graph for each layer call, :func:`to_exported_program` a ``torch.export`` program with
dynamic batch and sequence axes.
"""

from __future__ import annotations

from lstmkit.export.onnx import check_onnx, to_onnx
from lstmkit.export.program import save_exported_program, to_exported_program

__all__ = ["check_onnx", "save_exported_program", "to_exported_program", "to_onnx"]

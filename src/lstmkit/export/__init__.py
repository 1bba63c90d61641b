"""Take a trained model out of eager Python: ONNX and ``torch.export``.

The deployment tier (docs/deployment.md): :func:`to_onnx` writes an ONNX file that picks the
best graph for each layer call, :func:`to_exported_program` a ``torch.export`` program with
dynamic batch and sequence axes.
"""

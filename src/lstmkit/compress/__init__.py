"""Make a trained model smaller and faster: int8 quantization, pruning, distillation.

The deployment tier (docs/deployment.md, docs/architecture.md): it builds on ``core`` (the
layers) and ``fit`` (the trainer, for fine-tuning and distillation); the apps and the
``lstmkit compress`` command build on it.

* :mod:`lstmkit.compress.quantize`: :func:`quantize_dynamic` (int8 weights per output channel,
  float activations) and :class:`QuantizedLSTM`;
* :mod:`lstmkit.compress.prune`: :func:`prune_magnitude` (masks, fine-tuning) and
  :func:`prune_units` (structured: rebuilds smaller layers);
* :mod:`lstmkit.compress.distillation`: :func:`distill` (a student learns a teacher's outputs).
"""

from __future__ import annotations

from lstmkit.compress.distillation import distill
from lstmkit.compress.prune import prune_magnitude, prune_units, remove_pruning
from lstmkit.compress.quantize import QuantizedLSTM, quantize_dynamic

__all__ = ["QuantizedLSTM", "distill", "prune_magnitude", "prune_units", "quantize_dynamic", "remove_pruning"]

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

import importlib
from typing import Any

#: public name -> the module of this package that defines it (imported on first use, so that
#: ``import lstmkit.compress`` stays light)
_WHERE = {
    "quantize_dynamic": "quantize",
    "QuantizedLSTM": "quantize",
    "prune_magnitude": "prune",
    "remove_pruning": "prune",
    "prune_units": "prune",
    "distill": "distillation",
}

__all__ = ["QuantizedLSTM", "distill", "prune_magnitude", "prune_units", "quantize_dynamic", "remove_pruning"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'lstmkit.compress' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lstmkit.compress.{_WHERE[name]}"), name)

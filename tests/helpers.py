"""Shared test utilities."""

from __future__ import annotations

import torch
from torch import Tensor

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def max_diff(a: Tensor | None, b: Tensor | None) -> float:
    assert a is not None and b is not None, "a tensor (e.g. a gradient) is missing"
    assert a.shape == b.shape, f"shape mismatch {tuple(a.shape)} vs {tuple(b.shape)}"
    return float((a - b).detach().abs().max()) if a.numel() else 0.0


def assert_close(a: Tensor | None, b: Tensor | None, tol: float, what: str = "") -> None:
    d = max_diff(a, b)
    assert d <= tol, f"{what}: max abs difference {d:.3g} > {tol:.1g}"

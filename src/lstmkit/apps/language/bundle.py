"""Model bundles: one checkpoint file holding a language model's config, weights and
tokenizers (and a few figures), so that a command can load and use it alone.

A bundle is a dict written with :func:`lstmkit.io.atomic_save`:
``{"format": "lstmkit-<kind>", "version": 1, "config", "model", "tokenizers", "extra"}``.

Example::

    >>> save_bundle("runs/lm/model.pt", kind="lm", model=lm, tokenizers={"text": tok}, extra={})
    >>> bundle, tokenizers = load_bundle("runs/lm", "lm")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from lstmkit.apps.language.tokenizers import Tokenizer, tokenizer_from_state
from lstmkit.fit.checkpoint import load_file
from lstmkit.io.atomic import atomic_save

__all__ = ["count_parameters", "load_bundle", "save_bundle"]


def save_bundle(
    path: str | Path, *, kind: str, model: nn.Module, tokenizers: dict[str, Tokenizer], extra: dict[str, Any]
) -> None:
    """Write model config + weights + tokenizers (+ extra JSON-like data) atomically."""
    bundle = {
        "format": f"lstmkit-{kind}",
        "version": 1,
        "config": model.config(),  # type: ignore[operator]
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "tokenizers": {k: t.state_dict() for k, t in tokenizers.items()},
        "extra": extra,
    }
    atomic_save(bundle, path)


def load_bundle(path: str | Path, kind: str) -> tuple[dict[str, Any], dict[str, Tokenizer]]:
    """Read what :func:`save_bundle` wrote (``path`` or ``path/model.pt``); a clear error if it
    is not a ``kind`` bundle."""
    p = Path(path)
    if p.is_dir():
        p = p / "model.pt"
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint: no file at {p} (train first, or pass --checkpoint)")
    bundle = load_file(p, "an lstmkit model bundle")
    if not isinstance(bundle, dict) or bundle.get("format") != f"lstmkit-{kind}":
        got = bundle.get("format") if isinstance(bundle, dict) else type(bundle).__name__
        raise ValueError(f"checkpoint: {p} is not an lstmkit {kind} model (format {got!r})")
    tokenizers = {k: tokenizer_from_state(v) for k, v in bundle["tokenizers"].items()}
    return bundle, tokenizers


def count_parameters(model: nn.Module) -> int:
    """Number of distinct trainable parameters (tied weights counted once)."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total

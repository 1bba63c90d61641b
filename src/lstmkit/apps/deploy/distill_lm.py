"""Distillation of a ``textgen`` language model into a smaller one (``lstmkit compress
--method distill``): the student (``hidden`` units, ``layers`` layers, the teacher's vocabulary
and embedding width) learns the teacher's next-token distributions
(:func:`lstmkit.compress.distill`, ``task="language_model"``) on the teacher's corpus or a text
file, and is written as a ``textgen`` model file (``lstmkit textgen sample`` loads it). Other
kinds are refused with a one-line error.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lstmkit.apps.deploy.models import Loaded, save_model
from lstmkit.apps.language.batching import StreamBatches
from lstmkit.apps.language.corpora import load_text_corpus
from lstmkit.apps.language.lm import LanguageModel, bits_per_token, stream_nll
from lstmkit.compress import distill
from lstmkit.io.text import read_text

__all__ = ["DistillSettings", "distill_lm"]

log = logging.getLogger("lstmkit.deploy")


@dataclass(frozen=True)
class DistillSettings:
    """The student and its training.

    Args:
        hidden, layers: the student's units and layers (default: half the teacher's units, one
            layer); it is of the teacher's architecture (an LSTM, GRU, RNN, Transformer or TCN).
        text_file: train on this text (default: the teacher's bundled corpus); its last tenth
            measures bits per token.
        max_chars: at most this many characters of training text.
        epochs, lr, temperature, alpha, batch_size, bptt, seed: the training
            (:func:`lstmkit.compress.distill`).
    """

    hidden: int | None = None
    layers: int = 1
    text_file: str | None = None
    max_chars: int = 200_000
    epochs: int = 1
    lr: float = 3e-3
    temperature: float = 2.0
    alpha: float = 0.5
    batch_size: int = 16
    bptt: int = 64
    seed: int = 0


def _texts(loaded: Loaded, settings: DistillSettings) -> tuple[str, str]:
    """Training and held-out text."""
    if settings.text_file:
        text = read_text(settings.text_file)[: settings.max_chars]
        cut = int(len(text) * 0.9)
        return text[:cut], text[cut:]
    corpus = loaded.payload.get("extra", {}).get("corpus")
    try:
        splits = load_text_corpus(str(corpus))
    except (ValueError, KeyError, OSError):
        raise ValueError(
            f"--text-file: the teacher was trained on {corpus!r}, not a bundled corpus; pass its text"
        ) from None
    return splits.train[: settings.max_chars], splits.valid[: max(settings.max_chars // 10, 1000)]


#: what a student keeps of its teacher's config, per architecture (beyond vocabulary and embedding)
_KEPT = {
    "lstm": ("variant", "layer_norm"),
    "transformer": ("num_heads", "positions", "context"),
    "tcn": ("kernel_size",),
}


def _student(teacher: LanguageModel, settings: DistillSettings) -> LanguageModel:
    """The student: the teacher's architecture (a config without one is an LSTM's), vocabulary,
    embedding and architecture options, at ``hidden`` units and ``layers`` layers."""
    cfg = teacher.config()
    arch = cfg.get("architecture", "lstm")
    hidden = settings.hidden or max(1, cfg["hidden_size"] // 2)
    heads = cfg.get("num_heads", 1)
    if arch == "transformer" and hidden % heads:
        raise ValueError(
            f"--hidden: a Transformer student needs a multiple of the teacher's {heads} heads, got {hidden}"
        )
    torch.manual_seed(settings.seed)
    keep = {k: cfg[k] for k in ("vocab_size", "embed_dim", "tie_weights", *_KEPT.get(arch, ())) if k in cfg}
    return LanguageModel(hidden_size=hidden, num_layers=settings.layers, architecture=arch, **keep)


def distill_lm(
    loaded: Loaded, settings: DistillSettings, out: Path
) -> tuple[list[nn.Module], tuple[str, float, float]]:
    """Distill ``loaded``'s language model; returns the student and ``(measure, teacher's,
    student's)`` bits per token on the held-out text."""
    if loaded.kind.name != "lm":
        raise ValueError(
            f"--method distill: supported for textgen language models only, not {loaded.kind.name} files"
        )
    teacher = loaded.nets[0]
    assert isinstance(teacher, LanguageModel)
    train, valid = _texts(loaded, settings)
    tokenizer = loaded.tokenizers["text"]
    ids, held = tokenizer.encode(train), tokenizer.encode(valid)
    batches = list(StreamBatches(ids, settings.batch_size, settings.bptt))
    student = _student(teacher, settings)
    log.info(
        "distill: %d -> %d units, %d batches x %d epochs",
        teacher.config()["hidden_size"],
        student.config()["hidden_size"],
        len(batches),
        settings.epochs,
    )
    distill(
        teacher,
        student,
        batches,
        task="language_model",
        temperature=settings.temperature,
        alpha=settings.alpha,
        epochs=settings.epochs,
        lr=settings.lr,
        seed=settings.seed,
        clip_norm=1.0,
    )
    student.eval()
    save_model(loaded, [student], out, config=student.config())
    bits = [_bits(m, held) for m in (teacher, student)]
    return [student], ("held-out bits/token", bits[0], bits[1])


def _bits(model: LanguageModel, ids: Any) -> float:
    batch = max(1, min(8, len(ids) // 32))
    nll = stream_nll(model, ids, batch_size=batch, bptt=256)
    return bits_per_token(nll) if math.isfinite(nll) else math.nan

"""The pieces every synthetic task shares: the padded batch, the task interface and the
helpers that sample, pad and judge sequences.

Example::

    >>> batch = SyntheticBatch(torch.zeros(2, 3, 1), torch.zeros(2, 3, 1), torch.ones(2, 3, dtype=torch.bool),
    ...                        torch.tensor([3, 2]))
    >>> len(batch)
    2
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

__all__ = [
    "SyntheticBatch",
    "Task",
    "at_end",
    "check_count",
    "check_prediction",
    "end_mask",
    "final_error_below",
    "pad_steps",
    "randint_inclusive",
]


@dataclass
class SyntheticBatch:
    """A padded batch of a synthetic task.

    Attributes:
        inputs: (N, L, C) float inputs, zero after each sequence's length.
        targets: (N, L, K) float targets (next-symbol sets, one-hot classes, real values) or
            (N, L) int64 class indices (:class:`CopyMemory`); meaningful where ``mask`` is true.
        mask: (N, L) bool, the steps that carry an error signal.
        lengths: (N,) int64 real lengths.
        info: task-specific raw data (e.g. the strings, the marked positions).
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor
    lengths: Tensor
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    @classmethod
    def judged_at_end(
        cls, inputs: Tensor, final: Tensor, lengths: Tensor, info: dict[str, Any]
    ) -> SyntheticBatch:
        """A batch judged at each sequence's last step only: ``final`` (N, K) is the target
        there (zero elsewhere), and the mask is :func:`end_mask`."""
        n, max_len = inputs.shape[:2]
        targets = torch.zeros(n, max_len, final.shape[1], dtype=final.dtype)
        targets[torch.arange(n), lengths - 1] = final
        return cls(inputs, targets, end_mask(lengths, max_len), lengths, info)


class Task:
    """A synthetic task: sizes, how outputs are read, a sampler and the success criterion.

    Attributes:
        input_size, output_size: C and K.
        output: ``"sigmoid"`` (outputs in [0, 1], loss: binary cross-entropy against the local
            targets, the paper's sigmoid output units), ``"linear"`` (MSE) or ``"softmax"``
            (cross-entropy on class indices).
    """

    name: ClassVar[str] = "task"
    #: the variants its ``kind`` option may name (empty: the task has no ``kind``)
    kinds: ClassVar[tuple[str, ...]] = ()
    input_size: int
    output_size: int
    output: str

    def __post_init__(self) -> None:
        """Refuse a ``kind`` that is not one of :attr:`kinds` (a subclass that checks more
        options calls this first)."""
        kind = getattr(self, "kind", None)
        if self.kinds and kind not in self.kinds:
            expected = ", ".join(repr(k) for k in self.kinds[:-1]) + f" or {self.kinds[-1]!r}"
            raise ValueError(f"kind: expected {expected}, got {kind!r}")

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        raise NotImplementedError

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        """(N,) bool: which sequences the (activated) ``prediction`` (N, L, K) gets right."""
        raise NotImplementedError


def check_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected the number of sequences, an int >= 1, got {n!r}")
    return n


def randint_inclusive(low: int, high: int, gen: torch.Generator | None, size: tuple[int, ...] = ()) -> Tensor:
    """Uniform integers in [low, high] (both included)."""
    return torch.randint(low, high + 1, size, generator=gen)


def pad_steps(seqs: list[Tensor], width: int) -> tuple[Tensor, Tensor]:
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    out = torch.zeros(len(seqs), int(lengths.max()), width)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out, lengths


def end_mask(lengths: Tensor, max_len: int) -> Tensor:
    """(N, L) bool, true only at each sequence's last step."""
    return torch.arange(max_len).unsqueeze(0) == (lengths - 1).unsqueeze(1)


def at_end(x: Tensor, lengths: Tensor) -> Tensor:
    """x (N, L, K) at each sequence's last real step: (N, K)."""
    idx = (lengths - 1).to(x.device).view(-1, 1, 1).expand(-1, 1, x.shape[2])
    return x.gather(1, idx).squeeze(1)


def check_prediction(prediction: Tensor, batch: SyntheticBatch, k: int) -> None:
    want = (*batch.targets.shape[:2], k)
    if tuple(prediction.shape) != want:
        raise ValueError(f"prediction: expected shape {want} (N, L, K), got {tuple(prediction.shape)}")


def final_error_below(prediction: Tensor, batch: SyntheticBatch, outputs: int, tolerance: float) -> Tensor:
    """(N,) bool: whether every one of the ``outputs`` at each sequence's last step is within
    ``tolerance`` of its target (the criterion of experiments 3 to 6)."""
    check_prediction(prediction, batch, outputs)
    err = (at_end(prediction, batch.lengths) - at_end(batch.targets, batch.lengths)).abs()
    return (err < tolerance).all(-1)

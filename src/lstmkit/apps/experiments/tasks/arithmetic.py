"""The arithmetic tasks: experiments 4 (adding) and 5 (multiplication) of Hochreiter &
Schmidhuber (1997): two marked values in a long sequence, their sum or product at the end.

Example::

    >>> batch = AddingProblem(T=100).sample(32, torch.Generator().manual_seed(0))
    >>> batch.inputs.shape[2]
    2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from lstmkit.apps.experiments.tasks.base import (
    SyntheticBatch,
    Task,
    check_count,
    final_error_below,
    randint_inclusive,
)

__all__ = ["AddingProblem", "MultiplicationProblem"]


def _marked_pairs(n: int, T: int, gen: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor]:
    """Lengths in [T, T + T/10], the index of X1 (one of the first ten pairs) and of X2 (one
    of the first T/2 - 1 pairs not already marked)."""
    lengths = randint_inclusive(T, T + T // 10, gen, (n,))
    first = randint_inclusive(0, 9, gen, (n,))
    second = torch.empty(n, dtype=torch.int64)
    pool = T // 2 - 1
    for i in range(n):
        x1 = int(first[i])
        if x1 < pool:  # the X1 pair is among the candidates: draw from the others
            j = int(torch.randint(pool - 1, (), generator=gen))
            second[i] = j + 1 if j >= x1 else j
        else:
            second[i] = int(torch.randint(pool, (), generator=gen))
    return lengths, first, second


@dataclass(frozen=True)
class AddingProblem(Task):
    """Experiment 4: the adding problem.

    Each step is a pair (value, marker): values uniform in [-1, 1]; exactly two pairs marked
    1.0, X1 one of the first ten, X2 one of the first T/2 - 1 still unmarked; the first and the
    last marker are -1 unless marked, others 0 (X1 is set to 0 if the very first pair is
    marked). Length uniform in [T, T + T/10]. Target at the end ``0.5 + (X1 + X2) / 4``; right
    if the absolute error is below 0.04.
    """

    T: int = 100
    input_size: int = 2
    output_size: int = 1
    output: str = "linear"
    name: ClassVar[str] = "adding"
    #: what X1 becomes when the very first pair is the marked one
    _first_pair_value: ClassVar[float] = 0.0

    def __post_init__(self) -> None:
        if self.T < 10:
            raise ValueError(f"T: expected >= 10 (X1 is one of the first ten pairs), got {self.T}")

    def _values(self, n: int, max_len: int, gen: torch.Generator | None) -> Tensor:
        return torch.rand(n, max_len, generator=gen, dtype=torch.float64) * 2 - 1

    def _target(self, x1: Tensor, x2: Tensor) -> Tensor:
        return 0.5 + (x1 + x2) / 4.0

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        n = check_count(n)
        lengths, i1, i2 = _marked_pairs(n, self.T, generator)
        max_len = int(lengths.max())
        values = self._values(n, max_len, generator)
        rows = torch.arange(n)
        markers = torch.zeros(n, max_len, dtype=torch.float64)
        markers[:, 0] = -1.0
        markers[rows, lengths - 1] = -1.0
        markers[rows, i1] = 1.0
        markers[rows, i2] = 1.0
        first_marked = (i1 == 0) | (i2 == 0)
        values[first_marked, 0] = self._first_pair_value
        valid = torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)
        values, markers = values * valid, markers * valid
        target = self._target(values[rows, i1], values[rows, i2])  # (N,)
        inputs = torch.stack([values, markers], -1).float()
        return SyntheticBatch.judged_at_end(
            inputs, target.float().unsqueeze(1), lengths, {"first": i1, "second": i2}
        )

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        return final_error_below(prediction, batch, 1, 0.04)


@dataclass(frozen=True)
class MultiplicationProblem(AddingProblem):
    """Experiment 5: as :class:`AddingProblem`, but values uniform in [0, 1], X1 set to 1.0 if
    the first pair is marked, and the target ``X1 * X2``; right if the error is below 0.04."""

    name: ClassVar[str] = "multiplication"
    _first_pair_value: ClassVar[float] = 1.0

    def _values(self, n: int, max_len: int, gen: torch.Generator | None) -> Tensor:
        return torch.rand(n, max_len, generator=gen, dtype=torch.float64)

    def _target(self, x1: Tensor, x2: Tensor) -> Tensor:
        return x1 * x2

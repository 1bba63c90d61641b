"""The temporal order task: experiment 6 of Hochreiter & Schmidhuber (1997), classes by the
order of two or three widely separated symbols among distractors.

Example::

    >>> batch = TemporalOrder(kind="6a").sample(8, torch.Generator().manual_seed(0))
    >>> batch.targets.shape[2]
    4
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

__all__ = ["TemporalOrder"]


TEMPORAL_SYMBOLS = "abcdXYBE"


@dataclass(frozen=True)
class TemporalOrder(Task):
    """Experiment 6: temporal order.

    Local inputs over ``a, b, c, d, X, Y, B, E``; the sequence starts with E, ends with the
    trigger B, and is otherwise random distractors a-d except at positions t1, t2 (6a: t1 in
    [10, 20], t2 in [50, 60]) or t1, t2, t3 (6b: [10, 20], [33, 43], [66, 76]), 1-based, which
    hold X or Y; length uniform in [100, 110]. The class (one-hot target at the end) is the
    order: 6a XX, XY, YX, YY -> Q, R, S, U; 6b XXX..YYY -> Q, R, S, U, V, A, B, C (binary with
    X = 0). Right if every output's final error is below 0.3.
    """

    kind: str = "6a"
    input_size: int = 8
    output: str = "sigmoid"
    name: ClassVar[str] = "temporal-order"
    kinds: ClassVar[tuple[str, ...]] = ("6a", "6b")

    @property
    def output_size(self) -> int:  # type: ignore[override]
        return 4 if self.kind == "6a" else 8

    @property
    def windows(self) -> list[tuple[int, int]]:
        return [(10, 20), (50, 60)] if self.kind == "6a" else [(10, 20), (33, 43), (66, 76)]

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        n, gen = check_count(n), generator
        lengths = randint_inclusive(100, 110, gen, (n,))
        max_len = int(lengths.max())
        sym = torch.randint(0, 4, (n, max_len), generator=gen)  # distractors a-d
        sym[:, 0] = 7  # E
        rows = torch.arange(n)
        cls = torch.zeros(n, dtype=torch.int64)
        positions = []
        for lo, hi in self.windows:
            pos = randint_inclusive(lo, hi, gen, (n,)) - 1  # 1-based -> 0-based
            xy = randint_inclusive(0, 1, gen, (n,))  # 0: X, 1: Y
            sym[rows, pos] = 4 + xy
            cls = cls * 2 + xy
            positions.append(pos)
        sym[rows, lengths - 1] = 6  # B, the trigger
        valid = torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)
        inputs = torch.nn.functional.one_hot(sym, 8).float() * valid.unsqueeze(-1)
        final = torch.nn.functional.one_hot(cls, self.output_size).float()
        return SyntheticBatch.judged_at_end(inputs, final, lengths, {"cls": cls, "positions": positions})

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        return final_error_below(prediction, batch, self.output_size, 0.3)

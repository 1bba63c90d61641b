"""The long-time-lag tasks: experiments 2 (long lags with and without distractors) and 3
(noise and signal on one channel) of Hochreiter & Schmidhuber (1997), and the copy-memory task
in the form of Arjovsky et al. (2016).

Example::

    >>> batch = LongTimeLag(kind="2a", p=100).sample(8, torch.Generator().manual_seed(0))
    >>> batch.inputs.shape[1]
    101
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from lstmkit.apps.experiments.tasks.base import (
    SyntheticBatch,
    Task,
    check_count,
    check_prediction,
    end_mask,
    final_error_below,
    pad_steps,
    randint_inclusive,
)

__all__ = ["CopyMemory", "LongTimeLag", "NoiseSignal"]


# ---------------------------------------------------------------------------------- experiment 2


@dataclass(frozen=True)
class LongTimeLag(Task):
    """Experiment 2: noise-free and noisy sequences with long time lags.

    * ``"2a"``: symbols a_1..a_{p-1}, a_p = x, a_{p+1} = y (p + 1 local inputs and outputs); the
      two sequences (y, a_1, ..., a_{p-1}, y) and (x, a_1, ..., a_{p-1}, x), each with
      probability 1/2; the net sees the first p elements and predicts each next one (error at
      every step); right if every output's error is below 0.25 at every step.
    * ``"2b"``: as 2a but a_1..a_{p-1} replaced by p - 1 distractors drawn at random from
      them for every sequence; only the final element is predictable (error at the end only).
    * ``"2c"``: p distractors a_1..a_p plus e, b, x, y (p + 4 inputs, 2 outputs x, y): b, then
      x or y, then q distractors, then further distractors each with probability 9/10 or the
      trigger e (1/10) -- length q + k + 4, expected q + 13 -- and after e the relevant symbol
      again; the net reads up to e and predicts the last element (error at the end only); right
      if both outputs' error is below 0.2. The minimal lag is q + 1.
    """

    kind: str = "2a"
    p: int = 100
    q: int = 100
    output: str = "sigmoid"
    name: ClassVar[str] = "long-lag"
    kinds: ClassVar[tuple[str, ...]] = ("2a", "2b", "2c")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.p < 2 or (self.kind == "2c" and self.q < 1):
            raise ValueError(f"p, q: expected p >= 2 and q >= 1, got p={self.p}, q={self.q}")

    @property
    def input_size(self) -> int:  # type: ignore[override]
        return self.p + 4 if self.kind == "2c" else self.p + 1

    @property
    def output_size(self) -> int:  # type: ignore[override]
        return 2 if self.kind == "2c" else self.p + 1

    @property
    def threshold(self) -> float:
        return 0.2 if self.kind == "2c" else 0.25

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        n = check_count(n)
        p, gen = self.p, generator
        first = randint_inclusive(0, 1, gen, (n,))  # 0: x, 1: y
        if self.kind in ("2a", "2b"):
            x_id = p - 1  # a_p = x (0-based column p - 1), a_{p+1} = y (column p)
            rel = x_id + first  # (N,)
            if self.kind == "2a":
                middle = torch.arange(p - 1).unsqueeze(0).expand(n, -1)  # a_1..a_{p-1}
            else:
                middle = torch.randint(0, p - 1, (n, p - 1), generator=gen)
            seq = torch.cat([rel.unsqueeze(1), middle, rel.unsqueeze(1)], 1)  # (N, p + 1)
            inputs = torch.nn.functional.one_hot(seq[:, :-1], p + 1).float()  # (N, p, p + 1)
            targets = torch.nn.functional.one_hot(seq[:, 1:], p + 1).float()
            lengths = torch.full((n,), p, dtype=torch.int64)
            mask = torch.ones(n, p, dtype=torch.bool) if self.kind == "2a" else end_mask(lengths, p)
            return SyntheticBatch(inputs, targets, mask, lengths, {"relevant": first, "symbols": seq})
        # 2c: columns a_1..a_p = 0..p-1, e = p, b = p + 1, x = p + 2, y = p + 3
        e, b, x = p, p + 1, p + 2
        seqs, xs = [], []
        for i in range(n):
            k = 0
            while float(torch.rand((), generator=gen)) < 0.9:
                k += 1
            distract = torch.randint(0, p, (self.q + k,), generator=gen)
            rel = x + int(first[i])
            s = torch.cat([torch.tensor([b, rel]), distract, torch.tensor([e])])  # inputs
            seqs.append(torch.cat([s, torch.tensor([rel])]))
            xs.append(torch.nn.functional.one_hot(s, p + 4).float())
        inputs, lengths = pad_steps(xs, p + 4)
        final = torch.nn.functional.one_hot(first, 2).float()
        return SyntheticBatch.judged_at_end(inputs, final, lengths, {"relevant": first, "symbols": seqs})

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        check_prediction(prediction, batch, self.output_size)
        ok = ((prediction - batch.targets).abs() < self.threshold).all(-1)  # (N, L)
        return (ok | ~batch.mask).all(-1)


# ---------------------------------------------------------------------------------- experiment 3


@dataclass(frozen=True)
class NoiseSignal(Task):
    """Experiment 3: noise and signal on the same channel (Bengio et al.'s 2-sequence problem).

    One input line; length uniform in [T, T + T/10]; the first ``N`` values are 1.0 (class 1)
    or -1.0 (class 2), the rest Gaussian noise with mean 0 and variance 0.2; target 1.0 / 0.0
    at the end; right if the final error is below 0.2. ``"3b"`` adds the same Gaussian noise
    (variance 0.2) to the first ``N`` values.
    """

    kind: str = "3a"
    T: int = 100
    N: int = 3
    input_size: int = 1
    output_size: int = 1
    output: str = "sigmoid"
    name: ClassVar[str] = "noise-signal"
    kinds: ClassVar[tuple[str, ...]] = ("3a", "3b")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.T < 2 or not 1 <= self.N < self.T:
            raise ValueError(f"T, N: expected T >= 2 and 1 <= N < T, got T={self.T}, N={self.N}")

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        n, gen = check_count(n), generator
        lengths = randint_inclusive(self.T, self.T + self.T // 10, gen, (n,))
        max_len = int(lengths.max())
        cls = randint_inclusive(0, 1, gen, (n,))  # 1: class 1 (+1, target 1), 0: class 2 (-1, target 0)
        std = math.sqrt(0.2)
        x = torch.randn(n, max_len, generator=gen) * std
        sign = (cls.float() * 2 - 1).unsqueeze(1)  # (N, 1)
        info = sign.expand(n, self.N)
        if self.kind == "3b":
            x[:, : self.N] = info + x[:, : self.N]
        else:
            x[:, : self.N] = info
        valid = torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)
        x = x * valid
        return SyntheticBatch.judged_at_end(x.unsqueeze(-1), cls.float().unsqueeze(1), lengths, {"cls": cls})

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        return final_error_below(prediction, batch, 1, 0.2)


# ---------------------------------------------------------------------------------- copy memory


@dataclass(frozen=True)
class CopyMemory(Task):
    """The copy-memory task: ``copy_len`` symbols from 1..``symbols``, then ``T`` blanks (0) of
    which the last is the delimiter (``symbols + 1``), then ``copy_len`` blanks during which the
    net must output the symbols in order; the target is blank elsewhere. Length T + 2 copy_len.
    Right if every copied symbol is the output's argmax (all steps carry cross-entropy).
    A memoryless net's best loss is ``copy_len * log(symbols) / (T + 2 copy_len)``.
    """

    T: int = 100
    symbols: int = 8
    copy_len: int = 10
    output: str = "softmax"
    name: ClassVar[str] = "copy"

    def __post_init__(self) -> None:
        if self.T < 1 or self.symbols < 2 or self.copy_len < 1:
            raise ValueError(
                "T, symbols, copy_len: expected >= 1, >= 2, >= 1, "
                f"got {self.T}, {self.symbols}, {self.copy_len}"
            )

    @property
    def input_size(self) -> int:  # type: ignore[override]
        return self.symbols + 2

    @property
    def output_size(self) -> int:  # type: ignore[override]
        return self.symbols + 1

    @property
    def baseline_loss(self) -> float:
        return self.copy_len * math.log(self.symbols) / (self.T + 2 * self.copy_len)

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        n = check_count(n)
        k, length = self.copy_len, self.T + 2 * self.copy_len
        data = torch.randint(1, self.symbols + 1, (n, k), generator=generator)
        sym = torch.zeros(n, length, dtype=torch.int64)
        sym[:, :k] = data
        sym[:, k + self.T - 1] = self.symbols + 1  # the delimiter
        targets = torch.zeros(n, length, dtype=torch.int64)
        targets[:, -k:] = data
        inputs = torch.nn.functional.one_hot(sym, self.symbols + 2).float()
        mask = torch.ones(n, length, dtype=torch.bool)
        lengths = torch.full((n,), length, dtype=torch.int64)
        return SyntheticBatch(inputs, targets, mask, lengths, {"data": data})

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        check_prediction(prediction, batch, self.output_size)
        k = self.copy_len
        return (prediction[:, -k:].argmax(-1) == batch.targets[:, -k:]).all(-1)

"""The three tasks of the variant study, built from data the caller loads.

Each task draws training batches from a NumPy generator, computes the training loss of a
:class:`~lstmkit.apps.experiments.greff.model.VariantNet`, and scores a trained one on its test
split (lower is better for every metric). ``baseline`` is the metric of a trivial predictor on
the same split (unigram frequencies, the majority class, yesterday's value).

Example::

    >>> task = CharLMTask("lm", "abcabcabc" * 50, "abcabc" * 20, seq_len=16, batch_size=4)
    >>> x, lengths, y = task.batch(np.random.default_rng(0))
    >>> x.shape, y.shape
    (torch.Size([4, 16, 4]), torch.Size([4, 16]))
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.core.layers.encoder import last_step

__all__ = [
    "CharLMTask",
    "ClassificationTask",
    "GreffTask",
    "NextStepTask",
    "PianoRollTask",
    "Windows",
    "next_step_windows",
]

Batch = tuple[Tensor, Tensor | None, Tensor]


class Windows(NamedTuple):
    """Test windows of a next-step task.

    Attributes:
        index: (B, 2L + 1) positions into the sequence; window b reads ``index[b, :-1]`` and
            predicts ``index[b, 1:]``.
        scored: (B, 2L) bool, the predictions that count (each target exactly once).
    """

    index: Tensor
    scored: Tensor


def next_step_windows(total: int, first: int, length: int) -> Windows:
    """Windows that score every target position in ``[first, total)`` exactly once, each from
    between ``length`` and ``2 length`` steps of context (targets in blocks of ``length``).

    Example::

        >>> w = next_step_windows(10, 3, 2)
        >>> w.index[0].tolist(), w.scored.sum().item()
        ([0, 1, 2, 3, 4], 7)
    """
    if first < length + 1 or total - first < 1 or total < 2 * length + 1:
        raise ValueError(
            f"first: expected length + 1 <= first < total and total >= 2 length + 1, got first={first}, "
            f"total={total}, length={length}"
        )
    ends = list(range(first + length, total + 1, length))
    if not ends or ends[-1] < total:
        ends.append(total)
    index = torch.stack([torch.arange(e - 2 * length - 1, e) for e in ends])  # (B, 2L + 1)
    lows = [first, *ends[:-1]]
    targets = index[:, 1:]  # (B, 2L)
    low = torch.tensor(lows)[:, None]  # (B, 1)
    high = torch.tensor(ends)[:, None]
    return Windows(index, (targets >= low) & (targets < high))


class GreffTask(Protocol):
    """What the trial runner needs of a task."""

    name: str
    metric: str
    input_size: int
    output_size: int
    baseline: float

    def batch(self, rng: np.random.Generator) -> Batch:
        """One training batch: x (N, L, H_in), lengths (N,) or ``None``, targets."""
        ...

    def loss(self, net: nn.Module, x: Tensor, lengths: Tensor | None, target: Tensor) -> Tensor:
        """The mean training loss of ``net`` on a batch."""
        ...

    def evaluate(self, net: nn.Module) -> float:
        """The test metric of ``net`` (lower is better)."""
        ...


class CharLMTask:
    """Next-character prediction on one-hot characters; metric: test bits per character.

    Test characters are scored in windows (see :func:`next_step_windows`), so that each has
    between ``seq_len`` and ``2 seq_len`` characters of context (at most twice the training
    windows' length); characters
    unseen in training map to one extra symbol. The first ``seq_len + 1`` are not scored.
    """

    metric = "bits per char"

    def __init__(self, name: str, train: str, test: str, *, seq_len: int = 100, batch_size: int = 32) -> None:
        self.name = name
        chars = sorted(set(train))
        index = {c: i for i, c in enumerate(chars)}
        self.input_size = self.output_size = len(chars) + 1
        self.train = np.array([index[c] for c in train], dtype=np.int64)
        test_ids = torch.from_numpy(np.array([index.get(c, len(chars)) for c in test], dtype=np.int64))
        if len(test) < 2 * seq_len + 2 or len(self.train) <= seq_len + 1:
            raise ValueError(
                f"test: expected more than {2 * seq_len + 1} chars (2 seq_len + 1), got {len(test)}"
            )
        self.windows = next_step_windows(len(test_ids), seq_len + 1, seq_len)
        self.test = test_ids[self.windows.index]  # (B, 2L + 1)
        self.seq_len, self.batch_size = seq_len, batch_size
        counts = np.bincount(self.train, minlength=self.input_size) + 1.0
        p = torch.as_tensor(counts / counts.sum())
        self.baseline = float(-torch.log2(p[self.test[:, 1:]])[self.windows.scored].mean())

    def _one_hot(self, ids: Tensor) -> Tensor:
        return F.one_hot(ids, self.input_size).float()

    def batch(self, rng: np.random.Generator) -> Batch:
        starts = rng.integers(0, len(self.train) - self.seq_len - 1, self.batch_size)
        ids = torch.from_numpy(np.stack([self.train[s : s + self.seq_len + 1] for s in starts]))
        return self._one_hot(ids[:, :-1]), None, ids[:, 1:]  # (N, L, V), (N, L)

    def loss(self, net: nn.Module, x: Tensor, lengths: Tensor | None, target: Tensor) -> Tensor:
        logits = net(x)  # (N, L, V)
        return F.cross_entropy(logits.flatten(0, 1), target.flatten())

    @torch.no_grad()
    def evaluate(self, net: nn.Module) -> float:
        logits = net(self._one_hot(self.test[:, :-1]))  # (B, 2L, V)
        nll = F.cross_entropy(logits.transpose(1, 2), self.test[:, 1:], reduction="none")  # (B, 2L)
        return float(nll[self.windows.scored].mean()) / math.log(2)


class ClassificationTask:
    """Sequence classification from the last real step; metric: test error rate.

    Channels are standardized with the training split's mean and std over real steps.

    Args:
        x_train: (N, L, C) padded; lengths_train: (N,); y_train: (N,) class indices.
        x_test, lengths_test, y_test: the test split.
    """

    metric = "test error"

    def __init__(
        self,
        name: str,
        train: tuple[np.ndarray, np.ndarray, np.ndarray],
        test: tuple[np.ndarray, np.ndarray, np.ndarray],
        *,
        batch_size: int = 32,
    ) -> None:
        self.name, self.batch_size = name, batch_size
        (xtr, ltr, ytr), (xte, lte, yte) = train, test
        real = np.arange(xtr.shape[1])[None, :] < ltr[:, None]  # (N, L)
        mean, std = xtr[real].mean(0), xtr[real].std(0) + 1e-8  # (C,)
        self.x_train = torch.as_tensor((xtr - mean) / std * real[..., None], dtype=torch.float32)
        real_te = np.arange(xte.shape[1])[None, :] < lte[:, None]
        self.x_test = torch.as_tensor((xte - mean) / std * real_te[..., None], dtype=torch.float32)
        self.l_train, self.l_test = torch.as_tensor(ltr).long(), torch.as_tensor(lte).long()
        self.y_train, self.y_test = torch.as_tensor(ytr).long(), torch.as_tensor(yte).long()
        self.input_size = int(xtr.shape[2])
        self.output_size = int(max(ytr.max(), yte.max())) + 1
        majority = int(np.bincount(ytr).argmax())
        self.baseline = float((yte != majority).mean())

    def batch(self, rng: np.random.Generator) -> Batch:
        i = torch.from_numpy(rng.integers(0, len(self.y_train), self.batch_size))
        return self.x_train[i], self.l_train[i], self.y_train[i]

    def loss(self, net: nn.Module, x: Tensor, lengths: Tensor | None, target: Tensor) -> Tensor:
        return F.cross_entropy(last_step(net(x, lengths), lengths), target)

    @torch.no_grad()
    def evaluate(self, net: nn.Module) -> float:
        logits = last_step(net(self.x_test, self.l_test), self.l_test)  # (N, K)
        return float((logits.argmax(1) != self.y_test).float().mean())


class NextStepTask:
    """Next-step prediction of a multichannel series; metric: test MSE (standardized units).

    The last ``test_steps`` steps are scored, each predicted from a window of between
    ``seq_len`` and ``2 seq_len`` preceding steps (see :func:`next_step_windows`), so never
    from more than twice the training windows' length. Channels are standardized with the
    training part's statistics.

    Args:
        series: (T, C) the series.
        test_steps: steps at the end held out for testing.
    """

    metric = "test MSE"

    def __init__(
        self, name: str, series: np.ndarray, test_steps: int, *, seq_len: int = 64, batch_size: int = 32
    ) -> None:
        self.name, self.seq_len, self.batch_size = name, seq_len, batch_size
        if series.ndim != 2 or not 0 < test_steps < len(series) - 2 * seq_len - 1:
            raise ValueError(
                f"series: expected (T, C) with T > test_steps + 2 seq_len + 1, got {series.shape}"
            )
        self.split = len(series) - test_steps
        mean, std = series[: self.split].mean(0), series[: self.split].std(0) + 1e-8
        self.series = torch.as_tensor((series - mean) / std, dtype=torch.float32)  # (T, C)
        self.input_size = self.output_size = int(series.shape[1])
        self.windows = next_step_windows(len(series), self.split, seq_len)
        self.test = self.series[self.windows.index]  # (B, 2L + 1, C)
        persistence = ((self.test[:, 1:] - self.test[:, :-1]) ** 2).mean(2)  # (B, 2L)
        self.baseline = float(persistence[self.windows.scored].mean())

    def batch(self, rng: np.random.Generator) -> Batch:
        starts = rng.integers(0, self.split - self.seq_len - 1, self.batch_size)
        windows = torch.stack([self.series[s : s + self.seq_len + 1] for s in starts])  # (N, L+1, C)
        return windows[:, :-1], None, windows[:, 1:]

    def loss(self, net: nn.Module, x: Tensor, lengths: Tensor | None, target: Tensor) -> Tensor:
        return F.mse_loss(net(x), target)

    @torch.no_grad()
    def evaluate(self, net: nn.Module) -> float:
        err = ((net(self.test[:, :-1]) - self.test[:, 1:]) ** 2).mean(2)  # (B, 2L)
        return float(err[self.windows.scored].mean())


class PianoRollTask:
    r"""Next-frame prediction of polyphonic piano rolls (the paper's JSB chorales task); metric:
    test negative log-likelihood per frame, in nats, summed over the P pitches as in
    Boulanger-Lewandowski et al. (2012):

    .. math::
        \text{NLL}_t = -\sum_p \left[ v_{t,p} \log \sigma(z_{t,p}) + (1 - v_{t,p})
        \log (1 - \sigma(z_{t,p})) \right].

    Training windows of ``seq_len + 1`` frames are drawn from the training rolls (each roll in
    proportion to its windows); every test roll is read whole (padded, with its length), and
    every frame after its first is scored. ``baseline``: each pitch on with its training
    frequency, independently of the past.

    Args:
        train, test: (L_i, P) binary rolls; a training roll shorter than ``seq_len + 1`` frames
            is not drawn.
    """

    metric = "test NLL per frame"

    def __init__(
        self,
        name: str,
        train: list[np.ndarray],
        test: list[np.ndarray],
        *,
        seq_len: int = 32,
        batch_size: int = 16,
    ) -> None:
        self.name, self.seq_len, self.batch_size = name, seq_len, batch_size
        self.train = [torch.as_tensor(r, dtype=torch.float32) for r in train if len(r) > seq_len]
        if not self.train or not test or any(len(r) < 2 for r in test):
            raise ValueError(
                f"train, test: expected training rolls of more than {seq_len} frames and test rolls "
                "of at least 2"
            )
        starts = np.array([len(r) - seq_len for r in self.train], dtype=np.float64)
        self.weights = starts / starts.sum()
        self.input_size = self.output_size = int(self.train[0].shape[1])
        self.l_test = torch.tensor([len(r) for r in test])
        self.x_test = nn.utils.rnn.pad_sequence(
            [torch.as_tensor(r, dtype=torch.float32) for r in test], batch_first=True
        )  # (B, L_max, P)
        self.scored = torch.arange(1, self.x_test.shape[1])[None, :] < self.l_test[:, None]  # (B, L_max - 1)
        rate = torch.cat(self.train).mean(0).clamp(1e-4, 1 - 1e-4)  # (P,)
        self.baseline = self._nll(torch.logit(rate).expand_as(self.x_test[:, 1:]))

    def _nll(self, logits: Tensor) -> float:
        """The mean scored NLL per frame of next-frame ``logits`` (B, L_max - 1, P)."""
        bce = F.binary_cross_entropy_with_logits(logits, self.x_test[:, 1:], reduction="none").sum(2)
        return float(bce[self.scored].mean())

    def batch(self, rng: np.random.Generator) -> Batch:
        rolls = rng.choice(len(self.train), self.batch_size, p=self.weights)
        windows = []
        for k in rolls:
            s = int(rng.integers(0, len(self.train[k]) - self.seq_len))
            windows.append(self.train[k][s : s + self.seq_len + 1])
        w = torch.stack(windows)  # (N, L + 1, P)
        return w[:, :-1], None, w[:, 1:]

    def loss(self, net: nn.Module, x: Tensor, lengths: Tensor | None, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(net(x), target, reduction="none").sum(2).mean()

    @torch.no_grad()
    def evaluate(self, net: nn.Module) -> float:
        return self._nll(net(self.x_test[:, :-1], (self.l_test - 1).clamp(min=1)))

"""Batches of token ids: padding, length bucketing, and the contiguous streams of a language
model.

:func:`pad_sequences` pads id lists into an (N, L) batch plus (N,) lengths;
:class:`BucketBatchSampler` groups sequences of similar length so little of each batch is
padding (the usual 2-4x speed-up for recurrent models on text); :func:`batchify` and
:class:`StreamBatches` cut one long stream into ``batch_size`` parallel streams and
truncated-BPTT chunks.

Example::

    >>> batch, lengths = pad_sequences([[5, 6, 7], [8]])
    >>> batch.tolist(), lengths.tolist()
    ([[5, 6, 7], [8, 0, 0]], [3, 1])
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

import torch
from torch import Tensor

from lstmkit.apps.language.vocab import Vocab

__all__ = ["BucketBatchSampler", "BucketBatches", "StreamBatches", "batchify", "pad_sequences"]

B = TypeVar("B")


def pad_sequences(
    sequences: Sequence[Sequence[int] | Tensor],
    *,
    pad_id: int = Vocab.pad_id,
    batch_first: bool = True,
    min_length: int = 1,
) -> tuple[Tensor, Tensor]:
    """Pad id sequences into one LongTensor.

    Args:
        sequences: N sequences of token ids (lists or 1-D tensors).
        pad_id: the id of the padding (``<pad>`` = 0).
        batch_first: return (N, L) (default) or time-major (L, N).
        min_length: refuse shorter sequences (default 1: a recurrent model needs a step).

    Returns:
        ``(padded, lengths)``: (N, L) or (L, N) int64 ids, L the longest length, and (N,) int64
        lengths.

    Example::

        >>> pad_sequences([[5, 6, 7], [8]])
        (tensor([[5, 6, 7],
                [8, 0, 0]]), tensor([3, 1]))
    """
    if len(sequences) == 0:
        raise ValueError("sequences: expected at least one sequence, got an empty batch")
    lengths = [len(s) for s in sequences]
    for i, n in enumerate(lengths):
        if n < min_length:
            raise ValueError(
                f"sequences[{i}]: expected at least {min_length} token(s), got {n} (empty text?)"
            )
    out = torch.full((len(sequences), max(lengths)), pad_id, dtype=torch.long)  # (N, L)
    for i, s in enumerate(sequences):
        if lengths[i]:
            out[i, : lengths[i]] = torch.as_tensor(s, dtype=torch.long)
    lens = torch.tensor(lengths, dtype=torch.long)
    return (out if batch_first else out.t().contiguous()), lens


class BucketBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of indices whose sequences have similar lengths.

    Each epoch shuffles the indices, cuts them into pools of ``batch_size * pool_batches``,
    sorts each pool by length, cuts it into batches and shuffles the batches, so a batch
    has little padding yet the order still varies from epoch to epoch (as in torchtext's
    ``BucketIterator`` and fairseq). Deterministic given ``seed`` and the epoch
    (:meth:`set_epoch`, or the count of completed iterations).

    Args:
        lengths: the length of every sequence of the dataset.
        batch_size: sequences per batch.
        shuffle: ``False`` gives one sorted pass (for evaluation).
        pool_batches: batches per sorting pool.
        drop_last: drop a final short batch.
        seed: base seed of the shuffles.

    Example::

        >>> sampler = BucketBatchSampler([len(s) for s in ids], batch_size=32)
        >>> loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate)
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        pool_batches: int = 50,
        drop_last: bool = False,
        seed: int = 0,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
        if isinstance(pool_batches, bool) or not isinstance(pool_batches, int) or pool_batches < 1:
            raise ValueError(f"pool_batches: expected an int >= 1, got {pool_batches!r}")
        if len(lengths) == 0:
            raise ValueError("lengths: expected at least one sequence")
        self.lengths = [int(n) for n in lengths]
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.pool_batches = pool_batches
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        idx = list(range(len(self.lengths)))
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        if self.shuffle:
            rng.shuffle(idx)
            pool = self.batch_size * self.pool_batches
            pools = [idx[i : i + pool] for i in range(0, len(idx), pool)]
        else:
            pools = [idx]
        batches: list[list[int]] = []
        for p in pools:
            p = sorted(p, key=lambda i: self.lengths[i])
            batches.extend(p[i : i + self.batch_size] for i in range(0, len(p), self.batch_size))
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        if self.shuffle:
            rng.shuffle(batches)
            self.epoch += 1
        yield from batches

    def __len__(self) -> int:
        if self.drop_last:
            # pools cut batches separately; count exactly
            if not self.shuffle:
                return len(self.lengths) // self.batch_size
            pool = self.batch_size * self.pool_batches
            n = len(self.lengths)
            full, rest = divmod(n, pool)
            return full * self.pool_batches + rest // self.batch_size
        if not self.shuffle:
            return math.ceil(len(self.lengths) / self.batch_size)
        pool = self.batch_size * self.pool_batches
        n = len(self.lengths)
        full, rest = divmod(n, pool)
        return full * self.pool_batches + math.ceil(rest / self.batch_size)


class BucketBatches(Generic[B]):
    """The batches of a dataset of sequences: the index lists of a :class:`BucketBatchSampler`,
    each made into a batch by ``collate``; an iterable with a length, read anew (and, shuffled,
    in a new order) on every pass.

    Args:
        lengths: the length of every sequence of the dataset.
        batch_size, shuffle, seed: the sampler's.
        collate: the batch of a list of indices.

    Example::

        >>> ids = [[5, 6, 7], [8], [9, 10]]
        >>> batches = BucketBatches([3, 1, 2], 2, lambda idx: pad_sequences([ids[i] for i in idx]))
        >>> tokens, lengths = next(iter(batches))
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        collate: Callable[[list[int]], B],
        *,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        self.sampler = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed)
        self.collate = collate

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[B]:
        return (self.collate(b) for b in self.sampler)


def batchify(ids: Sequence[int] | Tensor, batch_size: int) -> Tensor:
    """Cut one long id stream into ``batch_size`` contiguous rows for language modelling.

    Row k holds tokens ``[k * T, (k + 1) * T)`` with T = len(ids) // batch_size (the tail that
    does not fill a row is dropped), so consecutive chunks of columns continue each row's text
    and a model's state can be carried across them (truncated BPTT).

    Returns:
        (N, T) int64 with N = ``batch_size``.
    """
    t = torch.as_tensor(ids, dtype=torch.long).flatten()
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
    per_row = t.numel() // batch_size
    if per_row < 2:
        raise ValueError(f"ids: {t.numel()} tokens are too few for {batch_size} rows of at least 2 tokens")
    return t[: per_row * batch_size].view(batch_size, per_row)  # (N, T)


class StreamBatches:
    """Consecutive ``(x, y)`` chunks of a token stream for language-model training.

    The stream is cut into ``batch_size`` rows (:func:`batchify`); chunk k holds columns
    ``[k * bptt, (k + 1) * bptt)`` as input and the same shifted by one as target, so a model
    can carry its state from one chunk to the next (truncated BPTT, ``carry_state``).

    Args:
        ids: the token stream.
        batch_size: N, rows.
        bptt: L, steps per chunk.

    Yields:
        ``(x, y)``, each (N, L) int64 (the last chunk may be shorter).
    """

    def __init__(self, ids: Sequence[int] | Tensor, batch_size: int, bptt: int) -> None:
        if isinstance(bptt, bool) or not isinstance(bptt, int) or bptt < 1:
            raise ValueError(f"bptt: expected an int >= 1, got {bptt!r}")
        self.rows = batchify(ids, batch_size)  # (N, T)
        self.bptt = bptt

    def __len__(self) -> int:
        return math.ceil((self.rows.shape[1] - 1) / self.bptt)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        t = self.rows.shape[1]
        for start in range(0, t - 1, self.bptt):
            stop = min(start + self.bptt, t - 1)
            yield self.rows[:, start:stop], self.rows[:, start + 1 : stop + 1]  # (N, L), (N, L)

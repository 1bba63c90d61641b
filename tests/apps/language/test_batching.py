"""Batches of ids: padding, length bucketing, language-model streams."""

from __future__ import annotations

import random

import pytest
import torch

from lstmkit.apps.language.batching import (
    BucketBatches,
    BucketBatchSampler,
    StreamBatches,
    batchify,
    pad_sequences,
)


def test_pad_sequences_values_lengths_and_errors() -> None:
    padded, lengths = pad_sequences([[5, 6, 7], [8], torch.tensor([9, 10])])
    assert padded.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert lengths.tolist() == [3, 1, 2]
    tm, _ = pad_sequences([[5, 6], [7]], pad_id=1, batch_first=False)
    assert tm.tolist() == [[5, 7], [6, 1]]
    with pytest.raises(ValueError, match=r"sequences\[1\]: expected at least 1 token"):
        pad_sequences([[1], []])
    with pytest.raises(ValueError, match="empty batch"):
        pad_sequences([])


def test_bucket_sampler_covers_everything_and_reduces_padding() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(1, 100) for _ in range(1000)]
    sampler = BucketBatchSampler(lengths, 16, seed=3)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert len(batches) == len(sampler)

    def padding(bs: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in bs)

    order = list(range(1000))
    rng.shuffle(order)
    plain = [order[i : i + 16] for i in range(0, 1000, 16)]
    assert padding(batches) < 0.25 * padding(plain)
    assert list(BucketBatchSampler(lengths, 16, seed=3)) == batches  # deterministic
    assert list(sampler) != batches  # next epoch: another order
    ordered = list(BucketBatchSampler(lengths, 16, shuffle=False))
    flat = [lengths[i] for b in ordered for i in b]
    assert flat == sorted(flat)
    dl = BucketBatchSampler(lengths, 16, drop_last=True, seed=1)
    assert all(len(b) == 16 for b in dl) and len(list(dl)) == len(dl)
    with pytest.raises(ValueError, match="batch_size"):
        BucketBatchSampler(lengths, 0)


def test_batchify_and_stream_batches() -> None:
    ids = list(range(103))
    rows = batchify(ids, 4)
    assert rows.shape == (4, 25) and rows[1, 0] == 25 and rows[3, 24] == 99
    chunks = list(StreamBatches(ids, 4, 10))
    assert len(chunks) == len(StreamBatches(ids, 4, 10)) == 3
    for x, y in chunks:
        assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal(y - x, torch.ones_like(x))
    assert torch.cat([x for x, _ in chunks], 1).tolist() == rows[:, :-1].tolist()
    with pytest.raises(ValueError, match="too few"):
        batchify([1, 2, 3], 4)


def test_bucket_batches_collate_the_sampler_batches_on_every_pass() -> None:
    ids = [[5, 6, 7], [8], [9, 10], [11, 12, 13, 14], [15]]
    batches = BucketBatches([len(s) for s in ids], 2, lambda idx: sorted(idx), shuffle=True, seed=1)
    sampler = BucketBatchSampler([len(s) for s in ids], 2, shuffle=True, seed=1)
    assert len(batches) == len(sampler) == 3
    for _ in range(2):  # a new order on each pass, as the sampler's
        assert list(batches) == [sorted(b) for b in sampler]
    first = next(
        iter(BucketBatches([3, 1], 2, lambda idx: pad_sequences([ids[i] for i in idx]), shuffle=False))
    )
    assert first[0].tolist() == [[8, 0, 0], [5, 6, 7]] and first[1].tolist() == [1, 3]

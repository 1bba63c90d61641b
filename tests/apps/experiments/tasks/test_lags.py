"""The long-lag tasks (experiments 2 and 3, copy memory) against their definitions."""

from __future__ import annotations

import math

import pytest
import torch

from lstmkit.apps.experiments.tasks import (
    CopyMemory,
    LongTimeLag,
    NoiseSignal,
)


@pytest.mark.parametrize("p", [5, 100])
def test_long_lag_2a(p):
    batch = LongTimeLag("2a", p=p).sample(200, torch.Generator().manual_seed(0))
    seq = batch.info["symbols"]  # (N, p + 1) symbol indices: x = p - 1, y = p
    for n in range(200):
        s = seq[n].tolist()
        assert s[0] == s[-1] and s[0] in (p - 1, p) and s[1:-1] == list(range(p - 1))
        assert batch.inputs[n].argmax(-1).tolist() == s[:-1] and batch.targets[n].argmax(-1).tolist() == s[1:]
    assert batch.inputs.shape == (200, p, p + 1) and bool(batch.mask.all())
    assert 0.4 < float((seq[:, 0] == p).float().mean()) < 0.6


def test_long_lag_2b_and_2c():
    p = 20
    b = LongTimeLag("2b", p=p).sample(300, torch.Generator().manual_seed(1))
    seq = b.info["symbols"]
    assert bool((seq[:, 0] == seq[:, -1]).all()) and bool((seq[:, 1:-1] < p - 1).all())
    assert len({tuple(r) for r in seq[:, 1:-1].tolist()}) > 290  # distractors differ per sequence
    assert b.mask[:, :-1].sum() == 0 and bool(b.mask[:, -1].all())
    task = LongTimeLag("2c", p=p, q=30)
    c = task.sample(2000, torch.Generator().manual_seed(2))
    e, bsym, x, y = p, p + 1, p + 2, p + 3
    ks = []
    for n, s in enumerate(c.info["symbols"]):
        s = s.tolist()
        assert s[0] == bsym and s[1] in (x, y) and s[-2] == e and s[-1] == s[1]
        middle = s[2:-2]
        assert len(middle) >= 30 and all(0 <= v < p for v in middle)  # only distractors, >= q
        ks.append(len(middle) - 30)
        length = int(c.lengths[n])
        assert length == len(s) - 1 and c.inputs[n, :length].argmax(-1).tolist() == s[:-1]
        assert c.targets[n, length - 1].tolist() == ([1.0, 0.0] if s[1] == x else [0.0, 1.0])
    mean_k = sum(ks) / len(ks)
    assert abs(mean_k - 9.0) < 0.8  # geometric: each further element is e with probability 1/10
    assert abs(sum(len(s) for s in c.info["symbols"]) / 2000 - (30 + 13)) < 0.8
    assert task.input_size == p + 4 and task.output_size == 2


@pytest.mark.parametrize("kind", ["3a", "3b"])
def test_noise_and_signal(kind):
    T, N = 100, 3
    b = NoiseSignal(kind, T=T, N=N).sample(3000, torch.Generator().manual_seed(0))
    assert int(b.lengths.min()) >= T and int(b.lengths.max()) <= T + T // 10
    x, cls = b.inputs[..., 0], b.info["cls"]
    sign = (cls.float() * 2 - 1).unsqueeze(1)
    head = x[:, :N] - sign
    if kind == "3a":
        assert bool((head == 0).all())
    else:
        assert abs(float(head.var()) - 0.2) < 0.02 and abs(float(head.mean())) < 0.02
    tail = torch.cat([x[n, N : b.lengths[n]] for n in range(3000)])
    assert abs(float(tail.var()) - 0.2) < 0.01 and abs(float(tail.mean())) < 0.01
    for n in range(50):
        assert bool((x[n, b.lengths[n] :] == 0).all())
        assert float(b.targets[n, b.lengths[n] - 1, 0]) == float(cls[n])
    assert 0.45 < float(cls.float().mean()) < 0.55


def test_copy_memory():
    task = CopyMemory(T=30, symbols=8, copy_len=10)
    b = task.sample(50, torch.Generator().manual_seed(0))
    sym = b.inputs.argmax(-1)  # (N, 50)
    assert b.inputs.shape == (50, 50, 10)
    assert bool((sym[:, :10] >= 1).all() and (sym[:, :10] <= 8).all())
    assert bool((sym[:, 10:39] == 0).all() and (sym[:, 39] == 9).all() and (sym[:, 40:] == 0).all())
    assert torch.equal(b.targets[:, -10:], sym[:, :10]) and bool((b.targets[:, :-10] == 0).all())
    onehot = torch.nn.functional.one_hot(b.targets, 9).float()
    assert bool(task.correct(onehot, b).all())
    onehot[3, -1] = onehot[3, -1].roll(1)
    assert task.correct(onehot, b).sum() == 49
    assert task.baseline_loss == pytest.approx(10 * math.log(8) / 50)

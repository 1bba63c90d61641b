"""The adding and multiplication problems against their definitions."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.experiments.tasks import (
    AddingProblem,
    MultiplicationProblem,
)


@pytest.mark.parametrize("T", [100, 500])
def test_adding_problem(T):
    task = AddingProblem(T=T)
    b = task.sample(500, torch.Generator().manual_seed(T))
    assert int(b.lengths.min()) >= T and int(b.lengths.max()) <= T + T // 10
    first_idx = []
    for n in range(500):
        length = int(b.lengths[n])
        values, marks = b.inputs[n, :length, 0].double(), b.inputs[n, :length, 1]
        marked = (marks == 1).nonzero().flatten().tolist()
        assert len(marked) == 2
        assert min(marked) <= 9 and max(marked) <= max(9, T // 2 - 2)  # X1 in the first ten, X2 in T/2 - 1
        assert bool((values.abs() <= 1).all())
        for t in range(length):
            if t not in marked:
                assert float(marks[t]) == (-1.0 if t in (0, length - 1) else 0.0)
        if 0 in marked:
            assert float(values[0]) == 0.0
        want = 0.5 + float(values[marked].sum()) / 4
        assert float(b.targets[n, length - 1, 0]) == pytest.approx(want, abs=1e-6)
        assert b.mask[n].nonzero().flatten().tolist() == [length - 1]
        first_idx.append(int(b.info["first"][n]))
    counts = torch.bincount(torch.tensor(first_idx), minlength=10)
    assert int(counts.min()) > 25  # X1's position is spread over the first ten pairs
    pred = b.targets.clone()
    assert bool(task.correct(pred, b).all())
    assert not bool(task.correct(pred + 0.05, b).any()) and bool(task.correct(pred + 0.03, b).all())


def test_multiplication_problem():
    b = MultiplicationProblem(T=100).sample(400, torch.Generator().manual_seed(5))
    for n in range(400):
        length = int(b.lengths[n])
        values, marks = b.inputs[n, :length, 0].double(), b.inputs[n, :length, 1]
        marked = (marks == 1).nonzero().flatten().tolist()
        assert len(marked) == 2 and bool(((values >= 0) & (values <= 1)).all())
        if 0 in marked:
            assert float(values[0]) == 1.0
        want = float(values[marked[0]] * values[marked[1]])
        assert float(b.targets[n, length - 1, 0]) == pytest.approx(want, abs=1e-6)

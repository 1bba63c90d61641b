"""What every task shares: seeded sampling and bad arguments."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.experiments.tasks import (
    AddingProblem,
    LongTimeLag,
    NoiseSignal,
    SyntheticBatch,
    TemporalOrder,
    make_task,
)


def test_seeded_and_bad_arguments():
    a = AddingProblem().sample(4, torch.Generator().manual_seed(9))
    b = AddingProblem().sample(4, torch.Generator().manual_seed(9))
    assert torch.equal(a.inputs, b.inputs)
    assert isinstance(make_task("adding", T=50), AddingProblem)
    with pytest.raises(ValueError, match="name"):
        make_task("parity")
    with pytest.raises(ValueError, match="kind"):
        LongTimeLag("2d")
    with pytest.raises(ValueError, match="n:"):
        AddingProblem().sample(0)
    with pytest.raises(ValueError, match="T:"):
        AddingProblem(T=5)
    with pytest.raises(ValueError, match="prediction"):
        AddingProblem().correct(torch.zeros(4, 3, 1), a)


@pytest.mark.parametrize(
    ("task", "expected"),
    [(LongTimeLag, "'2a', '2b' or '2c'"), (NoiseSignal, "'3a' or '3b'"), (TemporalOrder, "'6a' or '6b'")],
)
def test_a_kind_outside_the_tasks_kinds_is_refused(task, expected) -> None:
    assert all(task(kind=k).kind == k for k in task.kinds)
    with pytest.raises(ValueError, match=f"^kind: expected {expected}, got 'x'$"):
        task(kind="x")


def test_a_batch_judged_at_the_end_holds_its_final_targets_only_at_the_last_steps() -> None:
    lengths = torch.tensor([3, 1, 2])
    final = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    batch = SyntheticBatch.judged_at_end(torch.ones(3, 3, 1), final, lengths, {"k": 1})
    assert batch.targets.shape == (3, 3, 2)
    assert torch.equal(batch.targets[torch.arange(3), lengths - 1], final)
    assert batch.targets.sum() == final.sum()
    assert batch.mask.tolist() == [[False, False, True], [True, False, False], [False, True, False]]
    assert batch.info == {"k": 1} and batch.lengths is lengths

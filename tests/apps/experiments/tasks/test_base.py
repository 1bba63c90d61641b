"""What every task shares: seeded sampling and bad arguments."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.experiments.tasks import (
    AddingProblem,
    LongTimeLag,
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

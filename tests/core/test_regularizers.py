"""The regularizers as tensor functions: their draws, their evaluation forms, their checks."""

from __future__ import annotations

import pytest
import torch

from lstmkit.core.regularizers import (
    check_probability,
    check_zoneout,
    drop_connect,
    variational_mask,
    zoneout,
    zoneout_keep,
)


def test_checks() -> None:
    assert check_probability("p", 0) == 0.0
    with pytest.raises(ValueError, match=r"p: expected a probability in \[0, 1\), got 1"):
        check_probability("p", 1)
    assert check_zoneout(0.1) == (0.1, 0.1) and check_zoneout([0.1, 0.2]) == (0.1, 0.2)
    with pytest.raises(ValueError, match="zoneout: expected a probability or a pair"):
        check_zoneout((0.1, 0.2, 0.3))  # type: ignore[arg-type]


def test_draws_and_their_evaluation_forms() -> None:
    torch.manual_seed(0)
    mask = variational_mask((1000, 4), 0.25, torch.float64, torch.device("cpu"))
    assert set(mask.unique().tolist()) == {0.0, 1 / 0.75}
    keep = zoneout_keep((1000, 4), 0.3, True, torch.float64, torch.device("cpu"))
    assert set(keep.unique().tolist()) == {0.0, 1.0} and abs(keep.mean().item() - 0.3) < 0.05
    mean = zoneout_keep((5, 2), 0.3, False, torch.float64, torch.device("cpu"))
    assert torch.all(mean == 0.3) and mean.stride() == (0, 0), "evaluation: an expanded constant"
    prev, new = torch.zeros(3), torch.ones(3)
    assert zoneout(prev, new, torch.tensor([1.0, 0.0, 0.5])).tolist() == [0.0, 1.0, 0.5]
    weight = torch.randn(4, 4)
    assert drop_connect(weight, 0.5, False) is weight
    assert (drop_connect(weight, 0.5, True) == 0).any()

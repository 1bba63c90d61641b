"""The GRU layer: torch's GRU math and parameters, the engines of its family."""

from __future__ import annotations

import pytest
import torch
from tests.helpers import assert_close
from torch import nn

from lstmkit import GRU


def test_gru_is_torch_gru_with_copied_weights() -> None:
    ref = nn.GRU(3, 5, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours = GRU.from_torch(ref)
    x = torch.randn(6, 4, 3, dtype=torch.float64)
    for engine in ("native", "reference"):
        ours.engine = engine
        (out, h), (ref_out, ref_h) = ours(x), ref(x)
        assert_close(out, ref_out, 1e-12, f"{engine} output")
        assert_close(h, ref_h, 1e-12, f"{engine} h_n")
    assert "reference" not in repr(GRU(3, 5)) and repr(GRU(3, 5, bidirectional=True)).endswith(
        "bidirectional=True)"
    )


def test_gru_engines() -> None:
    with pytest.raises(
        ValueError, match=r"engine: expected one of \('auto', 'native', 'reference'\), got 'fused'"
    ):
        GRU(3, 4, engine="fused")

"""The demo job: each variant trained on the adding problem, a row each."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.experiments.demo import DemoJobConfig, DemoRow, adding_batch, run


def test_adding_batch_targets() -> None:
    x, y = adding_batch(16, 10, torch.Generator().manual_seed(0))
    assert x.shape == (10, 16, 2) and y.shape == (16,)
    assert torch.equal(x[:, :, 1].sum(0), torch.full((16,), 2.0))  # two marks per sequence
    torch.testing.assert_close(y, 0.5 + (x[:, :, 0] * x[:, :, 1]).sum(0) / 4)


def test_run_returns_a_row_per_variant(capsys) -> None:
    rows = run(DemoJobConfig(variants=("classic", "cifg"), length=8, steps=5, hidden=4, echo=True))
    assert [r.variant for r in rows] == ["classic", "cifg"]
    assert all(isinstance(r, DemoRow) and r.mse >= 0 and 0 <= r.solved <= 1 for r in rows)
    text = capsys.readouterr().out
    assert text.startswith("adding problem, T=8") and "cifg" in text


def test_run_refuses_a_short_sequence() -> None:
    with pytest.raises(ValueError, match="--length, --steps"):
        run(DemoJobConfig(length=1))

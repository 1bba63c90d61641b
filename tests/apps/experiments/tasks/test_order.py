"""The temporal order task against its definition."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.experiments.tasks import (
    TemporalOrder,
)


@pytest.mark.parametrize("kind", ["6a", "6b"])
def test_temporal_order(kind):
    task = TemporalOrder(kind)
    b = task.sample(500, torch.Generator().manual_seed(7))
    windows = [(10, 20), (50, 60)] if kind == "6a" else [(10, 20), (33, 43), (66, 76)]
    names = "QRSU" if kind == "6a" else "QRSUVABC"
    seen = set()
    for n in range(500):
        length = int(b.lengths[n])
        assert 100 <= length <= 110
        s = "".join("abcdXYBE"[i] for i in b.inputs[n, :length].argmax(-1))
        assert s[0] == "E" and s[-1] == "B" and set(s[1:-1]) <= set("abcdXY")
        rel = [(t + 1, ch) for t, ch in enumerate(s) if ch in "XY"]  # 1-based positions
        assert len(rel) == len(windows)
        for (pos, _), (lo, hi) in zip(rel, windows):
            assert lo <= pos <= hi
        order = "".join(ch for _, ch in rel)
        cls = int(order.replace("X", "0").replace("Y", "1"), 2)
        assert int(b.targets[n, length - 1].argmax()) == cls and float(b.targets[n, length - 1].sum()) == 1
        seen.add(names[cls])
    assert seen == set(names)
    pred = b.targets.clone()
    pred[0, b.lengths[0] - 1] += 0.35
    assert task.correct(pred, b).tolist() == [False] + [True] * 499

"""The expanding-window backtest every forecast model shares, run on a baseline made by name."""

from __future__ import annotations

import numpy as np
import pytest
from tests.apps.forecasting.helpers import monthly_series

from lstmkit.apps.forecasting.baselines import make_baseline


def test_backtest_windows_and_refit_counts() -> None:
    s = monthly_series(np.arange(1.0, 61.0))
    r = make_baseline("naive").backtest(s, 6, start=36, stride=6)
    assert [w.origin for w in r.windows] == [36, 42, 48, 54]
    assert all(len(w.actual) == 6 for w in r.windows)
    assert r.metrics()["MAE"] == pytest.approx(3.5)  # a line: errors 1..6
    with pytest.raises(ValueError, match="start: the first origin 58 leaves no room"):
        make_baseline("naive").backtest(s, 6, start=58)
    with pytest.raises(ValueError, match="unknown baseline 'prophet'"):
        make_baseline("prophet")

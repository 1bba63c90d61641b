"""Seasonality and differencing: the unit root tests."""

from __future__ import annotations

import numpy as np

from lstmkit.apps.forecasting.baselines.seasonality import ndiffs, nsdiffs


def test_unit_root_tests() -> None:
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=300))
    assert ndiffs(walk) == 1
    assert ndiffs(rng.normal(size=300)) == 0
    t = np.arange(240)
    seasonal = 10 * np.sin(2 * np.pi * t / 12) + rng.normal(size=240) * 0.3
    assert nsdiffs(seasonal, 12) == 1
    assert nsdiffs(rng.normal(size=240), 12) == 0

"""CombinedForecaster: the mean of its members' forecasts, fitted and cloned with them."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.datasets import sources
from lstmkit.apps.forecasting.baselines import NaiveForecaster, SeasonalNaiveForecaster, ThetaForecaster
from lstmkit.apps.forecasting.combination import CombinedForecaster


def test_the_mean_of_the_members_points_and_quantiles() -> None:
    air = sources.load_series("airline")
    a, b = SeasonalNaiveForecaster(), ThetaForecaster()
    both = CombinedForecaster([a, b]).fit(air)
    f, fa, fb = both.predict(12), a.predict(12), b.predict(12)
    assert np.allclose(f.point, (fa.point + fb.point) / 2)  # type: ignore[union-attr]
    assert np.allclose(f.quantiles, (fa.quantiles + fb.quantiles) / 2)  # type: ignore[union-attr]
    assert both.name == f"{a.name} + {b.name}"
    # the combination is better than its worse member over a backtest of the airline series
    scores = {m.name: m.backtest(air, 12, start=108, stride=12).metrics()["MASE"] for m in (a, b, both)}
    assert scores[both.name] < max(scores[a.name], scores[b.name])


def test_clone_is_unfitted_and_bad_members_are_refused() -> None:
    both = CombinedForecaster([NaiveForecaster(), SeasonalNaiveForecaster()], name="pair")
    copy = both.clone()
    assert copy.name == "pair" and copy.models[0] is not both.models[0]
    with pytest.raises(ValueError, match="models: expected two or more forecast models"):
        CombinedForecaster([NaiveForecaster()])
    with pytest.raises(ValueError, match="models: expected two or more forecast models"):
        CombinedForecaster([NaiveForecaster(), "theta"])  # type: ignore[list-item]

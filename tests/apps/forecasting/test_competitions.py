"""The M1/M3 loaders, their split and the competitions' pooled error measures."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.forecasting.competitions import (
    CompetitionSeries,
    load_m1,
    load_m3,
    mase,
    pooled,
    smape,
)
from lstmkit.apps.forecasting.datasets import DATASETS, load_panel


def test_m3_and_m1_have_the_published_sizes_horizons_and_periods() -> None:
    m3 = load_m3()
    counts = {c: sum(s.category == c for s in m3) for c in ("yearly", "quarterly", "monthly", "other")}
    assert counts == {"yearly": 645, "quarterly": 756, "monthly": 1428, "other": 174}
    assert {(s.category, s.horizon, s.period) for s in m3} == {
        ("yearly", 6, 1), ("quarterly", 8, 4), ("monthly", 18, 12), ("other", 8, 1)
    }  # fmt: skip
    assert min(len(s.train) for s in m3 if s.category == "yearly") == 14  # the shortest M3 series
    assert all(len(s.test) == s.horizon for s in m3)
    assert len(load_m1()) == 1001 and {s.category for s in load_m1("monthly")} == {"monthly"}
    with pytest.raises(ValueError, match="category: expected some of yearly"):
        load_m3("weekly")


def test_the_panels_are_listed_and_hold_the_training_parts() -> None:
    assert {"m3", "m3-monthly", "m1-yearly"} <= set(DATASETS) and "m1-other" not in DATASETS
    panel, m3 = load_panel("m3-other"), load_m3("other")
    assert len(panel) == 174 and np.array_equal(panel[0].values, m3[0].train)


def test_smape_and_mase_by_hand() -> None:
    assert np.allclose(
        smape(np.array([100.0, 0.0, 50.0]), np.array([80.0, 0.0, 50.0])), [200 * 20 / 180, 0, 0]
    )
    train = np.array([1.0, 3.0, 2.0, 4.0, 3.0])  # lag-2 naive errors: 1, 1, 1 -> scale 1
    assert np.allclose(mase(np.array([5.0, 5.0]), np.array([4.0, 7.0]), train, period=2), [1.0, 2.0])


def test_pooled_weighs_points_and_refuses_bad_forecasts() -> None:
    a = CompetitionSeries("a", np.arange(1.0, 9.0), np.full(2, 10.0), 2, 1, "yearly")
    b = CompetitionSeries("b", np.arange(1.0, 9.0), np.full(4, 10.0), 4, 1, "other")
    table = pooled([a, b], [np.full(2, 10.0), np.full(4, 5.0)])
    assert table["yearly"]["sMAPE"] == 0 and np.isclose(table["other"]["sMAPE"], 200 * 5 / 15)
    assert np.isclose(table["overall"]["sMAPE"], 4 / 6 * 200 * 5 / 15)  # pooled over the 6 points
    with pytest.raises(ValueError, match="series b expected 4 finite values"):
        pooled([a, b], [np.full(2, 10.0), np.array([1.0, np.nan, 1.0, 1.0])])


def test_naive_on_m3_yearly_matches_the_published_naive2() -> None:
    # yearly series are not seasonal, so M3's Naive2 is the last value: published sMAPE 17.88
    yearly = load_m3("yearly")
    table = pooled(yearly, [np.full(s.horizon, s.train[-1]) for s in yearly])
    assert abs(table["yearly"]["sMAPE"] - 17.88) < 0.01

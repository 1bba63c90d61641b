"""RMSE and the Clarke error grid on points checked by hand against the grid's boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.glucose.clarke import ZONES, clarke_shares, clarke_zones, mae, plot_clarke, rmse

# (reference, prediction, zone, why)
POINTS = [
    (100, 110, "A", "within 20%"),
    (100, 80, "A", "20% below, on the boundary"),
    (60, 65, "A", "both hypoglycaemic"),
    (50, 20, "A", "both under 70"),
    (100, 140, "B", "40% above, benign"),
    (300, 200, "B", "33% below a high reading"),
    (200, 100, "B", "50% below, above 70"),
    (100, 220, "C", "reference + 120 >= reference + 110"),
    (150, 20, "C", "below 7/5 * 150 - 182 = 28"),
    (300, 150, "D", "a high reading predicted in 70..180"),
    (50, 120, "D", "a hypo (< 175/3) predicted in 70..180"),
    (65, 100, "D", "a hypo in 175/3..70 predicted above 6/5 * 65 = 78"),
    (250, 50, "E", "hyper predicted as hypo"),
    (50, 200, "E", "hypo predicted as hyper"),
]


@pytest.mark.parametrize(("ref", "pred", "zone", "why"), POINTS)
def test_each_zone_on_hand_checked_points(ref, pred, zone, why) -> None:
    assert clarke_zones(np.array([ref], float), np.array([pred], float))[0] == zone, why


def test_shares_add_up_and_count_each_zone() -> None:
    ref = np.array([p[0] for p in POINTS], float)
    pred = np.array([p[1] for p in POINTS], float)
    shares = clarke_shares(ref, pred)
    counts = {z: sum(p[2] == z for p in POINTS) for z in ZONES}
    for z in ZONES:
        assert shares[z] == pytest.approx(100 * counts[z] / len(POINTS))
    assert sum(shares[z] for z in ZONES) == pytest.approx(100)
    assert shares["A+B"] == pytest.approx(shares["A"] + shares["B"])


def test_a_perfect_prediction_is_all_zone_a() -> None:
    ref = np.linspace(40, 400, 50)
    assert clarke_shares(ref, ref)["A"] == 100 and rmse(ref, ref) == 0 and mae(ref, ref) == 0


def test_rmse_and_mae() -> None:
    ref, pred = np.array([100.0, 200.0]), np.array([103.0, 196.0])
    assert rmse(ref, pred) == pytest.approx(np.sqrt((9 + 16) / 2)) and mae(ref, pred) == pytest.approx(3.5)


def test_mismatched_or_missing_values_are_refused() -> None:
    with pytest.raises(ValueError, match=r"prediction: expected the shape of reference"):
        clarke_zones(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="expected finite glucose"):
        rmse(np.array([1.0, np.nan]), np.ones(2))


def test_the_grid_plot_is_written(tmp_path) -> None:
    ref = np.linspace(40, 380, 40)
    plot_clarke({"a": (ref, ref * 1.1), "b": (ref, ref[::-1])}, tmp_path / "grid.png", title="t")
    assert (tmp_path / "grid.png").stat().st_size > 10_000

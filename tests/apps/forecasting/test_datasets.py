"""The forecasting app's own bundled series (the catalogue's tests are in tests/apps/datasets)."""

from __future__ import annotations

import pytest

from lstmkit.apps.forecasting.datasets import ALIASES, DATASETS, load_panel, load_series


def test_every_entry_is_a_forecasting_series() -> None:
    assert {d.task for d in DATASETS.values()} == {"forecasting"}
    assert set(ALIASES.values()) <= set(DATASETS)


def test_load_by_alias_and_the_panel() -> None:
    assert load_series("airpassengers").name == "passengers"
    assert len(load_panel("stocks")) == 5 and len(load_panel("nile")) == 1
    with pytest.raises(ValueError, match="use load_panel"):
        load_series("stocks")
    with pytest.raises(ValueError, match="unknown dataset 'gunpoint'"):
        load_series("gunpoint")  # another app's dataset is not this app's

"""The classification app's bundled UCR/UEA datasets."""

from __future__ import annotations

import pytest

from lstmkit.apps.classification.data import DATASETS, load_classification


def test_entries_and_a_load() -> None:
    assert {d.task for d in DATASETS.values()} == {"classification"} and "gunpoint" in DATASETS
    d = load_classification("ItalyPowerDemand")
    assert d.name == "italypowerdemand" and d.x_train.shape[1:] == (24, 1) and d.num_classes == 2
    with pytest.raises(ValueError, match="unknown dataset 'airline'"):
        load_classification("airline")

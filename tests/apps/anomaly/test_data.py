"""The anomaly app's bundled signals."""

from __future__ import annotations

import pytest

from lstmkit.apps.anomaly.data import DATASETS, load_anomaly


def test_entries_and_a_load() -> None:
    assert {d.task for d in DATASETS.values()} == {"anomaly"}
    ecg = load_anomaly("ECG")  # the alias of mitdb
    assert ecg.name == "mitdb" and ecg.values.shape == (7500, 1) and ecg.sample_rate == 360.0
    assert int(ecg.labels.sum()) == 352
    with pytest.raises(ValueError, match="unknown dataset 'airline'"):
        load_anomaly("airline")

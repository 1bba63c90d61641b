"""Bundled datasets: every loader, its documented size, and the errors for unknown or missing data."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from lstmkit.apps.datasets import sources
from lstmkit.apps.forecasting.data import TimeSeries

SIZES = {
    "airline": 144,
    "lynx": 114,
    "shampoo": 36,
    "sunspots": 309,
    "co2": 2284,
    "elnino": 732,
    "nile": 100,
    "macrodata": 203,
    "seattle_weather": 1461,
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_forecasting_series_load_regular_and_finite(name: str) -> None:
    s = sources.load_series(name)
    assert isinstance(s, TimeSeries)
    assert len(s) == SIZES[name]
    assert np.isfinite(s.values).all()
    info = sources.info(name)
    assert info.task == "forecasting" and info.frequency and info.source and info.description


def test_airline_values_and_calendar() -> None:
    s = sources.load_series("airline")
    assert s.freq == "MS" and s.season == 12
    assert s.values[:3].tolist() == [112.0, 118.0, 132.0]  # Box & Jenkins series G
    assert str(s.index[0].date()) == "1949-01-01" and str(s.index[-1].date()) == "1960-12-01"


def test_co2_gaps_are_interpolated_not_nan(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        s = sources.load_series("co2")
    assert "filled 59 missing values" in caplog.text
    assert s.freq == "W-SAT" and s.season == 52


def test_stocks_is_a_panel_of_five() -> None:
    panel = sources.load_panel("stocks")
    assert [s.name for s in panel] == ["MSFT", "AMZN", "IBM", "GOOG", "AAPL"]
    assert len(panel[3]) == 68 and all(len(s) == 123 for s in panel if s.name != "GOOG")
    with pytest.raises(ValueError, match="holds 5 series; use load_panel"):
        sources.load_series("stocks")


def test_seattle_has_past_covariates() -> None:
    s = sources.load_series("seattle_weather")
    assert s.past_covariate_names == ("temp_min", "precipitation", "wind")
    assert s.past_covariates is not None and s.past_covariates.shape == (1461, 3)


@pytest.mark.parametrize(
    ("name", "train", "test", "channels", "classes"),
    [
        ("gunpoint", 50, 150, 1, 2),
        ("italypowerdemand", 67, 1029, 1, 2),
        ("arrowhead", 36, 175, 1, 3),
        ("basicmotions", 40, 40, 6, 4),
        ("osuleaf", 200, 242, 1, 6),
    ],
)
def test_classification_sets(name: str, train: int, test: int, channels: int, classes: int) -> None:
    d = sources.load_classification(name)
    assert (len(d.y_train), len(d.y_test), d.num_channels, d.num_classes) == (train, test, channels, classes)
    assert not d.variable_length
    assert set(np.unique(d.y_train)) == set(range(classes))


def test_japanese_vowels_variable_length_is_padded_with_lengths() -> None:
    d = sources.load_classification("japanesevowels")
    assert d.variable_length and d.num_channels == 12 and d.num_classes == 9
    assert d.lengths_train.min() >= 7 and d.lengths_train.max() == d.x_train.shape[1] <= 29
    i = int(np.argmin(d.lengths_train))
    assert (d.x_train[i, d.lengths_train[i] :] == 0).all()  # zero past the real length
    assert (d.x_train[i, : d.lengths_train[i]] != 0).any()


def test_anomaly_sets() -> None:
    ecg = sources.load_anomaly("mitdb")
    assert ecg.values.shape == (7500, 1) and ecg.labels is not None and int(ecg.labels.sum()) == 352
    assert ecg.sample_rate == 360.0
    yahoo = sources.load_anomaly("yahoo")
    assert yahoo.labels is not None and int(yahoo.labels.sum()) == 7
    ppg = sources.load_anomaly("ppg")
    assert ppg.labels is None and ppg.sample_rate == 100.0 and len(ppg) == 2483


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown dataset 'airplanes'.*forecasting: airline.*gunpoint"):
        sources.load("airplanes")


def test_wrong_task_is_refused() -> None:
    with pytest.raises(ValueError, match="classification dataset, not a forecasting series"):
        sources.load_series("gunpoint")
    with pytest.raises(ValueError, match="not a classification"):
        sources.load_classification("airline")


def test_missing_package_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "vega_datasets" else real(n, *a)
    )
    with pytest.raises(ImportError, match=r"pip install 'vega_datasets==0\.9\.\*'"):
        sources.load_series("seattle_weather")


def test_list_covers_every_task() -> None:
    tasks = {d.task for d in sources.list_datasets()}
    assert tasks == {"forecasting", "classification", "anomaly", "video"}
    assert len(sources.list_datasets("anomaly")) == 4
    with pytest.raises(ValueError, match="task"):
        sources.list_datasets("regression")

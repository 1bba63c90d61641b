"""A TimeSeries from user data (pandas objects, CSV files), and every bad input the issue lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.apps.forecasting.helpers import monthly

from lstmkit.apps.forecasting.data import from_csv, from_pandas


def test_from_pandas_infers_frequency_and_season() -> None:
    s = from_pandas(pd.Series(np.arange(30.0), index=monthly(30), name="y"))
    assert (s.freq, s.season, len(s)) == ("MS", 12, 30)


@pytest.mark.parametrize(
    "freq,season,calendar",
    [
        ("QE", 4, "quarter"),  # pandas 3 infers QE-DEC for quarter-end dates
        ("BQE", 4, "quarter"),
        ("QS-OCT", 4, "quarter"),
        ("ME", 12, "month"),
        ("BME", 12, "month"),
        ("SME", 24, "month"),
        ("W-SUN", 52, "dayofyear"),
        ("B", 5, "dayofweek"),
        ("h", 24, "hour"),
        ("YE", 1, None),
    ],
)
def test_every_spelling_of_a_frequency_gets_its_season_and_calendar(freq, season, calendar) -> None:
    from lstmkit.apps.forecasting.windows import calendar_feature_names

    s = from_pandas(pd.Series(np.arange(40.0) + 1, index=pd.date_range("2000-03-31", periods=40, freq=freq)))
    assert s.season == season, (freq, s.freq)
    names = calendar_feature_names(s.freq)
    assert names[0].startswith(calendar) if calendar else names == [], (freq, names)


@pytest.mark.parametrize("period,freq", [("M", "MS"), ("Q", "QS-OCT"), ("Y", "YS-JAN")])
def test_period_index_becomes_period_starts(period, freq) -> None:
    index = pd.period_range("2000-01", periods=36, freq=period)
    s = from_pandas(pd.Series(np.arange(36.0) + 1, index=index, name="y"))
    assert s.freq == freq
    assert list(s.index) == list(index.to_timestamp(how="start"))  # no resampling, values kept
    assert np.array_equal(s.values, np.arange(36.0) + 1)


def test_dataframe_with_a_non_string_column_label() -> None:
    s = from_pandas(pd.DataFrame(np.arange(24.0) + 1, index=monthly(24)))
    assert s.name == "0" and len(s) == 24
    s = from_pandas(pd.DataFrame({0: np.arange(24.0) + 1, 1: np.ones(24)}, index=monthly(24)), target=0,
                    past_covariates=[1])  # fmt: skip
    assert s.past_covariate_names == ("1",)


def test_missing_values_interpolated_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    v = np.arange(10.0)
    v[[3, 4]] = np.nan
    with caplog.at_level("WARNING"):
        s = from_pandas(pd.Series(v, index=pd.date_range("2000-01-01", periods=10, freq="D"), name="y"))
    assert np.allclose(s.values, np.arange(10.0))  # linear in time
    assert "filled 2 missing values" in caplog.text


def test_missing_values_rejected_on_request() -> None:
    v = np.arange(10.0)
    v[5] = np.nan
    with pytest.raises(
        ValueError, match=r"missing values \{'y': 1\}, first at \{'y': \['2000-06-01.*missing='interpolate'"
    ):
        from_pandas(pd.Series(v, index=monthly(10), name="y"), missing="error")


def test_non_numeric_target_is_a_type_error() -> None:
    frame = pd.DataFrame({"y": ["a", "b", "c", "d"]}, index=monthly(4))
    with pytest.raises(TypeError, match=r"column 'y': expected numbers, got dtype .*\['a', 'b', 'c'\]"):
        from_pandas(frame, "y")


def test_irregular_time_index_is_an_error_unless_resampled() -> None:
    idx = pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-06", "2020-01-09"])
    series = pd.Series([1.0, 2, 3, 4, 5], index=idx, name="y")
    with pytest.raises(ValueError, match="irregular time index"):
        from_pandas(series)
    s = from_pandas(series, freq="D")  # resampled by the mean, gaps interpolated
    assert len(s) == 9 and s.freq == "D" and np.isfinite(s.values).all()


def test_duplicate_timestamps_are_an_error() -> None:
    idx = pd.DatetimeIndex(["2020-01-01", "2020-01-01", "2020-01-02"])
    with pytest.raises(ValueError, match="duplicated time stamps"):
        from_pandas(pd.Series([1.0, 2, 3], index=idx, name="y"))


def test_unknown_column_names_the_available_ones() -> None:
    frame = pd.DataFrame({"y": np.arange(5.0), "x": np.arange(5.0)}, index=monthly(5))
    with pytest.raises(ValueError, match=r"columns \['z'\] not found; the data has \['y', 'x'\]"):
        from_pandas(frame, "y", past_covariates=["z"])


def test_csv_with_time_column_and_known_future_rows(tmp_path) -> None:
    n = 24
    frame = pd.DataFrame(
        {
            "date": monthly(n + 3).strftime("%Y-%m-%d"),
            "y": [*np.arange(n, dtype=float), None, None, None],
            "promo": np.arange(n + 3) % 2,
            "temp": np.arange(n + 3.0),
        }
    )
    frame.loc[n:, "temp"] = np.nan
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    s = from_csv(path, "y", time="date", past_covariates=["temp"], future_covariates=["promo"])
    assert len(s) == n and s.known_future == 3 and s.freq == "MS"
    assert s.future_covariates is not None and s.future_covariates[-3:, 0].tolist() == [0.0, 1.0, 0.0]
    assert s.past_covariates is not None and s.past_covariates.shape == (n, 1)


def test_csv_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        from_csv(tmp_path / "none.csv", "y")
    path = tmp_path / "d.csv"
    pd.DataFrame({"t": ["x", "y", "z"], "y": [1.0, 2.0, 3.0]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="time: column 't' holds neither dates nor integers"):
        from_csv(path, "y", time="t")
    with pytest.raises(ValueError, match="time: column 'when' not found"):
        from_csv(path, "y", time="when")

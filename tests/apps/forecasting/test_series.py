"""TimeSeries: no missing or infinite value, matching covariates, the known future rows."""

from __future__ import annotations

import numpy as np
import pytest
from tests.apps.forecasting.helpers import monthly

from lstmkit.apps.forecasting.series import TimeSeries


def test_nan_never_reaches_a_timeseries() -> None:
    with pytest.raises(ValueError, match="1 missing values"):
        TimeSeries(np.array([1.0, np.nan, 3.0]))
    with pytest.raises(ValueError, match=r"1 infinite values .*not a missing value"):
        TimeSeries(np.array([1.0, np.inf, 3.0]))


def test_mismatched_covariate_lengths() -> None:
    with pytest.raises(ValueError, match=r"past_covariates: expected 5 rows to match the target, got 4"):
        TimeSeries(np.arange(5.0), past_covariates=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="future_covariates: expected at least 5 rows"):
        TimeSeries(np.arange(5.0), future_covariates=np.zeros((3, 1)))


def test_empty_series() -> None:
    with pytest.raises(ValueError, match="empty"):
        TimeSeries(np.array([]))


def test_head_keeps_known_future_rows() -> None:
    s = TimeSeries(np.arange(10.0), monthly(10), future_covariates=np.arange(13.0)[:, None])
    h = s.head(6)
    assert len(h) == 6 and h.known_future == 7
    assert list(h.future_index(2)) == list(monthly(8)[6:])

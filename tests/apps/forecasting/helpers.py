"""Series the forecasting tests share."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmkit.apps.forecasting.series import TimeSeries


def monthly(n: int, start: str = "2000-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="MS")


def monthly_series(values: np.ndarray, name: str = "y") -> TimeSeries:
    return TimeSeries(values, pd.date_range("2000-01", periods=len(values), freq="MS"), name=name)

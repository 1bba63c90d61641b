"""The mean of several forecasters: :class:`CombinedForecaster`.

Combining forecasts of different models is one of the oldest reliable gains of forecasting
(Bates & Granger 1969; M3's Comb, the M4 winners): on M3 the mean of the global LSTM and the
ES-hybrid beats either alone in every category (``docs/m3.md``).

Example::

    >>> both = CombinedForecaster([Forecaster(18, normalize="last"), Forecaster(18, architecture="es-lstm")])
    >>> both.fit(panel).predict(18, series=panel[0]).point    # the mean of the two point forecasts
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lstmkit.apps.forecasting.base import Forecast, ForecastModel
from lstmkit.apps.forecasting.series import TimeSeries

__all__ = ["CombinedForecaster"]


class CombinedForecaster(ForecastModel):
    """The equal-weight mean of ``models``' forecasts (points and each quantile level).

    Args:
        models: two or more forecast models (lstmkit Forecasters, baselines, ...); they are
            fitted on the same series by :meth:`fit`.
        name: the label in tables (default: the members' names joined by ``+``).
    """

    def __init__(self, models: Sequence[ForecastModel], name: str | None = None) -> None:
        super().__init__()
        members = list(models)
        if len(members) < 2 or not all(isinstance(m, ForecastModel) for m in members):
            raise ValueError(f"models: expected two or more forecast models, got {models!r}")
        self.models = members
        self.name = name or " + ".join(m.name for m in members)
        self.is_global = any(m.is_global for m in members)

    def fit(self, series: TimeSeries | Sequence[TimeSeries]) -> CombinedForecaster:
        for m in self.models:
            m.fit(series)
        super().fit(series)
        return self

    def min_history(self, horizon: int) -> int:
        return max(m.min_history(horizon) for m in self.models)

    def clone(self) -> CombinedForecaster:
        return CombinedForecaster([m.clone() for m in self.models], self.name)

    def _forecast(self, series: TimeSeries, horizon: int) -> Forecast:
        parts = [m.predict(horizon, series=series) for m in self.models]
        assert all(isinstance(p, Forecast) for p in parts)
        first = parts[0]
        assert isinstance(first, Forecast)
        point = np.mean([p.point for p in parts], axis=0)  # type: ignore[union-attr]
        quantiles = np.mean([p.quantiles for p in parts], axis=0)  # type: ignore[union-attr]
        return Forecast(first.index, point, quantiles, series.name, self.name)

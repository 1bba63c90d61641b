"""Comparison forecasters behind the same fit/predict/backtest interface as the LSTM.

``NaiveForecaster`` and ``SeasonalNaiveForecaster`` need only NumPy; ``ARIMAForecaster``
(automatic order selection) and ``ETSForecaster`` (automatic model selection) use
statsmodels, imported when they are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lstmkit.apps.forecasting.baselines.naive import NaiveForecaster, SeasonalNaiveForecaster

if TYPE_CHECKING:
    from lstmkit.apps.forecasting.baselines.statistical import ARIMAForecaster, ETSForecaster

__all__ = ["BASELINES", "ARIMAForecaster", "ETSForecaster", "NaiveForecaster", "SeasonalNaiveForecaster"]

#: names accepted by :func:`make_baseline` and ``lstmkit forecast --baselines``
BASELINES = ("naive", "seasonal_naive", "arima", "ets")


def __getattr__(name: str) -> Any:
    if name in ("ARIMAForecaster", "ETSForecaster"):
        from lstmkit.apps.forecasting.baselines import statistical

        return getattr(statistical, name)
    raise AttributeError(f"module 'lstmkit.apps.forecasting.baselines' has no attribute {name!r}")


def make_baseline(name: str) -> Any:
    """A baseline by name: ``naive``, ``seasonal_naive``, ``arima`` or ``ets``."""
    key = name.lower().replace(" ", "_").replace("-", "_")
    if key == "naive":
        return NaiveForecaster()
    if key in ("seasonal_naive", "snaive"):
        return SeasonalNaiveForecaster()
    if key in ("arima", "autoarima", "auto_arima"):
        from lstmkit.apps.forecasting.baselines.statistical import ARIMAForecaster

        return ARIMAForecaster()
    if key in ("ets", "autoets"):
        from lstmkit.apps.forecasting.baselines.statistical import ETSForecaster

        return ETSForecaster()
    raise ValueError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")

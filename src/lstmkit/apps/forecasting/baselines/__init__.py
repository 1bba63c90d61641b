"""Comparison forecasters behind the same fit/predict/backtest interface as the LSTM.

``NaiveForecaster`` and ``SeasonalNaiveForecaster`` need only NumPy; the M3/M4 competitions'
statistical benchmarks ``ThetaForecaster``, ``Naive2Forecaster``, ``SESForecaster``,
``HoltForecaster``, ``DampedForecaster`` and ``CombForecaster`` (:mod:`.classical`) NumPy and
SciPy; ``ARIMAForecaster`` (automatic order selection) and ``ETSForecaster`` (automatic model
selection) use statsmodels. The last two groups are imported when they are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lstmkit.apps.forecasting.baselines.naive import NaiveForecaster, SeasonalNaiveForecaster

if TYPE_CHECKING:
    from lstmkit.apps.forecasting.baselines.classical import (
        CombForecaster,
        DampedForecaster,
        HoltForecaster,
        Naive2Forecaster,
        SESForecaster,
        ThetaForecaster,
    )
    from lstmkit.apps.forecasting.baselines.statistical import ARIMAForecaster, ETSForecaster

__all__ = [
    "BASELINES",
    "ARIMAForecaster",
    "CombForecaster",
    "DampedForecaster",
    "ETSForecaster",
    "HoltForecaster",
    "Naive2Forecaster",
    "NaiveForecaster",
    "SESForecaster",
    "SeasonalNaiveForecaster",
    "ThetaForecaster",
    "make_baseline",
]

#: names accepted by :func:`make_baseline` and ``lstmkit forecast --baselines``
BASELINES = ("naive", "seasonal_naive", "arima", "ets", "theta", "naive2", "ses", "holt", "damped", "comb")

#: make_baseline's names of the classical benchmarks -> their class in :mod:`.classical`
_CLASSICAL = {
    "theta": "ThetaForecaster",
    "naive2": "Naive2Forecaster",
    "ses": "SESForecaster",
    "holt": "HoltForecaster",
    "damped": "DampedForecaster",
    "comb": "CombForecaster",
}


def __getattr__(name: str) -> Any:
    if name in ("ARIMAForecaster", "ETSForecaster"):
        from lstmkit.apps.forecasting.baselines import statistical

        return getattr(statistical, name)
    if name in _CLASSICAL.values():
        from lstmkit.apps.forecasting.baselines import classical

        return getattr(classical, name)
    raise AttributeError(f"module 'lstmkit.apps.forecasting.baselines' has no attribute {name!r}")


def make_baseline(name: str) -> Any:
    """A baseline by name, one of :data:`BASELINES`: ``naive``, ``seasonal_naive``, ``arima``,
    ``ets``, ``theta``, ``naive2``, ``ses``, ``holt``, ``damped`` or ``comb``."""
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
    if key in _CLASSICAL:
        from lstmkit.apps.forecasting.baselines import classical

        return getattr(classical, _CLASSICAL[key])()
    raise ValueError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")

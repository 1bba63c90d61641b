"""Task models built from :mod:`lstmkit.nn`: forecaster, classifiers, anomaly detector, ...

Submodules are imported on first use (``lstmkit.models.Forecaster`` loads
:mod:`lstmkit.models.forecaster`), so importing this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lstmkit.models.anomaly import AnomalyDetector, LSTMAutoencoder
    from lstmkit.models.classifier import LSTMFCN, LSTMClassifier, SequenceClassifier
    from lstmkit.models.forecast_base import BacktestResult, Forecast, ForecastModel, backtest
    from lstmkit.models.forecaster import Forecaster, ForecastNet
    from lstmkit.models.lm import LanguageModel
    from lstmkit.models.seq2seq import Seq2Seq
    from lstmkit.models.text_classifier import TextClassifier

# public name -> submodule that defines it
_LAZY = {
    "Forecaster": "forecaster",
    "ForecastNet": "forecaster",
    "Forecast": "forecast_base",
    "ForecastModel": "forecast_base",
    "BacktestResult": "forecast_base",
    "backtest": "forecast_base",
    "SequenceClassifier": "classifier",
    "LSTMFCN": "classifier",
    "LSTMClassifier": "classifier",
    "AnomalyDetector": "anomaly",
    "LSTMAutoencoder": "anomaly",
    # language (issue 6)
    "LanguageModel": "lm",
    "TextClassifier": "text_classifier",
    "Seq2Seq": "seq2seq",
}

__all__ = [
    "LSTMFCN",
    "AnomalyDetector",
    "BacktestResult",
    "Forecast",
    "ForecastModel",
    "ForecastNet",
    "Forecaster",
    "LSTMAutoencoder",
    "LSTMClassifier",
    "LanguageModel",
    "Seq2Seq",
    "SequenceClassifier",
    "TextClassifier",
    "backtest",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"lstmkit.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'lstmkit.models' has no attribute {name!r}")

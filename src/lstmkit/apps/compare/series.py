"""The real-series tasks: forecasting (airline, sunspots) and UCR classification (GunPoint,
ArrowHead, OSULeaf).

Forecasting: every network is a one-member :class:`~lstmkit.apps.forecasting.estimator.Forecaster`
(direct multi-horizon quantile head, the library's scaling and windows) trained for the same
number of epochs, without early stopping (the weights of the lowest loss on the series' own
validation tail are kept, as the library does) and without a refit; ARIMA and ETS
(automatic order, statsmodels) are the baselines. The metric is MASE of the median forecast
over the last ``horizon`` steps, the network having seen only the steps before them; the rate
search scores the ``horizon`` steps before those (trained on what precedes them).

Classification: every network is a :class:`~lstmkit.apps.classification.estimator.SequenceClassifier`
of that architecture (last-step pooling for a recurrent encoder, mean pooling for a Transformer
or TCN, which see the whole series) trained for the same number of epochs; the metric is test
accuracy. The rate search trains on three quarters of the training split (stratified) and
scores the other quarter; the test split is never looked at until the chosen rate's seeds.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.apps.classification.data import ClassificationData, load_classification
from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.classification.model import EncoderClassifier
from lstmkit.apps.compare.base import CompareTask, Metric, Score, Size, heads_for, used_parameters
from lstmkit.apps.forecasting.baselines import make_baseline
from lstmkit.apps.forecasting.datasets import load_series
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.model import ForecastNet
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.core.layers.encoder import RECURRENT
from lstmkit.fit import evaluation as M
from lstmkit.fit.crossval import stratified_folds

__all__ = ["ClassifyTask", "ForecastTask", "classify", "forecast"]


@functools.lru_cache(maxsize=8)
def _series(name: str) -> TimeSeries:
    return load_series(name)


@functools.lru_cache(maxsize=8)
def _layout(name: str, horizon: int) -> tuple[int, int, int]:
    """(input features, future features, window) of the Forecaster's windows of series ``name``."""
    s = _series(name)
    fc = Forecaster(horizon, ensemble=1, max_epochs=1, progress=False).fit(s.head(len(s) - horizon))
    lay = fc.layout_
    return int(lay["input_size"]), int(lay["future_size"]), int(lay["window"])


@dataclass(frozen=True)
class ForecastTask(CompareTask):
    """Forecast the last ``horizon`` steps of bundled series ``series``; MASE."""

    series: str = "airline"
    horizon: int = 12

    def _split(self, split: str) -> tuple[TimeSeries, np.ndarray]:
        s, h = _series(self.series), self.horizon
        end = len(s) - (2 * h if split == "valid" else h)
        return s.head(end), np.asarray(s.values[end : end + h], dtype=np.float64)

    def _mase(self, model: Any, history: TimeSeries, actual: np.ndarray) -> float:
        fc = model.predict(self.horizon)
        return M.mase(actual, fc.point, history.values, history.season)

    def count(self, architecture: str, width: int, layers: int) -> int:
        inputs, future, window = _layout(self.series, self.horizon)
        net = ForecastNet(
            inputs,
            future,
            self.horizon,
            architecture=architecture,
            hidden_size=width,
            num_layers=layers,
            num_heads=heads_for(width),
        )
        return used_parameters(net, window)

    def train(self, size: Size, lr: float, seed: int, split: str) -> Score:
        history, actual = self._split(split)
        start = time.perf_counter()
        model = Forecaster(
            self.horizon,
            architecture=size.architecture,
            hidden_size=size.width,
            num_layers=size.layers,
            num_heads=heads_for(size.width),
            ensemble=1,
            max_epochs=int(self.budget),
            patience=None,
            refit=False,
            lr=lr,
            seed=seed,
            progress=False,
        ).fit(history)
        seconds = time.perf_counter() - start
        return Score(self._mase(model, history, actual), seconds, self.budget)

    def baseline(self, name: str, seed: int, split: str) -> Score:
        if name not in self.baselines:
            return super().baseline(name, seed, split)
        history, actual = self._split(split)
        start = time.perf_counter()
        model = make_baseline(name).fit(history)
        seconds = time.perf_counter() - start
        return Score(self._mase(model, history, actual), seconds)


@functools.lru_cache(maxsize=8)
def _data(name: str) -> ClassificationData:
    return load_classification(name)


def _pooling(architecture: str) -> str:
    return "last" if architecture in RECURRENT else "mean"


@dataclass(frozen=True)
class ClassifyTask(CompareTask):
    """Classify the UCR dataset ``dataset``; test accuracy."""

    dataset: str = "gunpoint"

    def _split(self, split: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        d = _data(self.dataset)
        if split == "test":
            return (d.x_train, d.y_train, d.lengths_train), (d.x_test, d.y_test, d.lengths_test)
        fold = stratified_folds(d.y_train, 4, seed=0) == 0  # a quarter of each class
        train = (d.x_train[~fold], d.y_train[~fold], d.lengths_train[~fold])
        return train, (d.x_train[fold], d.y_train[fold], d.lengths_train[fold])

    def count(self, architecture: str, width: int, layers: int) -> int:
        d = _data(self.dataset)
        net = EncoderClassifier(
            d.num_channels,
            d.num_classes,
            architecture=architecture,
            pooling=_pooling(architecture),
            hidden_size=width,
            num_layers=layers,
            num_heads=heads_for(width),
        )
        return used_parameters(net, int(d.x_train.shape[1]))

    def train(self, size: Size, lr: float, seed: int, split: str) -> Score:
        (x, y, lengths), (xt, yt, lt) = self._split(split)
        start = time.perf_counter()
        clf = SequenceClassifier(
            size.architecture,
            pooling=_pooling(size.architecture),
            hidden_size=size.width,
            num_layers=size.layers,
            num_heads=heads_for(size.width),
            max_epochs=int(self.budget),
            lr=lr,
            seed=seed,
            progress=False,
        ).fit(x, y, lengths)
        seconds = time.perf_counter() - start
        return Score(float(clf.score(xt, yt, lt)), seconds, self.budget)


def forecast(series: str, horizon: int, budget: int, quick: bool) -> ForecastTask:
    """The forecasting task of bundled ``series`` (ARIMA and ETS its baselines)."""
    return ForecastTask(
        name=series,
        title=f"{series}: forecast the last {horizon} steps (MASE of the median)",
        metric=Metric("MASE", higher_better=False),
        budget=10 if quick else budget,
        budget_unit="epochs",
        lrs=(1e-3, 3e-3, 1e-2),
        width=32,
        depth=(("transformer", 2), ("tcn", 3)),
        baselines=("arima", "ets"),
        input_size=_layout(series, horizon)[0],
        series=series,
        horizon=horizon,
    )


def classify(dataset: str, title: str, budget: int, quick: bool) -> ClassifyTask:
    """The classification task of bundled UCR ``dataset``."""
    d = _data(dataset)
    return ClassifyTask(
        name=dataset,
        title=f"{title}: {len(d.y_train)} training / {len(d.y_test)} test series, "
        f"length {d.x_train.shape[1]}, {d.num_classes} classes (test accuracy)",
        metric=Metric("accuracy", higher_better=True),
        budget=5 if quick else budget,
        budget_unit="epochs",
        lrs=(1e-3, 3e-3, 1e-2),
        width=32,
        depth=(("transformer", 2), ("tcn", 6)),
        input_size=d.num_channels,
        dataset=dataset,
    )

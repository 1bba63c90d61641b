"""The anomaly-detection signals bundled with installed packages: ECG and Yahoo S5 excerpts
with labels (sktime), photoplethysmograms without (heartpy).

Nothing here downloads anything; a loader whose package is missing raises
:class:`ImportError` naming what to install. ``lstmkit data list --task anomaly`` prints the
table of :data:`DATASETS`.

Example::

    >>> ecg = load_anomaly("mitdb")
    >>> ecg.values.shape, ecg.sample_rate
    ((7500, 1), 360.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lstmkit.apps.common.bundled import SKTIME, DatasetInfo, dataset_info, package_file, pandas, resolve

__all__ = ["ALIASES", "DATASETS", "AnomalyData", "load_anomaly"]


@dataclass(frozen=True, eq=False)
class AnomalyData:
    """A signal with per-sample anomaly labels (or none).

    Attributes:
        name: dataset name.
        values: (T, C) float64 signal.
        labels: (T,) int64, 1 = anomalous sample; ``None`` if the recording is unlabelled.
        sample_rate: samples per second (``None`` if not a physical rate).
        description: one line.
    """

    name: str
    values: np.ndarray
    labels: np.ndarray | None
    sample_rate: float | None
    description: str = ""

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        lab = "unlabelled" if self.labels is None else f"{int(self.labels.sum())} anomalous samples"
        return f"AnomalyData({self.name!r}, T={len(self)}, channels={self.values.shape[1]}, {lab})"


def _labelled_csv(name: str, folder: str, rate: float | None, description: str) -> Callable[[], AnomalyData]:
    def load() -> AnomalyData:
        pd = pandas()
        df = pd.read_csv(package_file("sktime", "datasets", "data", folder, f"{folder}.csv"))
        return AnomalyData(
            name,
            df[["data"]].to_numpy(np.float64),
            df["label"].to_numpy(np.int64),
            rate,
            description,
        )

    return load


def _ppg(file: str, name: str) -> Callable[[], AnomalyData]:
    def load() -> AnomalyData:
        pd = pandas()
        df = pd.read_csv(package_file("heartpy", "data", file), header=None if file == "data.csv" else 0)
        if file == "data.csv":
            return AnomalyData(name, df.iloc[:, [0]].to_numpy(np.float64), None, 100.0, _PPG_DESC[name])
        timer = df["timer"].to_numpy(float)  # milliseconds
        rate = 1000.0 / float(np.median(np.diff(timer)))
        return AnomalyData(name, df[["hr"]].to_numpy(np.float64), None, round(rate, 2), _PPG_DESC[name])

    return load


_PPG_DESC = {
    "ppg": "Photoplethysmogram (PPG) recording bundled with heartpy (data.csv), 100 Hz, unlabelled",
    "ppg_long": "Longer PPG recording bundled with heartpy (data2.csv, ms timer), unlabelled",
}


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        dataset_info("mitdb", "anomaly", "ECG excerpt from the MIT-BIH Arrhythmia Database, labelled anomaly",
            "360 Hz", SKTIME + "mitdb/mitdb.csv", "Moody & Mark (2001), PhysioNet", "7500, 352 anomalous",
            _labelled_csv("mitdb", "mitdb", 360.0,
                          "ECG excerpt (MIT-BIH Arrhythmia Database via sktime), 360 Hz, labelled")),
        dataset_info("yahoo", "anomaly", "Yahoo Webscope S5 excerpt with labelled point anomalies",
            "regular steps", SKTIME + "yahoo/yahoo.csv", "Yahoo Labs S5 (Laptev et al. 2015)",
            "1000, 7 anomalous",
            _labelled_csv("yahoo", "yahoo", None, "Yahoo S5 series with labelled point anomalies")),
        dataset_info("ppg", "anomaly", "Photoplethysmogram recording, unlabelled", "100 Hz",
            "heartpy:data/data.csv", "heartpy examples (van Gent et al. 2019)", "2483, unlabelled",
            _ppg("data.csv", "ppg")),
        dataset_info("ppg_long", "anomaly", "Longer photoplethysmogram recording, unlabelled", "~117 Hz",
            "heartpy:data/data2.csv", "heartpy examples (van Gent et al. 2019)", "15000, unlabelled",
            _ppg("data2.csv", "ppg_long")),
    ]
}  # fmt: skip

#: other names of the datasets
ALIASES = {"ecg": "mitdb"}


def load_anomaly(name: str) -> AnomalyData:
    """Load an anomaly-detection signal (labelled or not)."""
    return resolve(name, DATASETS, ALIASES).loader()

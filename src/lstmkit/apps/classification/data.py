"""The UCR/UEA classification datasets bundled with sktime, as padded arrays with lengths.

Nothing here downloads anything; without sktime a loader raises :class:`ImportError`
naming what to install. ``lstmkit data list --task classification`` prints the table of
:data:`DATASETS`.

Example::

    >>> d = load_classification("gunpoint")
    >>> d.x_train.shape, d.num_classes
    ((50, 150, 1), 2)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.apps.common.bundled import PIP, SKTIME, DatasetInfo, dataset_info, package_file, resolve

__all__ = ["DATASETS", "ClassificationData", "load_classification"]


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


def _ucr_dataset(folder: str, description: str, length: str, origin: str, size: str) -> DatasetInfo:
    """The entry of the UCR/UEA dataset in sktime's ``datasets/data/FOLDER`` (named
    ``folder.lower()``); ``size`` is ``"TRAIN/TEST"`` sequences."""
    name, source = folder.lower(), SKTIME + f"{folder}/*.ts"
    return dataset_info(name, "classification", description, length, source, origin, size, _ucr(folder))


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        _ucr_dataset("GunPoint", "Gun draw vs pointing, hand x-coordinate; 2 classes", "150 steps",
            "UCR archive (Ratanamahatana & Keogh 2005)", "50/150"),
        _ucr_dataset("ItalyPowerDemand", "Italian daily power demand, winter vs summer; 2 classes",
            "24 steps", "UCR archive (Keogh et al.)", "67/1029"),
        _ucr_dataset("ArrowHead", "Arrowhead outlines as series; 3 classes", "251 steps",
            "UCR archive (Ye & Keogh 2009)", "36/175"),
        _ucr_dataset("BasicMotions", "Smartwatch accelerometer+gyroscope, 4 activities", "100 steps x 6",
            "UEA archive (Bagnall et al. 2018)", "40/40"),
        _ucr_dataset("JapaneseVowels",
            "Speaker recognition from 12 LPC cepstra; 9 speakers; variable length (7-29)",
            "7-29 steps x 12", "UEA archive (Kudo et al. 1999)", "270/370"),
        _ucr_dataset("OSULeaf", "Leaf outlines as series; 6 classes", "427 steps",
            "UCR archive (Gandhi 2002)", "200/242"),
    ]
}  # fmt: skip


def load_classification(name: str) -> ClassificationData:
    """Load a UCR/UEA classification dataset (train and test splits)."""
    return resolve(name, DATASETS, {}).loader()

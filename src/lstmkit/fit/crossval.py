"""Cross-validation of classifiers: stratified folds and the out-of-fold results.

Example::

    >>> folds = stratified_folds(np.array([0, 0, 1, 1, 1, 1]), 2, seed=0)
    >>> [np.bincount(np.array([0, 0, 1, 1, 1, 1])[folds == f]).tolist() for f in (0, 1)]
    [[1, 2], [1, 2]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CrossValidation", "stratified_folds"]


def stratified_folds(y: Any, folds: int, seed: int = 0) -> np.ndarray:
    """Fold index in ``[0, folds)`` of each label in ``y`` (N,): every class is dealt round-robin
    over the folds in a random order (seeded), so each fold holds a near-equal share of each class
    and the folds' sizes differ by at most one sequence per class.

    Raises ``ValueError`` when a class has fewer than ``folds`` sequences (a fold would train
    without it or validate on none of it).

    Example::

        >>> stratified_folds(np.array([0, 0, 1, 1, 1, 1]), 2)  # e.g. array([1, 0, 0, 1, 1, 0])
    """
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"y: expected a non-empty 1-D array of class indices, got shape {labels.shape}")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds: expected an int >= 2, got {folds!r}")
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < folds:
        c = classes[counts.argmin()]
        raise ValueError(
            f"folds: class {c} has only {counts.min()} sequences, fewer than folds={folds}; use at most "
            f"{counts.min()} folds"
        )
    rng = np.random.default_rng(seed)
    out = np.empty(len(labels), dtype=np.int64)
    start = 0
    for c in classes:
        idx = rng.permutation(np.flatnonzero(labels == c))
        out[idx] = (start + np.arange(len(idx))) % folds
        start = (start + len(idx)) % folds  # the next class fills the folds this one left short
    return out


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold results of a cross-validation, e.g.
    :meth:`~lstmkit.apps.classification.estimator.SequenceClassifier.cross_validate` (R repeats,
    N sequences, K classes).

    Attributes:
        accuracy: out-of-fold accuracy, the mean over repeats.
        log_loss: out-of-fold cross-entropy (nats), the mean over repeats; it separates
            settings that tie on accuracy, which on a few dozen sequences moves in steps of
            1/N.
        fold_accuracy: accuracy of each (repeat, fold), R * folds values.
        proba: (R, N, K) out-of-fold class probabilities.
        folds: (R, N) the fold of each sequence in each repeat.
        seconds: wall time.
    """

    accuracy: float
    log_loss: float
    fold_accuracy: tuple[float, ...]
    proba: np.ndarray
    folds: np.ndarray
    seconds: float

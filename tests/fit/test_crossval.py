"""Stratified folds for cross-validation."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.fit.crossval import stratified_folds


def test_stratified_folds_balance_every_class() -> None:
    y = np.array([0] * 10 + [1] * 7 + [2] * 4)
    folds = stratified_folds(y, 4, seed=3)
    assert folds.shape == y.shape and set(folds.tolist()) == {0, 1, 2, 3}
    for c in (0, 1, 2):
        per_fold = np.bincount(folds[y == c], minlength=4)
        assert per_fold.max() - per_fold.min() <= 1, (c, per_fold)  # each class spread evenly
    sizes = np.bincount(folds, minlength=4)
    assert sizes.max() - sizes.min() <= 1, sizes  # and the folds are near equal overall
    assert np.array_equal(folds, stratified_folds(y, 4, seed=3))
    assert not np.array_equal(folds, stratified_folds(y, 4, seed=4))
    with pytest.raises(ValueError, match="class 2 has only 4 sequences, fewer than folds=5"):
        stratified_folds(y, 5)
    with pytest.raises(ValueError, match="folds: expected an int >= 2"):
        stratified_folds(y, 1)
    with pytest.raises(ValueError, match="y: expected a non-empty 1-D array"):
        stratified_folds(np.zeros((2, 2)), 2)

"""Classifier explanations: completeness on GunPoint, attributions that find the part of a
synthetic series that decides its class, the report files."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.classification.explain import explain_classifier
from lstmkit.apps.datasets import sources


@pytest.fixture(scope="module")
def bump() -> tuple[SequenceClassifier, np.ndarray, np.ndarray]:
    """Class 1 has a bump at steps 20..29, class 0 none; a bilstm with attention trained on 80."""
    rng = np.random.default_rng(0)
    n, length = 120, 60
    y = rng.integers(0, 2, n)
    x = 0.3 * rng.normal(size=(n, length, 1))
    x[y == 1, 20:30, 0] += 1.5
    clf = SequenceClassifier(
        "bilstm", pooling="attention", hidden_size=16, max_epochs=30, lr=1e-2, progress=False
    )
    return clf.fit(x[:80], y[:80]), x[80:], y[80:]


def test_attributions_find_the_bump_that_decides_the_class(bump) -> None:
    clf, x, y = bump
    ones = np.flatnonzero(y == 1)[:4]
    ex = explain_classifier(clf, x[ones])
    assert (ex.predicted == 1).all() and (ex.probability > 0.9).all()  # trained
    assert ex.max_gap <= 0.01, ex.gap
    mag = np.abs(ex.integrated[..., 0])
    share = mag[:, 20:30].sum(1) / mag.sum(1)
    assert (share > 0.5).all(), share  # 10 of 60 steps: 0.17 for attributions spread evenly


def test_integrated_gradients_are_complete_on_gunpoint_lstm_fcn(tmp_path) -> None:
    d = sources.load_classification("gunpoint")
    clf = SequenceClassifier("lstm-fcn", max_epochs=5, progress=False).fit(d.x_train, d.y_train)
    ex = explain_classifier(clf, d.x_test[:2], window=15, classes=list(d.classes))
    assert ex.integrated.shape == (2, d.x_test.shape[1], 1)
    assert ex.max_gap <= 0.01, ex.gap
    assert np.abs(ex.log_odds - ex.baseline_output).min() > 0
    sections = ex.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "classify_attribution_0.png",
        "classify_attribution_1.png",
    ]
    assert "classify_attribution_1.png" in sections[0][1]


def test_an_explicit_target_and_bad_input(bump) -> None:
    clf, x, _ = bump
    ex = explain_classifier(clf, x[:2], target=[0, 0])
    assert (ex.target == 0).all()
    with pytest.raises(ValueError, match="target: expected 2 class indices"):
        explain_classifier(clf, x[:2], target=[0, 0, 1])
    with pytest.raises(RuntimeError, match="call fit"):
        explain_classifier(SequenceClassifier(), x[:2])

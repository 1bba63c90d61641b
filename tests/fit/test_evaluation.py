"""Evaluation metrics for forecasts and detectors against hand computations and references."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.fit import evaluation as M


def test_point_metrics_by_hand() -> None:
    y, f = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 1.0])
    assert M.mae(y, f) == pytest.approx(4 / 3)
    assert M.rmse(y, f) == pytest.approx(np.sqrt(10 / 3))
    assert M.smape(y, f) == pytest.approx(200 / 3 * (1 / 3 + 0 + 3 / 5))
    hist = np.array([1.0, 3.0, 2.0, 6.0, 4.0])
    assert M.mase_scale(hist, 1) == pytest.approx((2 + 1 + 4 + 2) / 4)  # naive in-sample errors
    assert M.mase_scale(hist, 2) == pytest.approx((1 + 3 + 2) / 3)  # |2-1|, |6-3|, |4-2|
    assert M.mase(y, f, hist, season=2) == pytest.approx((4 / 3) / 2)


def test_mase_scale_errors() -> None:
    with pytest.raises(ValueError, match="all zero"):
        M.mase_scale(np.ones(10))


def test_coverage_and_pinball() -> None:
    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert M.coverage(y, y - 0.5, y + 0.5) == 1.0
    assert M.coverage(y, y + 0.1, y + 0.5) == 0.0
    q = np.stack([y - 1, y, y + 1], axis=1)
    # pinball: level 0.1 at q = y-1: 0.1*1; 0.5 at y: 0; 0.9 at y+1: 0.1*1
    assert M.pinball_loss(y, q, [0.1, 0.5, 0.9]) == pytest.approx((0.1 + 0 + 0.1) / 3)
    with pytest.raises(ValueError, match="quantiles: expected shape"):
        M.pinball_loss(y, q[:, :2], [0.1, 0.5, 0.9])


def test_crps_quantile_approximation_matches_gaussian_closed_form() -> None:
    from statistics import NormalDist

    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    mu, sd = 0.3 * np.ones(200), 1.2 * np.ones(200)
    levels = np.linspace(0.005, 0.995, 199)
    q = np.array([[NormalDist(m, s).inv_cdf(t) for t in levels] for m, s in zip(mu[:1], sd[:1])])
    q = np.repeat(q, 200, axis=0)
    assert M.crps_quantiles(y, q, levels) == pytest.approx(M.crps_gaussian(y, mu, sd), rel=0.02)


def test_crps_gaussian_known_value() -> None:
    # CRPS of N(0,1) at y=0 is 2*phi(0) - 1/sqrt(pi) = 0.23369...
    assert M.crps_gaussian([0.0], [0.0], [1.0]) == pytest.approx(0.2336949, abs=1e-6)


def test_roc_auc_matches_scikit_learn_with_ties() -> None:
    import sklearn.metrics as sklearn_metrics  # installed by the setup; a missing one must fail

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(size=300) + y, 1)  # ties
    assert M.roc_auc(y, s) == pytest.approx(sklearn_metrics.roc_auc_score(y, s))


def test_precision_recall_f1_and_errors() -> None:
    p, r, f = M.precision_recall_f1([1, 1, 0, 0], [1, 0, 1, 0])
    assert (p, r, f) == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="both anomalous and normal"):
        M.roc_auc([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="binary labels"):
        M.precision_recall_f1([0, 2], [0, 1])

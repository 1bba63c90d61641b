"""Frame NLL and accuracy against hand computations; the counting baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmkit.apps.music import metrics
from lstmkit.apps.music.baselines import MarginalModel, RepeatModel


def test_frame_nll_by_hand() -> None:
    rolls = [np.array([[1, 0], [0, 0]]), np.array([[1, 1]])]
    probs = [np.array([[0.8, 0.1], [0.3, 0.4]]), np.array([[0.5, 0.9]])]
    by_hand = (
        -(
            (math.log(0.8) + math.log(0.9))  # frame 1
            + (math.log(0.7) + math.log(0.6))  # frame 2
            + (math.log(0.5) + math.log(0.9))  # frame 3
        )
        / 3
    )
    assert metrics.frame_nll(probs, rolls) == pytest.approx(by_hand, rel=1e-12)


def test_frame_accuracy_by_hand() -> None:
    rolls = [np.array([[1, 0, 1], [0, 1, 0]])]
    probs = [np.array([[0.9, 0.6, 0.2], [0.1, 0.7, 0.4]])]
    # TP: (0,0), (1,1); FP: (0,1); FN: (0,2)
    assert metrics.frame_accuracy(probs, rolls) == pytest.approx(2 / 4)


def test_metrics_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match=r"probs\[0\]: expected shape \(1, 2\)"):
        metrics.frame_nll([np.zeros((2, 2))], [np.zeros((1, 2))])
    with pytest.raises(ValueError, match="probabilities in"):
        metrics.frame_nll([np.full((1, 2), np.nan)], [np.zeros((1, 2))])


def test_marginal_counts() -> None:
    rolls = [np.array([[1, 0], [1, 0], [0, 0]]), np.array([[1, 1]])]
    model = MarginalModel(alpha=0.5).fit(rolls)
    assert model.prob_ is not None
    np.testing.assert_allclose(model.prob_, [(3 + 0.5) / 5, (1 + 0.5) / 5])
    (p,) = model.predict_proba([np.zeros((2, 2))])
    assert p.shape == (2, 2) and np.allclose(p, model.prob_)


def test_repeat_model_transitions() -> None:
    roll = np.array([[1, 0], [1, 0], [1, 0], [0, 1]])
    model = RepeatModel(alpha=0.5).fit([roll])
    assert model.on_after_ is not None and model.marginal.prob_ is not None
    # pitch 0: after on -> on 2 of 3; after off: none seen; pitch 1: after off -> on 1 of 3
    np.testing.assert_allclose(model.on_after_[1, 0], (2 + 0.5) / (3 + 1))
    np.testing.assert_allclose(model.on_after_[0, 0], 0.5 / 1)
    np.testing.assert_allclose(model.on_after_[0, 1], (1 + 0.5) / (3 + 1))
    (p,) = model.predict_proba([roll])
    np.testing.assert_allclose(p[0], model.marginal.prob_)
    np.testing.assert_allclose(p[1:, 0], model.on_after_[1, 0])
    # on data that repeats, repeating beats the marginal model
    held = [np.repeat(np.eye(4), 6, axis=0)]
    marginal, repeat = MarginalModel().fit(held), RepeatModel().fit(held)
    nll_marginal = metrics.frame_nll(marginal.predict_proba(held), held)
    assert metrics.frame_nll(repeat.predict_proba(held), held) < 0.5 * nll_marginal


def test_score_baselines_matches_the_models() -> None:
    from lstmkit.apps.music.baselines import score_baselines

    train = [np.repeat(np.eye(3), 4, axis=0)]
    test = [np.repeat(np.eye(3)[::-1], 2, axis=0)]
    scores = score_baselines(train, test)
    direct = metrics.frame_nll(RepeatModel().fit(train).predict_proba(test), test)
    assert scores["repeat previous frame"]["nll"] == pytest.approx(direct)
    assert set(scores) == {"per-pitch marginal", "repeat previous frame"}

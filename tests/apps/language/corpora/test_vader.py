"""The VADER sentiment sets: labels from the human ratings, fixed splits, the labelled text containers."""

from __future__ import annotations

import pytest

from lstmkit.apps.language.corpora.vader import LabelledSplits, LabelledText, load_vader


def test_vader_movies_labels_follow_the_human_ratings() -> None:
    d = load_vader("movies")
    n = len(d.train) + len(d.valid) + len(d.test)
    assert 10_500 < n < 10_605  # 10,605 snippets less the few rated exactly 0
    assert len(d.valid) == len(d.test) == n // 10
    for part in (d.train, d.valid, d.test):
        assert all((s > 0) == bool(y) for s, y in zip(part.scores, part.labels))
        assert all(-4 <= s <= 4 for s in part.scores)
    assert 0.45 < sum(d.train.labels) / len(d.train) < 0.55  # Pang & Lee's set is balanced
    assert not set(d.train.texts) & set(d.test.texts)
    assert len(set(d.train.texts + d.valid.texts + d.test.texts)) == n
    three = load_vader("tweets", binary=False)
    assert three.classes == ("negative", "neutral", "positive")
    assert set(three.train.labels) == {0, 1, 2}
    with pytest.raises(ValueError, match="subset"):
        load_vader("imdb")


def test_labelled_text_container() -> None:
    lt = LabelledText(["a", "b"], [0, 1])
    assert len(lt) == 2 and lt.scores == []
    assert "train=2" in repr(LabelledSplits("x", ("n", "p"), lt, lt, lt))

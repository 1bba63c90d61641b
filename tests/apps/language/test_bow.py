"""The bag-of-words logistic regression baseline."""

from __future__ import annotations

import pytest

from lstmkit.apps.language.bow import BagOfWordsClassifier


def test_bag_of_words_learns_polarity() -> None:
    pos = ["a wonderful, moving film", "great acting and a great story", "wonderful and funny", "I loved it"]
    neg = ["a dull, boring mess", "terrible acting and a boring story", "dull and stupid", "I hated it"]
    bow = BagOfWordsClassifier(C=10.0).fit(pos * 5 + neg * 5, [1] * 20 + [0] * 20)
    assert bow.predict(["a great, wonderful story", "boring and terrible"]) == [1, 0]
    with pytest.raises(ValueError, match="not fitted"):
        BagOfWordsClassifier().predict(["x"])

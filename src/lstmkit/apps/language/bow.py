"""Bag-of-words logistic regression (scikit-learn): the classic text-classification baseline.

Unigram + bigram counts (TF-IDF weighted, sublinear term frequency) fed to an L2-regularized
logistic regression, the setup of Wang & Manning (2012)'s baselines and of most sentiment
tutorials. The regularization strength ``C`` is chosen on the validation split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["BagOfWordsClassifier"]


def _sklearn() -> Any:
    try:
        import sklearn  # noqa: F401
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the bag-of-words baseline needs scikit-learn: pip install 'scikit-learn==1.9.*' (or make setup)"
        ) from exc
    return TfidfVectorizer, LogisticRegression


class BagOfWordsClassifier:
    """TF-IDF n-gram features + logistic regression.

    Args:
        ngram_range: n-gram orders of the features (default unigrams and bigrams).
        C: inverse regularization strength; :meth:`fit` picks the best of ``C_grid`` on the
            validation texts when they are given.
        C_grid: candidates for ``C``.
        min_df: ignore n-grams in fewer documents.

    Example::

        >>> bow = BagOfWordsClassifier().fit(train_texts, train_labels, valid_texts, valid_labels)
        >>> bow.predict(["a gorgeous, witty film"])
    """

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (1, 2),
        C: float = 1.0,
        C_grid: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
        min_df: int = 1,
    ) -> None:
        self.ngram_range, self.C, self.C_grid, self.min_df = ngram_range, float(C), tuple(C_grid), min_df
        self.vectorizer: Any = None
        self.model: Any = None

    def _fit_one(self, texts: Sequence[str], labels: Sequence[int], c: float) -> tuple[Any, Any]:
        tfidf_cls, logreg_cls = _sklearn()
        vec = tfidf_cls(ngram_range=self.ngram_range, min_df=self.min_df, sublinear_tf=True, lowercase=True)
        x = vec.fit_transform(texts)
        model = logreg_cls(C=c, max_iter=2000)
        model.fit(x, list(labels))
        return vec, model

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[int],
        valid_texts: Sequence[str] | None = None,
        valid_labels: Sequence[int] | None = None,
    ) -> BagOfWordsClassifier:
        """Fit on ``texts``; with validation data, choose ``C`` from ``C_grid`` by accuracy."""
        if len(texts) == 0 or len(texts) != len(labels):
            raise ValueError(
                f"texts, labels: expected equal non-zero lengths, got {len(texts)} and {len(labels)}"
            )
        if valid_texts is not None and valid_labels is not None and len(valid_texts):
            best = None
            for c in self.C_grid:
                vec, model = self._fit_one(texts, labels, c)
                acc = float((model.predict(vec.transform(valid_texts)) == list(valid_labels)).mean())
                if best is None or acc > best[0]:
                    best = (acc, c, vec, model)
            assert best is not None
            _, self.C, self.vectorizer, self.model = best
        else:
            self.vectorizer, self.model = self._fit_one(texts, labels, self.C)
        return self

    def predict(self, texts: Sequence[str]) -> list[int]:
        if self.model is None:
            raise ValueError("BagOfWordsClassifier: not fitted; call fit() first")
        return [int(p) for p in self.model.predict(self.vectorizer.transform(list(texts)))]

    def predict_proba(self, texts: Sequence[str]) -> Any:
        if self.model is None:
            raise ValueError("BagOfWordsClassifier: not fitted; call fit() first")
        return self.model.predict_proba(self.vectorizer.transform(list(texts)))

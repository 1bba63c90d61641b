r"""Token attributions of the sentiment classifier next to its attention weights.

For each text, integrated gradients of the predicted class's log-odds (:math:`\log p - \log(1 -
p)` of the classifier's softmax) over the token embeddings, from the zero embedding (the padding
token's) at every position; a token's attribution is the sum over its embedding's entries.
Beside them, the attention pooling's weights of the same tokens and the Spearman rank agreement
of the two (|attribution| against attention). Attention weights say where the pooling looked,
attributions what changed the output; they need not agree (Jain & Wallace 2019,
"Attention is not Explanation"), so both are shown.

An ensemble's first network is explained (the one ``lstmkit sentiment predict --attention``
shows). Shapes: L tokens, E embedding width.

Example::

    >>> ex = explain_sentiment(model, tokenizer, ["a gorgeous, moving film"], classes=["neg", "pos"])
    >>> ex.texts[0].tokens, ex.texts[0].attribution, ex.texts[0].attention, ex.texts[0].agreement
    >>> sections = ex.write("runs/sentiment-movies")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lstmkit.apps.language.sentiment import encode_texts
from lstmkit.apps.language.text_classifier import TextClassifier
from lstmkit.apps.language.tokenizers import Tokenizer
from lstmkit.explain.attribution_plots import tokens_html
from lstmkit.explain.attributions import (
    float64_copy,
    integrated_gradients,
    module_dtype,
    rank_agreement,
    relative_gap,
)
from lstmkit.explain.units import text_heat_png
from lstmkit.io.html import metrics_table_html

__all__ = ["SentimentExplanation", "TextAttribution", "explain_sentiment"]


@dataclass(frozen=True)
class TextAttribution:
    """One text: its tokens (L,), the explained class and its probability, the tokens'
    attributions (L,) and attention weights (L,) (``None`` without attention pooling), their
    rank agreement, and the relative completeness gap."""

    text: str
    tokens: list[str]
    target: int
    probability: float
    attribution: np.ndarray
    attention: np.ndarray | None
    agreement: float
    gap: float


@dataclass(frozen=True)
class SentimentExplanation:
    """The attributions of every text (see the module docstring)."""

    texts: list[TextAttribution]
    classes: list[str] | None = None

    @property
    def max_gap(self) -> float:
        return max(t.gap for t in self.texts)

    def _name(self, k: int) -> str:
        return self.classes[k] if self.classes is not None else str(k)

    def metrics(self) -> dict[str, Any]:
        """Plain numbers for ``metrics.json``."""
        agreements = [t.agreement for t in self.texts if np.isfinite(t.agreement)]
        return {
            "max_relative_gap": self.max_gap,
            "rank_agreement": [t.agreement for t in self.texts],
            "mean_rank_agreement": float(np.mean(agreements)) if agreements else float("nan"),
        }

    def write(
        self, folder: str | os.PathLike[str], prefix: str = "sentiment_", *, limit: int = 2
    ) -> list[tuple[str, str]]:
        """The (heading, HTML) sections: each text coloured by attribution and by attention (HTML),
        and the first ``limit`` texts also as pictures in ``folder`` (``<prefix>tokens_<i>.png``)."""
        rows, parts = [], []
        for i, t in enumerate(self.texts[:limit]):
            name = f"{prefix}tokens_{i}.png"
            _tokens_png(t, self._name(t.target), os.path.join(os.fspath(folder), name))
            parts.append(f"<img src='{name}' alt='text {i}'>")
        for i, t in enumerate(self.texts):
            rows.append(
                {
                    "text": i,
                    "class": self._name(t.target),
                    "probability": t.probability,
                    "rank agreement": t.agreement,
                    "gap %": 100 * t.gap,
                }
            )
            parts.append(f"<p><b>{i}</b> attribution: {tokens_html(t.tokens, t.attribution)}</p>")
            if t.attention is not None:
                parts.append(f"<p>attention: {tokens_html(t.tokens, t.attention, signed=False)}</p>")
        body = (
            "<p>Integrated gradients of the predicted class's log-odds over the token embeddings "
            "(red: for the class, blue: against it), and the attention weights (orange). "
            "Attention is not explanation: both are shown, with the Spearman rank agreement of "
            "|attribution| and attention.</p>"
            + metrics_table_html(rows, ["text", "class", "probability", "rank agreement", "gap %"])
            + "".join(parts)
        )
        return [("Token attributions and attention", body)]


def _tokens_png(t: TextAttribution, label: str, path: str) -> None:
    """One text drawn twice, its tokens coloured by attribution then by attention (a picture of
    the HTML colouring, for documents)."""
    text = " ".join(t.tokens)
    lines = [(f"attribution to {label} (p = {t.probability:.3f})", t.attribution)]
    if t.attention is not None:
        lines.append((f"attention (rank agreement {t.agreement:.2f})", t.attention))
    body = "\n".join(f"{head}:\n{text}" for head, _ in lines)
    values = []
    for head, v in lines:
        lim = float(np.abs(v).max()) or 1.0
        per_token = [np.full(len(tok), x / lim) for tok, x in zip(t.tokens, v)]
        values += [0.0] * (len(head) + 2) + list(np.concatenate(_spaced(per_token))) + [0.0]
    text_heat_png(body, np.array(values[: len(body)]), path, vmin=-1.0, vmax=1.0)


def _spaced(parts: list[np.ndarray]) -> list[np.ndarray]:
    """``parts`` with a zero between neighbours (the spaces that join the tokens)."""
    out: list[np.ndarray] = []
    for k, p in enumerate(parts):
        out += [p] if k == 0 else [np.zeros(1), p]
    return out


def _log_odds(model: TextClassifier) -> Any:
    """``f(embedded, tokens, lengths)`` -> (N, K): each class's log-odds, the embedding layer's
    output replaced by ``embedded`` (N, L, E)."""

    def f(embedded: Tensor, tokens: Tensor, lengths: Tensor) -> Tensor:
        handle = model.embedding.register_forward_hook(lambda _m, _i, _o: embedded)
        try:
            lsm = torch.log_softmax(model(tokens, lengths), -1)  # (N, K)
        finally:
            handle.remove()
        k = lsm.shape[1]
        others = lsm[:, None, :].expand(-1, k, -1).masked_fill(torch.eye(k, dtype=torch.bool), float("-inf"))
        return lsm - torch.logsumexp(others, -1)

    return f


def _one(model: TextClassifier, ids: list[int], n_steps: int, tolerance: float) -> tuple[Any, ...]:
    """(target, probability, attribution (L,), attention (L,) | None, gap) of one text."""
    dtype = module_dtype(model)
    tokens = torch.tensor([ids])
    lengths = torch.tensor([len(ids)])
    with torch.no_grad():
        logits, attention = model(tokens, lengths, return_attention=True)
        embedded = model.embedding(tokens).to(dtype)  # (1, L, E)
    target = int(logits.argmax(1))
    f = _log_odds(model)
    ig = integrated_gradients(
        f, embedded, target=target, n_steps=n_steps, tolerance=tolerance, additional_args=(tokens, lengths)
    )
    prob = float(torch.softmax(logits.double(), -1)[0, target])
    att = None if attention is None else attention[0].double().numpy()
    return target, prob, ig.values[0].sum(-1).double().numpy(), att, float(relative_gap(ig)[0])


def explain_sentiment(
    model: TextClassifier | Sequence[TextClassifier],
    tokenizer: Tokenizer,
    texts: Sequence[str],
    *,
    classes: Sequence[str] | None = None,
    n_steps: int = 128,
    tolerance: float = 0.005,
) -> SentimentExplanation:
    """Token attributions and attention weights of each of ``texts`` (see the module docstring).

    Args:
        model: the classifier, or an ensemble (its first network is explained).
        tokenizer: the model's tokenizer.
        texts: the texts.
        classes: the class names, for the report.
        n_steps, tolerance: integrated gradients' quadrature points and the relative
            completeness gap to refine them to.
    """
    first = model if isinstance(model, TextClassifier) else next(iter(model), None)
    if not isinstance(first, TextClassifier):
        raise ValueError("model: expected a TextClassifier or a non-empty list of them")
    if isinstance(texts, str) or not texts:
        raise ValueError(f"texts: expected a non-empty list of texts, got {texts!r}")
    net = float64_copy(first)
    assert isinstance(net, nn.Module)
    out = []
    for text, ids in zip(texts, encode_texts(tokenizer, list(texts))):
        target, prob, attr, att, gap = _one(net, ids, n_steps, tolerance)  # type: ignore[arg-type]
        agreement = rank_agreement(np.abs(attr), att) if att is not None and len(ids) > 1 else float("nan")
        tokens = tokenizer.vocab.tokens(ids)
        out.append(TextAttribution(text, tokens, target, prob, attr, att, agreement, gap))
    return SentimentExplanation(out, None if classes is None else [str(c) for c in classes])

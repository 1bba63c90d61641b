r"""Beam search's bookkeeping for an encoder-decoder: the hypotheses a search returns, the live
beam, and the GNMT length penalty that ranks finished ones (Wu et al. 2016),

.. math::

    \mathrm{rank}(y) = \frac{\log P(y \mid x)}{((5 + |y|) / 6)^\alpha}

The decoder's state in a beam is whatever its decoder carries (an ``LSTMState``, a
Transformer's ``DecoderState``); the model reorders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

__all__ = ["Beam", "Hypothesis", "normalized_score", "ranked", "search_done"]


class Hypothesis(NamedTuple):
    """A decoded target: token ids (without ``<bos>``, ending before ``<eos>``), the attention
    weights (T, S) that produced them (T = len(tokens) + 1 if ``<eos>`` was produced) and the
    total log-probability."""

    tokens: list[int]
    attention: Tensor
    score: float


@dataclass
class Beam:
    """The live hypotheses of a beam search."""

    seqs: Tensor  # (B, t) their tokens
    atts: Tensor  # (B, t, S) their attention
    scores: Tensor  # (B,) their log-probabilities
    state: Any  # the decoder's state after them
    prev: Tensor  # (B,) their last tokens

    @staticmethod
    def start(memory: Tensor, state: Any, bos_id: int) -> Beam:
        """The beam before the first token: ``<bos>`` alone, over one source's ``memory``
        (1, S, M), from the decoder's initial ``state``."""
        device = memory.device
        return Beam(
            torch.full((1, 0), 0, dtype=torch.long, device=device),
            torch.zeros(1, 0, memory.shape[1], device=device),
            torch.zeros(1, device=device),
            state,
            torch.full((1,), bos_id, dtype=torch.long, device=device),
        )

    def hypotheses(self) -> list[Hypothesis]:
        """The live hypotheses as they stand."""
        return [
            Hypothesis(self.seqs[j].tolist(), self.atts[j].cpu(), float(self.scores[j]))
            for j in range(self.seqs.shape[0])
        ]


def normalized_score(score: float, length: int, alpha: float) -> float:
    """A hypothesis' rank: ``score / ((5 + length) / 6) ** alpha``."""
    return score / (((5 + length) / 6) ** alpha)


def ranked(hyps: list[Hypothesis], alpha: float) -> list[tuple[float, Hypothesis]]:
    """Each hypothesis with its rank (:func:`normalized_score`)."""
    return [(normalized_score(h.score, len(h.tokens), alpha), h) for h in hyps]


def search_done(
    finished: list[tuple[float, Hypothesis]], beam: Beam, k: int, alpha: float, limit: int
) -> bool:
    """Whether the search can stop: ``k`` finished and no live hypothesis ranks above the best of
    them as it stands (a beam wider than useful finishes many poor ones early: they end no search
    that is still improving), or no live hypothesis can still beat it (scores only decrease)."""
    best_done = max((f[0] for f in finished), default=float("-inf"))
    if len(finished) >= k and best_done >= normalized_score(
        float(beam.scores.max()), beam.seqs.shape[1] + 1, alpha
    ):
        return True
    return bool(finished) and best_done > normalized_score(float(beam.scores.max()), limit, alpha)

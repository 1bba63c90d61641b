r"""Baselines of piano-roll prediction fitted by counting (no training), for the LSTM to beat.

* :class:`MarginalModel` (per-pitch unigram): every frame gets each pitch's smoothed frequency
  in the training frames, :math:`q_p = (n_p + \alpha) / (n + 2 \alpha)`.
* :class:`RepeatModel` (repeat the previous frame, smoothed): each pitch a two-state Markov
  chain, :math:`P(x_t[p] = 1 \mid x_{t-1}[p] = s) = (n_{s1,p} + \alpha) / (n_{s,p} + 2 \alpha)`
  from the training transitions; the first frame gets the marginal model's probabilities.

Both give per-frame probabilities that :func:`lstmkit.apps.music.metrics.frame_nll` scores like
the LSTM's. Shapes: lists of (L_i, P) 0/1 rolls.

For melodies (token sequences), :class:`WittenBellModel` is an interpolated n-gram model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lstmkit.apps.music import metrics

__all__ = ["BASELINES", "MarginalModel", "RepeatModel", "WittenBellModel", "score_baselines"]


def _stack(rolls: Sequence[np.ndarray], name: str = "rolls") -> np.ndarray:
    if not rolls:
        raise ValueError(f"{name}: expected at least one (L, P) roll, got none")
    widths = {np.asarray(r).shape[1:] for r in rolls}
    if len(widths) != 1 or any(np.asarray(r).ndim != 2 for r in rolls):
        raise ValueError(f"{name}: expected (L, P) rolls of one width P, got shapes {sorted(widths)}")
    return np.concatenate([np.asarray(r, dtype=np.float64) for r in rolls])


class MarginalModel:
    """Each pitch on with its smoothed training frequency, whatever came before.

    Args:
        alpha: the additive smoothing count (> 0).
    """

    def __init__(self, alpha: float = 0.5) -> None:
        if not alpha > 0:
            raise ValueError(f"alpha: expected a smoothing count > 0, got {alpha}")
        self.alpha = alpha
        self.prob_: np.ndarray | None = None

    def fit(self, rolls: Sequence[np.ndarray]) -> MarginalModel:
        frames = _stack(rolls)
        self.prob_ = (frames.sum(0) + self.alpha) / (len(frames) + 2 * self.alpha)  # (P,)
        return self

    def predict_proba(self, rolls: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The probabilities of every frame of each roll: (L_i, P) arrays."""
        if self.prob_ is None:
            raise RuntimeError("MarginalModel: call fit() before predict_proba()")
        return [np.broadcast_to(self.prob_, np.shape(r)).copy() for r in rolls]


class RepeatModel:
    """Each pitch keeps (or changes) its state of the previous frame with the smoothed
    training rates of a two-state chain per pitch; frame 0 from :class:`MarginalModel`.

    Args:
        alpha: the additive smoothing count (> 0).
    """

    def __init__(self, alpha: float = 0.5) -> None:
        self.marginal = MarginalModel(alpha)
        self.alpha = alpha
        self.on_after_: np.ndarray | None = None  # (2, P): P(on | previous off), P(on | previous on)

    def fit(self, rolls: Sequence[np.ndarray]) -> RepeatModel:
        self.marginal.fit(rolls)
        prev = np.concatenate([np.asarray(r[:-1], dtype=np.float64) for r in rolls])
        now = np.concatenate([np.asarray(r[1:], dtype=np.float64) for r in rolls])
        a = self.alpha
        after_off = ((1 - prev) * now).sum(0) + a, (1 - prev).sum(0) + 2 * a
        after_on = (prev * now).sum(0) + a, prev.sum(0) + 2 * a
        self.on_after_ = np.stack([after_off[0] / after_off[1], after_on[0] / after_on[1]])
        return self

    def predict_proba(self, rolls: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The probabilities of every frame of each roll: (L_i, P) arrays."""
        if self.on_after_ is None:
            raise RuntimeError("RepeatModel: call fit() before predict_proba()")
        first = self.marginal.predict_proba([np.asarray(r)[:1] for r in rolls])
        out = []
        for r, head in zip(rolls, first, strict=True):
            prev = np.asarray(r[:-1]) > 0.5
            rest = np.where(prev, self.on_after_[1], self.on_after_[0])  # (L - 1, P)
            out.append(np.concatenate([head, rest]))
        return out


#: the baselines by the names the reports give them
BASELINES = {"per-pitch marginal": MarginalModel, "repeat previous frame": RepeatModel}


def score_baselines(train: Sequence[np.ndarray], rolls: Sequence[np.ndarray]) -> dict[str, dict[str, float]]:
    """Each baseline of :data:`BASELINES` fitted on ``train`` and scored on ``rolls``:
    ``{name: {"nll": .., "accuracy": ..}}`` (:mod:`lstmkit.apps.music.metrics`)."""
    out = {}
    for name, cls in BASELINES.items():
        probs = cls().fit(train).predict_proba(rolls)
        out[name] = {"nll": metrics.frame_nll(probs, rolls), "accuracy": metrics.frame_accuracy(probs, rolls)}
    return out


class WittenBellModel:
    r"""An interpolated Witten-Bell n-gram model of token ids (the melody LM's baseline).

    With :math:`c(h w)` the count of token w after the n-1 tokens h and :math:`T(h)` the number
    of distinct tokens seen after h,

    .. math::

        P_n(w \mid h) = \frac{c(h w) + T(h)\, P_{n-1}(w \mid h')}{c(h) + T(h)},
        \qquad P_0(w) = 1 / V,

    where h' drops the oldest token and V counts the tokens that can be predicted; a context
    never seen falls through to the lower order. Every sequence is read after n - 1 start tokens.

    Args:
        order: n (1: a smoothed unigram).
        vocab_size: V.
        start: the id of the start token that pads the history.
    """

    def __init__(self, order: int, vocab_size: int, start: int) -> None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"order: expected an int >= 1, got {order!r}")
        self.order, self.vocab_size, self.start = order, vocab_size, start
        self.counts_: list[dict[tuple[int, ...], dict[int, int]]] = [{} for _ in range(order)]

    def _events(self, seq: Sequence[int]) -> list[tuple[tuple[int, ...], int]]:
        """(history of order - 1 tokens, next token) for every token of ``seq`` after its first."""
        padded = [self.start] * (self.order - 1) + list(seq)
        k = self.order - 1
        return [(tuple(padded[t - k : t]), padded[t]) for t in range(k + 1, len(padded))]

    def fit(self, seqs: Sequence[Sequence[int]]) -> WittenBellModel:
        """Count the n-grams of ``seqs`` (id sequences that begin with the start token)."""
        for seq in seqs:
            for history, w in self._events(seq):
                for n in range(self.order):
                    table = self.counts_[n].setdefault(history[len(history) - n :], {})
                    table[w] = table.get(w, 0) + 1
        return self

    def _prob(self, history: tuple[int, ...], w: int) -> float:
        p = 1.0 / self.vocab_size
        for n in range(self.order):
            table = self.counts_[n].get(history[len(history) - n :])
            if table:
                total, types = sum(table.values()), len(table)
                p = (table.get(w, 0) + types * p) / (total + types)
        return p

    def nll(self, seqs: Sequence[Sequence[int]]) -> tuple[float, int]:
        """The summed negative log-likelihood (nats) of every token after the first of each of
        ``seqs``, and the number of those tokens."""
        total, count = 0.0, 0
        for seq in seqs:
            for history, w in self._events(seq):
                total -= math.log(self._prob(history, w))
                count += 1
        return total, count

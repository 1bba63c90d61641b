r"""Frame-level scores of piano-roll predictions.

* :func:`frame_nll`: the negative log-likelihood per frame in nats, each frame's pitches
  independent Bernoulli variables, summed over pitches and averaged over all frames of all
  sequences (a long chorale weighs more):

  .. math::

      \mathrm{NLL} = -\frac{1}{\sum_i L_i} \sum_i \sum_t \sum_p
          y_{itp} \log q_{itp} + (1 - y_{itp}) \log (1 - q_{itp}).

* :func:`frame_accuracy`: Bay et al. 2009's frame-level accuracy,
  :math:`TP / (TP + FP + FN)`, counted over all frames and pitches, the prediction being the
  pitches of probability above a threshold.

Shapes: sequences given as lists of (L_i, P) arrays, probabilities and 0/1 targets alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["frame_accuracy", "frame_nll"]

#: probabilities are clipped to [EPS, 1 - EPS] before the logarithm
EPS = 1e-12


def _pairs(probs: Sequence[np.ndarray], rolls: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    if len(probs) != len(rolls) or not rolls:
        raise ValueError(f"probs: expected one array per roll ({len(rolls)}), got {len(probs)}")
    pairs = []
    for i, (q, y) in enumerate(zip(probs, rolls, strict=True)):
        q, y = np.asarray(q, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if q.shape != y.shape or q.ndim != 2:
            raise ValueError(f"probs[{i}]: expected shape {y.shape} (L, P) like its roll, got {q.shape}")
        if not np.isfinite(q).all() or q.min(initial=0) < 0 or q.max(initial=0) > 1:
            raise ValueError(f"probs[{i}]: expected finite probabilities in [0, 1]")
        pairs.append((q, y))
    return pairs


def frame_nll(probs: Sequence[np.ndarray], rolls: Sequence[np.ndarray]) -> float:
    """The negative log-likelihood per frame (nats), see the module docstring.

    Args:
        probs: per sequence (L_i, P) probabilities that each pitch is on.
        rolls: per sequence (L_i, P) 0/1 piano rolls.
    """
    total, frames = 0.0, 0
    for q, y in _pairs(probs, rolls):
        q = np.clip(q, EPS, 1 - EPS)
        total -= float(np.sum(y * np.log(q) + (1 - y) * np.log1p(-q)))
        frames += len(y)
    return total / frames


def frame_accuracy(probs: Sequence[np.ndarray], rolls: Sequence[np.ndarray], threshold: float = 0.5) -> float:
    """Bay et al.'s accuracy TP / (TP + FP + FN) of the pitches with probability > ``threshold``
    (counts over all frames; 1.0 when neither predictions nor targets have a note)."""
    tp = fp = fn = 0.0
    for q, y in _pairs(probs, rolls):
        on, truth = q > threshold, y > 0.5
        tp += float(np.sum(on & truth))
        fp += float(np.sum(on & ~truth))
        fn += float(np.sum(~on & truth))
    return tp / (tp + fp + fn) if tp + fp + fn else 1.0

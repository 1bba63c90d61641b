r"""CTC decoders: greedy (best path) and prefix beam search, on per-step log-probabilities
(T, K) with the blank at class 0 and digit d at class 1 + d; both return digit strings.

* :func:`greedy_decode`: the most likely class at each step, repeats collapsed, blanks dropped.
* :func:`beam_decode`: CTC prefix beam search (Hannun et al. 2014, without a language model):
  each prefix keeps the probability of ending in a blank, :math:`p_b`, and in its last label,
  :math:`p_{nb}`; a step extends it by a blank, by its last label again (merged into the same
  prefix unless a blank separates them) or by a new label; the ``beam`` most likely prefixes
  (:math:`p_b + p_{nb}`) survive each step.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import torch
from torch import Tensor

from lstmkit.apps.speech.model import BLANK

__all__ = ["beam_decode", "collapse", "greedy_decode"]


def collapse(path: list[int] | np.ndarray) -> str:
    """A path of classes as digits: repeats merged, then blanks removed (``[1,1,0,1,3]`` -> ``"002"``)."""
    out, prev = [], BLANK
    for c in path:
        c = int(c)
        if c != prev and c != BLANK:
            out.append(str(c - 1))
        prev = c
    return "".join(out)


def greedy_decode(log_probs: Tensor) -> str:
    """(T, K) log-probabilities (or logits) -> the best path's digits."""
    return collapse(log_probs.argmax(-1).tolist())


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def beam_decode(log_probs: Tensor, beam: int = 8) -> str:
    """(T, K) log-probabilities -> the most likely digits by CTC prefix beam search."""
    lp = torch.log_softmax(log_probs.double(), -1).tolist()
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
    for row in lp:
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [-math.inf, -math.inf])
        for prefix, (pb, pnb) in beams.items():
            total = _logsumexp(pb, pnb)
            entry = nxt[prefix]
            entry[0] = _logsumexp(entry[0], total + row[BLANK])
            for c in range(1, len(row)):
                if prefix and prefix[-1] == c:
                    entry[1] = _logsumexp(entry[1], pnb + row[c])  # the same label continues
                    ext = nxt[(*prefix, c)]
                    ext[1] = _logsumexp(ext[1], pb + row[c])  # a blank separated: a new label
                else:
                    ext = nxt[(*prefix, c)]
                    ext[1] = _logsumexp(ext[1], total + row[c])
        ranked = sorted(nxt.items(), key=lambda kv: -_logsumexp(*kv[1]))[:beam]
        beams = {p: (v[0], v[1]) for p, v in ranked}
    best = max(beams.items(), key=lambda kv: _logsumexp(*kv[1]))[0]
    return "".join(str(c - 1) for c in best)

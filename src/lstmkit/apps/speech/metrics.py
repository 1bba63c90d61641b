r"""Scores of digit recognition: the edit distance, the digit error rate

.. math:: \mathrm{DER} = \frac{\sum_i \mathrm{edit}(r_i, h_i)}{\sum_i |r_i|}

(substitutions, deletions and insertions over the reference digits), and the accuracy of
isolated digits (the hypothesis is exactly the reference digit).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["digit_error_rate", "edit_distance", "isolated_accuracy"]


def edit_distance(ref: str, hyp: str) -> int:
    """Levenshtein distance between two strings (unit costs)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def _check(refs: Sequence[str], hyps: Sequence[str]) -> None:
    if len(refs) != len(hyps) or not refs:
        raise ValueError(f"hyps: expected one hypothesis per reference ({len(refs)}, > 0), got {len(hyps)}")


def digit_error_rate(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Total edit distance over total reference length."""
    _check(refs, hyps)
    return sum(edit_distance(r, h) for r, h in zip(refs, hyps, strict=True)) / max(
        sum(len(r) for r in refs), 1
    )


def isolated_accuracy(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Fraction of hypotheses equal to their reference."""
    _check(refs, hyps)
    return sum(r == h for r, h in zip(refs, hyps, strict=True)) / len(refs)

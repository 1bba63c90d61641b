"""Equal parameter counts: each architecture's width is chosen so that its network has (about)
as many parameters as the task's LSTM.

The parameter count grows with the width, so a bisection finds the first width at or above the
LSTM's count; that width or the one below it, whichever is nearer, is taken. A size further
than :data:`~lstmkit.apps.compare.base.TOLERANCE` from the LSTM's is returned all the same
and flagged (:attr:`Size.matched` false): the study reports it rather than hide it.

Example::

    >>> from lstmkit.apps.compare.registry import make_task
    >>> task = make_task("adding-50", quick=True)
    >>> sizes = match_sizes(task, ("lstm", "transformer"))
    >>> all(s.matched for s in sizes.values())
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from lstmkit.apps.compare.base import CompareTask, Size

__all__ = ["match_size", "match_sizes"]


def match_size(task: CompareTask, architecture: str, reference: int) -> Size:
    """The width of ``architecture`` whose parameter count is nearest ``reference``."""
    layers = task.layers(architecture)

    def count(w: int) -> int:
        return task.count(architecture, w, layers)

    lo, hi = 1, task.max_width
    if count(hi) < reference:
        return Size(architecture, hi, layers, count(hi), reference)
    while lo < hi:  # the first width with count >= reference
        mid = (lo + hi) // 2
        if count(mid) >= reference:
            hi = mid
        else:
            lo = mid + 1
    best = lo
    if lo > 1 and abs(count(lo - 1) - reference) < abs(count(lo) - reference):
        best = lo - 1
    return Size(architecture, best, layers, count(best), reference)


def match_sizes(task: CompareTask, architectures: Sequence[str]) -> dict[str, Size]:
    """The size of each of ``architectures`` on ``task``; the LSTM keeps the task's width."""
    reference = task.count("lstm", task.width, task.layers("lstm"))
    sizes = {}
    for arch in architectures:
        if arch == "lstm":
            sizes[arch] = Size("lstm", task.width, task.layers("lstm"), reference, reference)
        else:
            sizes[arch] = match_size(task, arch, reference)
    return sizes

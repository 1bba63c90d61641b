"""The comparison tasks by name (``lstmkit compare TASK``).

Example::

    >>> sorted(TASKS)[:3]
    ['adding-1000', 'adding-200', 'adding-50']
    >>> make_task("gunpoint", quick=True).budget_unit
    'epochs'
"""

from __future__ import annotations

from collections.abc import Callable

from lstmkit.apps.compare.base import CompareTask

__all__ = ["NOT_WIRED", "TASKS", "make_task"]


def _adding(T: int, budget: int) -> Callable[[bool], CompareTask]:
    def make(quick: bool) -> CompareTask:
        from lstmkit.apps.compare.synthetic import adding

        return adding(T, budget, quick)

    return make


def _temporal_order(quick: bool) -> CompareTask:
    from lstmkit.apps.compare.synthetic import temporal_order

    return temporal_order(100_000, quick)


def _forecast(series: str, horizon: int) -> Callable[[bool], CompareTask]:
    def make(quick: bool) -> CompareTask:
        from lstmkit.apps.compare.series import forecast

        return forecast(series, horizon, 200, quick)

    return make


def _classify(dataset: str, title: str) -> Callable[[bool], CompareTask]:
    def make(quick: bool) -> CompareTask:
        from lstmkit.apps.compare.series import classify

        return classify(dataset, title, 200, quick)

    return make


def _kjv(quick: bool) -> CompareTask:
    from lstmkit.apps.compare.text import kjv

    return kjv(3000, quick)


def _vader(quick: bool) -> CompareTask:
    from lstmkit.apps.compare.sentiment import vader

    return vader(3, quick)


def _en_fr(quick: bool) -> CompareTask:
    from lstmkit.apps.compare.translation import en_fr

    return en_fr(4, quick)


#: task name -> its maker (``quick``: smoke-run budgets); the tasks' modules load on use
TASKS: dict[str, Callable[[bool], CompareTask]] = {
    "adding-50": _adding(50, 100_000),
    "adding-200": _adding(200, 100_000),
    "adding-1000": _adding(1000, 50_000),
    "temporal-order": _temporal_order,
    "airline": _forecast("airline", 12),
    "sunspots": _forecast("sunspots", 10),
    "gunpoint": _classify("gunpoint", "GunPoint"),
    "arrowhead": _classify("arrowhead", "ArrowHead"),
    "osuleaf": _classify("osuleaf", "OSULeaf"),
    "kjv": _kjv,
    "vader": _vader,
    "en-fr": _en_fr,
}

#: the issue's tasks not wired into the comparison yet, and why (none now)
NOT_WIRED: dict[str, str] = {}


def make_task(name: str, *, quick: bool = False) -> CompareTask:
    """The task ``name`` (``quick``: the smoke-run budgets and data sizes)."""
    if name in NOT_WIRED:
        raise ValueError(f"TASK: {name!r}: {NOT_WIRED[name]} (wired: {', '.join(TASKS)})")
    if name not in TASKS:
        raise ValueError(f"TASK: expected one of {', '.join(TASKS)}, got {name!r}")
    return TASKS[name](quick)

"""The text ``lstmkit experiment`` prints: what was run and how, then one row per cell (success
rate over seeds, training sequences until success, test error, seconds per seed) next to the
paper's result.

Example::

    >>> from lstmkit.apps.experiments.job import run_experiment
    >>> print(format_table([run_experiment("adding", cell="classic", max_sequences=2048)]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lstmkit.apps.experiments.registry import EXPERIMENTS, success_rule

if TYPE_CHECKING:
    from lstmkit.apps.experiments.job import ExperimentResult

__all__ = ["experiment_report", "format_table"]


def _protocol(s: dict[str, Any]) -> str:
    truncated = ", the 1997 truncated gradient" if s.get("truncated") else ""
    if s.get("protocol") == "paper":
        descent = f"plain gradient descent lr {s['lr']} on the summed error{truncated}"
        return f"the paper's protocol (online, {descent})"
    adam = f"mini-batches of {s['batch_size']}, Adam lr {s['lr']}{truncated}"
    return f"{adam} (the paper: online, plain gradient descent)"


def format_table(results: Sequence[ExperimentResult]) -> str:
    """One row per result: experiment, cell, success rate, mean sequences to success, mean
    test error, mean seconds per seed and the paper's result."""
    head = (
        f"{'experiment':<18}{'cell':<14}{'success':>9}{'seqs to success':>17}{'test error':>12}"
        f"{'s/seed':>9}  paper (LSTM)"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        seqs = f"{r.mean_sequences:,.0f}" if r.mean_sequences is not None else "-"
        lines.append(
            f"{r.name:<18}{r.cell:<14}{r.success_rate:>9.0%}{seqs:>17}{r.mean_test_error:>12.4f}"
            f"{r.mean_seconds:>9.1f}  {r.paper}"
        )
    return "\n".join(lines)


def experiment_report(name: str, results: Sequence[ExperimentResult]) -> str:
    """The experiment's title and task options, the training protocol, the success rule and the
    test data, then :func:`format_table` (the results of one experiment, one per cell)."""
    spec = EXPERIMENTS[name]
    s = results[0].settings
    n_test = results[0].seeds[0].test_size
    tested = (
        f"{n_test:,} test streams of {s['task']['strings']} strings"
        if name == "continual-reber"
        else f"{n_test:,} test sequences"
    )
    return "\n".join(
        [
            f"{spec.title}; task options {s['task']}",
            f"training: {_protocol(s)}, hidden {s['hidden']}, "
            f"memory bias {s['memory_bias']}, budget {s['max_sequences']:,} sequences / "
            f"{s['time_limit']:.0f} s per seed",
            f"solved when {success_rule(name, s)}; test error on {tested}",
            format_table(results),
        ]
    )

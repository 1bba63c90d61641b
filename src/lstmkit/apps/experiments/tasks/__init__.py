r"""The benchmark tasks of Hochreiter & Schmidhuber (1997) and Gers et al. (2000), generated.

Each task samples padded batches (:class:`SyntheticBatch`) and judges each sequence by the
paper's criterion (:meth:`Task.correct`). Positions in the papers are 1-based ("the first ten
pairs", "t1 between 10 and 20"); here they are turned into 0-based indices.

=====================  ======================================================================
task                   definition (paper section)
=====================  ======================================================================
:class:`EmbeddedReber`  exp. 1 (sec. 5.1): next-symbol prediction on embedded Reber strings;
                        a string is right if, at every step, the output units of the possible
                        next symbols are the most active ones; 256 training and 256 different
                        test strings.
:class:`LongTimeLag`    exp. 2 (sec. 5.2): 2a, the two sequences (y, a1..a_{p-1}, y) and
                        (x, a1..a_{p-1}, x), predict every next symbol (|error| < 0.25 on all
                        outputs); 2b, the same with random distractors (only the final symbol
                        is predictable); 2c, (b, x|y, q+k distractors from p, e, x|y): after
                        the trigger e predict x or y (|error| of both outputs < 0.2).
:class:`NoiseSignal`    exp. 3 (sec. 5.3): 3a, Bengio's 2-sequence problem: the first N values
                        are +1 (class 1) or -1 (class 2), then Gaussian noise (variance 0.2);
                        length in [T, T + T/10]; target 1 / 0 at the end, |error| < 0.2;
                        3b, noise (variance 0.2) also on the first N values.
:class:`AddingProblem`  exp. 4 (sec. 5.4): pairs (value in [-1, 1], marker); one of the first
                        ten and one of the first T/2 - 1 pairs marked 1.0; first and last
                        marker -1; target 0.5 + (X1 + X2) / 4 at the end; |error| < 0.04.
:class:`MultiplicationProblem`  exp. 5 (sec. 5.5): as adding, values in [0, 1], target X1 X2.
:class:`TemporalOrder`  exp. 6 (sec. 5.6): E, distractors a-d, X/Y at t1 (t2, t3), B; length
                        100-110; classes by the order of the X/Y; all outputs |error| < 0.3.
:class:`ContinualReber` Gers, Schmidhuber & Cummins (2000): embedded Reber strings concatenated
                        into one stream without resets; every next symbol predicted.
:class:`CopyMemory`     the copy task (Hochreiter & Schmidhuber 1997's long lags, in the form of
                        Arjovsky et al. 2016): 10 symbols, T blanks, a delimiter, reproduce them.
=====================  ======================================================================

Example::

    >>> task = AddingProblem(T=100)
    >>> batch = task.sample(32, torch.Generator().manual_seed(0))
    >>> batch.inputs.shape[0], batch.inputs.shape[2]            # (N, L, 2), L in [100, 110]
    (32, 2)
    >>> task.correct(batch.targets, batch).all()                  # the targets themselves pass
    tensor(True)
"""

from __future__ import annotations

from typing import Any

from lstmkit.apps.experiments.tasks.arithmetic import AddingProblem, MultiplicationProblem
from lstmkit.apps.experiments.tasks.base import SyntheticBatch, Task
from lstmkit.apps.experiments.tasks.lags import CopyMemory, LongTimeLag, NoiseSignal
from lstmkit.apps.experiments.tasks.order import TemporalOrder
from lstmkit.apps.experiments.tasks.reber import (
    REBER_GRAPH,
    REBER_SYMBOLS,
    ContinualReber,
    EmbeddedReber,
    ReberStreams,
    embedded_reber_string,
    reber_next_sets,
    reber_string,
)

__all__ = [
    "REBER_GRAPH",
    "REBER_SYMBOLS",
    "TASKS",
    "AddingProblem",
    "ContinualReber",
    "CopyMemory",
    "EmbeddedReber",
    "LongTimeLag",
    "MultiplicationProblem",
    "NoiseSignal",
    "ReberStreams",
    "SyntheticBatch",
    "Task",
    "TemporalOrder",
    "embedded_reber_string",
    "make_task",
    "reber_next_sets",
    "reber_string",
]


TASKS: dict[str, type[Task]] = {
    "reber": EmbeddedReber,
    "continual-reber": ContinualReber,
    "long-lag": LongTimeLag,
    "noise-signal": NoiseSignal,
    "adding": AddingProblem,
    "multiplication": MultiplicationProblem,
    "temporal-order": TemporalOrder,
    "copy": CopyMemory,
}


def make_task(name: str, **options: Any) -> Task:
    """A task by name (:data:`TASKS`) with its options, e.g. ``make_task("adding", T=500)``."""
    if name not in TASKS:
        raise ValueError(f"name: expected one of {sorted(TASKS)}, got {name!r}")
    return TASKS[name](**options)

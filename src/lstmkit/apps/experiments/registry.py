"""The experiments: each paper task with its paper's result and the default training settings,
the names they go by, and how a task's outputs are read and scored.

:data:`EXPERIMENTS` holds the experiments of Hochreiter & Schmidhuber (1997) (``reber``,
``long-lag-2a`` ... ``temporal-order-6b``), continual Reber of Gers et al. (2000) and the copy
task; :data:`ALIASES` the paper's numbers (``"1"``, ``"2a"``, ..., ``"6b"``, ``"cerg"``).
:func:`task_loss` is the training loss of a task's outputs:

* ``"softmax"``: cross-entropy on the class indices;
* ``"sigmoid"``: binary cross-entropy of the logits against the local targets;
* ``"linear"``: mean squared error;

each over the steps of ``mask`` only.

Example::

    >>> spec = EXPERIMENTS[resolve_name("4")]
    >>> spec.name, spec.options
    ('adding', {'T': 100})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from lstmkit.apps.experiments import tasks as syn

__all__ = [
    "ALIASES",
    "EXPERIMENTS",
    "ExperimentSpec",
    "activate",
    "resolve_name",
    "success_rule",
    "task_loss",
]


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """How one seed is trained and judged.

    Args:
        hidden: the hidden size. num_layers: stacked layers (Transformer or TCN blocks).
        batch_size: sequences per mini-batch. lr: Adam's learning rate.
        max_sequences: the budget in training sequences. time_limit: the budget in seconds.
        window: the recent training sequences that must all be right.
        eval_every: sequences (continual Reber: strings) between the checks on fixed sets.
        test_size: test sequences (continual Reber: ``test_size // 256`` streams).
        memory_bias: the initial forget-gate (LSTM) / update-gate (GRU) bias.
        input_bias: the initial input-gate bias of an LSTM (``None``: the layer's default).
        shortcut: the readout also sees the step's input (direct input-to-output connections),
            so a local input-to-output mapping needs no recurrent unit.
        protocol: ``"modern"`` (mini-batches, Adam, the mean loss, the gradient norm clipped at
            1) or ``"paper"`` (the 1997 paper's: online, one sequence per update, plain gradient
            descent at ``lr`` on the loss summed over steps and outputs, no clipping, weights
            uniform in [-0.1, 0.1]; ``batch_size`` is 1).
        truncated: the 1997 paper's truncated gradient (LSTM cells only): errors reach earlier
            steps only through the cell state (:mod:`lstmkit.apps.experiments.truncated`).
        readout_bias: the readout has a bias (``False``: as the 1997 paper's nets).
        add_cell_after: the 1997 paper's constructive start (experiment 2a): for this many
            training sequences the readout's weights from the recurrent units stay zero (the net
            is only its direct input-to-output connections, ``shortcut``), then they get their
            initial values; 0: from the start.
        init_range: every weight uniform in [-init_range, init_range] (``None``: 0.1 under the
            paper's protocol, else the layers' own initialization).
        stream_symbols: continual Reber: a training stream ends after this many symbols and
            a new one starts from the zero state.
        stream_end: continual Reber: ``"error"`` (Gers et al. 2000) also ends a stream at its
            first wrong prediction; ``"cap"`` only at ``stream_symbols``.
    """

    hidden: int = 16
    num_layers: int = 1
    batch_size: int = 32
    lr: float = 1e-2
    max_sequences: int = 200_000
    time_limit: float = 300.0
    window: int = 2000
    eval_every: int = 1024
    test_size: int = 2560
    memory_bias: float = 5.0
    input_bias: float | None = None
    shortcut: bool = False
    protocol: str = "modern"
    truncated: bool = False
    readout_bias: bool = True
    add_cell_after: int = 0
    init_range: float | None = None
    stream_symbols: int = 100_000
    stream_end: str = "error"


@dataclass(frozen=True)
class ExperimentSpec(TrainSettings):
    """One experiment: the task, the paper's result and the default training settings (the
    fields of :class:`TrainSettings`, by keyword)."""

    name: str
    title: str
    task: Callable[..., syn.Task]
    paper: str  # the paper's LSTM result, in words
    paper_sequences: float | None = None  # the paper's mean number of training sequences
    cell: str = "original1997"  # the default cell: the paper's
    options: dict[str, Any] = field(default_factory=dict)  # task keyword arguments (defaults)


EXPERIMENTS: dict[str, ExperimentSpec] = {
    s.name: s
    for s in [
        ExperimentSpec("reber", "exp. 1, embedded Reber grammar", syn.EmbeddedReber,
            "8,440 sequences, 100% of trials (3 blocks x 2 cells, lr 0.5); Elman nets 0%", 8440, hidden=8,
            batch_size=16, lr=2e-2, max_sequences=100_000, eval_every=256, memory_bias=1.0),
        ExperimentSpec("long-lag-2a", "exp. 2a, noise-free long time lag, p = 100", syn.LongTimeLag,
            "5,040 sequences (p = 100)", 5040, hidden=8, batch_size=16, lr=1e-2,
            options={"kind": "2a", "p": 100}),
        ExperimentSpec("long-lag-2b", "exp. 2b, long time lag with random distractors, p = 100",
            syn.LongTimeLag, "solved (p = 100); see Table 2", None, hidden=8, batch_size=16,
            options={"kind": "2b", "p": 100}),
        ExperimentSpec("long-lag-2c", "exp. 2c, very long lags with distractors, q = p = 100",
            syn.LongTimeLag, "solved for q up to 1000; see Table 3", None, hidden=8, batch_size=16,
            window=10_000, options={"kind": "2c", "p": 100, "q": 100}),
        ExperimentSpec("noise-signal-3a",
            "exp. 3a, noise and signal on one channel (2-sequence problem), T = 100, N = 3", syn.NoiseSignal,
            "solved; see Table 4", None, hidden=8, options={"kind": "3a", "T": 100, "N": 3}),
        ExperimentSpec("noise-signal-3b", "exp. 3b, as 3a with noise on the signal, T = 100, N = 3",
            syn.NoiseSignal, "solved; see Table 5", None, hidden=8, options={"kind": "3b", "T": 100, "N": 3}),
        ExperimentSpec("adding", "exp. 4, adding problem", syn.AddingProblem,
            "T = 100: 74,000 sequences; T = 500: 209,000", 74_000, hidden=16, batch_size=32, lr=5e-3,
            max_sequences=400_000, options={"T": 100}),
        ExperimentSpec("multiplication", "exp. 5, multiplication problem", syn.MultiplicationProblem,
            "solved for T = 100; see Table 8", None, hidden=16, batch_size=32, lr=5e-3, max_sequences=400_000,
            options={"T": 100}),
        ExperimentSpec("temporal-order-6a", "exp. 6a, temporal order of 2 symbols", syn.TemporalOrder,
            "31,390 sequences", 31_390, hidden=16, options={"kind": "6a"}),
        ExperimentSpec("temporal-order-6b", "exp. 6b, temporal order of 3 symbols", syn.TemporalOrder,
            "571,100 sequences", 571_100, hidden=24, max_sequences=600_000, options={"kind": "6b"}),
        ExperimentSpec("continual-reber", "Gers et al. 2000, continual embedded Reber grammar (no resets)",
            syn.ContinualReber, "standard LSTM (no forget gate) fails; LSTM with forget gates solves it",
            None, hidden=16, batch_size=16, lr=1e-2, max_sequences=200_000, eval_every=2000, memory_bias=1.0,
            cell="classic", options={"strings": 1000}),
        ExperimentSpec("copy", "copy memory (10 symbols of 8 over T = 100 blanks)", syn.CopyMemory,
            "not in the 1997 paper (Arjovsky et al. 2016's form of the long-lag tasks)", None, hidden=32,
            batch_size=32, lr=5e-3, max_sequences=300_000, options={"T": 100}),
    ]
}  # fmt: skip

ALIASES = {
    "1": "reber",
    "2a": "long-lag-2a",
    "2b": "long-lag-2b",
    "2c": "long-lag-2c",
    "3a": "noise-signal-3a",
    "3b": "noise-signal-3b",
    "4": "adding",
    "5": "multiplication",
    "6a": "temporal-order-6a",
    "6b": "temporal-order-6b",
    "cerg": "continual-reber",
}


def success_rule(name: str, settings: dict[str, Any]) -> str:
    """The stopping rule of experiment ``name`` with these settings, in words (for the header)."""
    if name == "reber":
        return (
            f"all {settings['task']['n_train']} training and {settings['test_size']} test strings are right"
        )
    if name == "continual-reber":
        every = settings["eval_every"]
        return f"5 streams of concatenated strings have no error (checked every {every:,} strings)"
    return f"the last {settings['window']:,} training sequences are all right"


def resolve_name(name: str) -> str:
    """The key of :data:`EXPERIMENTS` that ``name`` (a key or an alias) stands for."""
    key = ALIASES.get(name, name)
    if key not in EXPERIMENTS:
        raise ValueError(f"NAME: expected one of {sorted(EXPERIMENTS)} (or {sorted(ALIASES)}), got {name!r}")
    return key


def activate(task: syn.Task, logits: Tensor) -> Tensor:
    """The outputs as the task reads them: sigmoid, softmax over the last axis, or as they are."""
    if task.output == "sigmoid":
        return torch.sigmoid(logits)
    if task.output == "softmax":
        return torch.softmax(logits, -1)
    return logits


def task_loss(task: syn.Task, logits: Tensor, targets: Tensor, mask: Tensor, squared: bool = False) -> Tensor:
    r"""The task's loss of ``logits`` (N, L, K) against ``targets`` over the steps of ``mask``
    (N, L); with ``squared``, sigmoid outputs are scored by the 1997 paper's squared error
    :math:`\tfrac12 (\sigma(z) - t)^2` (its gradient fades as an output saturates, where
    cross-entropy's does not) instead of cross-entropy."""
    if task.output == "softmax":
        return F.cross_entropy(logits[mask], targets[mask])
    sel_logits, sel_targets = logits[mask], targets[mask]  # (M, K)
    if task.output == "sigmoid" and squared:
        return 0.5 * F.mse_loss(torch.sigmoid(sel_logits), sel_targets)
    if task.output == "sigmoid":
        return F.binary_cross_entropy_with_logits(sel_logits, sel_targets)
    return F.mse_loss(sel_logits, sel_targets)

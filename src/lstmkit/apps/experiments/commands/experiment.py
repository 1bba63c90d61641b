"""``lstmkit experiment NAME``: the experiments of Hochreiter & Schmidhuber (1997) and Gers et al.
(2000), trained with :class:`lstmkit.fit.Trainer` and judged by the papers' criteria.

Usable from Python too::

    >>> from lstmkit.apps.experiments.commands.experiment import run_experiment
    >>> result = run_experiment("reber", cell="classic", seeds=3)
    >>> result.success_rate, result.mean_sequences

Protocol (what differs from the paper is said in every table): the paper trained online, one
sequence per update with plain gradient descent; here training uses mini-batches and Adam
(gradient norm clipped at 1), and "sequences seen" counts every training sequence of every
mini-batch. A run succeeds by the paper's stopping rule:

* ``reber``: every string of the 256 training and 256 test strings predicted right, checked
  every ``eval_every`` sequences;
* ``continual-reber``: 5 streams of 100 concatenated strings each (no reset) without a single
  wrong prediction;
* the others: the most recent ``window`` training sequences (2,000 in the paper; 10,000 for 2c)
  all right by the task's criterion.

After training, the test error is measured on fresh test sequences (2,560 as in the paper; for
``reber``, its fixed 256 test strings; for ``continual-reber``, ``test_size // 256`` streams of
100 strings; ``test_size`` sets each number).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import inspect
import json
import logging
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.apps.experiments import tasks as syn
from lstmkit.core.cells import VARIANTS
from lstmkit.core.layers import GRU, LSTM, RNN

__all__ = [
    "CELLS",
    "EXPERIMENTS",
    "ExperimentResult",
    "ExperimentSpec",
    "SeedResult",
    "SequenceModel",
    "register",
    "run_experiment",
]

log = logging.getLogger("lstmkit.experiment")

CELLS = (*VARIANTS.keys(), "gru", "rnn")


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment: the task, the paper's result and the default training settings."""

    name: str
    title: str
    task: Callable[..., syn.Task]
    paper: str  # the paper's LSTM result, in words
    paper_sequences: float | None = None  # the paper's mean number of training sequences
    hidden: int = 16
    batch_size: int = 32
    lr: float = 1e-2
    max_sequences: int = 200_000
    time_limit: float = 300.0
    window: int = 2000
    eval_every: int = 1024
    test_size: int = 2560
    memory_bias: float = 5.0  # initial forget-gate (LSTM) / update-gate (GRU) bias
    cell: str = "original1997"  # the default cell: the paper's
    options: dict[str, Any] = field(default_factory=dict)  # task keyword arguments (defaults)


EXPERIMENTS: dict[str, ExperimentSpec] = {
    s.name: s
    for s in [
        ExperimentSpec(
            "reber",
            "exp. 1, embedded Reber grammar",
            syn.EmbeddedReber,
            "8,440 sequences, 100% of trials (3 blocks x 2 cells, lr 0.5); Elman nets 0%",
            8440,
            hidden=8,
            batch_size=16,
            lr=2e-2,
            max_sequences=100_000,
            eval_every=256,
            memory_bias=1.0,
        ),
        ExperimentSpec(
            "long-lag-2a",
            "exp. 2a, noise-free long time lag, p = 100",
            syn.LongTimeLag,
            "5,040 sequences (p = 100)",
            5040,
            hidden=8,
            batch_size=16,
            lr=1e-2,
            options={"kind": "2a", "p": 100},
        ),
        ExperimentSpec(
            "long-lag-2b",
            "exp. 2b, long time lag with random distractors, p = 100",
            syn.LongTimeLag,
            "solved (p = 100); see Table 2",
            None,
            hidden=8,
            batch_size=16,
            options={"kind": "2b", "p": 100},
        ),
        ExperimentSpec(
            "long-lag-2c",
            "exp. 2c, very long lags with distractors, q = p = 100",
            syn.LongTimeLag,
            "solved for q up to 1000; see Table 3",
            None,
            hidden=8,
            batch_size=16,
            window=10_000,
            options={"kind": "2c", "p": 100, "q": 100},
        ),
        ExperimentSpec(
            "noise-signal-3a",
            "exp. 3a, noise and signal on one channel (2-sequence problem), T = 100, N = 3",
            syn.NoiseSignal,
            "solved; see Table 4",
            None,
            hidden=8,
            options={"kind": "3a", "T": 100, "N": 3},
        ),
        ExperimentSpec(
            "noise-signal-3b",
            "exp. 3b, as 3a with noise on the signal, T = 100, N = 3",
            syn.NoiseSignal,
            "solved; see Table 5",
            None,
            hidden=8,
            options={"kind": "3b", "T": 100, "N": 3},
        ),
        ExperimentSpec(
            "adding",
            "exp. 4, adding problem",
            syn.AddingProblem,
            "T = 100: 74,000 sequences; T = 500: 209,000",
            74_000,
            hidden=16,
            batch_size=32,
            lr=5e-3,
            max_sequences=400_000,
            options={"T": 100},
        ),
        ExperimentSpec(
            "multiplication",
            "exp. 5, multiplication problem",
            syn.MultiplicationProblem,
            "solved for T = 100; see Table 8",
            None,
            hidden=16,
            batch_size=32,
            lr=5e-3,
            max_sequences=400_000,
            options={"T": 100},
        ),
        ExperimentSpec(
            "temporal-order-6a",
            "exp. 6a, temporal order of 2 symbols",
            syn.TemporalOrder,
            "31,390 sequences",
            31_390,
            hidden=16,
            options={"kind": "6a"},
        ),
        ExperimentSpec(
            "temporal-order-6b",
            "exp. 6b, temporal order of 3 symbols",
            syn.TemporalOrder,
            "571,100 sequences",
            571_100,
            hidden=24,
            max_sequences=600_000,
            options={"kind": "6b"},
        ),
        ExperimentSpec(
            "continual-reber",
            "Gers et al. 2000, continual embedded Reber grammar (no resets)",
            syn.ContinualReber,
            "standard LSTM (no forget gate) fails; LSTM with forget gates solves it",
            None,
            hidden=16,
            batch_size=16,
            lr=1e-2,
            max_sequences=200_000,
            eval_every=2000,
            memory_bias=1.0,
            cell="classic",
            options={"strings": 100},
        ),
        ExperimentSpec(
            "copy",
            "copy memory (10 symbols of 8 over T = 100 blanks)",
            syn.CopyMemory,
            "not in the 1997 paper (Arjovsky et al. 2016's form of the long-lag tasks)",
            None,
            hidden=32,
            batch_size=32,
            lr=5e-3,
            max_sequences=300_000,
            options={"T": 100},
        ),
    ]
}

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


# ------------------------------------------------------------------------------------ the model
class SequenceModel(nn.Module):
    """A recurrent layer (any lstmkit LSTM variant, GRU or Elman RNN) and a linear readout at
    every step: (N, L, C) -> (N, L, K). Stateful: ``model(x, state, lengths) -> (y, state)``.

    Args:
        cell: an LSTM variant name, ``"gru"`` or ``"rnn"``.
        input_size, hidden_size, output_size: C, H, K.
        num_layers: stacked layers.
        dropout: between layers; recurrent_dropout: variational on h (all cells);
        zoneout, weight_drop: LSTM only.
        memory_bias: initial bias of the gate that keeps the memory: the forget gate of LSTM
            variants that have one (``forget_bias``; 1.0 as Gers et al. 2000 advise, larger for
            long lags: sigma(5) = 0.993 keeps half the cell over 100 steps) and the update gate z
            of the GRU (h_t = (1 - z) n + z h_{t-1}); ``None``: the layers' defaults.
        engine: passed to :class:`~lstmkit.core.layers.LSTM` when it has that option.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        output_size: int,
        *,
        num_layers: int = 1,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        weight_drop: float = 0.0,
        memory_bias: float | None = 1.0,
        engine: str | None = None,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell: expected one of {list(CELLS)}, got {cell!r}")
        self.cell = cell
        common: dict[str, Any] = {
            "batch_first": True,
            "dropout": dropout if num_layers > 1 else 0.0,
            "recurrent_dropout": recurrent_dropout,
        }
        if cell in ("gru", "rnn"):
            if zoneout or weight_drop:
                raise ValueError(f"zoneout, weight_drop: only for LSTM cells, got cell={cell!r}")
            layer = GRU if cell == "gru" else RNN
            self.rnn: nn.Module = layer(input_size, hidden_size, num_layers, **common)
            if cell == "gru" and memory_bias is not None:
                with torch.no_grad():
                    for k in range(num_layers):  # gate blocks r, z, n: z is the second
                        getattr(self.rnn, f"bias_ih_l{k}")[hidden_size : 2 * hidden_size].fill_(memory_bias)
                        getattr(self.rnn, f"bias_hh_l{k}")[hidden_size : 2 * hidden_size].zero_()
        else:
            kwargs: dict[str, Any] = {
                **common,
                "variant": cell,
                "zoneout": zoneout,
                "weight_drop": weight_drop,
            }
            if "f" in VARIANTS[cell].gates and memory_bias is not None:
                kwargs["forget_bias"] = memory_bias
            if engine is not None:
                if "engine" not in inspect.signature(LSTM.__init__).parameters:
                    raise ValueError("engine: this lstmkit's LSTM has no engine option yet")
                kwargs["engine"] = engine
            self.rnn = LSTM(input_size, hidden_size, num_layers, **kwargs)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: Tensor, state: Any = None, lengths: Tensor | None = None) -> tuple[Tensor, Any]:
        out, state = self.rnn(x, state, lengths)  # (N, L, H)
        return self.head(out), state  # (N, L, K)


def activate(task: syn.Task, logits: Tensor) -> Tensor:
    if task.output == "sigmoid":
        return torch.sigmoid(logits)
    if task.output == "softmax":
        return torch.softmax(logits, -1)
    return logits


def task_loss(task: syn.Task, logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    if task.output == "softmax":
        return F.cross_entropy(logits[mask], targets[mask])
    sel_logits, sel_targets = logits[mask], targets[mask]  # (M, K)
    if task.output == "sigmoid":
        return F.binary_cross_entropy_with_logits(sel_logits, sel_targets)
    return F.mse_loss(sel_logits, sel_targets)


# ------------------------------------------------------------------------------------ results
@dataclass
class SeedResult:
    seed: int
    success: bool
    sequences: int  # training sequences seen until success (or in total, if not solved)
    test_wrong: int
    test_size: int
    test_loss: float
    seconds: float
    stop: str  # "solved", "max_sequences", "time_limit", "diverged"

    @property
    def test_error(self) -> float:
        return self.test_wrong / self.test_size if self.test_size else math.nan


@dataclass
class ExperimentResult:
    name: str
    title: str
    cell: str
    settings: dict[str, Any]
    seeds: list[SeedResult]
    paper: str
    paper_sequences: float | None

    @property
    def success_rate(self) -> float:
        return sum(s.success for s in self.seeds) / len(self.seeds)

    @property
    def mean_sequences(self) -> float | None:
        solved = [s.sequences for s in self.seeds if s.success]
        return statistics.mean(solved) if solved else None

    @property
    def mean_test_error(self) -> float:
        return statistics.mean(s.test_error for s in self.seeds)

    @property
    def mean_seconds(self) -> float:
        return statistics.mean(s.seconds for s in self.seeds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "cell": self.cell,
            "settings": self.settings,
            "success_rate": self.success_rate,
            "mean_sequences": self.mean_sequences,
            "mean_test_error": self.mean_test_error,
            "mean_seconds": self.mean_seconds,
            "paper": self.paper,
            "paper_sequences": self.paper_sequences,
            "seeds": [dataclasses.asdict(s) | {"test_error": s.test_error} for s in self.seeds],
        }


# ------------------------------------------------------------------------------------ the run
class _Batches:
    """A re-iterable of ``count`` fresh batches per pass, drawn by ``draw()``."""

    def __init__(self, draw: Callable[[], Any], count: int) -> None:
        self.draw, self.count = draw, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Any]:
        for _ in range(self.count):
            yield self.draw()


def _scores(task: syn.Task, logits: Tensor) -> Tensor:
    """What ``task.correct`` judges: the outputs, except that the Reber tasks rank the logits
    (the same order as their sigmoids, without the ties of sigmoids saturated at 1.0)."""
    return logits if isinstance(task, (syn.EmbeddedReber, syn.ContinualReber)) else activate(task, logits)


@torch.no_grad()
def _judge(
    model: nn.Module, task: syn.Task, batch: syn.SyntheticBatch, chunk: int = 512
) -> tuple[int, float]:
    """(number of wrong sequences, mean loss) of ``batch``, in pieces of ``chunk`` sequences."""
    model.eval()
    wrong, loss, n = 0, 0.0, len(batch)
    for start in range(0, n, chunk):
        part = _slice(batch, start, min(start + chunk, n))
        logits, _ = model(part.inputs, None, part.lengths)
        wrong += int((~task.correct(_scores(task, logits), part)).sum())
        loss += float(task_loss(task, logits, part.targets, part.mask)) * len(part)
    model.train()
    return wrong, loss / n


def _slice(batch: syn.SyntheticBatch, a: int, b: int) -> syn.SyntheticBatch:
    lengths = batch.lengths[a:b]
    m = int(lengths.max())
    return syn.SyntheticBatch(
        batch.inputs[a:b, :m], batch.targets[a:b, :m], batch.mask[a:b, :m], lengths, batch.info
    )


@torch.no_grad()
def _judge_stream(model: nn.Module, task: syn.Task, stream: syn.SyntheticBatch) -> tuple[int, float]:
    """Continual Reber: run each test stream as one sequence; wrong streams and the loss."""
    return _judge(model, task, stream, chunk=len(stream))


def _run_seed(
    spec: ExperimentSpec,
    task: syn.Task,
    cell: str,
    seed: int,
    *,
    hidden: int,
    batch_size: int,
    lr: float,
    max_sequences: int,
    time_limit: float,
    window: int,
    eval_every: int,
    test_size: int,
    memory_bias: float,
    engine: str | None,
    progress: bool,
) -> SeedResult:
    from lstmkit.fit import Callback, StepOutput, TrainConfig, Trainer

    torch.manual_seed(seed)
    data_gen = torch.Generator().manual_seed(10_000 + seed)
    test_gen = torch.Generator().manual_seed(20_000 + seed)
    model = SequenceModel(
        cell, task.input_size, hidden, task.output_size, memory_bias=memory_bias, engine=engine
    )
    recent: collections.deque[bool] = collections.deque(maxlen=window)
    state = {"seen": 0, "solved_at": None, "stop": "", "start": time.perf_counter()}
    continual = isinstance(task, syn.ContinualReber)
    check_streams = task.sample(5, torch.Generator().manual_seed(30_000 + seed)) if continual else None
    sets: tuple[syn.SyntheticBatch, syn.SyntheticBatch] | None = None
    if isinstance(task, syn.EmbeddedReber):
        sets = task.datasets(data_gen)
        train_set = sets[0]

        def draw() -> Any:
            idx = torch.randint(len(train_set), (batch_size,), generator=data_gen)
            return _take(train_set, idx)
    elif continual:
        segments = task.segments(batch_size, 50, data_gen)

        def draw() -> Any:
            b = next(segments)
            return (b.inputs, b.targets, b.mask, torch.tensor(b.info["strings_done"]))
    else:

        def draw() -> Any:
            return task.sample(batch_size, data_gen)

    def step(model: nn.Module, batch: Any, carried: Any = None) -> Any:
        if continual:
            inputs, targets, mask, done = batch
            logits, new_state = model(inputs, carried)
            state["seen"] = int(done)
            return StepOutput(task_loss(task, logits, targets, mask), weight=float(mask.sum())), new_state
        logits, _ = model(batch.inputs, None, batch.lengths)
        loss = task_loss(task, logits, batch.targets, batch.mask)
        if model.training:
            state["seen"] += len(batch)
            recent.extend(task.correct(activate(task, logits.detach()), batch).tolist())
        return StepOutput(loss, weight=float(len(batch)))

    def out_of_budget() -> str:
        if state["seen"] >= max_sequences:
            return "max_sequences"
        if time.perf_counter() - state["start"] > time_limit:
            return "time_limit"
        return ""

    def judged_solved(model: nn.Module) -> bool:
        """The check of the tasks judged on fixed sets (Reber) or streams (continual Reber)."""
        if sets is not None:
            return all(_judge(model, task, s)[0] == 0 for s in sets)
        assert check_streams is not None  # 5 streams of `strings` strings, none with an error
        return _judge_stream(model, task, check_streams)[0] == 0

    next_check = [eval_every]  # continual Reber: checked every `eval_every` strings

    class Judge(Callback):
        def solved(self, trainer: Any) -> None:
            state["solved_at"], state["stop"] = state["seen"], "solved"
            trainer.should_stop = True

        def on_train_batch_end(self, trainer: Any, out: Any) -> None:
            if state["stop"]:
                return  # (called once per TBPTT window: the batch finishes first)
            if sets is None and not continual and len(recent) == window and all(recent):
                self.solved(trainer)
                return
            reason = out_of_budget()
            if continual and (state["seen"] >= next_check[0] or reason):
                while next_check[0] <= state["seen"]:
                    next_check[0] += eval_every
                if judged_solved(trainer.model):
                    self.solved(trainer)
                    return
            elif reason and sets is not None and judged_solved(trainer.model):
                self.solved(trainer)  # the final weights are judged too
                return
            if reason:
                state["stop"] = reason
                trainer.should_stop = True

        def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
            if not state["stop"] and sets is not None and judged_solved(trainer.model):
                self.solved(trainer)

    # continual Reber is one endless epoch: its streams (and the carried state) never restart
    per_epoch = 10**12 if continual else max(1, eval_every // batch_size)
    cfg = TrainConfig(
        optimizer="adam",
        lr=lr,
        clip_norm=1.0,
        max_epochs=10**9,
        progress=progress,
        plot=False,
        seed=None,
        tbptt_k1=50 if continual else None,
        carry_state=continual,
        monitor="train_loss",
        restore_best=False,
    )
    trainer = Trainer(model, cfg, step=step, callbacks=[Judge()])
    try:
        trainer.fit(_Batches(draw, per_epoch))
    except FloatingPointError:
        state["stop"] = "diverged"
    seconds = time.perf_counter() - state["start"]
    solved = state["solved_at"] is not None
    if continual:
        tests = task.sample(max(1, test_size // 256), test_gen)  # streams of `strings` strings
        wrong, tloss = _judge_stream(model, task, tests)
        n_test = len(tests)
    else:
        test = sets[1] if sets is not None else task.sample(test_size, test_gen)
        wrong, tloss = _judge(model, task, test)
        n_test = len(test)
    return SeedResult(
        seed,
        solved,
        int(state["solved_at"] if solved else state["seen"]),
        wrong,
        n_test,
        tloss,
        seconds,
        state["stop"] or "max_sequences",
    )


def _take(batch: syn.SyntheticBatch, idx: Tensor) -> syn.SyntheticBatch:
    lengths = batch.lengths[idx]
    m = int(lengths.max())
    return syn.SyntheticBatch(batch.inputs[idx, :m], batch.targets[idx, :m], batch.mask[idx, :m], lengths)


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
    key = ALIASES.get(name, name)
    if key not in EXPERIMENTS:
        raise ValueError(f"NAME: expected one of {sorted(EXPERIMENTS)} (or {sorted(ALIASES)}), got {name!r}")
    return key


def run_experiment(
    name: str,
    *,
    cell: str | None = None,
    seeds: int | Sequence[int] = 1,
    hidden: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    max_sequences: int | None = None,
    time_limit: float | None = None,
    window: int | None = None,
    eval_every: int | None = None,
    test_size: int | None = None,
    task_options: dict[str, Any] | None = None,
    memory_bias: float | None = None,
    engine: str | None = None,
    progress: bool = False,
) -> ExperimentResult:
    """Train ``cell`` on experiment ``name`` for each seed and judge it by the paper's criterion.

    Args:
        name: a key of :data:`EXPERIMENTS` or an alias (``"1"``, ``"2a"``, ..., ``"6b"``).
        cell: an LSTM variant (:data:`lstmkit.core.cells.VARIANTS`), ``"gru"`` or ``"rnn"``; default:
            the experiment's (the paper's ``original1997`` cell; ``classic`` for continual-reber).
        seeds: how many seeds (0, 1, ...) or the seeds themselves.
        hidden, batch_size, lr, max_sequences, time_limit (seconds per seed), window,
        eval_every, test_size: override the experiment's defaults.
        task_options: override the task's options (e.g. ``{"T": 500}``).
        memory_bias: initial forget-gate (LSTM) / update-gate (GRU) bias (see
            :class:`SequenceModel`); default: the experiment's (1.0 for the Reber tasks, else 5.0).
        engine: passed to :class:`~lstmkit.core.layers.LSTM` (when it has that option).
    """
    spec = EXPERIMENTS[resolve_name(name)]
    cell = cell or spec.cell
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {list(CELLS)}, got {cell!r}")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise ValueError(f"seeds: expected at least one seed, got {seeds!r}")
    options = {**spec.options, **(task_options or {})}
    task = spec.task(**options)
    if isinstance(task, syn.EmbeddedReber):  # its test set is the fixed one the run is judged on
        task = dataclasses.replace(task, n_test=task.n_test if test_size is None else test_size)
        test_size = task.n_test
    settings = {
        "hidden": spec.hidden if hidden is None else hidden,
        "batch_size": spec.batch_size if batch_size is None else batch_size,
        "lr": spec.lr if lr is None else lr,
        "max_sequences": spec.max_sequences if max_sequences is None else max_sequences,
        "time_limit": spec.time_limit if time_limit is None else time_limit,
        "window": spec.window if window is None else window,
        "eval_every": spec.eval_every if eval_every is None else eval_every,
        "test_size": spec.test_size if test_size is None else test_size,
        "memory_bias": spec.memory_bias if memory_bias is None else memory_bias,
    }
    for key, value in settings.items():
        if key != "memory_bias" and not value > 0:
            raise ValueError(f"{key}: expected a value > 0, got {value}")
    results = []
    train_log = logging.getLogger("lstmkit.fit")
    level = train_log.level
    if not log.isEnabledFor(logging.DEBUG):
        train_log.setLevel(logging.WARNING)  # the many tiny epochs of a run are not news
    try:
        for seed in seed_list:
            r = _run_seed(spec, task, cell, seed, engine=engine, progress=progress, **settings)
            results.append(r)
            log.info(
                "%s %s seed %d: %s after %d sequences, test error %.4f, %.1fs",
                spec.name,
                cell,
                seed,
                r.stop,
                r.sequences,
                r.test_error,
                r.seconds,
            )
    finally:
        train_log.setLevel(level)
    settings = {**settings, "task": dict(vars(task)), "optimizer": "adam, mini-batches, clip_norm=1"}
    return ExperimentResult(spec.name, spec.title, cell, settings, results, spec.paper, spec.paper_sequences)


# ------------------------------------------------------------------------------------ the CLI
def register(sub: argparse._SubParsersAction) -> None:
    names = ", ".join(f"{k} ({v.title})" for k, v in EXPERIMENTS.items())
    p = sub.add_parser(
        "experiment",
        help="reproduce an experiment of Hochreiter & Schmidhuber 1997 / Gers et al. 2000",
        description="Train a recurrent net on one of the 1997 LSTM paper's tasks and report the "
        "success rate over seeds, the training sequences seen until success, the test error and "
        "the wall time, next to the paper's numbers. Training uses mini-batches and Adam (the paper "
        f"trained online with plain gradient descent). Experiments: {names}.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "name",
        metavar="NAME",
        help=f"experiment: {', '.join(EXPERIMENTS)}; "
        f"aliases {', '.join(f'{k}={v}' for k, v in ALIASES.items())}",
    )
    p.add_argument(
        "--cell",
        nargs="+",
        choices=CELLS,
        help="cell(s) to train (default: the paper's original1997 LSTM; classic for continual-reber)",
    )
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (runs) per cell")
    p.add_argument("--hidden", type=int, help="hidden size (default: the experiment's)")
    p.add_argument("--batch-size", type=int, help="sequences per mini-batch")
    p.add_argument("--lr", type=float, help="Adam learning rate")
    p.add_argument("--max-sequences", type=int, help="training budget in sequences per seed")
    p.add_argument("--time-limit", type=float, help="wall-time budget per seed in seconds")
    p.add_argument("--window", type=int, help="recent training sequences that must all be right")
    p.add_argument("--eval-every", type=int, help="sequences between checks (reber, continual-reber)")
    p.add_argument(
        "--test-size",
        type=int,
        help="test sequences for the final test error (reber: its fixed test strings; continual-reber: "
        "test_size // 256 streams)",
    )
    p.add_argument("--length", "-T", type=int, help="T of adding, multiplication, noise-signal, copy")
    p.add_argument("--p", type=int, help="p of the long-lag tasks (number of symbols/distractors)")
    p.add_argument("--q", type=int, help="q of long-lag-2c (minimal time lag q + 1)")
    p.add_argument(
        "--memory-bias",
        type=float,
        help="initial forget-gate (LSTM) / update-gate (GRU) bias (default 1 for the Reber tasks, else 5)",
    )
    p.add_argument("--engine", help="LSTM engine, if this lstmkit's LSTM has the option")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--progress", action="store_true", help="show a progress bar per seed")
    p.set_defaults(func=_main)


def format_table(results: Sequence[ExperimentResult]) -> str:
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


def _main(args: argparse.Namespace) -> int:
    name = resolve_name(args.name)
    options: dict[str, Any] = {}
    task_fields = set(inspect.signature(EXPERIMENTS[name].task).parameters)
    for arg, key in (("length", "T"), ("p", "p"), ("q", "q")):
        value = getattr(args, arg)
        if value is not None:
            if key not in task_fields:
                raise ValueError(f"--{arg}: experiment {name!r} has no option {key}")
            options[key] = value
    results = []
    for cell in args.cell or [EXPERIMENTS[name].cell]:
        results.append(
            run_experiment(
                name,
                cell=cell,
                seeds=args.seeds,
                hidden=args.hidden,
                batch_size=args.batch_size,
                lr=args.lr,
                max_sequences=args.max_sequences,
                time_limit=args.time_limit,
                window=args.window,
                eval_every=args.eval_every,
                test_size=args.test_size,
                task_options=options,
                memory_bias=args.memory_bias,
                engine=args.engine,
                progress=args.progress,
            )
        )
    spec = EXPERIMENTS[name]
    s = results[0].settings
    print(f"{spec.title}; task options {s['task']}")
    print(
        f"training: mini-batches of {s['batch_size']}, Adam lr {s['lr']}, hidden {s['hidden']}, "
        f"memory bias {s['memory_bias']}, budget {s['max_sequences']:,} sequences / "
        f"{s['time_limit']:.0f} s per seed (the paper: online updates, plain gradient descent)"
    )
    n_test = results[0].seeds[0].test_size
    tested = (
        f"{n_test:,} test streams of {s['task']['strings']} strings"
        if name == "continual-reber"
        else f"{n_test:,} test sequences"
    )
    print(f"solved when {success_rule(name, s)}; test error on {tested}")
    print(format_table(results))
    sys.stdout.flush()
    if args.json:
        from lstmkit.fit.checkpoint import atomic_write_text

        atomic_write_text(args.json, json.dumps([r.to_dict() for r in results], indent=2) + "\n")
    return 0

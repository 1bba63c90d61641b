"""One seed of an experiment: train a :class:`~lstmkit.apps.experiments.model.SequenceModel` until
the paper's stopping rule says the task is solved or the budget is spent, then measure the
test error.

Protocol: mini-batches and Adam (gradient norm clipped at 1) with :class:`lstmkit.fit.Trainer`;
"sequences seen" counts every training sequence of every mini-batch. The run stops

* solved, by the rule of the task (:func:`~lstmkit.apps.experiments.registry.success_rule`):
  the fixed training and test strings all right (``reber``, checked every ``eval_every``
  sequences and at the end of the budget), 5 check streams without an error (continual Reber,
  every ``eval_every`` strings), or the last ``window`` training sequences all right (the rest);
* ``"max_sequences"`` or ``"time_limit"``: the budget is spent;
* ``"diverged"``: the loss is no longer finite.

Continual Reber trains as Gers et al. (2000): each of ``batch_size`` streams of concatenated
strings is cut into truncated-BPTT windows of 50 steps, the state carried across them (never
reset between strings); a stream ends at its first wrong prediction (``stream_end="error"``;
``"cap"``: not) or after ``stream_symbols`` symbols, and the next one starts from the zero
state.

Example::

    >>> from lstmkit.apps.experiments.registry import EXPERIMENTS
    >>> spec = EXPERIMENTS["adding"]
    >>> result = run_seed(spec.task(T=20), "classic", 0, TrainSettings(max_sequences=2048))
    >>> result.stop
    'max_sequences'
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.apps.experiments import tasks as syn
from lstmkit.apps.experiments.model import NON_RECURRENT, SequenceModel
from lstmkit.apps.experiments.registry import TrainSettings, activate, task_loss
from lstmkit.core.tree import tree_map
from lstmkit.fit import Callback, StepOutput, TrainConfig, Trainer

__all__ = ["SeedResult", "TrainSettings", "run_seed"]


@dataclass
class SeedResult:
    """One seed's run: solved or not, after how many sequences, and its test error."""

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


# ---------------------------------------------------------------------- judging
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


@torch.no_grad()
def _judge_stream(model: nn.Module, task: syn.Task, stream: syn.SyntheticBatch) -> tuple[int, float]:
    """Continual Reber: run each test stream as one sequence; wrong streams and the loss."""
    return _judge(model, task, stream, chunk=len(stream))


def _slice(batch: syn.SyntheticBatch, a: int, b: int) -> syn.SyntheticBatch:
    lengths = batch.lengths[a:b]
    m = int(lengths.max())
    return syn.SyntheticBatch(
        batch.inputs[a:b, :m], batch.targets[a:b, :m], batch.mask[a:b, :m], lengths, batch.info
    )


def _take(batch: syn.SyntheticBatch, idx: Tensor) -> syn.SyntheticBatch:
    lengths = batch.lengths[idx]
    m = int(lengths.max())
    return syn.SyntheticBatch(batch.inputs[idx, :m], batch.targets[idx, :m], batch.mask[idx, :m], lengths)


# ---------------------------------------------------------------------- one run
@dataclass
class _Run:
    """What one seed's run knows: the task, its fixed check sets, its budget and its progress."""

    task: syn.Task
    settings: TrainSettings
    sets: tuple[syn.SyntheticBatch, syn.SyntheticBatch] | None  # Reber: the fixed train/test strings
    check_streams: syn.SyntheticBatch | None  # continual Reber: 5 streams checked for errors
    seen: int = 0
    solved_at: int | None = None
    stop: str = ""
    start: float = field(default_factory=time.perf_counter)
    recent: collections.deque[bool] = field(default_factory=collections.deque)
    next_check: int = 0  # continual Reber: checked every `eval_every` strings
    streams: syn.ReberStreams | None = None  # continual Reber: the training streams

    @property
    def continual(self) -> bool:
        return isinstance(self.task, syn.ContinualReber)

    @property
    def paper(self) -> bool:
        """Trained by the 1997 paper's protocol (its squared error, online plain descent)."""
        return self.settings.protocol == "paper"

    def out_of_budget(self) -> str:
        if self.seen >= self.settings.max_sequences:
            return "max_sequences"
        if time.perf_counter() - self.start > self.settings.time_limit:
            return "time_limit"
        return ""

    def judged_solved(self, model: nn.Module) -> bool:
        """The check of the tasks judged on fixed sets (Reber) or streams (continual Reber)."""
        if self.sets is not None:
            return all(_judge(model, self.task, s)[0] == 0 for s in self.sets)
        assert self.check_streams is not None  # 5 streams of `strings` strings, none with an error
        return _judge_stream(model, self.task, self.check_streams)[0] == 0


class _Judge(Callback):
    """Stops the trainer when the run is solved or out of budget (see the module's docstring)."""

    def __init__(self, run: _Run) -> None:
        self.run = run

    def solved(self, trainer: Any) -> None:
        self.run.solved_at, self.run.stop = self.run.seen, "solved"
        trainer.should_stop = True

    def on_train_batch_end(self, trainer: Any, out: Any) -> None:
        run = self.run
        if run.stop:
            return  # (called once per TBPTT window: the batch finishes first)
        if (
            run.sets is None
            and not run.continual
            and len(run.recent) == run.settings.window
            and all(run.recent)
        ):
            self.solved(trainer)
            return
        reason = run.out_of_budget()
        if run.continual and (run.seen >= run.next_check or reason):
            while run.next_check <= run.seen:
                run.next_check += run.settings.eval_every
            if run.judged_solved(trainer.model):
                self.solved(trainer)
                return
        elif reason and run.sets is not None and run.judged_solved(trainer.model):
            self.solved(trainer)  # the final weights are judged too
            return
        if reason:
            run.stop = reason
            trainer.should_stop = True

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        if not self.run.stop and self.run.sets is not None and self.run.judged_solved(trainer.model):
            self.solved(trainer)


class _AddCell(Callback):
    """The 1997 paper's constructive start (experiment 2a: the memory cell is added once the error
    stops decreasing): for the first ``run.settings.add_cell_after`` training sequences the
    readout's weights from the recurrent units stay zero, so the net is only its direct
    input-to-output connections (``shortcut``) and the recurrent layer gets no gradient; then
    those weights get their initial values: the cell is added."""

    def __init__(self, run: _Run, model: SequenceModel) -> None:
        self.run, self.hidden = run, run.settings.hidden
        head = model.head.weight  # (K, H [+ C]): the recurrent units' columns first
        self.initial = head.detach()[:, : self.hidden].clone()
        self.added = False
        with torch.no_grad():
            head[:, : self.hidden] = 0

    def on_before_optimizer_step(self, trainer: Any) -> None:
        grad = trainer.model.head.weight.grad
        if not self.added and grad is not None:
            grad[:, : self.hidden] = 0

    def on_train_batch_end(self, trainer: Any, out: Any) -> None:
        if not self.added and self.run.seen >= self.run.settings.add_cell_after:
            with torch.no_grad():
                trainer.model.head.weight[:, : self.hidden] = self.initial
            self.added = True


class _Batches:
    """A re-iterable of ``count`` fresh batches per pass, drawn by ``draw()``."""

    def __init__(self, draw: Callable[[], Any], count: int) -> None:
        self.draw, self.count = draw, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Any]:
        for _ in range(self.count):
            yield self.draw()


def _sampler(run: _Run, data_gen: torch.Generator) -> Callable[[], Any]:
    """Draws a training batch: from the fixed training strings (Reber), the next window of the
    endless streams (continual Reber), or fresh sequences."""
    task, batch_size = run.task, run.settings.batch_size
    if run.sets is not None:
        train_set = run.sets[0]

        def draw() -> Any:
            idx = torch.randint(len(train_set), (batch_size,), generator=data_gen)
            return _take(train_set, idx)
    elif run.continual:
        assert isinstance(task, syn.ContinualReber)
        streams = run.streams = task.segments(
            batch_size, 50, data_gen, max_symbols=run.settings.stream_symbols
        )

        def draw() -> Any:
            b = next(streams)
            return (b.inputs, b.targets, b.mask, torch.tensor(b.info["strings_done"]), b.info["fresh"])
    else:

        def draw() -> Any:
            return task.sample(batch_size, data_gen)

    return draw


def _stepper(run: _Run) -> Callable[..., Any]:
    """The trainer's step: the task's loss, counting the sequences seen (and, outside continual
    Reber, whether each was right, for the rule of the last ``window`` sequences)."""
    task = run.task

    def step(model: nn.Module, batch: Any, carried: Any = None) -> Any:
        if run.continual:
            inputs, targets, mask, done, fresh = batch
            if carried is not None:  # a new stream starts from the zero state
                carried = tree_map(lambda t: t * (~fresh).to(t.dtype).view(1, -1, 1), carried)
            logits, new_state = model(inputs, carried)
            run.seen = int(done)
            if model.training and run.streams is not None and run.settings.stream_end == "error":
                batch_now = syn.SyntheticBatch(
                    inputs, targets, mask, torch.full((len(inputs),), inputs.shape[1])
                )
                run.streams.restart(~task.correct(logits.detach(), batch_now))
            loss = task_loss(task, logits, targets, mask, run.paper) * _loss_scale(run, targets, mask)
            return StepOutput(loss, weight=float(mask.sum())), new_state
        logits, _ = model(batch.inputs, None, batch.lengths)
        loss = task_loss(task, logits, batch.targets, batch.mask, run.paper) * _loss_scale(
            run, batch.targets, batch.mask
        )
        if model.training:
            run.seen += len(batch)
            run.recent.extend(task.correct(activate(task, logits.detach()), batch).tolist())
        return StepOutput(loss, weight=float(len(batch)))

    return step


def _loss_scale(run: _Run, targets: Tensor, mask: Tensor) -> float:
    """1 (the mean loss), or under the paper's protocol the number of judged steps and outputs
    per sequence: the mean becomes the paper's error summed over a sequence's steps and outputs."""
    if not run.paper:
        return 1.0
    outputs = targets.shape[-1] if run.task.output != "softmax" else 1
    return float(mask.sum()) * outputs / mask.shape[0]


def _train(model: nn.Module, run: _Run, draw: Callable[[], Any], progress: bool) -> None:
    """Train until the judge stops it (a loss no longer finite stops it as ``"diverged"``)."""
    s, paper = run.settings, run.paper
    # continual Reber is one endless epoch: its streams (and the carried state) never restart
    per_epoch = 10**12 if run.continual else max(1, s.eval_every // s.batch_size)
    cfg = TrainConfig(
        optimizer="sgd" if paper else "adam",
        lr=s.lr,
        clip_norm=None if paper else 1.0,
        max_epochs=10**9,
        progress=progress,
        plot=False,
        seed=None,
        tbptt_k1=50 if run.continual else None,
        carry_state=run.continual,
        monitor="train_loss",
        restore_best=False,
    )
    callbacks: list[Callback] = [_Judge(run)]
    if s.add_cell_after:
        assert isinstance(model, SequenceModel)
        callbacks.append(_AddCell(run, model))
    trainer = Trainer(model, cfg, step=_stepper(run), callbacks=callbacks)
    try:
        trainer.fit(_Batches(draw, per_epoch))
    except FloatingPointError:
        run.stop = "diverged"


def _test(model: nn.Module, run: _Run, test_gen: torch.Generator) -> tuple[int, float, int]:
    """(wrong, mean loss, size) on the test data: the fixed test strings (Reber), fresh streams
    (continual Reber) or fresh sequences."""
    task, test_size = run.task, run.settings.test_size
    if run.continual:
        tests = task.sample(max(1, test_size // 256), test_gen)  # streams of `strings` strings
        wrong, loss = _judge_stream(model, task, tests)
        return wrong, loss, len(tests)
    test = run.sets[1] if run.sets is not None else task.sample(test_size, test_gen)
    wrong, loss = _judge(model, task, test)
    return wrong, loss, len(test)


def _init_range(settings: TrainSettings, cell: str) -> float | None:
    """The range of the uniform initial weights: the setting's, else 0.1 under the paper's
    protocol (LSTM and Elman RNN), else ``None`` (the layers' own initialization)."""
    if settings.init_range is not None or cell in ("gru", *NON_RECURRENT):
        return settings.init_range
    return 0.1 if settings.protocol == "paper" else None


def run_seed(
    task: syn.Task,
    cell: str,
    seed: int,
    settings: TrainSettings,
    *,
    engine: str | None = None,
    progress: bool = False,
) -> SeedResult:
    """Train a :class:`~lstmkit.apps.experiments.model.SequenceModel` with ``cell`` on ``task``
    from ``seed`` and judge it (see the module's docstring).

    Args:
        task: the task. cell: an LSTM variant, ``"gru"`` or ``"rnn"``. seed: the seed of the
            weights, the training data (``10_000 + seed``) and the test data (``20_000 + seed``).
        settings: the training settings. engine: the LSTM's engine. progress: a progress bar.
    """
    torch.manual_seed(seed)
    data_gen = torch.Generator().manual_seed(10_000 + seed)
    test_gen = torch.Generator().manual_seed(20_000 + seed)
    model = SequenceModel(
        cell,
        task.input_size,
        settings.hidden,
        task.output_size,
        num_layers=settings.num_layers,
        memory_bias=settings.memory_bias,
        input_bias=settings.input_bias if cell not in ("gru", "rnn", *NON_RECURRENT) else None,
        shortcut=settings.shortcut,
        truncated=settings.truncated,
        readout_bias=settings.readout_bias,
        init_range=_init_range(settings, cell),
        engine=engine,
    )
    start = time.perf_counter()
    continual = isinstance(task, syn.ContinualReber)
    check_streams = task.sample(5, torch.Generator().manual_seed(30_000 + seed)) if continual else None
    sets = task.datasets(data_gen) if isinstance(task, syn.EmbeddedReber) else None
    run = _Run(
        task, settings, sets, check_streams, start=start, recent=collections.deque(maxlen=settings.window)
    )
    run.next_check = settings.eval_every
    _train(model, run, _sampler(run, data_gen), progress)
    seconds = time.perf_counter() - run.start
    wrong, loss, n_test = _test(model, run, test_gen)
    solved = run.solved_at is not None
    sequences = int(run.solved_at if run.solved_at is not None else run.seen)
    return SeedResult(seed, solved, sequences, wrong, n_test, loss, seconds, run.stop or "max_sequences")

"""The synthetic tasks of Hochreiter & Schmidhuber (1997) as comparison tasks: the adding
problem (T = 50, 200, 1000) and temporal order (6a).

Every model is a :class:`~lstmkit.apps.experiments.model.SequenceModel` trained by
:func:`~lstmkit.apps.experiments.train.run_seed` on fresh sequences for the same budget of
training sequences (and the same time limit). The paper's stopping rule ("the last 2,000
sequences all right") is switched off (its window is larger than the budget) so that every
model trains for the whole budget and is scored at its end: the test MSE of the target (adding)
or the test error rate (temporal order) on fresh sequences.

The rate search trains from seed ``1000 + seed`` and scores on that run's own held-out
sequences (fresh draws of the task: a validation set disjoint from every test set of the
reported seeds, whose test data come from seeds 0, 1, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lstmkit.apps.compare.base import CompareTask, Metric, Score, Size
from lstmkit.apps.experiments import tasks as syn
from lstmkit.apps.experiments.model import SequenceModel
from lstmkit.apps.experiments.train import TrainSettings, run_seed
from lstmkit.core.layers.encoder import count_parameters

__all__ = ["SyntheticTask", "tcn_blocks"]

#: the seed offset of the rate search's runs (their held-out draws are the validation set)
VALID_SEED = 1000


def tcn_blocks(length: int, kernel_size: int = 3) -> int:
    """The fewest TCN blocks whose receptive field 1 + 2 (k - 1) (2^B - 1) covers ``length``."""
    blocks = 1
    while 1 + 2 * (kernel_size - 1) * (2**blocks - 1) < length:
        blocks += 1
    return blocks


@dataclass(frozen=True)
class SyntheticTask(CompareTask):
    """A synthetic task: ``kind`` ``"adding"`` (with ``T``) or ``"temporal-order"``."""

    kind: str = "adding"
    T: int = 50
    test_size: int = 2048
    batch_size: int = 32

    def problem(self) -> syn.Task:
        if self.kind == "adding":
            return syn.AddingProblem(T=self.T)
        return syn.TemporalOrder(kind="6a")

    def count(self, architecture: str, width: int, layers: int) -> int:
        task = self.problem()
        cell = "classic" if architecture == "lstm" else architecture
        model = SequenceModel(cell, task.input_size, width, task.output_size, num_layers=layers)
        return count_parameters(model)

    def train(self, size: Size, lr: float, seed: int, split: str) -> Score:
        settings = TrainSettings(
            hidden=size.width,
            num_layers=size.layers,
            batch_size=self.batch_size,
            lr=lr,
            max_sequences=int(self.budget),
            time_limit=self.time_limit,
            window=10**12,  # never "solved" early: every model spends the whole budget
            test_size=self.test_size,
        )
        cell = "classic" if size.architecture == "lstm" else size.architecture
        run = run_seed(self.problem(), cell, seed + (VALID_SEED if split == "valid" else 0), settings)
        value = run.test_loss if self.kind == "adding" else run.test_error
        return Score(value if math.isfinite(value) else math.nan, run.seconds, float(run.sequences))


def adding(T: int, budget: int, quick: bool) -> SyntheticTask:
    """The adding problem at ``T`` (a TCN with the blocks to see the whole sequence)."""
    return SyntheticTask(
        name=f"adding-{T}",
        title=f"adding problem, T = {T} (sequences of T to 1.1 T pairs; target at the end)",
        metric=Metric("test MSE", higher_better=False),
        budget=2048 if quick else budget,
        budget_unit="sequences",
        lrs=(1e-3, 3e-3, 1e-2),
        width=32,
        depth=(("transformer", 2), ("tcn", tcn_blocks(int(1.1 * T) + 1))),
        input_size=2,
        kind="adding",
        T=T,
        test_size=256 if quick else 2048,
    )


def temporal_order(budget: int, quick: bool) -> SyntheticTask:
    """Temporal order 6a (two symbols among distractors; length 100 to 110)."""
    return SyntheticTask(
        name="temporal-order",
        title="temporal order 6a (the order of two symbols in 100-110 steps of distractors)",
        metric=Metric("test error", higher_better=False),
        budget=2048 if quick else budget,
        budget_unit="sequences",
        lrs=(1e-3, 3e-3, 1e-2),
        width=32,
        depth=(("transformer", 2), ("tcn", tcn_blocks(111))),
        input_size=8,
        kind="temporal-order",
        test_size=256 if quick else 2048,
    )

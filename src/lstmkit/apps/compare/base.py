"""What a comparison task is: its metric, its models, its budget, and how it sizes, trains and
scores one model.

A :class:`CompareTask` is a frozen dataclass; each family of tasks (synthetic, series, text)
subclasses it and implements :meth:`~CompareTask.count` (the parameters of its network for an
architecture, width and depth), :meth:`~CompareTask.train` (train one network for the budget
and score it on the validation or the test split) and, where it has them,
:meth:`~CompareTask.baseline`. The study (:mod:`lstmkit.apps.compare.study`) does the rest.

Example::

    >>> from lstmkit.apps.compare.registry import make_task
    >>> task = make_task("adding-50", quick=True)
    >>> task.metric.name, task.metric.higher_better
    ('test MSE', False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from lstmkit.core.layers.encoder import ARCHITECTURES, EncoderSettings, count_parameters
from lstmkit.core.layers.transformer import Transformer

__all__ = [
    "ARCHITECTURES",
    "SPLITS",
    "TOLERANCE",
    "CompareTask",
    "Metric",
    "Score",
    "Size",
    "embedding_parameters",
    "heads_for",
    "used_parameters",
]

#: how far (relative) a model's parameter count may be from the LSTM's
TOLERANCE = 0.10
#: where :meth:`CompareTask.train` scores: the validation split (the rate search) or the test
SPLITS = ("valid", "test")


def heads_for(width: int) -> int:
    """A Transformer's heads at ``width``: 4 where they divide it, else 2, else 1."""
    return next(h for h in (4, 2, 1) if width % h == 0)


def embedding_parameters(module: nn.Module) -> int:
    """The trainable parameters of ``module``'s :class:`~torch.nn.Embedding` tables."""
    return sum(
        p.numel()
        for m in module.modules()
        if isinstance(m, nn.Embedding)
        for p in m.parameters()
        if p.requires_grad
    )


def used_parameters(module: nn.Module, max_steps: int) -> int:
    """The trainable parameters of ``module`` that sequences of at most ``max_steps`` steps
    use: a Transformer's learned position table counts its first ``max_steps`` rows only (the
    rest, up to its ``max_len``, is never read on the task)."""
    unused = 0
    for m in module.modules():
        if isinstance(m, Transformer) and m.position is not None and m.position.weight.requires_grad:
            unused += max(0, m.max_len - max_steps) * m.d_model
    return count_parameters(module) - unused


@dataclass(frozen=True)
class Metric:
    """A task's metric: its name and whether higher is better."""

    name: str
    higher_better: bool

    def better(self, a: float, b: float) -> bool:
        """``a`` is better than ``b`` (a NaN is never better; anything beats a NaN)."""
        if math.isnan(a):
            return False
        if math.isnan(b):
            return True
        return a > b if self.higher_better else a < b


@dataclass(frozen=True)
class Size:
    """One architecture's network on a task: width, depth, parameters and the LSTM's."""

    architecture: str
    width: int
    layers: int
    params: int
    reference: int

    @property
    def ratio(self) -> float:
        """params / the LSTM's params."""
        return self.params / self.reference

    @property
    def matched(self) -> bool:
        """Within :data:`TOLERANCE` of the LSTM's parameter count."""
        return abs(self.ratio - 1.0) <= TOLERANCE + 1e-12

    def encoder(self) -> EncoderSettings:
        """The encoder settings of this size (for the latency measurement)."""
        return EncoderSettings(
            self.architecture,
            self.width,
            self.layers,
            num_heads=heads_for(self.width),
            positions="sinusoidal",
        )


@dataclass(frozen=True)
class Score:
    """One trained model's metric on a split, its training time and its budget used."""

    value: float
    seconds: float
    steps: float = math.nan  # the budget spent, in the task's unit


@dataclass(frozen=True)
class CompareTask:
    """A comparison task (subclasses implement :meth:`count` and :meth:`train`).

    Attributes:
        name, title: the task's name and a line describing it.
        metric: what is reported (its test value) and what picks the rate (its validation value).
        budget: every neural model's training budget, in ``budget_unit`` (sequences, epochs,
            steps); ``time_limit`` caps each run's seconds as well (equal for all models).
        lrs: the rates searched.
        width: the LSTM's width (its parameter count is the reference).
        depth: the layers (blocks) of each architecture (default 1; a TCN's cover its task).
        baselines: the task's non-neural (or classical) models.
        input_size: features per step the encoder reads (for the latency measurement).
        architectures: the architectures the task's model can be (default all of them; a
            task whose model lacks some names only those it has).
    """

    name: str
    title: str
    metric: Metric
    budget: float
    budget_unit: str
    lrs: tuple[float, ...]
    width: int
    depth: tuple[tuple[str, int], ...] = (("transformer", 2),)
    baselines: tuple[str, ...] = ()
    input_size: int = 1
    time_limit: float = 1800.0
    max_width: int = 1024
    architectures: tuple[str, ...] = ARCHITECTURES

    @property
    def models(self) -> tuple[str, ...]:
        """Every model of the task: its architectures, then the baselines."""
        return (*self.architectures, *self.baselines)

    def layers(self, architecture: str) -> int:
        """The layers (blocks) of ``architecture`` on this task."""
        return dict(self.depth).get(architecture, 1)

    def count(self, architecture: str, width: int, layers: int) -> int:
        """The trainable parameters of the task's network."""
        raise NotImplementedError

    def train(self, size: Size, lr: float, seed: int, split: str) -> Score:
        """Train the network of ``size`` at rate ``lr`` from ``seed`` for the budget and score
        it on ``split`` (``"valid"``: held out from the training data; ``"test"``)."""
        raise NotImplementedError

    def baseline(self, name: str, seed: int, split: str) -> Score:
        """Fit baseline ``name`` and score it on ``split``."""
        raise ValueError(f"model: {self.name} has no baseline {name!r} (its baselines: {self.baselines})")

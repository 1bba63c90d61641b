r"""Sequence classification: (bi)LSTM with last / mean / attention pooling, and LSTM-FCN.

* :class:`LSTMClassifier`: an :class:`~lstmkit.core.layers.LSTM` over the steps, pooled into one vector
  (the final state, the mean over real steps, or attention pooling, Yang et al. 2016), then a
  linear layer.
* :class:`LSTMFCN` (Karim, Majumdar, Darabi & Chen 2018, "LSTM Fully Convolutional Networks
  for Time Series Classification"): a fully convolutional branch (three Conv1d-BatchNorm-ReLU
  blocks of 128, 256, 128 filters with kernels 8, 5, 3 and global average pooling, Wang et al.
  2017) next to an LSTM branch, concatenated into a softmax layer. With ``shuffle=True`` (the
  paper's "dimension shuffle") the LSTM reads the C channels as C steps of L features
  (univariate series: one step of L features); with ``shuffle=False`` it reads the L time
  steps.
* :class:`SequenceClassifier`: the estimator users hold (fit / predict / score / save /
  load), standardizing channels, training with :class:`lstmkit.fit.Trainer`.

Variable-length sequences are handled with ``lengths``: the LSTM gets them (padded steps are
skipped), mean and attention pooling and the FCN's average pooling ignore padded steps.

Shapes: N batch, L steps, C channels, K classes.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lstmkit.apps.forecasting.base import scale_exponent
from lstmkit.core.layers import LSTM
from lstmkit.core.layers.attention import AttentionPooling
from lstmkit.fit.checks import check_engine_name, check_variant, finite, float32_modules
from lstmkit.fit.config import resolve_device

__all__ = [
    "ARCHITECTURES",
    "LSTMFCN",
    "POOLINGS",
    "ClassifierConfig",
    "CrossValidation",
    "LSTMClassifier",
    "SequenceClassifier",
    "slice_views",
    "stratified_folds",
]

log = logging.getLogger("lstmkit.classify")

ARCHITECTURES = ("lstm", "bilstm", "lstm-fcn")
POOLINGS = ("last", "mean", "attention")
AUGMENTATIONS = ("none", "light", "warp")


def make_augmentation(name: str, seed: int) -> Any:
    """Training-time augmentation presets (:mod:`lstmkit.fit.augment`): ``"light"`` jitter and
    scaling; ``"warp"`` also time warping and window slicing (shapes, outlines, gestures)."""
    if name == "none":
        return None
    from lstmkit.fit.augment import Compose, Jitter, RandomApply, Scaling, TimeWarp, WindowSlice

    parts = [RandomApply(Jitter(0.03), p=0.5), RandomApply(Scaling(0.1), p=0.5)]
    if name == "warp":
        parts += [RandomApply(TimeWarp(0.2), p=0.5), RandomApply(WindowSlice(0.9), p=0.5)]
    return Compose(parts, seed=seed)


def slice_views(x: Tensor, lengths: Tensor, views: int) -> list[Tensor]:
    """The ``views`` inputs whose predictions test-time augmentation averages: ``x`` itself,
    then ``views - 1`` fixed window slices (90% of each sequence, stretched to its length), Le
    Guennec et al. 2016's test-time slicing: the centre slice for ``views=2``, else starts spread
    evenly from the first to the last steps. ``x`` (N, L, C), ``lengths`` (N,); each view has
    the shape of ``x`` and leaves each sequence's padding zero."""
    from lstmkit.fit.augment import WindowSlice

    if isinstance(views, bool) or not isinstance(views, int) or views < 1:
        raise ValueError(f"views: expected an int >= 1, got {views!r}")
    starts = [0.5] if views == 2 else [j / (views - 2) for j in range(views - 1)]
    return [x] + [WindowSlice(0.9, start=s)(x, lengths=lengths) for s in starts]


FORMAT = "lstmkit.SequenceClassifier"


def _mask(lengths: Tensor | None, n: int, length: int, device: torch.device) -> Tensor:
    """(N, L) True at real steps."""
    if lengths is None:
        return torch.ones(n, length, dtype=torch.bool, device=device)
    return torch.arange(length, device=device)[None, :] < lengths.to(device)[:, None]


def _check_input(x: Tensor, channels: int, lengths: Tensor | None) -> Tensor | None:
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[2] != channels:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x: expected a float tensor (N, L, {channels}), got {got}")
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    if lengths.shape != (x.shape[0],):
        raise ValueError(
            f"lengths: expected shape ({x.shape[0]},) (one per sequence), got {tuple(lengths.shape)}"
        )
    if bool((lengths < 1).any()) or bool((lengths > x.shape[1]).any()):
        raise ValueError(
            f"lengths: expected values in [1, {x.shape[1]}], got {lengths.min()}..{lengths.max()}"
        )
    return lengths


class LSTMClassifier(nn.Module):
    r"""LSTM (or bidirectional LSTM) classifier with a pooling of its outputs.

    .. math::

        o_{1..L} = \mathrm{LSTM}(x_{1..L}), \quad
        p = \begin{cases} h_L & \text{last} \\ \frac1L \sum_t o_t & \text{mean} \\
        \sum_t a_t o_t,\ a = \mathrm{softmax}(v^\top \tanh(W o_t + b)) & \text{attention}
        \end{cases}, \quad \text{logits} = W_c\, \mathrm{dropout}(p) + b_c

    (for a bidirectional LSTM, ``last`` joins the forward direction's final state and the
    backward direction's state at step 1).

    Args:
        input_size: C, channels per step.
        num_classes: K.
        hidden_size, num_layers, variant, engine: of the LSTM.
        bidirectional: run both directions.
        pooling: ``"last"``, ``"mean"`` or ``"attention"``.
        dropout: on the pooled vector (and between LSTM layers).

    Inputs: ``x`` (N, L, C), ``lengths`` (N,) optional. Output: logits (N, K).

    Example::

        >>> net = LSTMClassifier(3, 4, hidden_size=16, bidirectional=True, pooling="attention")
        >>> net(torch.randn(5, 20, 3), torch.tensor([20, 18, 7, 3, 1])).shape
        torch.Size([5, 4])
    """

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        *,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        pooling: str = "last",
        dropout: float = 0.1,
        variant: str = "classic",
        engine: str | None = None,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling: expected one of {POOLINGS}, got {pooling!r}")
        if num_classes < 2:
            raise ValueError(f"num_classes: expected at least 2, got {num_classes}")
        extra: dict[str, Any] = {} if engine is None else {"engine": engine}
        self.input_size, self.num_classes, self.pooling = input_size, num_classes, pooling
        self.lstm = LSTM(
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
            variant=variant,
            forget_bias=1.0,
            **extra,
        )
        feat = hidden_size * (2 if bidirectional else 1)
        self.attention = AttentionPooling(feat) if pooling == "attention" else None
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(feat, num_classes)

    def features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The pooled vector (N, D*H)."""
        lengths = _check_input(x, self.input_size, lengths)
        out, state = self.lstm(x, lengths=lengths)  # (N, L, D*H)
        mask = _mask(lengths, x.shape[0], x.shape[1], x.device)  # (N, L)
        if self.attention is not None:
            pooled, _ = self.attention(out, mask)
        elif self.pooling == "last":
            d = 2 if self.lstm.bidirectional else 1
            pooled = torch.cat([state.h[-d + k] for k in range(d)], dim=-1)  # (N, D*H)
        else:
            pooled = (out * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).to(out.dtype)
        return pooled

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.head(self.drop(self.features(x, lengths)))  # (N, K)


def _masked_batch_norm(bn: nn.BatchNorm1d, x: Tensor, m: Tensor) -> Tensor:
    """``bn`` (N, F, L) -> (N, F, L) with the batch statistics of training mode (and the running
    averages) taken over the real steps of the (N, 1, L) 0/1 mask ``m`` only; as ``bn`` itself
    when every step is real, and in evaluation mode (running statistics)."""
    if not bn.training or not bn.track_running_stats or bool(m.all()):
        return bn(x)
    count = m.sum() * 1.0  # real (sequence, step) positions
    mean = (x * m).sum((0, 2)) / count  # (F,)
    centred = (x - mean[None, :, None]) * m
    var = (centred**2).sum((0, 2)) / count  # biased, as batch norm normalizes with
    assert bn.running_mean is not None and bn.running_var is not None
    with torch.no_grad():
        momentum = 0.1 if bn.momentum is None else bn.momentum
        bn.running_mean.lerp_(mean.detach(), momentum)
        bn.running_var.lerp_(var.detach() * count / (count - 1).clamp(min=1), momentum)
        if bn.num_batches_tracked is not None:
            bn.num_batches_tracked += 1
    out = (x - mean[None, :, None]) / torch.sqrt(var + bn.eps)[None, :, None]
    if bn.affine:
        out = out * bn.weight[None, :, None] + bn.bias[None, :, None]
    return out


class LSTMFCN(nn.Module):
    r"""LSTM-FCN of Karim et al. (2018).

    .. math::

        f = \mathrm{GAP}(\mathrm{CBR}_{128,3}(\mathrm{CBR}_{256,5}(\mathrm{CBR}_{128,8}(x)))), \quad
        g = \mathrm{dropout}(h^{\mathrm{LSTM}}_{\mathrm{last}}), \quad
        \text{logits} = W [f; g] + b

    where CBR is Conv1d (same padding), BatchNorm and ReLU, and GAP the mean over real steps.

    Args:
        input_size: C, channels.
        num_classes: K.
        max_length: L of the training data (the LSTM's input size with ``shuffle=True``).
        hidden_size: LSTM cells (the paper tries 8, 64 and 128).
        num_layers: stacked LSTM layers (the paper's 1).
        dropout: after the LSTM (the paper uses 0.8).
        shuffle: the paper's dimension shuffle (see the module docstring).
        filters, kernels: of the three convolution blocks.
        variant, engine: of the LSTM.

    Inputs: ``x`` (N, L, C) with L <= ``max_length`` when shuffling, ``lengths`` (N,) optional.
    Output: logits (N, K).

    Example::

        >>> net = LSTMFCN(1, 2, max_length=150)
        >>> net(torch.randn(4, 150, 1)).shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        input_size: int,
        num_classes: int,
        max_length: int,
        *,
        hidden_size: int = 8,
        num_layers: int = 1,
        dropout: float = 0.8,
        shuffle: bool = True,
        filters: tuple[int, int, int] = (128, 256, 128),
        kernels: tuple[int, int, int] = (8, 5, 3),
        variant: str = "classic",
        engine: str | None = None,
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes: expected at least 2, got {num_classes}")
        extra: dict[str, Any] = {} if engine is None else {"engine": engine}
        self.input_size, self.num_classes, self.max_length, self.shuffle = (
            input_size,
            num_classes,
            max_length,
            shuffle,
        )
        self.lstm = LSTM(
            max_length if shuffle else input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            variant=variant,
            forget_bias=1.0,
            **extra,
        )
        self.lstm_drop = nn.Dropout(dropout)
        blocks: list[nn.Module] = []
        channels = input_size
        for f, k in zip(filters, kernels):
            blocks.append(
                nn.Sequential(
                    nn.ConstantPad1d(((k - 1) // 2, k // 2), 0.0),  # "same" length, any k
                    nn.Conv1d(channels, f, k),
                    nn.BatchNorm1d(f),
                    nn.ReLU(),
                )
            )
            channels = f
        self.fcn = nn.ModuleList(blocks)
        self.head = nn.Linear(hidden_size + channels, num_classes)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        lengths = _check_input(x, self.input_size, lengths)
        n, length, _ = x.shape
        mask = _mask(lengths, n, length, x.device)  # (N, L)
        x = x * mask[..., None]  # zero padding, so convolutions and the shuffle see zeros there
        m = mask[:, None, :].to(x.dtype)  # (N, 1, L)
        conv = x.transpose(1, 2)  # (N, C, L)
        for block in self.fcn:
            pad, conv_layer, norm, act = block.children()  # (pad, Conv1d, BatchNorm1d, ReLU)
            assert isinstance(norm, nn.BatchNorm1d)
            # batch statistics over real steps only: padding never changes training either
            conv = act(_masked_batch_norm(norm, conv_layer(pad(conv)), m)) * m
        f = (conv * m).sum(2) / m.sum(2)  # (N, F) masked global average pooling
        if self.shuffle:
            if length > self.max_length:
                raise ValueError(
                    f"x: at most {self.max_length} steps with the dimension shuffle, got {length}"
                )
            xs = nn.functional.pad(x, (0, 0, 0, self.max_length - length)).transpose(1, 2)  # (N, C, L_max)
            _, state = self.lstm(xs)
        else:
            _, state = self.lstm(x, lengths=lengths)
        g = self.lstm_drop(state.h[-1])  # (N, H)
        return self.head(torch.cat([f, g], dim=1))  # (N, K)


def _class_indices(y: Any, n: int) -> np.ndarray:
    """``y`` as (n,) int64 class indices 0..K-1, every class present; a clear error otherwise."""
    labels = np.asarray(y)
    if labels.shape != (n,):
        raise ValueError(f"y: expected {n} labels (one per sequence), got shape {tuple(labels.shape)}")
    integral = labels.dtype.kind in "iu" or (
        labels.dtype.kind == "f"
        and bool(np.isfinite(labels).all())
        and bool((labels == np.round(labels)).all())
    )
    if not integral:
        raise TypeError(
            f"y: expected integer class indices 0..K-1, got dtype {labels.dtype} (e.g. "
            f"{labels[:3].tolist()}); map labels to indices with np.unique(y, return_inverse=True)"
        )
    labels = labels.astype(np.int64)
    if (labels < 0).any():
        raise ValueError("y: expected class indices >= 0")
    k = int(labels.max()) + 1
    if k < 2:
        raise ValueError("y: expected at least two classes")
    absent = sorted(set(range(k)) - set(np.unique(labels).tolist()))
    if absent:
        raise ValueError(
            f"y: expected every class 0..{k - 1} to have sequences, none has {absent} (labels 1..K? "
            "map them with np.unique(y, return_inverse=True))"
        )
    return labels


# ---------------------------------------------------------------------- cross-validation
def stratified_folds(y: Any, folds: int, seed: int = 0) -> np.ndarray:
    """Fold index in ``[0, folds)`` of each label in ``y`` (N,): every class is dealt round-robin
    over the folds in a random order (seeded), so each fold holds a near-equal share of each class
    and the folds' sizes differ by at most one sequence per class.

    Raises ``ValueError`` when a class has fewer than ``folds`` sequences (a fold would train
    without it or validate on none of it).

    Example::

        >>> stratified_folds(np.array([0, 0, 1, 1, 1, 1]), 2)  # e.g. array([1, 0, 0, 1, 1, 0])
    """
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"y: expected a non-empty 1-D array of class indices, got shape {labels.shape}")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds: expected an int >= 2, got {folds!r}")
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < folds:
        c = classes[counts.argmin()]
        raise ValueError(
            f"folds: class {c} has only {counts.min()} sequences, fewer than folds={folds}; use at most "
            f"{counts.min()} folds"
        )
    rng = np.random.default_rng(seed)
    out = np.empty(len(labels), dtype=np.int64)
    start = 0
    for c in classes:
        idx = rng.permutation(np.flatnonzero(labels == c))
        out[idx] = (start + np.arange(len(idx))) % folds
        start = (start + len(idx)) % folds  # the next class fills the folds this one left short
    return out


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold results of :meth:`SequenceClassifier.cross_validate` (R repeats, N sequences,
    K classes).

    Attributes:
        accuracy: out-of-fold accuracy, the mean over repeats.
        log_loss: out-of-fold cross-entropy (nats), the mean over repeats; it separates
            settings that tie on accuracy, which on a few dozen sequences moves in steps of
            1/N.
        fold_accuracy: accuracy of each (repeat, fold), R * folds values.
        proba: (R, N, K) out-of-fold class probabilities.
        folds: (R, N) the fold of each sequence in each repeat.
        seconds: wall time.
    """

    accuracy: float
    log_loss: float
    fold_accuracy: tuple[float, ...]
    proba: np.ndarray
    folds: np.ndarray
    seconds: float


# ---------------------------------------------------------------------- the estimator
@dataclass(frozen=True)
class ClassifierConfig:
    """Settings of a :class:`SequenceClassifier` (see its docstring); saved with the model."""

    architecture: str = "lstm-fcn"
    pooling: str = "last"
    hidden_size: int = 0
    num_layers: int = 1
    dropout: float = -1.0
    shuffle: bool = True
    variant: str = "classic"
    engine: str | None = None
    max_epochs: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_factor: float = 0.5
    lr_patience: int | None = None
    min_lr: float = 1e-4
    patience: int | None = None
    ensemble: int = 1
    augment: str = "none"
    test_views: int = 1
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment: expected one of {AUGMENTATIONS}, got {self.augment!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture: expected one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling: expected one of {POOLINGS}, got {self.pooling!r}")
        for name in ("max_epochs", "batch_size", "ensemble", "num_layers", "test_views", "hidden_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
        if not 0 < self.lr < math.inf:
            raise ValueError(f"lr: expected a finite learning rate > 0, got {self.lr}")
        if not 0 <= self.weight_decay < math.inf:
            raise ValueError(f"weight_decay: expected a finite value >= 0, got {self.weight_decay}")
        if not 0 <= self.min_lr < math.inf:
            raise ValueError(f"min_lr: expected a finite value >= 0, got {self.min_lr}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout: expected a value in [0, 1), got {self.dropout}")
        if self.patience is not None and (
            isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 0
        ):
            raise ValueError(f"patience: expected None or an int >= 0, got {self.patience!r}")
        if self.architecture == "lstm-fcn" and self.pooling != "last":
            raise ValueError(
                f"pooling: only for architecture 'lstm' or 'bilstm' (LSTM-FCN reads the LSTM's final "
                f"state), got {self.pooling!r} with 'lstm-fcn'"
            )
        if self.architecture != "lstm-fcn" and not self.shuffle:
            raise ValueError(
                f"shuffle: the dimension shuffle is LSTM-FCN's; architecture {self.architecture!r} "
                "always reads the time steps (leave shuffle=True)"
            )
        check_variant(self.variant)
        check_engine_name(self.engine)
        resolve_device(self.device)
        if not 0 < self.lr_factor < 1:
            raise ValueError(f"lr_factor: expected a factor in (0, 1), got {self.lr_factor}")
        if self.lr_patience is not None and (not isinstance(self.lr_patience, int) or self.lr_patience < 1):
            raise ValueError(f"lr_patience: expected None or an int >= 1, got {self.lr_patience!r}")


class SequenceClassifier:
    """Classify whole sequences: fit / predict / predict_proba / score / save / load.

    Channels are standardized with the training mean and deviation; training uses Adam with
    the learning rate reduced on plateaus of the training loss (as Karim et al.), keeps the
    weights of the lowest training loss (the test set is never looked at), and averages the
    class probabilities of an ``ensemble`` of seeds.

    Args:
        architecture: ``"lstm-fcn"`` (default), ``"lstm"`` or ``"bilstm"``.
        pooling: for ``lstm``/``bilstm``: ``"last"``, ``"mean"`` or ``"attention"``.
        hidden_size: LSTM cells (default 8 for LSTM-FCN as the paper, 64 otherwise).
        num_layers, variant, engine: of the LSTM.
        dropout: default 0.8 for LSTM-FCN (the paper), 0.1 otherwise.
        shuffle: LSTM-FCN's dimension shuffle.
        max_epochs, batch_size, lr, weight_decay: training (Adam).
        lr_factor, lr_patience, min_lr: the rate is multiplied by ``lr_factor`` after
            ``lr_patience`` epochs without a lower training loss (``None``: ``max(10,
            max_epochs // 15)``), down to ``min_lr``.
        patience: stop after this many epochs without a lower training loss (``None``: never).
        ensemble: networks from different seeds whose probabilities are averaged.
        augment: training-time augmentation, ``"none"``, ``"light"`` (jitter, scaling) or
            ``"warp"`` (also time warping and window slicing); see :func:`make_augmentation`.
        test_views: test-time augmentation: class probabilities are averaged over the series
            and ``test_views - 1`` fixed window slices of it (:func:`slice_views`); 1: none.
        seed: base seed.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        progress: progress bar on stderr.

    Example::

        >>> from lstmkit.apps.datasets import sources
        >>> d = sources.load_classification("gunpoint")
        >>> clf = SequenceClassifier(max_epochs=100).fit(d.x_train, d.y_train, d.lengths_train)
        >>> clf.score(d.x_test, d.y_test, d.lengths_test)  # accuracy
    """

    def __init__(
        self,
        architecture: str = "lstm-fcn",
        *,
        pooling: str = "last",
        hidden_size: int | None = None,
        num_layers: int = 1,
        dropout: float | None = None,
        shuffle: bool = True,
        variant: str = "classic",
        engine: str | None = None,
        max_epochs: int = 300,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        lr_factor: float = 0.5,
        lr_patience: int | None = None,
        min_lr: float = 1e-4,
        patience: int | None = None,
        ensemble: int = 1,
        augment: str = "none",
        test_views: int = 1,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = True,
    ) -> None:
        fcn = architecture == "lstm-fcn"
        self.config = ClassifierConfig(
            architecture=architecture,
            pooling=pooling,
            hidden_size=hidden_size if hidden_size is not None else (8 if fcn else 64),
            num_layers=num_layers,
            dropout=dropout if dropout is not None else (0.8 if fcn else 0.1),
            shuffle=shuffle,
            variant=variant,
            engine=engine,
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            lr_factor=lr_factor,
            lr_patience=lr_patience,
            min_lr=min_lr,
            patience=patience,
            ensemble=ensemble,
            augment=augment,
            test_views=test_views,
            seed=seed,
            device=device,
        )
        self.progress = progress
        self.nets_: list[nn.Module] = []
        self.meta_: dict[str, Any] = {}
        self.history_: dict[str, list[float]] = {}

    def _device(self) -> torch.device:
        return resolve_device(self.config.device)

    def _new_net(self, member: int) -> nn.Module:
        torch.manual_seed(self.config.seed + member)
        with float32_modules():  # the inputs are float32 whatever the default dtype
            return self._build_net()

    def _build_net(self) -> nn.Module:
        cfg, meta = self.config, self.meta_
        if cfg.architecture == "lstm-fcn":
            return LSTMFCN(
                meta["channels"],
                meta["num_classes"],
                meta["max_length"],
                hidden_size=cfg.hidden_size,
                num_layers=cfg.num_layers,
                dropout=cfg.dropout,
                shuffle=cfg.shuffle,
                variant=cfg.variant,
                engine=cfg.engine,
            )
        return LSTMClassifier(
            meta["channels"],
            meta["num_classes"],
            hidden_size=cfg.hidden_size,
            num_layers=cfg.num_layers,
            bidirectional=cfg.architecture == "bilstm",
            pooling=cfg.pooling,
            dropout=cfg.dropout,
            variant=cfg.variant,
            engine=cfg.engine,
        )

    def _arrays(self, x: Any, lengths: Any) -> tuple[Tensor, Tensor]:
        """``x`` as a float32 (N, L, C) tensor zero beyond each length, and the lengths (N,),
        its channels scaled as the training data's were (see :meth:`_scaled_arrays`)."""
        channels = self.meta_.get("channels")
        exponents = self.meta_.get("exponent", [0] * channels) if channels is not None else None
        xt, lt, _ = self._scaled_arrays(x, lengths, exponents)
        return xt, lt

    def _scaled_arrays(
        self, x: Any, lengths: Any, exponents: list[int] | None = None
    ) -> tuple[Tensor, Tensor, list[int]]:
        """``x`` as a float32 (N, L, C) tensor zero beyond each length, the lengths (N,) and
        the exponents used.

        Channels of extreme magnitude (see :func:`~lstmkit.apps.forecasting.base.scale_exponent`)
        are divided by a power of two first, so float32 holds them: by ``exponents`` (the
        training data's) when given, else by their own."""
        try:
            raw = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            kind = type(x).__name__
            raise TypeError(
                f"x: expected numbers as an (N, L, C) or (N, L) array (sequences padded to one length, "
                f"with lengths=...), got a {kind} that is not one"
            ) from None
        if raw.ndim == 2:
            raw = raw[:, :, None]
        if raw.ndim != 3 or raw.shape[0] == 0 or raw.shape[1] == 0 or raw.shape[2] == 0:
            raise ValueError(f"x: expected (N, L, C) or (N, L) sequences, got shape {raw.shape}")
        n, length = raw.shape[:2]
        if lengths is None:
            lens = np.full(n, length, dtype=np.int64)
        else:
            given = np.asarray(lengths)
            if given.shape != (n,) or given.dtype.kind not in "iuf" or not np.isfinite(given).all():
                raise ValueError(f"lengths: expected {n} integers in [1, {length}], got shape {given.shape}")
            lens = given.astype(np.int64)
            if (lens != given).any() or (lens < 1).any() or (lens > length).any():
                bad = given[(lens != given) | (lens < 1) | (lens > length)][0]
                raise ValueError(f"lengths: expected {n} integers in [1, {length}], got {bad}")
        real = np.arange(length)[None, :] < lens[:, None]  # (N, L)
        finite(
            "x",
            raw,
            axes=("sequence", "step", "channel"),
            valid=real,
            hint="NaN and infinite values must be filled or cut off (lengths=) first",
        )
        if exponents is None:
            exponents = [scale_exponent(raw[..., c][real]) for c in range(raw.shape[2])]
        elif len(exponents) != raw.shape[2]:
            raise ValueError(
                f"x: expected {len(exponents)} channels like the training data, got {raw.shape[2]}"
            )
        if any(exponents):
            raw = np.ldexp(raw, -np.asarray(exponents)[None, None, :])
        with np.errstate(over="ignore"):
            arr = raw.astype(np.float32)
        if not np.isfinite(arr[real]).all():
            raise ValueError(
                "x: values beyond float32's range (about 3.4e38) for a channel the training data "
                "kept small; rescale the data"
            )
        arr = np.where(real[..., None], arr, 0.0).astype(np.float32)[:, : int(lens.max())]  # no wider
        # than the longest sequence: how far an array was padded never matters
        return torch.from_numpy(np.ascontiguousarray(arr)), torch.from_numpy(lens), list(exponents)

    def _standardize(self, x: Tensor, lengths: Tensor) -> Tensor:
        mean = torch.tensor(self.meta_["mean"], dtype=x.dtype)
        std = torch.tensor(self.meta_["std"], dtype=x.dtype)
        mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None])[..., None]
        return torch.where(mask, (x - mean) / std, torch.zeros((), dtype=x.dtype))

    def fit(self, x: Any, y: Any, lengths: Any = None) -> SequenceClassifier:
        """Train on ``x`` (N, L, C) (or (N, L)), integer labels ``y`` (N,) in [0, K) and
        optional ``lengths`` (N,)."""
        from torch.utils.data import DataLoader, TensorDataset

        from lstmkit.apps.forecasting.base import progress_bar
        from lstmkit.fit import Callback, TrainConfig, Trainer

        xt, lt, exponents = self._scaled_arrays(x, lengths)
        yt = torch.from_numpy(_class_indices(y, xt.shape[0]))
        num_classes = int(yt.max()) + 1
        real = (torch.arange(xt.shape[1])[None, :] < lt[:, None])[..., None].expand_as(xt)
        per_channel = [xt[..., c][real[..., c]] for c in range(xt.shape[2])]
        mean = [float(v.mean()) for v in per_channel]
        std = [float(v.std()) if float(v.std()) > 1e-8 else 1.0 for v in per_channel]
        self.meta_ = {
            "channels": int(xt.shape[2]),
            "num_classes": num_classes,
            "max_length": int(xt.shape[1]),
            "exponent": exponents,
            "mean": mean,
            "std": std,
        }
        data = TensorDataset(self._standardize(xt, lt), lt, yt)
        cfg = self.config
        bar = progress_bar(cfg.ensemble * cfg.max_epochs, f"fit {cfg.architecture}", enable=self.progress)

        class _Tick(Callback):
            def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
                bar.update(1)
                bar.set_postfix_str(f"loss={row['train_loss']:.4f}")

        augmentation: list[Any] = [None]

        def step(model: nn.Module, batch: tuple[Tensor, Tensor, Tensor]) -> Any:
            from lstmkit.fit import StepOutput

            xb, lb, yb = batch
            if model.training and augmentation[0] is not None:
                xb = augmentation[0](xb, lengths=lb)
            logits = model(xb, lb)
            loss = nn.functional.cross_entropy(logits, yb)
            return StepOutput(loss, output=logits, target=yb, weight=float(len(yb)))

        t0 = time.perf_counter()
        nets, self.history_ = [], {}
        dev = self._device()
        for k in range(cfg.ensemble):
            net = self._new_net(k)
            augmentation[0] = make_augmentation(cfg.augment, cfg.seed + k)
            gen = torch.Generator().manual_seed(cfg.seed + k)
            # equal batches (36 sequences, batch 32 -> 2 x 18), so BatchNorm never sees a tiny one
            n_batches = -(-len(data) // cfg.batch_size)
            loader = DataLoader(data, batch_size=-(-len(data) // n_batches), shuffle=True, generator=gen)
            tcfg = TrainConfig(
                optimizer="adam",
                lr=cfg.lr,
                weight_decay=cfg.weight_decay,
                schedule="plateau",
                gamma=cfg.lr_factor,
                plateau_patience=cfg.lr_patience or max(10, cfg.max_epochs // 15),
                min_lr=min(cfg.min_lr, cfg.lr),
                max_epochs=cfg.max_epochs,
                monitor="train_loss",
                patience=cfg.patience,
                restore_best=True,
                progress=False,
                plot=False,
                seed=cfg.seed + k,
                device=str(dev),
            )
            trainer = Trainer(net, tcfg, step=step, callbacks=[_Tick()])
            hist = trainer.fit(loader)
            if k == 0:
                self.history_ = {"train_loss": [float(v) for v in hist["train_loss"]]}
            nets.append(net.eval())
        bar.close()
        self.nets_ = nets
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def clone(self, **changes: Any) -> SequenceClassifier:
        """An unfitted classifier with this one's settings, ``changes`` applied (keyword
        arguments of the constructor)."""
        config = asdict(self.config)
        progress = changes.pop("progress", self.progress)
        config.update(changes)
        arch = config.pop("architecture")
        return type(self)(arch, **config, progress=progress)

    def cross_validate(
        self, x: Any, y: Any, lengths: Any = None, *, folds: int = 4, repeats: int = 1, seed: int = 0
    ) -> CrossValidation:
        """Stratified k-fold cross-validation of these settings on ``(x, y)``: for each of
        ``repeats`` splits (:func:`stratified_folds` with seed ``seed + r``), fit a fresh copy
        on all folds but one and predict the held-out fold. ``self`` is not fitted or changed.

        Use it to choose settings on the training data only, then fit the chosen ones on all of
        it (``benchmarks/accuracy.py --select`` does this for the UCR tables).

        Args:
            x, y, lengths: as :meth:`fit`.
            folds: k (each class needs at least k sequences).
            repeats: independent splits, averaged.
            seed: of the first split.

        Returns:
            :class:`CrossValidation`.

        Example::

            >>> cv = SequenceClassifier(max_epochs=100).cross_validate(d.x_train, d.y_train, folds=4)
            >>> cv.accuracy, cv.log_loss
        """
        xt, lt, _ = self._scaled_arrays(x, lengths)  # channels scaled as fit() will: a no-op for it
        labels = _class_indices(y, xt.shape[0])
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f"repeats: expected an int >= 1, got {repeats!r}")
        k = int(labels.max()) + 1
        t0 = time.perf_counter()
        x_np, l_np = xt.numpy(), lt.numpy()
        proba = np.zeros((repeats, len(labels), k))
        split = np.zeros((repeats, len(labels)), dtype=np.int64)
        fold_acc: list[float] = []
        for r in range(repeats):
            split[r] = stratified_folds(labels, folds, seed + r)
            for f in range(folds):
                held = split[r] == f
                model = self.clone().fit(x_np[~held], labels[~held], l_np[~held])
                p = model.predict_proba(x_np[held], l_np[held])  # (n_f, K_f)
                proba[r][np.ix_(held, np.arange(p.shape[1]))] = p
                fold_acc.append(float((p.argmax(1) == labels[held]).mean()))
                log.info("cross-validation: repeat %d fold %d accuracy %.4f", r, f, fold_acc[-1])
        hit = proba.argmax(2) == labels[None, :]  # (R, N)
        nll = -np.log(np.clip(proba[:, np.arange(len(labels)), labels], 1e-12, None))  # (R, N)
        return CrossValidation(
            accuracy=float(hit.mean()),
            log_loss=float(nll.mean()),
            fold_accuracy=tuple(fold_acc),
            proba=proba,
            folds=split,
            seconds=time.perf_counter() - t0,
        )

    @torch.no_grad()
    def predict_proba(self, x: Any, lengths: Any = None, batch_size: int = 256) -> np.ndarray:
        """(N, K) class probabilities: the mean over the ensemble's members and the
        ``test_views`` views of each series."""
        if not self.nets_:
            raise RuntimeError("SequenceClassifier: call fit() (or load) before predicting")
        xt, lt = self._arrays(x, lengths)
        longest = self.meta_["max_length"]
        if self.config.architecture == "lstm-fcn" and self.config.shuffle and xt.shape[1] > longest:
            log.warning(
                "x: %d sequences longer than the longest training sequence (%d steps) cut to it "
                "(the dimension shuffle reads a whole series as one step of that size)",
                int((lt > longest).sum()),
                longest,
            )
            xt, lt = xt[:, :longest], lt.clamp(max=longest)
        xs = self._standardize(xt, lt)
        dev = self._device()
        probs = np.zeros((xt.shape[0], self.meta_["num_classes"]))
        for net in self.nets_:
            net.to(dev).eval()
        for i in range(0, xt.shape[0], batch_size):
            lb = lt[i : i + batch_size]
            for view in slice_views(xs[i : i + batch_size], lb, self.config.test_views):
                for net in self.nets_:
                    logits = net(view.to(dev), lb.to(dev))
                    probs[i : i + batch_size] += torch.softmax(logits, -1).double().cpu().numpy()
        return probs / (len(self.nets_) * self.config.test_views)

    def predict(self, x: Any, lengths: Any = None) -> np.ndarray:
        """(N,) predicted class indices."""
        return self.predict_proba(x, lengths).argmax(1)

    def score(self, x: Any, y: Any, lengths: Any = None) -> float:
        """Accuracy on ``(x, y)``."""
        from lstmkit.fit.evaluation import accuracy_score

        return accuracy_score(np.asarray(y), self.predict(x, lengths))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically; loadable with ``torch.load(weights_only=True)`` on any device."""
        if not self.nets_:
            raise RuntimeError("SequenceClassifier: nothing to save, call fit() first")
        payload = {
            "format": FORMAT,
            "version": 1,
            "config": asdict(self.config),
            "meta": self.meta_,
            "history": self.history_,
            "members": [{k: v.detach().cpu() for k, v in net.state_dict().items()} for net in self.nets_],
        }
        from lstmkit.fit.checkpoint import atomic_save

        atomic_save(payload, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "cpu") -> SequenceClassifier:
        from lstmkit.fit.checkpoint import load_file

        payload = load_file(path, "a saved lstmkit SequenceClassifier")
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"path: {os.fspath(path)!r} is not a saved lstmkit SequenceClassifier")
        config = dict(payload["config"])
        config["device"] = device
        arch = config.pop("architecture")
        model = cls(arch, **config, progress=False)
        model.meta_ = payload["meta"]
        model.history_ = payload["history"]
        nets = []
        for k, state in enumerate(payload["members"]):
            net = model._new_net(k)
            net.load_state_dict(state)
            nets.append(net.to(model._device()).eval())
        model.nets_ = nets
        return model

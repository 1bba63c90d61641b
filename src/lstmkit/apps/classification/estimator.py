r"""Sequence classification: the :class:`SequenceClassifier` users hold (fit / predict /
predict_proba / score / cross_validate / save / load).

It standardizes channels, trains an ensemble of the networks of
:mod:`lstmkit.apps.classification.model` (:class:`LSTMFCN`, the :class:`FCN` alone, or an
:class:`EncoderClassifier`: a (bi)LSTM, GRU, Elman RNN, Transformer or TCN with last / mean /
attention pooling) with :class:`lstmkit.fit.Trainer`, optionally with
training-time augmentation and test-time window slices; its fitting, ensembling, progress and
saving come from :class:`lstmkit.fit.estimator.Estimator`.

Variable-length sequences are handled with ``lengths``: padded steps never reach a result.

Shapes: N batch, L steps, C channels, K classes.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from lstmkit.apps.classification.model import FCN, LSTMFCN, POOLINGS, EncoderClassifier, LSTMClassifier
from lstmkit.fit.arrays import as_lengths, as_sequences, scale_exponent
from lstmkit.fit.augment import PRESETS, Augmentation, make_augmentation, slice_views
from lstmkit.fit.config import TrainConfig
from lstmkit.fit.crossval import CrossValidation, stratified_folds
from lstmkit.fit.estimator import Estimator, check_int, check_rates, class_indices, finite, settings
from lstmkit.fit.evaluation import accuracy_score
from lstmkit.fit.step import StepOutput
from lstmkit.io.progress import ProgressBar

__all__ = [
    "ARCHITECTURES",
    "FCN",
    "LSTMFCN",
    "POOLINGS",
    "ClassifierConfig",
    "CrossValidation",
    "EncoderClassifier",
    "LSTMClassifier",
    "SequenceClassifier",
    "make_augmentation",
    "slice_views",
    "stratified_folds",
]

ARCHITECTURES = ("lstm", "bilstm", "lstm-fcn", "fcn", "gru", "rnn", "transformer", "tcn")
#: the architectures without a pooling of encoder outputs
CONVOLUTIONAL = ("lstm-fcn", "fcn")
AUGMENTATIONS = PRESETS
FORMAT = "lstmkit.SequenceClassifier"

log = logging.getLogger("lstmkit.classify")


def _train_step(
    augment: Augmentation | None, model: nn.Module, batch: tuple[Tensor, Tensor, Tensor]
) -> StepOutput:
    """Cross-entropy of a batch ``(x, lengths, y)``, ``x`` augmented in training."""
    xb, lb, yb = batch
    if model.training and augment is not None:
        xb = augment(xb, lengths=lb)
    logits = model(xb, lb)
    loss = nn.functional.cross_entropy(logits, yb)
    return StepOutput(loss, output=logits, target=yb, weight=float(len(yb)))


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
    num_heads: int = 4
    kernel_size: int = 3
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
            check_int(name, getattr(self, name))
        check_int("num_heads", self.num_heads)
        check_int("kernel_size", self.kernel_size, 2)
        if self.architecture == "transformer" and self.hidden_size % self.num_heads:
            raise ValueError(
                f"num_heads: expected a divisor of hidden_size={self.hidden_size} (the Transformer's "
                f"width), got {self.num_heads}"
            )
        check_rates(self)
        if not 0 <= self.min_lr < math.inf:
            raise ValueError(f"min_lr: expected a finite value >= 0, got {self.min_lr}")
        if self.patience is not None and (
            isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 0
        ):
            raise ValueError(f"patience: expected None or an int >= 0, got {self.patience!r}")
        if self.architecture in CONVOLUTIONAL and self.pooling != "last":
            raise ValueError(
                f"pooling: not for architecture {self.architecture!r} (its convolutions are averaged "
                f"over the steps; LSTM-FCN's LSTM gives its final state), got {self.pooling!r}"
            )
        if self.architecture != "lstm-fcn" and not self.shuffle:
            raise ValueError(
                f"shuffle: the dimension shuffle is LSTM-FCN's; architecture {self.architecture!r} "
                "always reads the time steps (leave shuffle=True)"
            )
        if not 0 < self.lr_factor < 1:
            raise ValueError(f"lr_factor: expected a factor in (0, 1), got {self.lr_factor}")
        if self.lr_patience is not None and (not isinstance(self.lr_patience, int) or self.lr_patience < 1):
            raise ValueError(f"lr_patience: expected None or an int >= 1, got {self.lr_patience!r}")


class SequenceClassifier(Estimator):
    """Classify whole sequences: fit / predict / predict_proba / score / save / load.

    Channels are standardized with the training mean and deviation; training uses Adam with
    the learning rate reduced on plateaus of the training loss (as Karim et al.), keeps the
    weights of the lowest training loss (the test set is never looked at), and averages the
    class probabilities of an ``ensemble`` of seeds.

    Args:
        architecture: ``"lstm-fcn"`` (default; Karim et al. 2018), ``"lstm"``, ``"bilstm"``,
            ``"fcn"`` (the convolutional branch alone, Wang et al. 2017), or a comparison
            encoder: ``"gru"``, ``"rnn"`` (Elman), ``"transformer"`` (non-causal: every step
            sees every real step) or ``"tcn"`` (Bai et al. 2018).
        pooling: of an encoder's outputs (not ``lstm-fcn``, ``fcn``): ``"last"`` (a recurrent
            encoder's final state, else the last real step), ``"mean"`` (over real steps) or
            ``"attention"``.
        hidden_size: LSTM cells (default 8 for LSTM-FCN as the paper, 64 otherwise; a
            Transformer's width, a TCN's channels; unused by ``fcn``).
        num_layers, variant, engine: of the encoder (Transformer or TCN blocks; ``variant`` and
            ``engine`` of an LSTM).
        dropout: default 0.8 for LSTM-FCN (the paper), 0.1 otherwise (unused by ``fcn``).
        shuffle: LSTM-FCN's dimension shuffle.
        num_heads: the Transformer's attention heads (dividing ``hidden_size``).
        kernel_size: the TCN's kernel (at least 2).
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
        >>> SequenceClassifier("transformer", pooling="mean", max_epochs=100).fit(d.x_train, d.y_train)
    """

    format = FORMAT

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
        num_heads: int = 4,
        kernel_size: int = 3,
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
        hidden_size = hidden_size if hidden_size is not None else (8 if fcn else 64)
        dropout = dropout if dropout is not None else (0.8 if fcn else 0.1)
        super().__init__(settings(ClassifierConfig, locals()), progress)
        self.meta_: dict[str, Any] = {}

    def _build_net(self) -> nn.Module:
        """LSTM-FCN, the FCN or the encoder classifier for the fitted data's channels, classes,
        length."""
        cfg, meta = self.config, self.meta_
        shapes = (meta["channels"], meta["num_classes"])
        if cfg.architecture == "lstm-fcn":
            return LSTMFCN(
                *shapes, meta["max_length"], dropout=cfg.dropout, shuffle=cfg.shuffle, **self._lstm_settings()
            )
        if cfg.architecture == "fcn":
            return FCN(*shapes)
        return EncoderClassifier(
            *shapes,
            architecture="lstm" if cfg.architecture == "bilstm" else cfg.architecture,
            bidirectional=cfg.architecture == "bilstm",
            pooling=cfg.pooling,
            dropout=cfg.dropout,
            num_heads=cfg.num_heads,
            kernel_size=cfg.kernel_size,
            **self._lstm_settings(),
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

        Channels of extreme magnitude (see :func:`~lstmkit.fit.arrays.scale_exponent`) are
        divided by a power of two first, so float32 holds them: by ``exponents`` (the training
        data's) when given, else by their own."""
        raw = as_sequences(x)
        lens = as_lengths(lengths, raw.shape[0], raw.shape[1])
        real = np.arange(raw.shape[1])[None, :] < lens[:, None]  # (N, L)
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
        xt, lt, exponents = self._scaled_arrays(x, lengths)
        yt = torch.from_numpy(class_indices(y, xt.shape[0]))
        real = (torch.arange(xt.shape[1])[None, :] < lt[:, None])[..., None].expand_as(xt)
        per_channel = [xt[..., c][real[..., c]] for c in range(xt.shape[2])]
        self.meta_ = {
            "channels": int(xt.shape[2]),
            "num_classes": int(yt.max()) + 1,
            "max_length": int(xt.shape[1]),
            "exponent": exponents,
            "mean": [float(v.mean()) for v in per_channel],
            "std": [float(v.std()) if float(v.std()) > 1e-8 else 1.0 for v in per_channel],
        }
        data = TensorDataset(self._standardize(xt, lt), lt, yt)
        cfg = self.config
        self._fit_ensemble(
            cfg.ensemble,
            cfg.max_epochs,
            f"fit {cfg.architecture}",
            lambda k, bar: self._fit_member(k, data, bar),
        )
        return self

    def _fit_member(
        self, member: int, data: TensorDataset, bar: ProgressBar
    ) -> tuple[nn.Module, dict[str, list[float]]]:
        """Member ``member``: Adam with the rate reduced on plateaus of the training loss,
        the weights of the lowest training loss kept."""
        cfg = self.config
        net = self._new_net(member)
        settings = TrainConfig(
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
        )
        # equal batches (36 sequences, batch 32 -> 2 x 18), so BatchNorm never sees a tiny one
        n_batches = -(-len(data) // cfg.batch_size)
        step = functools.partial(_train_step, make_augmentation(cfg.augment, cfg.seed + member))
        batch_size = -(-len(data) // n_batches)
        history = self._train_member(
            member, net, data, settings=settings, step=step, batch_size=batch_size, bar=bar
        )
        return net, {"train_loss": [float(v) for v in history["train_loss"]]}

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
        labels = class_indices(y, xt.shape[0])
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
        self._check_fitted("predicting")
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
        nets = self._members()
        for i in range(0, xt.shape[0], batch_size):
            lb = lt[i : i + batch_size]
            for view in slice_views(xs[i : i + batch_size], lb, self.config.test_views):
                for net in nets:
                    logits = net(view.to(dev), lb.to(dev))
                    probs[i : i + batch_size] += torch.softmax(logits, -1).double().cpu().numpy()
        return probs / (len(self.nets_) * self.config.test_views)

    def predict(self, x: Any, lengths: Any = None) -> np.ndarray:
        """(N,) predicted class indices."""
        return self.predict_proba(x, lengths).argmax(1)

    def score(self, x: Any, y: Any, lengths: Any = None) -> float:
        """Accuracy on ``(x, y)``."""
        return accuracy_score(np.asarray(y), self.predict(x, lengths))

    def _state(self) -> dict[str, Any]:
        return {"meta": self.meta_, "history": self.history_}

    def _set_state(self, payload: Any) -> None:
        self.meta_ = payload["meta"]
        self.history_ = payload["history"]

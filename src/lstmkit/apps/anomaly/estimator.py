r"""Anomaly detection in signals: LSTM autoencoder reconstruction error and forecast residuals.

Two scores, both learned from normal data only:

* ``method="autoencoder"`` (:class:`~lstmkit.apps.anomaly.model.LSTMAutoencoder`, after
  Malhotra et al. 2016, EncDec-AD):
  an encoder LSTM compresses a window of ``W`` samples into its final state, a decoder LSTM
  rebuilds the window from it; a sample's score is its reconstruction error (absolute by
  default, ``error="squared"`` for squared) averaged over the windows that cover it.
* ``method="forecast"`` (:class:`~lstmkit.apps.anomaly.model.NextStepLSTM`, after Malhotra et
  al. 2015): an LSTM predicts
  every next sample; a sample's score is its one-step residual (absolute or squared, as
  ``error`` says), in units of the training residuals' spread.

Scores are smoothed by a centred moving average of ``smooth`` samples (an anomaly is usually a
stretch, not one sample). The threshold is chosen on validation data: the value that
maximizes F1 when the validation part holds labelled anomalies, otherwise the
``threshold_quantile`` quantile of the (normal) validation scores.

Long, finely sampled signals can be averaged down by ``downsample`` before the network sees
them (an ECG at 360 Hz down to 90 Hz); scores are repeated back to the original samples.

Fitting, progress and saving come from :class:`lstmkit.fit.estimator.Estimator`.

Shapes: T samples, C channels, N windows, W window length.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from lstmkit.apps.anomaly.model import LSTMAutoencoder, NextStepLSTM
from lstmkit.fit.arrays import scale_exponent, sliding_windows
from lstmkit.fit.config import TrainConfig
from lstmkit.fit.estimator import Estimator, check_int, check_rates, settings
from lstmkit.fit.evaluation import precision_recall_f1, roc_auc
from lstmkit.fit.step import StepOutput
from lstmkit.io.progress import ProgressBar

__all__ = ["METHODS", "AnomalyDetector", "DetectorConfig", "LSTMAutoencoder", "NextStepLSTM"]

log = logging.getLogger("lstmkit.detect")

METHODS = ("autoencoder", "forecast")
FORMAT = "lstmkit.AnomalyDetector"


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of an :class:`AnomalyDetector` (see its docstring)."""

    method: str = "forecast"
    window: int = 64
    stride: int = 4
    downsample: int = 1
    smooth: int | None = None
    error: str = "absolute"
    hidden_size: int = 32
    num_layers: int = 1
    variant: str = "classic"
    engine: str | None = None
    max_epochs: int = 40
    batch_size: int = 32
    lr: float = 3e-3
    threshold_quantile: float = 0.99
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method: expected one of {METHODS}, got {self.method!r}")
        for name in (
            "window",
            "stride",
            "downsample",
            "hidden_size",
            "num_layers",
            "max_epochs",
            "batch_size",
        ):
            check_int(name, getattr(self, name))
        if self.error not in ("squared", "absolute"):
            raise ValueError(f"error: expected 'squared' or 'absolute', got {self.error!r}")
        if self.window < 4:
            raise ValueError(f"window: expected at least 4 samples, got {self.window}")
        if self.smooth is not None and (not isinstance(self.smooth, int) or self.smooth < 1):
            raise ValueError(f"smooth: expected an int >= 1 or None, got {self.smooth!r}")
        if not 0.5 <= self.threshold_quantile < 1:
            raise ValueError(
                f"threshold_quantile: expected a value in [0.5, 1), got {self.threshold_quantile}"
            )
        check_rates(self)


def _train_step(method: str, burn: int, model: nn.Module, batch: tuple[Tensor]) -> StepOutput:
    """The mean squared error of a batch of windows: their reconstruction (``"autoencoder"``)
    or their next samples after ``burn`` steps of warm-up (``"forecast"``)."""
    (xb,) = batch
    if method == "autoencoder":
        loss = nn.functional.mse_loss(model(xb), xb)
    else:
        pred, _ = model(xb[:, :-1])
        loss = nn.functional.mse_loss(pred[:, burn:], xb[:, 1 + burn :])
    return StepOutput(loss, weight=float(xb.shape[0]))


def _as_signal(name: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        kind = type(values).__name__
        message = f"{name}: expected numbers as a (T,) or (T, C) array, got a {kind} of others"
        raise TypeError(message) from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name}: expected a (T,) or (T, C) signal, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr).all(1))[:5].tolist()
        raise ValueError(f"{name}: missing or infinite values at samples {bad}...; fill or cut them first")
    return arr


class AnomalyDetector(Estimator):
    """Score, threshold and evaluate anomalies with an LSTM (see the module docstring).

    Args:
        method: ``"autoencoder"`` or ``"forecast"``.
        window: W, samples per window (after downsampling).
        stride: step between training windows.
        downsample: average this many samples into one before modelling.
        smooth: moving-average length of the scores in (downsampled) samples (default ``W``).
        error: ``"squared"`` or ``"absolute"`` errors (absolute ones let a few sharp, hard to
            time peaks, such as an ECG's QRS complexes, dominate less).
        hidden_size, num_layers, variant, engine: the LSTMs.
        max_epochs, batch_size, lr: training (Adam, clipping at 1, the lowest training loss kept).
        threshold_quantile: quantile of normal validation scores used as the threshold.
        seed: seed.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"`` (a device this
            machine lacks is refused here).
        progress: progress bar on stderr.

    The networks are float32 whatever ``torch.get_default_dtype()`` is; channels of extreme
    magnitude (around 1e200 or 1e-300) are divided by a power of two before standardizing
    (:func:`~lstmkit.fit.arrays.scale_exponent`). A fitted detector saves and loads as the
    other task models (:meth:`save`, :meth:`load`).

    Example::

        >>> from lstmkit.apps.datasets import sources
        >>> ecg = sources.load_anomaly("mitdb")
        >>> det = AnomalyDetector(downsample=4).fit(ecg.values[:4125], val=ecg.values[4125:5625])
        >>> det.evaluate(ecg.values[5625:], ecg.labels[5625:])  # precision, recall, F1, ROC-AUC
    """

    def __init__(
        self,
        method: str = "forecast",
        *,
        window: int = 64,
        stride: int = 4,
        downsample: int = 1,
        smooth: int | None = None,
        error: str = "absolute",
        hidden_size: int = 32,
        num_layers: int = 1,
        variant: str = "classic",
        engine: str | None = None,
        max_epochs: int = 40,
        batch_size: int = 32,
        lr: float = 3e-3,
        threshold_quantile: float = 0.99,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = True,
    ) -> None:
        super().__init__(settings(DetectorConfig, locals()), progress)
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        self.exponent_: np.ndarray | None = None
        self.resid_var_: np.ndarray | None = None
        self.threshold_: float | None = None

    format = FORMAT

    @property
    def net_(self) -> nn.Module | None:
        """The fitted network (``None`` before :meth:`fit`)."""
        return self.nets_[0] if self.nets_ else None

    # ------------------------------------------------------------------ helpers
    def _reduce(self, x: np.ndarray) -> np.ndarray:
        """Downsample by averaging blocks of ``downsample`` samples (a last partial block too)."""
        k = self.config.downsample
        if k == 1:
            return x
        t = len(x)
        full = (t // k) * k
        parts = [x[:full].reshape(-1, k, x.shape[1]).mean(1)]
        if full < t:
            parts.append(x[full:].mean(0, keepdims=True))
        return np.concatenate(parts)

    def _expand(self, s: np.ndarray, t: int) -> np.ndarray:
        return np.repeat(s, self.config.downsample)[:t]

    def _scale(self, x: np.ndarray) -> np.ndarray:
        assert self.mean_ is not None and self.std_ is not None
        if self.exponent_ is not None and self.exponent_.any():
            x = np.ldexp(x, -self.exponent_)
        return (x - self.mean_) / self.std_

    def _windows(self, x: np.ndarray, stride: int) -> np.ndarray:
        return np.ascontiguousarray(sliding_windows(x, self.config.window, stride))  # (N, W, C)

    # ------------------------------------------------------------------ training
    def _build_net(self) -> nn.Module:
        assert self.mean_ is not None
        if self.config.method == "autoencoder":
            return LSTMAutoencoder(len(self.mean_), self.config.window, **self._lstm_settings())
        return NextStepLSTM(len(self.mean_), **self._lstm_settings())

    def _fit_member(
        self, member: int, windows: Tensor, bar: ProgressBar
    ) -> tuple[nn.Module, dict[str, list[float]]]:
        """The network trained on ``windows`` (N, W, C): Adam, gradient norm clipped at 1, the
        weights of the lowest training loss kept."""
        cfg = self.config
        net = self._new_net(member)
        settings = TrainConfig(
            optimizer="adam",
            lr=cfg.lr,
            clip_norm=1.0,
            max_epochs=cfg.max_epochs,
            monitor="train_loss",
            restore_best=True,
        )
        step = functools.partial(_train_step, cfg.method, cfg.window // 4)
        history = self._train_member(
            member,
            net,
            TensorDataset(windows),
            settings=settings,
            step=step,
            batch_size=cfg.batch_size,
            bar=bar,
        )
        return net, {"train_loss": [float(v) for v in history["train_loss"]]}

    def fit(self, values: Any, val: Any = None, val_labels: Any = None) -> AnomalyDetector:
        """Learn normal behaviour from ``values`` (T, C) and pick the threshold on ``val``
        (with ``val_labels`` if it holds labelled anomalies; default: the training signal)."""
        cfg = self.config
        x = self._reduce(_as_signal("values", values))
        if len(x) < 2 * cfg.window:
            raise ValueError(
                f"values: {len(x)} samples (after downsampling by {cfg.downsample}) are too few for "
                f"windows of {cfg.window}; need at least {2 * cfg.window}"
            )
        self.exponent_ = np.array([scale_exponent(x[:, c]) for c in range(x.shape[1])])
        scaled = np.ldexp(x, -self.exponent_) if self.exponent_.any() else x
        self.mean_ = scaled.mean(0)
        std = scaled.std(0)
        self.std_ = np.where(std > 1e-12, std, 1.0)
        xs = self._scale(x)
        windows = torch.as_tensor(self._windows(xs, cfg.stride), dtype=torch.float32)  # (N, W, C)
        self._fit_ensemble(
            1, cfg.max_epochs, f"fit {cfg.method}", lambda k, bar: self._fit_member(k, windows, bar)
        )
        if cfg.method == "forecast":
            self.resid_var_ = np.ones(x.shape[1])
            resid = self._raw_errors(xs)
            self.resid_var_ = np.maximum(resid[cfg.window :].mean(0), 1e-12)
        self.threshold_ = self._choose_threshold(values, val, val_labels)
        return self

    def _choose_threshold(self, values: Any, val: Any, val_labels: Any) -> float:
        """The F1-best threshold on labelled validation data, else the ``threshold_quantile``
        quantile of the (normal) validation scores (``val``, default the training signal)."""
        if val is not None:
            vs = self.score(val, context=values)
            labels = None if val_labels is None else np.asarray(val_labels).astype(bool)
            if labels is not None and labels.shape != vs.shape:
                raise ValueError(f"val_labels: expected {len(vs)} labels like val, got shape {labels.shape}")
        else:
            vs, labels = self.score(values), None
        if labels is not None and labels.any() and (~labels).any():
            threshold = self._best_f1_threshold(vs, labels)
            log.info("threshold %.4g: the best F1 on the labelled validation data", threshold)
            return threshold
        q = self.config.threshold_quantile
        threshold = float(np.quantile(vs, q))
        log.info("threshold %.4g: the %.3g quantile of normal validation scores", threshold, q)
        return threshold

    @staticmethod
    def _best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
        cands = np.unique(np.quantile(scores, np.linspace(0.5, 0.9999, 400)))
        # the same comparison as predict() and evaluate(): flagged means above the threshold
        f1s = [precision_recall_f1(labels.astype(int), scores > c)[2] for c in cands]
        return float(cands[int(np.argmax(f1s))])

    # ------------------------------------------------------------------ scoring
    @torch.no_grad()
    def _raw_errors(self, xs: np.ndarray) -> np.ndarray:
        """(T', C) per-sample squared errors on the scaled, downsampled signal."""
        cfg, dev = self.config, self._device()
        net = self._members()[0]
        t, c = xs.shape
        if cfg.method == "forecast":
            if t < 2:
                raise ValueError(
                    "values: the forecast method scores each sample by its prediction from the ones "
                    f"before it and needs at least 2 (downsampled) samples, got {t}; pass context="
                )
            inp = torch.as_tensor(xs[None, :-1], dtype=torch.float32, device=dev)  # (1, T-1, C)
            pred, _ = net(inp)
            diff = pred[0].double().cpu().numpy() - xs[1:]  # (T-1, C)
            err = diff**2 if cfg.error == "squared" else np.abs(diff)
            err = np.vstack([err[:1], err])  # sample 0 has no prediction: copy the next one
            assert self.resid_var_ is not None
            return err / self.resid_var_
        if t < cfg.window:
            raise ValueError(
                f"values: {t * cfg.downsample} samples ({t} after downsampling by {cfg.downsample}) "
                f"are shorter than the window of {cfg.window} downsampled samples"
            )
        wins = self._windows(xs, 1)  # (N, W, C)
        total = np.zeros((t, c))
        count = np.zeros((t, 1))
        for i in range(0, len(wins), 512):
            batch = torch.as_tensor(wins[i : i + 512], dtype=torch.float32, device=dev)
            diff = (net(batch) - batch).double().cpu().numpy()  # (n, W, C)
            err = diff**2 if cfg.error == "squared" else np.abs(diff)
            for j in range(len(err)):
                total[i + j : i + j + cfg.window] += err[j]
                count[i + j : i + j + cfg.window] += 1
        return total / count

    def score(self, values: Any, context: Any = None) -> np.ndarray:
        """(T,) anomaly scores of every sample of ``values`` (T, C); larger = more anomalous.

        ``context``: samples just before ``values`` (e.g. the training signal) that the model
        reads first, so the forecast method's LSTM state is warm at the first sample. Without
        it, the first ``window`` (downsampled) samples, which lack context, get the score of the
        first sample that has it.
        """
        self._check_fitted("scoring")
        raw = _as_signal("values", values)
        if self.mean_ is not None and raw.shape[1] != len(self.mean_):
            raise ValueError(
                f"values: expected {len(self.mean_)} channels like the training signal, got {raw.shape[1]}"
            )
        cfg = self.config
        n_ctx = 0
        full = raw
        if context is not None:
            ctx = _as_signal("context", context)
            if ctx.shape[1] != raw.shape[1]:
                raise ValueError(f"context: expected {raw.shape[1]} channels like values, got {ctx.shape[1]}")
            keep = (len(ctx) // cfg.downsample) * cfg.downsample  # whole blocks only
            keep = min(keep, 8 * cfg.window * cfg.downsample)
            if keep:
                full = np.vstack([ctx[len(ctx) - keep :], raw])
                n_ctx = keep // cfg.downsample
        xs = self._scale(self._reduce(full))
        err = self._raw_errors(xs).mean(1)  # (T',)
        if cfg.method == "forecast":
            burn = min(cfg.window, len(err) - 1)
            if n_ctx < burn:  # no warm state yet: hold the first scores with context
                err[:burn] = err[burn]
        k = cfg.smooth or cfg.window
        if k > 1:
            kernel = np.ones(k) / k
            pad = np.pad(err, (k // 2, k - 1 - k // 2), mode="edge")
            err = np.convolve(pad, kernel, mode="valid")
        return self._expand(err[n_ctx:], len(raw))

    def predict(self, values: Any, context: Any = None) -> np.ndarray:
        """(T,) 0/1 flags: score above the threshold (``context``: as :meth:`score`)."""
        if self.threshold_ is None:
            raise RuntimeError("AnomalyDetector: call fit() before predicting")
        return (self.score(values, context) > self.threshold_).astype(np.int64)

    def evaluate(self, values: Any, labels: Any, context: Any = None) -> dict[str, float]:
        """Precision, recall, F1 (at the threshold) and ROC-AUC (of the scores) against ``labels``
        (``context``: as :meth:`score`)."""
        scores = self.score(values, context)
        lab = np.asarray(labels)
        if lab.shape != scores.shape:
            raise ValueError(f"labels: expected {len(scores)} labels (one per sample), got shape {lab.shape}")
        assert self.threshold_ is not None
        p, r, f1 = precision_recall_f1(lab, scores > self.threshold_)
        return {
            "precision": p,
            "recall": r,
            "f1": f1,
            "roc_auc": roc_auc(lab, scores),
            "threshold": self.threshold_,
        }

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, Any]:
        def plain(a: np.ndarray | None) -> list[Any] | None:
            return None if a is None else a.tolist()

        return {
            "mean": plain(self.mean_),
            "std": plain(self.std_),
            "exponent": plain(self.exponent_),
            "resid_var": plain(self.resid_var_),
            "threshold": self.threshold_,
            "history": self.history_,
        }

    def _set_state(self, payload: Any) -> None:
        def array(v: list[Any] | None, dtype: type) -> np.ndarray | None:
            return None if v is None else np.asarray(v, dtype=dtype)

        self.mean_ = array(payload["mean"], np.float64)
        self.std_ = array(payload["std"], np.float64)
        self.exponent_ = array(payload["exponent"], np.int64)
        self.resid_var_ = array(payload["resid_var"], np.float64)
        self.threshold_ = payload["threshold"]
        self.history_ = payload["history"]

r"""The digit recognizer users hold: :class:`DigitRecognizer` (fit / transcribe / stream /
save / load) on :class:`lstmkit.fit.estimator.Estimator`.

Waveforms (16 kHz, float in [-1, 1]) become features (:mod:`lstmkit.apps.speech.features`),
the :class:`~lstmkit.apps.speech.model.CTCAcousticModel` gives per-step class logits, and a
CTC decoder (:mod:`lstmkit.apps.speech.decode`) gives the digits. Training minimizes the CTC
loss (``torch.nn.functional.ctc_loss``, blank 0, digit d as class 1 + d) with Adam, a cosine
schedule down to a tenth of ``lr`` and gradients clipped to norm 1; SpecAugment masks the
training features when ``spec_augment`` is on.

The unidirectional model with ``"global"`` normalization streams
(:class:`~lstmkit.apps.speech.streaming.StreamingRecognizer`): features are computed causally
from audio chunks and the LSTM advances by :meth:`lstmkit.LSTM.stream`, giving the same
logits as the offline model on the whole waveform.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from lstmkit.apps.speech.decode import beam_decode, greedy_decode
from lstmkit.apps.speech.features import FeatureConfig, features, spec_augment
from lstmkit.apps.speech.model import CTCAcousticModel
from lstmkit.apps.speech.streaming import StreamingRecognizer
from lstmkit.fit.config import TrainConfig
from lstmkit.fit.estimator import Estimator, check_int, check_rates
from lstmkit.fit.step import StepOutput
from lstmkit.io.progress import ProgressBar

__all__ = ["DigitRecognizer", "RecognizerConfig", "check_audio", "check_labels"]


@dataclass(frozen=True)
class RecognizerConfig:
    """Settings of a :class:`DigitRecognizer`; saved with it."""

    bidirectional: bool = True
    hidden_size: int = 128
    num_layers: int = 2
    subsample: int = 2
    features: str = "logmel"
    n_mels: int = 40
    n_mfcc: int = 13
    deltas: bool = False
    normalize: str = "utterance"
    spec_augment: bool = True
    max_epochs: int = 10
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0
    device: str = "cpu"
    variant: str = "classic"
    engine: str | None = None

    def __post_init__(self) -> None:
        for name in ("hidden_size", "num_layers", "subsample", "n_mels", "max_epochs", "batch_size"):
            check_int(name, getattr(self, name))
        self.feature_config()
        check_rates(self)

    def feature_config(self) -> FeatureConfig:
        return FeatureConfig(self.features, self.n_mels, self.n_mfcc, self.deltas, self.normalize)


def check_audio(name: str, audio: Any) -> list[np.ndarray]:
    """``audio`` (a sequence of (S_i,) waveforms) as float32 arrays of finite samples; a
    one-line ``ValueError`` naming ``name`` otherwise."""
    if isinstance(audio, np.ndarray) and audio.ndim == 1:
        raise ValueError(f"{name}: expected a list of waveforms, got one array (wrap it in a list)")
    out = []
    for i, a in enumerate(audio):
        x = np.asarray(a, dtype=np.float32)
        if x.ndim != 1 or len(x) == 0:
            raise ValueError(f"{name}[{i}]: expected (S,) mono samples, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"{name}[{i}]: expected finite samples, got NaN or inf")
        out.append(x)
    if not out:
        raise ValueError(f"{name}: expected at least one waveform, got none")
    return out


def check_labels(labels: Sequence[str], n: int) -> list[str]:
    """``labels`` as ``n`` non-empty digit strings; a one-line ``ValueError`` otherwise."""
    out = [str(s) for s in labels]
    if len(out) != n:
        raise ValueError(f"labels: expected {n} digit strings (one per waveform), got {len(out)}")
    for i, s in enumerate(out):
        if not s or not s.isdigit() or not s.isascii():
            raise ValueError(f"labels[{i}]: expected a non-empty string of digits 0-9, got {s!r}")
    return out


def _pad(feats: list[Tensor], minimum: int) -> tuple[Tensor, Tensor]:
    """(N, T_max, F) zero-padded features (T_max >= ``minimum``) and (N,) lengths."""
    lengths = torch.tensor([len(f) for f in feats])
    t = max(int(lengths.max()), minimum)
    out = torch.zeros(len(feats), t, feats[0].shape[1])
    for i, f in enumerate(feats):
        out[i, : len(f)] = f
    return out, lengths


def _ctc_step(augment: bool, model: nn.Module, batch: tuple[Tensor, ...]) -> StepOutput:
    """The CTC loss of a batch, cut to its longest utterance, SpecAugment-masked in training."""
    x, lengths, targets, target_lengths = batch
    x = x[:, : max(int(lengths.max()), model.subsample)]  # type: ignore[call-overload]
    if augment and model.training:
        x = spec_augment(x, fill=model.mean)  # type: ignore[arg-type]
    logits, steps = model(x, lengths)
    log_probs = torch.log_softmax(logits, -1).transpose(0, 1)  # (T', N, K)
    loss = nn.functional.ctc_loss(
        log_probs, targets, steps, target_lengths, blank=0, reduction="mean", zero_infinity=True
    )
    return StepOutput(loss, weight=float(len(x)))


class DigitRecognizer(Estimator):
    """Recognize spoken digits with an LSTM and CTC: fit / transcribe / stream / save / load.

    Args:
        bidirectional: a biLSTM (offline) or a unidirectional LSTM (which can stream).
        hidden_size: LSTM units per direction.
        num_layers: LSTM layers.
        subsample: feature frames stacked per LSTM step (2: 20 ms steps).
        features: ``"logmel"`` or ``"mfcc"``; ``n_mels`` mel bands, ``n_mfcc`` cepstra,
            ``deltas`` appends deltas and delta-deltas.
        normalize: ``"utterance"``, ``"global"`` or ``"running"`` (default: ``"utterance"``
            for a biLSTM, ``"global"`` for a unidirectional model; a model streams only with
            ``"global"`` or ``"running"``).
        spec_augment: mask training features (SpecAugment).
        max_epochs, batch_size, lr, seed, device, variant, engine: training and LSTM settings.
        progress: a progress bar while fitting.

    Example::

        >>> rec = DigitRecognizer(bidirectional=False, hidden_size=32, max_epochs=1, progress=False)
        >>> rec.fit(audio, labels).transcribe(audio[:2])  # doctest: +SKIP
        ['3', '141']
    """

    format = "lstmkit.DigitRecognizer"

    def __init__(
        self,
        bidirectional: bool = True,
        *,
        hidden_size: int = 128,
        num_layers: int = 2,
        subsample: int = 2,
        features: str = "logmel",
        n_mels: int = 40,
        n_mfcc: int = 13,
        deltas: bool = False,
        normalize: str | None = None,
        spec_augment: bool = True,
        max_epochs: int = 10,
        batch_size: int = 32,
        lr: float = 2e-3,
        seed: int = 0,
        device: str = "cpu",
        variant: str = "classic",
        engine: str | None = None,
        progress: bool = True,
    ) -> None:
        normalize = normalize or ("utterance" if bidirectional else "global")
        args = dict(locals())
        super().__init__(
            RecognizerConfig(**{k: args[k] for k in RecognizerConfig.__dataclass_fields__}), progress
        )
        self.feature_config = self.config.feature_config()

    def _build_net(self) -> nn.Module:
        cfg = self.config
        return CTCAcousticModel(
            self.feature_config.size,
            cfg.hidden_size,
            cfg.num_layers,
            bidirectional=cfg.bidirectional,
            subsample=cfg.subsample,
            running=cfg.normalize == "running",
            variant=cfg.variant,
            engine=cfg.engine,
        )

    def featurize(self, audio: Sequence[np.ndarray]) -> list[Tensor]:
        """The (T_i, F) features of each waveform (before the model's own normalization)."""
        return [features(a, self.feature_config) for a in audio]

    def fit(self, audio: Sequence[np.ndarray], labels: Sequence[str]) -> DigitRecognizer:
        """Train on waveforms ``audio`` (16 kHz) and their digit strings ``labels``."""
        waves = check_audio("audio", audio)
        refs = check_labels(labels, len(waves))
        feats = self.featurize(waves)
        x, lengths = _pad(feats, self.config.subsample)
        targets = torch.zeros(len(refs), max(len(s) for s in refs), dtype=torch.long)
        for i, s in enumerate(refs):
            targets[i, : len(s)] = torch.tensor([1 + int(d) for d in s])
        target_lengths = torch.tensor([len(s) for s in refs])
        frames = torch.cat(feats)
        stats = (frames.mean(0), frames.std(0, unbiased=False) + 1e-5)
        self._fit_net(TensorDataset(x, lengths, targets, target_lengths), stats)
        return self

    def _fit_net(self, data: TensorDataset, stats: tuple[Tensor, Tensor]) -> None:
        cfg = self.config
        train = TrainConfig(
            optimizer="adam",
            lr=cfg.lr,
            schedule="cosine",
            min_lr=cfg.lr / 10,
            clip_norm=1.0,
            max_epochs=cfg.max_epochs,
        )
        step = functools.partial(_ctc_step, cfg.spec_augment)

        def member(k: int, bar: ProgressBar) -> tuple[nn.Module, dict[str, list[float]]]:
            net = self._new_net(k)
            if cfg.normalize != "utterance":
                net.mean.copy_(stats[0])  # type: ignore[operator]
                net.std.copy_(stats[1])  # type: ignore[operator]
            history = self._train_member(
                k, net, data, settings=train, step=step, batch_size=cfg.batch_size, bar=bar
            )
            return net, {"train_loss": [float(v) for v in history["train_loss"]]}

        self._fit_ensemble(1, cfg.max_epochs, "fit speech", member)

    @torch.no_grad()
    def logits(self, audio: Sequence[np.ndarray], batch_size: int = 64) -> list[Tensor]:
        """Each waveform's (T'_i, K) class logits (on the CPU)."""
        (net,) = self._members()
        feats = self.featurize(check_audio("audio", audio))
        order = np.argsort([len(f) for f in feats])
        out: list[Tensor] = [torch.empty(0)] * len(feats)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            x, lengths = _pad([feats[i] for i in idx], self.config.subsample)
            logits, steps = net(x.to(self._device()), lengths.to(self._device()))
            for j, i in enumerate(idx):
                out[i] = logits[j, : int(steps[j])].cpu()
        return out

    def transcribe(self, audio: Sequence[np.ndarray], beam: int = 0) -> list[str]:
        """The digits of each waveform: greedy decoding (``beam`` 0) or prefix beam search."""
        if isinstance(beam, bool) or not isinstance(beam, int) or beam < 0:
            raise ValueError(f"beam: expected a beam width >= 1 (0: greedy), got {beam!r}")
        return [self.decode(z, beam) for z in self.logits(audio)]

    @staticmethod
    def decode(logits: Tensor, beam: int = 0) -> str:
        """One utterance's (T', K) logits as digits: greedy (``beam`` 0) or prefix beam search."""
        return beam_decode(logits, beam) if beam else greedy_decode(logits)

    def stream(self) -> StreamingRecognizer:
        """A streaming recognizer of one audio stream (unidirectional; global or running normalization)."""
        (net,) = self._members()
        return StreamingRecognizer(net, self.feature_config)  # type: ignore[arg-type]

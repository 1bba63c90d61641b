r"""The digit synthesizer users hold: :class:`DigitSynthesizer` (fit / mel / speak / save /
load) on :class:`lstmkit.fit.estimator.Estimator`.

Training: each reference waveform (one espeak-ng voice) becomes log-mel frames (the front
end's, :mod:`lstmkit.apps.speech.features`), cut to its speech (:func:`speech_span`); its
digits become espeak-ng phonemes; per-phoneme mean durations are fitted over the corpus and
each utterance's frames split over its phonemes in proportion
(:mod:`lstmkit.apps.speech.synthesis`); the :class:`~lstmkit.apps.speech.tts_model.MelAcousticModel`
learns the frames from the phoneme inputs with an L1 loss on normalized log-mel energies
(Adam, cosine schedule to a tenth of ``lr``, gradients clipped to norm 1).

Synthesis: the phonemes of a digit string, each held for its mean duration (rounded), give
log-mel frames; the Griffin-Lim vocoder (:mod:`lstmkit.apps.speech.vocoder`) makes the
waveform (the speech only: no silence is added at the ends).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from lstmkit.apps.speech.estimator import check_audio
from lstmkit.apps.speech.features import WINDOW, log_mel, mel_filterbank
from lstmkit.apps.speech.synthesis import (
    check_digits,
    fit_durations,
    frame_inputs,
    phonemes,
    speech_span,
    split_frames,
)
from lstmkit.apps.speech.tts_model import MelAcousticModel
from lstmkit.apps.speech.vocoder import griffin_lim, mel_to_magnitude
from lstmkit.fit.config import TrainConfig
from lstmkit.fit.estimator import Estimator, check_int, check_rates
from lstmkit.fit.step import StepOutput
from lstmkit.io.progress import ProgressBar

__all__ = ["DigitSynthesizer", "SynthesizerConfig"]


@dataclass(frozen=True)
class SynthesizerConfig:
    """Settings of a :class:`DigitSynthesizer`; saved with it."""

    voice: str = "en-us+m3"
    hidden_size: int = 128
    num_layers: int = 2
    n_mels: int = 40
    max_epochs: int = 40
    batch_size: int = 16
    lr: float = 3e-3
    seed: int = 0
    device: str = "cpu"
    variant: str = "classic"
    engine: str | None = None

    def __post_init__(self) -> None:
        for name in ("hidden_size", "num_layers", "n_mels", "max_epochs", "batch_size"):
            check_int(name, getattr(self, name))
        check_rates(self)


def _l1_step(model: nn.Module, batch: tuple[Tensor, ...]) -> StepOutput:
    """The mean absolute error of the real frames, in units of each band's deviation."""
    x, y, lengths = batch
    t = int(lengths.max())
    x, y = x[:, :t], y[:, :t]
    mask = (torch.arange(t)[None, :] < lengths[:, None]).to(x.device)  # (N, T)
    err = ((model(x, lengths) - y).abs() / model.std).mean(-1)  # type: ignore[operator]
    return StepOutput((err * mask).sum() / mask.sum(), weight=float(mask.sum()))


class DigitSynthesizer(Estimator):
    """Speak digit strings in one espeak-ng voice with a biLSTM acoustic model and Griffin-Lim.

    Args:
        voice: the espeak-ng voice of the training audio (its accent gives the phonemes).
        hidden_size, num_layers: the biLSTM. n_mels: mel bands (the front end's 40).
        max_epochs, batch_size, lr, seed, device, variant, engine: training and LSTM settings.
        progress: a progress bar while fitting.

    Example::

        >>> tts = DigitSynthesizer(max_epochs=2, progress=False).fit(audio, labels)  # doctest: +SKIP
        >>> wave = tts.speak("3 1 4")  # doctest: +SKIP
    """

    format = "lstmkit.DigitSynthesizer"

    def __init__(
        self,
        voice: str = "en-us+m3",
        *,
        hidden_size: int = 128,
        num_layers: int = 2,
        n_mels: int = 40,
        max_epochs: int = 40,
        batch_size: int = 16,
        lr: float = 3e-3,
        seed: int = 0,
        device: str = "cpu",
        variant: str = "classic",
        engine: str | None = None,
        progress: bool = True,
    ) -> None:
        args = dict(locals())
        fields = SynthesizerConfig.__dataclass_fields__
        super().__init__(SynthesizerConfig(**{k: args[k] for k in fields}), progress)
        self.inventory_: list[str] = []
        self.durations_: dict[str, float] = {}

    def _build_net(self) -> nn.Module:
        cfg = self.config
        return MelAcousticModel(
            len(self.inventory_) + 1,
            cfg.n_mels,
            cfg.hidden_size,
            cfg.num_layers,
            variant=cfg.variant,
            engine=cfg.engine,
        )

    def targets(self, audio: Sequence[np.ndarray]) -> list[Tensor]:
        """Each waveform's (T_i, B) log-mel frames of its speech (silence at the ends cut)."""
        fbank = mel_filterbank(self.config.n_mels)
        out = []
        for a in audio:
            x = torch.from_numpy(np.pad(a, (0, max(WINDOW - len(a), 0))))
            mel = log_mel(x, fbank)
            start, end = speech_span(mel)
            out.append(mel[start:end])
        return out

    def fit(self, audio: Sequence[np.ndarray], labels: Sequence[str]) -> DigitSynthesizer:
        """Train on reference waveforms ``audio`` (16 kHz, the voice's) of digit strings ``labels``."""
        waves = check_audio("audio", audio)
        if len(labels) != len(waves):
            raise ValueError(
                f"labels: expected {len(waves)} digit strings (one per waveform), got {len(labels)}"
            )
        seqs = [phonemes(check_digits(s), self.config.voice) for s in labels]
        mels = self.targets(waves)
        self.durations_ = fit_durations(seqs, [len(m) for m in mels])
        self.inventory_ = sorted(self.durations_)
        data = self.dataset(labels, mels)
        frames = torch.cat(mels)
        self._fit_net(data, (frames.mean(0), frames.std(0) + 1e-5))
        return self

    def dataset(self, labels: Sequence[str], mels: Sequence[Tensor]) -> TensorDataset:
        """(inputs (N, T, I), log-mel targets (N, T, B), lengths (N,)) of the digit strings
        ``labels`` and their (T_i, B) speech frames ``mels``, by the fitted durations."""
        seqs = [phonemes(check_digits(s), self.config.voice) for s in labels]
        inputs = [
            frame_inputs(s, split_frames(s, len(m), self.durations_), self.inventory_)
            for s, m in zip(seqs, mels, strict=True)
        ]
        lengths = torch.tensor([len(m) for m in mels])
        x = torch.nn.utils.rnn.pad_sequence(inputs, batch_first=True)
        y = torch.nn.utils.rnn.pad_sequence(list(mels), batch_first=True)
        return TensorDataset(x, y, lengths)

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

        def member(k: int, bar: ProgressBar) -> tuple[nn.Module, dict[str, list[float]]]:
            net = self._new_net(k)
            net.mean.copy_(stats[0])  # type: ignore[operator]
            net.std.copy_(stats[1])  # type: ignore[operator]
            history = self._train_member(
                k, net, data, settings=train, step=_l1_step, batch_size=cfg.batch_size, bar=bar
            )
            return net, {"train_loss": [float(v) for v in history["train_loss"]]}

        self._fit_ensemble(1, cfg.max_epochs, "fit tts", member)

    def inputs(self, digits: str) -> Tensor:
        """(T, I) inputs of ``digits``: each phoneme held for its mean duration (rounded, >= 1)."""
        self._check_fitted("inputs()")
        seq = phonemes(check_digits(digits), self.config.voice)
        unknown = sorted(set(seq) - set(self.inventory_))
        if unknown:
            raise ValueError(f"digits: phonemes {unknown} of {digits!r} were not in the training data")
        counts = [max(round(self.durations_[p]), 1) for p in seq]
        return frame_inputs(seq, counts, self.inventory_)

    @torch.no_grad()
    def mel(self, digits: str) -> Tensor:
        """(T, B) log-mel frames the model predicts for ``digits`` (``"3 1 4"``)."""
        (net,) = self._members()
        x = self.inputs(digits)
        return net(x[None].to(self._device()), torch.tensor([len(x)]))[0].cpu()

    def vocode(self, logmel: Tensor, iterations: int = 100) -> np.ndarray:
        """(S,) float32 waveform of (T, B) log-mel frames by Griffin-Lim (scaled down if its
        peak passes 0.9). No silence is added: runs of exact zeros, whose log energies sit at
        the floor, throw off a recognizer's per-utterance normalization."""
        mag = mel_to_magnitude(logmel, mel_filterbank(self.config.n_mels))
        wave = griffin_lim(mag, iterations).numpy()
        peak = float(np.abs(wave).max())
        return (wave / peak * 0.9 if peak > 0.9 else wave).astype(np.float32)

    def speak(self, digits: str, iterations: int = 100) -> np.ndarray:
        """(S,) float32 samples at 16 kHz of ``digits`` spoken (``"3 1 4"`` or ``"314"``)."""
        return self.vocode(self.mel(digits), iterations)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "inventory": self.inventory_, "durations": self.durations_}

    def _set_state(self, payload: Mapping[str, Any]) -> None:
        super()._set_state(payload)
        self.inventory_ = list(payload["inventory"])
        self.durations_ = {str(k): float(v) for k, v in payload["durations"].items()}

r"""The audio front end in torch only: log-mel and MFCC features, deltas, normalization,
SpecAugment masks, and a causal chunk-by-chunk framer for streaming.

Frames are 25 ms (400 samples at 16 kHz) every 10 ms (160 samples), Hann-windowed, **not
centred** (as ``torch.stft(center=False)``; the frames are cut by ``unfold`` and zero-padded
to 512 points at their end by ``torch.fft.rfft``): frame t reads samples [160 t, 160 t + 400) only, so
features computed chunk by chunk as audio arrives (:class:`FeatureStream`) are the features of
the whole waveform. With :math:`|X_t(k)|^2` the power spectrum (512-point FFT), the log-mel
energies are

.. math::

    m_t(b) = \log\Big(\epsilon + \sum_k M_{b,k} |X_t(k)|^2\Big), \qquad
    \mathrm{mel}(f) = 2595 \log_{10}(1 + f / 700),

with M the triangular filters (:func:`mel_filterbank`, HTK's, peak 1) centred at points
equally spaced in mel from ``f_min`` to ``f_max``; MFCCs are the first coefficients of the
orthonormal DCT-II of :math:`m_t` (:func:`dct_matrix`). Deltas (:func:`deltas`) are the
regression :math:`d_t = \sum_{n=1}^{2} n (c_{t+n} - c_{t-n}) / (2 \sum n^2)` with the edge
frames repeated. Shapes: S samples, T frames, F features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lstmkit.apps.speech.wav import SAMPLE_RATE

__all__ = [
    "FeatureConfig",
    "FeatureStream",
    "dct_matrix",
    "deltas",
    "features",
    "hz_to_mel",
    "log_mel",
    "mel_filterbank",
    "mel_to_hz",
    "running_normalize",
    "spec_augment",
]

WINDOW, HOP, N_FFT = 400, 160, 512
EPS = 1e-6
NORMALIZATIONS = ("utterance", "global", "running")
#: the running mean's decay per 10 ms frame: a time constant of one second
RUNNING_ALPHA = math.exp(-1 / 100)


def hz_to_mel(f: Tensor | float) -> Tensor:
    return 2595.0 * torch.log10(1.0 + torch.as_tensor(f, dtype=torch.float64) / 700.0)


def mel_to_hz(m: Tensor) -> Tensor:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int = N_FFT, f_min: float = 20.0, f_max: float = 7600.0) -> Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters: filter b rises from mel point b to b + 1
    (peak 1) and falls to b + 2, the n_mels + 2 points equally spaced in mel."""
    points = mel_to_hz(torch.linspace(float(hz_to_mel(f_min)), float(hz_to_mel(f_max)), n_mels + 2))
    freqs = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * SAMPLE_RATE / n_fft
    lo, mid, hi = points[:-2, None], points[1:-1, None], points[2:, None]
    rising, falling = (freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


def dct_matrix(n_out: int, n_in: int) -> Tensor:
    """(n_out, n_in) orthonormal DCT-II: ``dct_matrix(K, B) @ x`` = the first K coefficients."""
    k = torch.arange(n_out, dtype=torch.float64)[:, None]
    n = torch.arange(n_in, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi / n_in * (n + 0.5) * k) * math.sqrt(2.0 / n_in)
    d[0] /= math.sqrt(2.0)
    return d.float()


def log_mel(audio: Tensor, fbank: Tensor) -> Tensor:
    """(S,) samples -> (T, n_mels) log-mel energies, T = 1 + (S - 400) // 160 (S >= 400)."""
    frames = audio.unfold(0, WINDOW, HOP) * torch.hann_window(WINDOW, dtype=audio.dtype)  # (T, 400)
    spec = torch.fft.rfft(frames, n=N_FFT).T  # (K, T)
    power = spec.real**2 + spec.imag**2
    return torch.log(EPS + fbank @ power).T  # (T, n_mels)


def deltas(x: Tensor, width: int = 2) -> Tensor:
    """(T, F) -> (T, F) regression deltas over +-``width`` frames (edges repeated)."""
    padded = torch.cat([x[:1].expand(width, -1), x, x[-1:].expand(width, -1)])
    t = len(x)
    num = sum(
        n * (padded[width + n : width + n + t] - padded[width - n : width - n + t])
        for n in range(1, width + 1)
    )
    return torch.as_tensor(num) / (2 * sum(n * n for n in range(1, width + 1)))


@dataclass(frozen=True)
class FeatureConfig:
    """Which features: ``kind`` ``"logmel"`` (``n_mels`` of them) or ``"mfcc"`` (``n_mfcc``),
    with ``deltas`` (and delta-deltas) appended; ``normalize`` ``"utterance"`` (each feature
    to zero mean and unit variance over the utterance's frames), ``"global"`` (by the
    training set's mean and deviation, kept with the model) or ``"running"`` (minus a causal
    running mean, :func:`running_normalize`, then by the training set's deviation); the last
    two are causal (they can stream) and are the model's, not done by :func:`features`."""

    kind: str = "logmel"
    n_mels: int = 40
    n_mfcc: int = 13
    deltas: bool = False
    normalize: str = "utterance"

    def __post_init__(self) -> None:
        if self.kind not in ("logmel", "mfcc"):
            raise ValueError(f"features: expected 'logmel' or 'mfcc', got {self.kind!r}")
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize: expected one of {NORMALIZATIONS}, got {self.normalize!r}")
        if not 0 < self.n_mfcc <= self.n_mels:
            raise ValueError(f"n_mfcc: expected 1..n_mels ({self.n_mels}), got {self.n_mfcc}")

    @property
    def size(self) -> int:
        """F, features per frame."""
        base = self.n_mels if self.kind == "logmel" else self.n_mfcc
        return base * (3 if self.deltas else 1)


def _static(cfg: FeatureConfig, logmel: Tensor) -> Tensor:
    return logmel if cfg.kind == "logmel" else logmel @ dct_matrix(cfg.n_mfcc, cfg.n_mels).T


def features(audio: np.ndarray | Tensor, cfg: FeatureConfig) -> Tensor:
    """(S,) samples at 16 kHz -> (T, F) float32 features (utterance-normalized if so set;
    ``"global"`` and ``"running"`` normalization are the model's). Shorter than a frame: padded."""
    x = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    if x.dim() != 1:
        raise ValueError(f"audio: expected (S,) mono samples, got shape {tuple(x.shape)}")
    if len(x) < WINDOW:
        x = torch.nn.functional.pad(x, (0, WINDOW - len(x)))
    c = _static(cfg, log_mel(x, mel_filterbank(cfg.n_mels)))
    if cfg.deltas:
        d = deltas(c)
        c = torch.cat([c, d, deltas(d)], dim=1)
    if cfg.normalize == "utterance":
        c = (c - c.mean(0)) / (c.std(0, unbiased=False) + 1e-5)
    return c.contiguous()


def running_normalize(x: Tensor, start: Tensor, alpha: float = RUNNING_ALPHA) -> tuple[Tensor, Tensor]:
    r"""(N, T, F) features minus their causal running mean, and the last mean (N, F):

    .. math:: m_t = \alpha\, m_{t-1} + (1 - \alpha)\, x_t, \qquad y_t = x_t - m_t,

    :math:`m_{-1}` = ``start`` ((F,) or (N, F): the training set's mean, or a stream's state)."""
    m = start.expand(x.shape[0], x.shape[2])
    out = []
    for t in range(x.shape[1]):
        m = alpha * m + (1 - alpha) * x[:, t]
        out.append(x[:, t] - m)
    return torch.stack(out, 1) if out else x.clone(), m


def spec_augment(
    x: Tensor, *, fill: Tensor | float = 0.0, freq: int = 8, time: int = 10, masks: int = 2
) -> Tensor:
    """SpecAugment's masks (Park et al. 2019) on a batch of features (N, T, F): per
    utterance, ``masks`` bands of up to ``freq`` features and ``masks`` spans of up to ``time``
    frames set to ``fill`` (a value or (F,) values: the mean of the features), drawn from
    torch's generator. A new tensor; ``x`` is unchanged."""
    n, t, f = x.shape
    keep = torch.ones(n, t, f, dtype=torch.bool)
    f_range, t_range = torch.arange(f), torch.arange(t)
    for _ in range(masks):
        w = torch.randint(0, freq + 1, (n, 1))
        f0 = (torch.rand(n, 1) * (f - w + 1).clamp(min=1)).floor()
        keep &= ~((f_range >= f0) & (f_range < f0 + w))[:, None, :]
        w = torch.randint(0, time + 1, (n, 1))
        t0 = (torch.rand(n, 1) * (t - w + 1).clamp(min=1)).floor()
        keep &= ~((t_range >= t0) & (t_range < t0 + w))[:, :, None]
    return torch.where(keep.to(x.device), x, torch.as_tensor(fill, dtype=x.dtype, device=x.device))


class FeatureStream:
    """Causal features of audio arriving in chunks: :meth:`push` takes any number of new
    samples and returns the (t, F) frames they complete (t may be 0), equal to the frames of
    :func:`features` on the whole waveform (``"global"`` or ``"running"`` normalization, no
    deltas: they need no future frames)."""

    def __init__(self, cfg: FeatureConfig) -> None:
        if cfg.normalize == "utterance" or cfg.deltas:
            raise ValueError(
                "streaming: expected features with normalize='global' or 'running' and no deltas (causal)"
            )
        self.cfg = cfg
        self._fbank = mel_filterbank(cfg.n_mels)
        self._buffer = torch.zeros(0)

    def push(self, samples: np.ndarray | Tensor) -> Tensor:
        new = torch.as_tensor(np.asarray(samples, dtype=np.float32)).reshape(-1)
        self._buffer = torch.cat([self._buffer, new])
        if len(self._buffer) < WINDOW:
            return torch.zeros(0, self.cfg.size)
        frames = 1 + (len(self._buffer) - WINDOW) // HOP
        out = _static(self.cfg, log_mel(self._buffer[: (frames - 1) * HOP + WINDOW], self._fbank))
        self._buffer = self._buffer[frames * HOP :]
        return out

r"""A Griffin-Lim vocoder from log-mel frames, in torch only.

**Mel inversion.** The front end's log-mel energies are :math:`m = \log(\epsilon + M |X|^2)`
(:mod:`lstmkit.apps.speech.features`, M the (B, K) filterbank). :func:`mel_to_magnitude`
takes the least-squares (minimum-norm) power :math:`P = M^+ (e^{m} - \epsilon)` by the
pseudo-inverse :math:`M^+`, clips it at 0 and returns :math:`|X| = \sqrt{P}`. Bins the filters
do not cover (below 20 Hz, above 7.6 kHz) come back empty.

**Griffin-Lim** (Griffin and Lim 1984) with the momentum of Perraudin et al. 2013 ("fast
Griffin-Lim"): starting from random phases, repeat :math:`c \leftarrow
\mathrm{STFT}(\mathrm{ISTFT}(|X| e^{i\angle \tilde c}))` with :math:`\tilde c = c + \alpha (c -
c_{prev})`. The STFT is the front end's (a 400-sample Hann window, 160-sample hop, 512-point
FFT), centred (frame t centred on sample 160 t; the front end's frame t starts there, a
constant 200-sample shift). Quality is measured by the spectral convergence
:math:`\lVert |X| - |\hat X| \rVert_F / \lVert |X| \rVert_F` (:func:`spectral_convergence`).

Shapes: K = 257 frequency bins, T frames, B mel bands, S samples.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lstmkit.apps.speech.features import EPS, HOP, N_FFT, WINDOW

__all__ = ["griffin_lim", "magnitude", "mel_to_magnitude", "spectral_convergence"]


def _stft(audio: Tensor) -> Tensor:
    window = torch.hann_window(WINDOW, dtype=audio.dtype)
    return torch.stft(audio, N_FFT, HOP, WINDOW, window, center=True, return_complex=True)  # (K, T)


def _istft(spec: Tensor, length: int | None = None) -> Tensor:
    window = torch.hann_window(WINDOW, dtype=spec.real.dtype)
    return torch.istft(spec, N_FFT, HOP, WINDOW, window, center=True, length=length)  # (S,)


def magnitude(audio: Tensor) -> Tensor:
    """(S,) samples -> (K, T) STFT magnitude, T = 1 + S // 160 (the vocoder's STFT)."""
    return _stft(audio).abs()


def mel_to_magnitude(logmel: Tensor, fbank: Tensor) -> Tensor:
    """(T, B) log-mel energies -> (K, T) linear magnitude by the filterbank's pseudo-inverse
    (``fbank``: (B, K), :func:`~lstmkit.apps.speech.features.mel_filterbank`)."""
    power = torch.linalg.pinv(fbank.double()) @ (torch.exp(logmel.double()) - EPS).T  # (K, T)
    return power.clamp(min=0.0).sqrt().float()


def griffin_lim(mag: Tensor, iterations: int = 100, momentum: float = 0.99, seed: int = 0) -> Tensor:
    """A waveform whose STFT magnitude approaches ``mag``.

    Args:
        mag: (K, T) target magnitude (K = 257).
        iterations: projections (0 gives the random-phase start).
        momentum: :math:`\\alpha` of fast Griffin-Lim (0: the original algorithm).
        seed: of the random initial phases.

    Returns:
        (S,) float32 samples, S = 160 (T - 1).
    """
    if mag.dim() != 2 or mag.shape[0] != N_FFT // 2 + 1:
        raise ValueError(f"mag: expected ({N_FFT // 2 + 1}, T) magnitudes, got shape {tuple(mag.shape)}")
    if iterations < 0:
        raise ValueError(f"iterations: expected >= 0, got {iterations}")
    gen = torch.Generator().manual_seed(seed)
    phase = torch.rand(mag.shape, generator=gen) * 2 * torch.pi
    length = HOP * (mag.shape[1] - 1)
    target = mag.float()
    spec = torch.polar(target, phase)
    prev = torch.zeros_like(spec)
    for _ in range(iterations):
        rebuilt = _stft(_istft(spec, length))
        accelerated = rebuilt + momentum * (rebuilt - prev)
        prev = rebuilt
        spec = torch.polar(target, torch.angle(accelerated))
    return _istft(spec, length)


def spectral_convergence(target: Tensor, audio: Tensor) -> float:
    """:math:`\\lVert |X| - |\\hat X| \\rVert_F / \\lVert |X| \\rVert_F` of (K, T) ``target``
    against the magnitude of (S,) ``audio`` (the shorter number of frames)."""
    got = magnitude(audio)
    t = min(target.shape[1], got.shape[1])
    return float(torch.linalg.norm(target[:, :t] - got[:, :t]) / torch.linalg.norm(target[:, :t]))

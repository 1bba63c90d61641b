r"""Waveform augmentations: additive noise at a signal-to-noise ratio, reverberation by a
synthetic room impulse, speed perturbation. All take (S,) float32 samples at 16 kHz and a
``numpy.random.Generator``, so a seeded generator gives the same result every time.

* :func:`add_noise`: Gaussian noise with a power spectrum :math:`\propto 1/f^\alpha` (white
  :math:`\alpha = 0`, pink 1, brown 2), scaled so that

  .. math:: \mathrm{SNR} = 10 \log_{10} \frac{\overline{x^2}}{\overline{n^2}} \ \mathrm{dB},

  the powers averaged over the whole utterance (its silences included).
* :func:`reverberate`: convolution with :math:`h(t) = \delta(t) + g\, e^{-6.91 t / T_{60}} w(t)`
  (w white noise, :math:`T_{60}` the time to decay by 60 dB), a crude room impulse, then
  rescaled to the input's peak.
* :func:`speed_perturb`: resampling by a factor (0.9 plays 10/9 as long, pitch lowered),
  as Ko et al. 2015 do for speech recognition.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.signal import fftconvolve, resample_poly

from lstmkit.apps.speech.wav import SAMPLE_RATE

__all__ = ["AugmentConfig", "add_noise", "augment", "colored_noise", "reverberate", "speed_perturb"]


def colored_noise(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """(n,) unit-power Gaussian noise with a power spectrum proportional to 1 / f^alpha."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    noise = np.fft.irfft(spectrum / f ** (alpha / 2), n)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator, alpha: float = 0.0) -> np.ndarray:
    """``x`` plus 1/f^``alpha`` noise at ``snr_db`` dB below its mean power."""
    power = float(np.mean(x.astype(np.float64) ** 2))
    noise = colored_noise(len(x), alpha, rng) * np.sqrt(power / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


def reverberate(x: np.ndarray, rt60: float, rng: np.random.Generator, gain: float = 0.3) -> np.ndarray:
    """``x`` convolved with a decaying-noise room impulse of decay time ``rt60`` seconds."""
    t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
    h = gain * np.exp(-6.91 * t / rt60) * rng.standard_normal(len(t)) / np.sqrt(max(len(t), 1) / 100)
    h[0] = 1.0
    y = fftconvolve(x.astype(np.float64), h)[: len(x)]
    peak = max(float(np.abs(y).max()), 1e-12)
    return (y * float(np.abs(x).max()) / peak).astype(np.float32)


def speed_perturb(x: np.ndarray, factor: float) -> np.ndarray:
    """``x`` played ``factor`` times as fast (length / factor samples)."""
    if factor == 1.0:
        return x
    ratio = Fraction(factor).limit_denominator(100)
    return resample_poly(x.astype(np.float64), ratio.denominator, ratio.numerator).astype(np.float32)


@dataclass(frozen=True)
class AugmentConfig:
    """How training waveforms are augmented (each utterance draws its own).

    Args:
        speeds: speed factors drawn uniformly (1.0: none).
        reverb: probability of reverberation, its T60 drawn in ``rt60`` seconds.
        noise: probability of added noise, its SNR drawn uniformly in ``snr`` dB and its colour
            alpha uniformly in [0, 2].
    """

    speeds: tuple[float, ...] = (0.9, 1.0, 1.1)
    reverb: float = 0.3
    rt60: tuple[float, float] = (0.1, 0.5)
    noise: float = 0.6
    snr: tuple[float, float] = (0.0, 30.0)


def augment(x: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """``x`` with the augmentations of ``config`` drawn from ``rng`` (speed, reverb, noise)."""
    y = speed_perturb(x, float(rng.choice(config.speeds)))
    if rng.random() < config.reverb:
        y = reverberate(y, float(rng.uniform(*config.rt60)), rng)
    if rng.random() < config.noise:
        y = add_noise(y, float(rng.uniform(*config.snr)), rng, alpha=float(rng.uniform(0, 2)))
    return y

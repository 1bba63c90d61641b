"""The torch-only audio front end (lstmkit.apps.speech.features) against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
import torch

from lstmkit.apps.speech import features as F
from lstmkit.apps.speech.features import FeatureConfig, FeatureStream


def _tone(hz: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _numpy_log_mel(x: np.ndarray, n_mels: int) -> np.ndarray:
    """Log-mel energies computed with numpy only: framing, periodic Hann, rfft, HTK filters."""
    n = 1 + (len(x) - 400) // 160
    frames = np.stack([x[160 * t : 160 * t + 400] for t in range(n)]).astype(np.float64)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    power = np.abs(np.fft.rfft(frames * window, 512)) ** 2  # (T, 257)
    mel = np.linspace(2595 * np.log10(1 + 20 / 700), 2595 * np.log10(1 + 7600 / 700), n_mels + 2)
    hz = 700 * (10 ** (mel / 2595) - 1)
    freqs = np.arange(257) * 16000 / 512
    fb = np.zeros((n_mels, 257))
    for b in range(n_mels):
        lo, mid, hi = hz[b], hz[b + 1], hz[b + 2]
        fb[b] = np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    return np.log(1e-6 + power @ fb.T)


def test_log_mel_matches_numpy() -> None:
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    cfg = FeatureConfig(normalize="global")
    ours = F.features(x, cfg).numpy()
    ref = _numpy_log_mel(x, 40)
    assert ours.shape == ref.shape == (1 + (8000 - 400) // 160, 40)
    np.testing.assert_allclose(ours, ref, atol=2e-4)


@pytest.mark.parametrize("band", [8, 20, 33])
def test_pure_tone_lands_in_its_mel_band(band: int) -> None:
    # the 42 points equally spaced in mel from 20 to 7600 Hz; band b peaks at point b + 1
    mel = np.linspace(2595 * np.log10(1 + 20 / 700), 2595 * np.log10(1 + 7600 / 700), 42)
    hz = 700 * (10 ** (mel[band + 1] / 2595) - 1)
    energies = F.features(_tone(hz), FeatureConfig(normalize="global")).mean(0)
    assert int(energies.argmax()) == band
    assert float(energies[band] - energies[band + 3]) > 3  # far bands are much weaker (log scale)


def test_mfcc_is_scipys_orthonormal_dct_of_log_mel() -> None:
    x = np.random.default_rng(1).standard_normal(6000).astype(np.float32) * 0.1
    logmel = F.features(x, FeatureConfig(normalize="global")).numpy()
    mfcc = F.features(x, FeatureConfig(kind="mfcc", n_mfcc=13, normalize="global")).numpy()
    ref = np.asarray(scipy.fft.dct(logmel.astype(np.float64), type=2, norm="ortho", axis=1))[:, :13]
    np.testing.assert_allclose(mfcc, ref, atol=1e-3)


def test_deltas_of_a_ramp_are_its_slope() -> None:
    t = torch.arange(20, dtype=torch.float32)[:, None] * torch.tensor([[0.5, -2.0]])
    d = F.deltas(t)
    torch.testing.assert_close(d[2:-2], torch.tensor([[0.5, -2.0]]).expand(16, 2))
    assert F.features(_tone(500), FeatureConfig(kind="mfcc", deltas=True)).shape[1] == 39


def test_utterance_normalization() -> None:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(8000) * np.linspace(0.01, 1, 8000)).astype(np.float32)
    f = F.features(x, FeatureConfig(normalize="utterance"))
    torch.testing.assert_close(f.mean(0), torch.zeros(40), atol=1e-4, rtol=0)
    torch.testing.assert_close(f.std(0, unbiased=False), torch.ones(40), atol=1e-3, rtol=0)
    raw = F.features(x, FeatureConfig(normalize="global"))
    assert float(raw.mean(0).abs().min()) > 0.1  # the raw features were not normalized already


@pytest.mark.parametrize("chunk", [37, 160, 1000])
def test_stream_features_equal_whole_waveform_features(chunk: int) -> None:
    x = np.random.default_rng(2).standard_normal(9000).astype(np.float32) * 0.1
    cfg = FeatureConfig(normalize="global")
    stream = FeatureStream(cfg)
    got = torch.cat([stream.push(x[i : i + chunk]) for i in range(0, len(x), chunk)])
    torch.testing.assert_close(got, F.features(x, cfg), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="streaming: expected features with normalize='global' or 'running'"):
        FeatureStream(FeatureConfig(normalize="utterance"))


def test_spec_augment_masks_bands_and_spans() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 100, 40)
    fill = torch.full((40,), 7.0)
    y = F.spec_augment(x, fill=fill, freq=8, time=10, masks=2)
    masked = y == 7.0
    assert masked.any() and not (x == 7.0).any()
    assert torch.equal(y[~masked], x[~masked])
    assert float(masked.float().mean()) < 0.5
    assert torch.equal(F.spec_augment(x, freq=0, time=0), x)


def test_bad_feature_settings() -> None:
    with pytest.raises(ValueError, match="features: expected 'logmel' or 'mfcc'"):
        FeatureConfig(kind="plp")
    with pytest.raises(ValueError, match=r"audio: expected \(S,\) mono samples"):
        F.features(np.zeros((2, 800), dtype=np.float32), FeatureConfig())

"""The synthesized spoken-digit corpus and its augmentations (lstmkit.apps.speech.data, augment, synth)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from lstmkit.apps.speech import augment, data, synth, wav

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)


def test_voice_split_is_disjoint() -> None:
    train, test = set(data.voices("train")), set(data.voices("test"))
    assert train and test and not train & test
    variants = {split: {v.split("+")[1] for v in data.voices(split)} for split in ("train", "test")}
    assert not variants["train"] & variants["test"]
    with pytest.raises(ValueError, match="split: expected one of"):
        data.voices("dev")


@needs_espeak
def test_corpus_is_deterministic_and_split_by_voice(tmp_path) -> None:
    a = data.load_corpus("test", 3, 4, seed=5, cache="")
    b = data.load_corpus("test", 3, 4, seed=5, cache="")
    c = data.load_corpus("test", 3, 4, seed=6, cache="")
    assert a.labels == b.labels and a.voices == b.voices
    assert all(np.array_equal(x, y) for x, y in zip(a.audio, b.audio, strict=True))
    assert a.labels != c.labels or a.voices != c.voices
    assert [len(s) for s in a.labels[:3]] == [1, 1, 1] and all(2 <= len(s) <= 7 for s in a.labels[3:])
    assert set(a.voices) <= set(data.voices("test"))
    assert all(x.dtype == np.float32 and 0.1 < len(x) / synth.SAMPLE_RATE < 8 for x in a.audio)


@needs_espeak
def test_cache_round_trip(tmp_path, monkeypatch) -> None:
    first = data.load_corpus("train", 2, 1, seed=1, cache=tmp_path)
    assert len(list(tmp_path.glob("digits_train_*.npz"))) == 1

    def no_synthesis(*args: object, **kwargs: object) -> None:
        raise AssertionError("synthesized again instead of reading the cache")

    monkeypatch.setattr(data, "synthesize", no_synthesis)
    second = data.load_corpus("train", 2, 1, seed=1, cache=tmp_path)
    assert second.labels == first.labels and second.voices == first.voices
    for x, y in zip(first.audio, second.audio, strict=True):
        assert np.abs(x - y).max() <= 1 / 32767 + 1e-7  # int16 in the cache


def test_missing_espeak_is_one_line(monkeypatch) -> None:
    monkeypatch.setattr(synth.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"apt-get install espeak-ng") as err:
        data.synthesize("train", 1, 0)
    assert "\n" not in str(err.value)


def test_bad_counts() -> None:
    with pytest.raises(ValueError, match="isolated: expected a count"):
        data.load_corpus("train", -1, 0, cache="")


def test_wav_round_trip_and_refusals(tmp_path) -> None:
    x = (0.3 * np.sin(np.arange(3200) * 0.1)).astype(np.float32)
    wav.write_wav(tmp_path / "a.wav", x)
    np.testing.assert_allclose(wav.load_wav(tmp_path / "a.wav"), x, atol=1 / 32767)
    wav.write_wav(tmp_path / "b.wav", x, rate=8000)
    assert len(wav.load_wav(tmp_path / "b.wav")) == 6400  # resampled to 16 kHz
    (tmp_path / "c.wav").write_bytes(b"not a wav file")
    with pytest.raises(ValueError, match=r"c.wav: expected a WAV file \(RIFF/WAVE\)"):
        wav.load_wav(tmp_path / "c.wav")
    with pytest.raises(FileNotFoundError, match="no such WAV file"):
        wav.load_wav(tmp_path / "missing.wav")


def test_noise_has_the_requested_snr() -> None:
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(32000) * 0.05).astype(np.float32)
    for snr in (0.0, 10.0, 20.0):
        for alpha in (0.0, 1.0, 2.0):
            y = augment.add_noise(x, snr, np.random.default_rng(1), alpha=alpha)
            n = y.astype(np.float64) - x
            measured = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(n**2))
            assert abs(measured - snr) < 0.05
    pink = augment.colored_noise(1 << 14, 1.0, rng)
    spec = np.abs(np.fft.rfft(pink)) ** 2
    assert spec[10:100].mean() > 5 * spec[1000:2000].mean()  # 1/f: more power at low frequencies


def test_speed_and_reverb() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16000).astype(np.float32)
    assert len(augment.speed_perturb(x, 0.9)) == 17778  # ceil(16000 * 10 / 9)
    assert len(augment.speed_perturb(x, 1.1)) == 14546  # ceil(16000 * 10 / 11)
    click = np.zeros(8000, dtype=np.float32)
    click[100] = 1.0
    wet = augment.reverberate(click, 0.3, rng)
    assert len(wet) == len(click) and abs(np.abs(wet).max() - 1.0) < 1e-6
    tail = np.abs(wet[200:])
    early, late = tail[:1600].mean(), tail[3200:4800].mean()  # 0.1 s and 0.2-0.3 s after the click
    assert early > 0 and late < early / 2  # an exponentially decaying tail


def test_augmented_is_seeded() -> None:
    corpus = data.SpeechCorpus([np.ones(4000, dtype=np.float32) * 0.1] * 3, ["1", "2", "3"], ["v"] * 3)
    cfg = augment.AugmentConfig(noise=1.0, reverb=1.0)
    a, b = data.augmented(corpus, cfg, 0), data.augmented(corpus, cfg, 0)
    assert all(np.array_equal(x, y) for x, y in zip(a.audio, b.audio, strict=True))
    assert not np.array_equal(a.audio[0], corpus.audio[0])

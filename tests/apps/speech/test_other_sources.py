"""The second synthesizer (flite: lstmkit.apps.speech.flite, the flite splits of data) and the
ALSA sample recordings (lstmkit.apps.speech.alsa)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from lstmkit.apps.speech import alsa, data, flite
from lstmkit.apps.speech.wav import SAMPLE_RATE, write_wav

needs_flite = pytest.mark.skipif(
    shutil.which("flite") is None, reason="flite is not installed (apt-get install flite)"
)


@needs_flite
def test_flite_speaks_at_16k_and_stretches() -> None:
    normal = flite.speak_flite("three one four", "slt")
    slow = flite.speak_flite("three one four", "slt", stretch=1.5)
    assert normal.dtype == np.float32 and 0.5 < len(normal) / SAMPLE_RATE < 3
    assert 1.3 < len(slow) / len(normal) < 1.7
    quiet = flite.speak_flite("three one four", "slt", gain=0.5)
    np.testing.assert_allclose(quiet, normal * 0.5, atol=1e-6)
    narrow = flite.speak_flite("three", "kal")  # an 8 kHz voice, resampled
    spectrum = np.abs(np.fft.rfft(narrow)) ** 2
    high = np.fft.rfftfreq(len(narrow), 1 / SAMPLE_RATE) > 4200
    assert spectrum[high].sum() < 1e-3 * spectrum.sum()  # nothing above its old Nyquist


@needs_flite
def test_flite_bad_input() -> None:
    with pytest.raises(ValueError, match="voice: expected one of flite's voices"):
        flite.speak_flite("one", "no-such-voice")  # flite itself would fall back silently
    with pytest.raises(ValueError, match="stretch: expected a duration factor"):
        flite.speak_flite("one", "slt", stretch=0.0)


def test_missing_flite_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"apt-get install flite"):
        flite.find_flite()


def test_flite_splits() -> None:
    assert data.voices("flite") == list(flite.FLITE_VOICES)
    assert not set(data.voices("flite-train")) & set(data.voices("flite-test"))
    assert set(data.voices("flite-train")) | set(data.voices("flite-test")) == set(flite.FLITE_VOICES)


@needs_flite
def test_flite_corpus_is_deterministic_and_cached(tmp_path) -> None:
    a = data.load_corpus("flite-test", 2, 2, seed=4, cache=str(tmp_path))
    b = data.load_corpus("flite-test", 2, 2, seed=4, cache=str(tmp_path))  # from the cache
    assert len(list(tmp_path.iterdir())) == 1
    assert a.labels == b.labels and set(a.voices) <= {"awb", "slt"}
    assert all(np.abs(x - y).max() < 1e-4 for x, y in zip(a.audio, b.audio, strict=True))
    assert [len(s) for s in a.labels][:2] == [1, 1] and all(2 <= len(s) <= 7 for s in a.labels[2:])


def test_alsa_loader(tmp_path) -> None:
    t = np.arange(48000 * 2) / 48000
    write_wav(tmp_path / "Rear_Left.wav", 0.3 * np.sin(2 * np.pi * 440 * t), rate=48000)
    write_wav(tmp_path / "Noise.wav", np.zeros(4800), rate=48000)
    got = alsa.load_alsa_samples(tmp_path)
    assert list(got) == ["Noise", "Rear_Left"]
    assert (
        len(got["Rear_Left"]) == 2 * SAMPLE_RATE and abs(float(got["Rear_Left"].std()) - 0.3 / 2**0.5) < 1e-3
    )
    assert [alsa.spoken_words(s) for s in got] == ["", "rear left"]
    with pytest.raises(
        FileNotFoundError, match=r"expected the ALSA sample recordings.*apt-get install alsa-utils"
    ):
        alsa.load_alsa_samples(tmp_path / "none")


@pytest.mark.skipif(not os.path.isdir(alsa.ALSA_FOLDER), reason="apt-get install alsa-utils")
def test_the_installed_alsa_recordings_load() -> None:
    got = alsa.load_alsa_samples()
    assert {"Front_Center", "Rear_Left", "Noise"} <= set(got)
    for audio in got.values():  # 48 kHz files, resampled: about a second and a half each
        assert audio.dtype == np.float32 and 0.5 < len(audio) / SAMPLE_RATE < 5 and audio.std() > 1e-3

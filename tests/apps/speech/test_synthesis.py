"""Digit synthesis: espeak-ng phonemes, durations, the mel pseudo-inverse, Griffin-Lim, the
acoustic model learning a tiny set, MCD, and ``lstmkit speech train-tts|say``."""

from __future__ import annotations

import logging
import math
import shutil

import numpy as np
import pytest
import torch

from lstmkit.apps.speech.distortion import dtw_path, mel_cepstral_distortion
from lstmkit.apps.speech.features import log_mel, mel_filterbank
from lstmkit.apps.speech.synthesis import check_digits, fit_durations, frame_inputs, phonemes, split_frames
from lstmkit.apps.speech.tts_estimator import DigitSynthesizer, _l1_step
from lstmkit.apps.speech.tts_job import random_strings, tts_corpus
from lstmkit.apps.speech.tts_model import MelAcousticModel
from lstmkit.apps.speech.vocoder import griffin_lim, magnitude, mel_to_magnitude, spectral_convergence
from lstmkit.apps.speech.wav import load_wav
from lstmkit.cli import main

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def _signal(seconds: float = 0.5, seed: int = 0) -> torch.Tensor:
    """A voiced-like test signal: harmonics of a gliding 120-180 Hz pitch, plus a little noise."""
    t = torch.arange(int(16000 * seconds), dtype=torch.float64) / 16000
    phase = 2 * math.pi * (120 * t + 60 * t**2 / (2 * seconds))
    x = sum(torch.sin(k * phase) / k for k in range(1, 20))
    gen = torch.Generator().manual_seed(seed)
    return (0.3 * x / 3 + 0.01 * torch.randn(len(t), generator=gen, dtype=torch.float64)).float()


@needs_espeak
def test_phonemes_of_a_known_string() -> None:
    assert phonemes("3 1 4", "en-us") == ("T", "r", "i:", "w", "V", "n", "f", "o@")
    assert phonemes("314", "en-us") == phonemes("3 1 4", "en-us")
    assert phonemes("0", "en-us") == ("z", "i@", "r", "oU")


def test_check_digits_is_one_line() -> None:
    assert check_digits(" 3 1 4 ") == "314"
    for bad in ("", "3 x", "3.1", "٣"):
        with pytest.raises(ValueError, match="digits: expected digits 0-9") as exc:
            check_digits(bad)
        assert "\n" not in str(exc.value)


def test_durations_recovered_and_split() -> None:
    rng = np.random.default_rng(0)
    truth = {"a": 3.0, "b": 5.0, "c": 8.0}
    seqs = [list(rng.choice(list(truth), int(rng.integers(2, 7)))) for _ in range(60)]
    frames = [sum(truth[p] for p in s) for s in seqs]
    got = fit_durations(seqs, frames)
    assert all(abs(got[p] - truth[p]) < 0.05 for p in truth)
    counts = split_frames(["a", "c", "b"], 32, got)
    assert sum(counts) == 32 and counts == [6, 16, 10]
    x = frame_inputs(["a", "c"], [2, 4], ["a", "b", "c"])
    assert x[:, :3].argmax(1).tolist() == [0, 0, 2, 2, 2, 2]
    assert x[:, 3].tolist() == [0.25, 0.75, 0.125, 0.375, 0.625, 0.875]
    with pytest.raises(ValueError, match="not in the training data"):
        frame_inputs(["q"], [1], ["a"])


def test_griffin_lim_reconstructs_a_known_magnitude() -> None:
    target = magnitude(_signal())
    start = spectral_convergence(target, griffin_lim(target, iterations=0))
    after = spectral_convergence(target, griffin_lim(target, iterations=100))
    assert start > 0.4
    assert after < 0.1


def test_mel_pseudo_inverse_round_trip() -> None:
    x = _signal()
    fbank = mel_filterbank(40)
    mel = log_mel(x, fbank)  # (T, 40)
    mag = mel_to_magnitude(mel, fbank)  # (257, T)
    again = torch.log(1e-6 + fbank @ mag**2).T
    # exact where the least-squares power is non-negative; clipping it costs the lowest bands
    assert (again - mel).abs().median() < 1e-3
    assert (again - mel).abs().mean() < 0.1

    # the vocoder's frames are centred: 200 samples of delay put them on the front end's
    def error(iterations: int) -> float:
        heard = log_mel(torch.cat([torch.zeros(200), griffin_lim(mag, iterations=iterations)]), fbank)
        t = min(len(heard), len(mel))
        return float((heard[:t] - mel[:t]).abs().mean())

    assert error(100) < 0.2
    assert error(0) > 1.0  # random phases: far off


def test_dtw_and_mcd() -> None:
    a = np.array([[0.0], [1.0], [2.0]])
    assert dtw_path(a, np.array([[0.0], [0.0], [1.0], [2.0], [2.0]])) == [
        (0, 0),
        (0, 1),
        (1, 2),
        (2, 3),
        (2, 4),
    ]
    x = _signal().numpy()
    assert mel_cepstral_distortion(x, x) == 0.0
    assert mel_cepstral_distortion(_signal(seed=1).numpy() * 0.5, x) < mel_cepstral_distortion(
        np.random.default_rng(0).normal(0, 0.1, len(x)).astype(np.float32), x
    )


@pytest.fixture(scope="module")
def tiny_tts() -> tuple[list[str], list[np.ndarray]]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    labels = random_strings(6, seed=3, lengths=(1, 3))
    return labels, tts_corpus(labels, "en-us+m3")


def test_acoustic_model_overfits_a_tiny_set(tiny_tts, tmp_path) -> None:
    labels, audio = tiny_tts
    torch.manual_seed(0)
    tts = DigitSynthesizer(hidden_size=32, num_layers=1, max_epochs=60, batch_size=6, lr=1e-2, progress=False)
    tts.fit(audio, labels)
    mels = tts.targets(audio)
    inputs = [tts.inputs(s) for s in labels]  # held for the mean durations: lengths differ
    assert set(tts.durations_) == set(tts.inventory_) and len(inputs) == len(labels)
    batch = next(iter(torch.utils.data.DataLoader(tts.dataset(labels, mels), batch_size=6)))
    trained, untrained = tts.nets_[0], tts._new_net(0)
    assert isinstance(trained, MelAcousticModel) and isinstance(untrained, MelAcousticModel)
    untrained.mean.copy_(trained.mean)
    untrained.std.copy_(trained.std)
    with torch.no_grad():
        before = float(_l1_step(untrained.eval(), batch).loss)
        after = float(_l1_step(trained, batch).loss)
    assert after < 0.5 * before, (before, after)
    tts.save(tmp_path / "tts.pt")
    again = DigitSynthesizer.load(tmp_path / "tts.pt")
    assert torch.allclose(again.mel("12"), tts.mel("12"))
    wave = tts.speak("12", iterations=10)
    assert wave.dtype == np.float32 and np.isfinite(wave).all() and np.abs(wave).max() <= 1.0


@pytest.mark.parametrize("task", ["say", "train-tts"])
def test_help(capsys, task: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["speech", task, "--help"])
    assert exc.value.code == 0
    assert f"usage: lstmkit speech {task}" in capsys.readouterr().out


def test_cli_train_say_and_one_line_errors(tiny_tts, tmp_path, caplog, capsys) -> None:
    argv = ["speech", "train-tts", "--strings", "4", "--epochs", "1", "--hidden", "8", "--num-layers", "1"]
    assert main([*argv, "--out", str(tmp_path), "--name", "t", "--no-progress"]) == 0
    model, out = str(tmp_path / "t" / "model.pt"), str(tmp_path / "a.wav")
    assert main(["speech", "say", "3 1", "--model", model, "--out", out, "--iterations", "5"]) == 0
    assert capsys.readouterr().out.strip().endswith(out)
    assert len(load_wav(out)) > 3200
    cases = [
        (["speech", "say", "3 x", "--model", model, "--out", str(tmp_path / "b.wav")], "digits: expected"),
        (
            ["speech", "say", "3", "--model", str(tmp_path / "no.pt"), "--out", str(tmp_path / "c.wav")],
            "--model: no such",
        ),
        (["speech", "say", "3", "--model", model, "--out", out], "--out: "),
        (["speech", "train-tts", "--strings", "1", "--out", str(tmp_path)], "--strings: expected"),
    ]
    for args, message in cases:
        caplog.clear()
        assert main(args) == 1
        (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert message in line and "\n" not in line

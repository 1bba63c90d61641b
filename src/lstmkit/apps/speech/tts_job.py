r"""The synthesis job (``lstmkit speech train-tts|say``).

* **train-tts** (:func:`train_tts`): espeak-ng speaks ``strings`` random digit strings (1-7
  digits, seeded) in one voice at a fixed speed, pitch and amplitude (:func:`tts_corpus`); a
  :class:`~lstmkit.apps.speech.tts_estimator.DigitSynthesizer` learns them; the run folder
  (``runs/NAME/``) holds ``model.pt`` and ``metrics.json``.
* **say** (:func:`say`): a saved synthesizer speaks a digit string into a WAV file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from lstmkit.apps.common.options import pick
from lstmkit.apps.common.reports import OutputOptions, check_device, check_folder_name
from lstmkit.apps.speech.data import DIGIT_WORDS
from lstmkit.apps.speech.job import load_saved
from lstmkit.apps.speech.synth import speak
from lstmkit.apps.speech.synthesis import check_digits
from lstmkit.apps.speech.tts_estimator import DigitSynthesizer
from lstmkit.apps.speech.wav import write_wav
from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.runfolder import prepare_run_folder, run_folder

__all__ = ["TTSTrainConfig", "load_synthesizer", "random_strings", "say", "train_tts", "tts_corpus"]

#: espeak-ng's settings of the reference voice: words per minute, pitch, amplitude
SPEED, PITCH, AMPLITUDE = 160, 50, 100


def random_strings(
    n: int, seed: int, exclude: Collection[str] = (), lengths: tuple[int, int] = (1, 7)
) -> list[str]:
    """``n`` distinct random digit strings of ``lengths`` digits, none in ``exclude``."""
    rng = np.random.default_rng([seed, 19])
    out: list[str] = []
    seen = set(exclude)
    while len(out) < n:
        s = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(lengths[0], lengths[1] + 1))))
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def tts_corpus(labels: list[str], voice: str) -> list[np.ndarray]:
    """espeak-ng's 16 kHz audio of each digit string in ``voice`` at the fixed settings."""
    return [
        speak(" ".join(DIGIT_WORDS[int(d)] for d in s), voice, speed=SPEED, pitch=PITCH, amplitude=AMPLITUDE)
        for s in labels
    ]


@dataclass(frozen=True)
class TTSTrainConfig(OutputOptions):
    """The settings of :func:`train_tts` (``lstmkit speech train-tts``).

    Args:
        voice: the espeak-ng voice spoken and learned. strings: training digit strings.
        hidden, num_layers, epochs, batch_size, lr, seed, device: the model and its training.
        exclude: digit strings kept out of training (held out for evaluation).
        name: the run folder (``None``: ``tts``).
        (and :class:`~lstmkit.apps.common.reports.OutputOptions`: out, overwrite, progress, echo)
    """

    voice: str = "en-us+m3"
    strings: int = 400
    hidden: int = 128
    num_layers: int = 2
    epochs: int = 40
    batch_size: int = 16
    lr: float = 3e-3
    seed: int = 0
    device: str = "cpu"
    exclude: tuple[str, ...] = ()
    name: str | None = None


def train_tts(config: TTSTrainConfig) -> DigitSynthesizer:
    """Synthesize the reference corpus, fit the synthesizer, write ``model.pt`` (``out``)."""
    if isinstance(config.strings, bool) or not isinstance(config.strings, int) or config.strings < 2:
        raise ValueError(f"--strings: expected at least 2 training strings, got {config.strings!r}")
    check_folder_name(config.name)
    check_device(config.device)
    folder = None if config.out is None else os.path.join(config.out, config.name or "tts")
    if folder is not None:
        prepare_run_folder(folder, "speech-tts", overwrite=config.overwrite)
    t0 = time.perf_counter()
    labels = random_strings(config.strings, config.seed, config.exclude)
    audio = tts_corpus(labels, config.voice)
    model = DigitSynthesizer(
        config.voice,
        hidden_size=config.hidden,
        num_layers=config.num_layers,
        max_epochs=config.epochs,
        **pick(config, "batch_size", "lr", "seed", "device", "progress"),
    ).fit(audio, labels)
    metrics = {
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k not in ("echo", "progress")},
        "final_train_loss": model.history_["train_loss"][-1],
        "fit_seconds": model.fit_seconds_,
        "total_seconds": time.perf_counter() - t0,
    }
    if config.echo:
        print(
            f"trained on {len(labels)} strings in {config.voice}: "
            f"final L1 loss {metrics['final_train_loss']:.4f}"
        )
    if folder is not None:
        with run_folder(folder, "speech-tts", overwrite=config.overwrite) as tmp:
            model.save(os.path.join(tmp, "model.pt"))
            atomic_write_text(os.path.join(tmp, "metrics.json"), json.dumps(metrics, indent=2))
        if config.echo:
            print(os.path.join(folder, "model.pt"))
    return model


def load_synthesizer(path: str | os.PathLike[str], device: str = "cpu") -> DigitSynthesizer:
    """A saved synthesizer (:func:`~lstmkit.apps.speech.job.load_saved`)."""
    return load_saved(DigitSynthesizer, path, "lstmkit speech train-tts", device)


def say(
    digits: str,
    model_path: str,
    out: str,
    *,
    iterations: int = 100,
    overwrite: bool = False,
    device: str = "cpu",
) -> np.ndarray:
    """Speak ``digits`` with the synthesizer at ``model_path`` into the WAV file ``out``
    (an existing file is kept unless ``overwrite``); returns the samples."""
    digits = check_digits(digits)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"--iterations: expected Griffin-Lim iterations >= 0, got {iterations!r}")
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"--out: {out!r} exists; pass --overwrite to replace it")
    wave = load_synthesizer(model_path, device).speak(digits, iterations)
    write_wav(out, wave)
    return wave

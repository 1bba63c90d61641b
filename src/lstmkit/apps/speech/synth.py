r"""Speech from Debian's ``espeak-ng`` synthesizer, as 16 kHz float waveforms.

``espeak-ng --stdout -v VOICE -s SPEED -p PITCH -a AMP TEXT`` writes a 22,050 Hz mono 16-bit
WAV stream to stdout (its RIFF sizes are placeholders). :func:`speak` reads it
(:func:`lstmkit.apps.speech.wav.decode_wav`) and resamples it to :data:`SAMPLE_RATE` with a
polyphase filter (``scipy.signal.resample_poly``, up 320 and down 441).

A voice is ``ACCENT+VARIANT``: an English accent of espeak-ng (:data:`ACCENTS`) with one of
its voice variants (``m1`` .. ``m8``, ``f1`` .. ``f5`` and named ones such as ``Andy``), which
change the formants, pitch range and voicing; e.g. ``"en-gb-scotland+f3"``.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

import numpy as np

from lstmkit.apps.speech.wav import SAMPLE_RATE, decode_wav, to_16k

__all__ = ["ACCENTS", "SAMPLE_RATE", "espeak_version", "find_espeak", "find_synthesizer", "speak"]
#: espeak-ng's English accents (distinct sounds; ``en-us-nyc`` speaks as ``en-us`` in 1.51)
ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)


def find_synthesizer(program: str) -> str:
    """The path of ``program`` (a synthesizer whose Debian package has its name); a one-line
    ``FileNotFoundError`` saying how to install it otherwise."""
    path = shutil.which(program)
    if path is None:
        raise FileNotFoundError(
            f"{program}: the speech synthesizer is not on PATH; "
            f"install it with `apt-get install {program}` (Debian/Ubuntu)"
        )
    return path


def find_espeak() -> str:
    """The path of ``espeak-ng`` (:func:`find_synthesizer`)."""
    return find_synthesizer("espeak-ng")


@lru_cache(maxsize=1)
def espeak_version() -> str:
    """``espeak-ng --version``'s first words (part of the corpus cache's key)."""
    out = subprocess.run([find_espeak(), "--version"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split()[:5])


def speak(text: str, voice: str, *, speed: int = 160, pitch: int = 50, amplitude: int = 100) -> np.ndarray:
    """``text`` spoken by espeak-ng in ``voice``, as (S,) float32 samples in [-1, 1] at 16 kHz.

    Args:
        text: what to say (plain words).
        voice: ``ACCENT`` or ``ACCENT+VARIANT``, e.g. ``"en-us+m3"``.
        speed: words per minute (espeak-ng's ``-s``, 80 .. 450).
        pitch: base pitch (``-p``, 0 .. 99).
        amplitude: loudness (``-a``, 0 .. 200).
    """
    cmd = [
        find_espeak(),
        "--stdout",
        "-v",
        voice,
        "-s",
        str(speed),
        "-p",
        str(pitch),
        "-a",
        str(amplitude),
        text,
    ]
    done = subprocess.run(cmd, capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(f"voice: espeak-ng could not speak {voice!r}: {err[0] if err else 'no audio'}")
    samples, rate = decode_wav(done.stdout, "espeak-ng output")
    return np.clip(to_16k(samples, rate), -1.0, 1.0)

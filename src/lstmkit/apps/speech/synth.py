r"""Speech from Debian's ``espeak-ng`` synthesizer, as 16 kHz float waveforms.

``espeak-ng --stdout -v VOICE -s SPEED -p PITCH -a AMP TEXT`` writes a 22,050 Hz mono 16-bit
WAV stream to stdout (its RIFF sizes are placeholders: the samples are whatever follows the
``data`` tag). :func:`speak` reads it and resamples it to :data:`SAMPLE_RATE` with a polyphase
filter (``scipy.signal.resample_poly``, up 320 and down 441).

A voice is ``ACCENT+VARIANT``: an English accent of espeak-ng (:data:`ACCENTS`) with one of
its voice variants (``m1`` .. ``m8``, ``f1`` .. ``f5`` and named ones such as ``Andy``), which
change the formants, pitch range and voicing; e.g. ``"en-gb-scotland+f3"``.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

import numpy as np
from scipy.signal import resample_poly

__all__ = ["ACCENTS", "SAMPLE_RATE", "espeak_version", "find_espeak", "read_wav_stream", "speak"]

#: the sample rate of every waveform of the speech app
SAMPLE_RATE = 16_000
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
_INSTALL = "install it with `apt-get install espeak-ng` (Debian/Ubuntu)"


def find_espeak() -> str:
    """The path of ``espeak-ng``; a one-line ``RuntimeError`` saying how to install it otherwise."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError(f"espeak-ng: the speech synthesizer is not on PATH; {_INSTALL}")
    return path


@lru_cache(maxsize=1)
def espeak_version() -> str:
    """``espeak-ng --version``'s first words (part of the corpus cache's key)."""
    out = subprocess.run([find_espeak(), "--version"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split()[:5])


def read_wav_stream(data: bytes) -> tuple[np.ndarray, int]:
    """The int16 samples and the sample rate of a mono 16-bit WAV in ``data`` (sizes ignored).

    Raises:
        ValueError: ``data`` is not a mono 16-bit PCM WAV.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"wav: expected a RIFF/WAVE stream, got {data[:12]!r}")
    pos, rate = 12, 0
    while pos + 8 <= len(data):
        tag, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if tag == b"fmt ":
            fmt, channels = np.frombuffer(data[pos + 8 : pos + 12], dtype="<u2")
            rate = int.from_bytes(data[pos + 12 : pos + 16], "little")
            bits = int.from_bytes(data[pos + 22 : pos + 24], "little")
            if (fmt, channels, bits) != (1, 1, 16):
                raise ValueError(
                    f"wav: expected mono 16-bit PCM, got format {fmt}, {channels} channels, {bits} bits"
                )
        elif tag == b"data":
            body = data[pos + 8 :]
            return np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2"), rate
        pos += 8 + size
    raise ValueError("wav: no data chunk")


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
        raise RuntimeError(f"espeak-ng: voice {voice!r} failed: {err[0] if err else 'no audio'}")
    samples, rate = read_wav_stream(done.stdout)
    x = samples.astype(np.float64) / 32768.0
    if rate != SAMPLE_RATE:
        g = np.gcd(rate, SAMPLE_RATE)
        x = resample_poly(x, SAMPLE_RATE // g, rate // g)
    return np.clip(x, -1.0, 1.0).astype(np.float32)

r"""Speech from Debian's ``flite`` synthesizer (CMU Flite), as 16 kHz float waveforms: a second
synthesizer, unlike espeak-ng's formant model, to test recognizers trained on espeak-ng only.

``flite -voice VOICE --setf duration_stretch=STRETCH -t TEXT -o FILE.wav`` writes a mono 16-bit
WAV (16 kHz; 8 kHz for ``kal``); :func:`speak_flite` reads it back
(:func:`lstmkit.apps.speech.wav.load_wav`, resampled to :data:`SAMPLE_RATE`). The speaking rate
is set by stretching every phone's duration: a stretch :math:`s` lasts about :math:`s` times as
long (``s = 160 / words_per_minute`` maps espeak-ng's rates onto it).

The voices built into Debian's flite 2.2 (``flite -lv``): ``kal`` (a US male diphone voice at
8 kHz), ``kal16`` (the same speaker at 16 kHz), and the statistical parametric (clustergen)
voices ``awb`` (Scottish English male), ``rms`` (US male) and ``slt`` (US female).
``awb_time`` speaks only times of day and is not used. flite silently falls back to its
default voice for an unknown name, so :func:`speak_flite` checks the name against the list.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from functools import lru_cache

import numpy as np

from lstmkit.apps.speech.synth import find_synthesizer
from lstmkit.apps.speech.wav import SAMPLE_RATE, load_wav

__all__ = ["FLITE_VOICES", "SAMPLE_RATE", "find_flite", "flite_version", "installed_voices", "speak_flite"]

#: the flite voices that speak any text (``awb_time`` is a talking clock)
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")


def find_flite() -> str:
    """The path of ``flite`` (:func:`~lstmkit.apps.speech.synth.find_synthesizer`)."""
    return find_synthesizer("flite")


@lru_cache(maxsize=1)
def flite_version() -> str:
    """``flite --version``'s version line (part of the corpus cache's key)."""
    out = subprocess.run([find_flite(), "--version"], capture_output=True, text=True, check=False).stdout
    lines = [line.strip() for line in out.splitlines() if "version" in line]
    return lines[0] if lines else "flite"


@lru_cache(maxsize=1)
def installed_voices() -> tuple[str, ...]:
    """The voices ``flite -lv`` lists (``Voices available: kal awb ...``)."""
    out = subprocess.run([find_flite(), "-lv"], capture_output=True, text=True, check=False).stdout
    return tuple(out.split(":", 1)[-1].split())


def speak_flite(text: str, voice: str, *, stretch: float = 1.0, gain: float = 1.0) -> np.ndarray:
    """``text`` spoken by flite in ``voice``, as (S,) float32 samples in [-1, 1] at 16 kHz.

    Args:
        text: what to say (plain words).
        voice: one of :func:`installed_voices`, e.g. ``"slt"``.
        stretch: the phones' duration factor (flite's ``duration_stretch``; > 1 is slower),
            in [0.25, 4].
        gain: a factor on the samples (clipped to [-1, 1]).
    """
    if voice not in installed_voices():
        raise ValueError(f"voice: expected one of flite's voices {installed_voices()}, got {voice!r}")
    if not 0.25 <= stretch <= 4.0:
        raise ValueError(f"stretch: expected a duration factor in [0.25, 4], got {stretch!r}")
    fd, path = tempfile.mkstemp(suffix=".wav", prefix="lstmkit-flite-")
    os.close(fd)
    try:
        cmd = [find_flite(), "-voice", voice, "--setf", f"duration_stretch={stretch:.4f}"]
        done = subprocess.run([*cmd, "-t", text, "-o", path], capture_output=True, check=False)
        if done.returncode != 0 or os.path.getsize(path) <= 44:
            err = done.stderr.decode(errors="replace").strip().splitlines()
            raise ValueError(f"voice: flite could not speak {voice!r}: {err[0] if err else 'no audio'}")
        audio = load_wav(path)
    finally:
        os.unlink(path)
    return np.clip(audio * gain, -1.0, 1.0).astype(np.float32)

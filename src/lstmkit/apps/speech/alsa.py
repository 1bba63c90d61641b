r"""The ALSA sample recordings: a small set of real (human, recorded) speech with no digits in it,
to see what the digit recognizers and the keyword spotter do on speech they were not made for.

Debian's ``alsa-utils`` installs ``/usr/share/sounds/alsa/*.wav`` (the test sounds of
``speaker-test``): a person saying the name of a loudspeaker position (``Front_Center.wav``:
"front center", ``Rear_Left.wav``: "rear left", ...; 48 kHz mono 16-bit) and ``Noise.wav``
(noise, no speech). :func:`load_alsa_samples` reads them at 16 kHz
(:func:`lstmkit.apps.speech.wav.load_wav`); what is said is the file's name with ``_`` as a
space (:func:`spoken_words`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lstmkit.apps.speech.wav import load_wav

__all__ = ["ALSA_FOLDER", "load_alsa_samples", "spoken_words"]

#: where Debian's alsa-utils puts its sample recordings
ALSA_FOLDER = "/usr/share/sounds/alsa"
_INSTALL = "install them with `apt-get install alsa-utils` (Debian/Ubuntu)"


def spoken_words(name: str) -> str:
    """What the recording ``name`` (its file stem) says: ``"Front_Center"`` -> ``"front center"``;
    ``""`` for ``"Noise"`` (no speech)."""
    return "" if name.lower() == "noise" else name.replace("_", " ").lower()


def load_alsa_samples(folder: str | os.PathLike[str] | None = None) -> dict[str, np.ndarray]:
    """The recordings of ``folder`` (default :data:`ALSA_FOLDER`) by file stem, sorted, as (S,)
    float32 at 16 kHz; a one-line ``FileNotFoundError`` naming ``apt-get install alsa-utils``
    if there are none."""
    where = Path(ALSA_FOLDER if folder is None else folder)
    files = sorted(where.glob("*.wav")) if where.is_dir() else []
    if not files:
        raise FileNotFoundError(
            f"{where}: expected the ALSA sample recordings (*.wav), found none; {_INSTALL}"
        )
    return {f.stem: load_wav(f) for f in files}

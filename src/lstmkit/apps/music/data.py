r"""Bach chorales as binary piano rolls, from the music21 corpus (offline, cached).

The chorales are those of music21's ``corpus.chorales.Iterator`` (Riemenschneider's
collection, 371 entries naming 350 distinct files), each parsed once and kept when it has the
four parts soprano, alto, tenor and bass (the few with instrumental parts are skipped); a
chorale whose roll equals an earlier one's (in sorted name order) is dropped, so no music is in
two splits.

Encoding (as the JSB Chorales of Boulanger-Lewandowski et al. 2012):

* **time**: a frame every ``1 / resolution`` quarter notes (``resolution=1``: quarter notes,
  the default; ``4``: 16th notes). A pitch is on in frame t when a note of that pitch sounds
  at the frame's start, ``onset <= t / resolution < onset + duration``; shorter notes between
  two sample points (passing eighths at quarter resolution) are not seen. A repeated note and a
  held one look the same.
* **pitch**: MIDI numbers, **not transposed** (every chorale in its own key), the columns
  spanning the range the loaded chorales use (:attr:`Chorales.low` ..
  :attr:`Chorales.low` + P - 1).
* **split** (fixed, by chorale): the 350 names sorted (``bach/bwv1.6`` ...), the i-th
  goes to ``valid`` when i % 5 == 3, to ``test`` when i % 5 == 4, else to ``train``
  (60 / 20 / 20, JSB's proportions; not JSB's own split, see docs/music.md).

Parsing every chorale with music21 takes a minute or two, so the rolls are kept in a
compressed ``.npz`` under ``$LSTMKIT_DATA/music`` (else ``~/.cache/lstmkit/music``), written
atomically and byte for byte the same for the same chorales, music21 version and settings.

Shapes: L frames, P pitches (the used range), 128 (every MIDI pitch).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.io.atomic import atomic_write_bytes
from lstmkit.io.progress import progress_bar

__all__ = [
    "SPLITS",
    "Chorales",
    "cache_dir",
    "check_resolution",
    "chorale_names",
    "frame_at",
    "load_chorales",
    "piano_roll",
    "require_music21",
    "split_of",
]

SPLITS = ("train", "valid", "test")
#: what changes the cached rolls besides the settings: bump to invalidate old caches
FORMAT = 1
INSTALL = "pip install 'music21==10.5.*'"


def require_music21() -> Any:
    """The ``music21`` module, or a one-line ``ImportError`` saying what to install."""
    try:
        import music21
    except ImportError:
        raise ImportError(f"the Bach chorales and MIDI files need music21: {INSTALL}") from None
    return music21


def cache_dir() -> Path:
    """Where parsed chorales are kept: ``$LSTMKIT_DATA/music`` or ``~/.cache/lstmkit/music``."""
    return Path(os.environ.get("LSTMKIT_DATA") or Path.home() / ".cache" / "lstmkit") / "music"


def check_resolution(resolution: object) -> int:
    """``resolution`` (frames per quarter note) as an int in 1..12; a one-line error otherwise."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 1 <= resolution <= 12:
        raise ValueError(
            f"resolution: expected frames per quarter note, an int in 1..12 (1: quarter notes, "
            f"4: 16th notes), got {resolution!r}"
        )
    return resolution


def frame_at(offset: float, resolution: int) -> int:
    """The first frame whose start is at or after ``offset`` quarter notes."""
    return math.ceil(float(offset) * resolution - 1e-9)


def piano_roll(stream: Any, resolution: int = 1) -> np.ndarray:
    """The binary piano roll of a music21 stream, sampled every ``1 / resolution`` quarters.

    Args:
        stream: a music21 ``Score``, ``Part`` or ``Stream`` (notes and chords at any depth).
        resolution: frames per quarter note.

    Returns:
        (L, 128) uint8, ``roll[t, m] = 1`` when MIDI pitch m sounds at ``t / resolution``
        quarter notes; L covers the stream's whole duration.
    """
    check_resolution(resolution)
    flat = stream.flatten()
    length = frame_at(flat.highestTime, resolution)
    roll = np.zeros((length, 128), dtype=np.uint8)
    for element in flat.notes:
        start = frame_at(element.offset, resolution)
        end = min(frame_at(element.offset + element.duration.quarterLength, resolution), length)
        for pitch in element.pitches:
            if 0 <= pitch.midi < 128:
                roll[start:end, pitch.midi] = 1
    return roll


def split_of(index: int) -> str:
    """The split of the ``index``-th chorale in name order: valid if index % 5 == 3, test if 4."""
    r = index % 5
    return "valid" if r == 3 else "test" if r == 4 else "train"


def chorale_names() -> list[str]:
    """The distinct names of music21's chorales (``"bach/bwv1.6"``), sorted."""
    music21 = require_music21()
    return sorted(set(music21.corpus.chorales.Iterator(returnType="filename")))


@dataclass(frozen=True)
class Chorales:
    """Piano rolls of chorales over one pitch range.

    Attributes:
        names: the chorales' names, sorted.
        rolls: one (L_i, P) uint8 roll each.
        low: the MIDI pitch of column 0.
        resolution: frames per quarter note.
        splits: each chorale's split (``"train"``, ``"valid"``, ``"test"``).
    """

    names: tuple[str, ...]
    rolls: tuple[np.ndarray, ...]
    low: int
    resolution: int
    splits: tuple[str, ...]

    @property
    def pitches(self) -> int:
        """P, the columns of a roll."""
        return int(self.rolls[0].shape[1]) if self.rolls else 0

    def split(self, name: str) -> list[np.ndarray]:
        """The rolls of split ``name`` (``"train"``, ``"valid"`` or ``"test"``), in name order."""
        if name not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {name!r}")
        return [r for r, s in zip(self.rolls, self.splits, strict=True) if s == name]

    def names_of(self, name: str) -> list[str]:
        """The names of the chorales of split ``name``."""
        return [n for n, s in zip(self.names, self.splits, strict=True) if s == name]


def _parse_all(names: list[str], resolution: int, progress: bool) -> tuple[list[str], list[np.ndarray]]:
    """Parse ``names``; keep the four-part chorales whose roll is new (see the module docstring)."""
    music21 = require_music21()
    kept: list[str] = []
    rolls: list[np.ndarray] = []
    seen: set[bytes] = set()
    bar = progress_bar(len(names), "parse chorales", enable=progress)
    try:
        for name in names:
            score = music21.corpus.parse(name)
            bar.update(1)
            if len(score.parts) != 4:
                continue
            roll = piano_roll(score, resolution)
            digest = hashlib.sha256(roll.tobytes() + str(roll.shape).encode()).digest()
            if digest in seen or not roll.any():
                continue
            seen.add(digest)
            kept.append(name)
            rolls.append(roll)
    finally:
        bar.close()
    return kept, rolls


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed ``.npz`` of ``arrays`` with fixed entry dates (the same bytes every time)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            entry = io.BytesIO()
            np.lib.format.write_array(entry, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            archive.writestr(info, entry.getvalue())
    return buffer.getvalue()


def _cache_file(folder: Path, names: list[str], resolution: int) -> Path:
    try:
        version = metadata.version("music21")
    except metadata.PackageNotFoundError:
        version = "missing"
    key = json.dumps([names, resolution, version, FORMAT])
    return folder / f"chorales_r{resolution}_{hashlib.sha256(key.encode()).hexdigest()[:12]}.npz"


def _read_cache(path: Path) -> tuple[list[str], list[np.ndarray]]:
    with np.load(path, allow_pickle=False) as f:
        names = [str(n) for n in f["names"]]
        bounds = np.cumsum(f["lengths"])[:-1]
        rolls = np.split(np.unpackbits(f["bits"], axis=1)[:, :128], bounds)
    return names, list(rolls)


def _parsed(
    names: list[str], resolution: int, cache: Path, progress: bool
) -> tuple[list[str], list[np.ndarray]]:
    """The kept names and their (L, 128) rolls: from the cache file, else parsed and cached."""
    path = _cache_file(cache, names, resolution)
    if path.is_file():
        return _read_cache(path)
    kept, rolls = _parse_all(names, resolution, progress)
    arrays = {
        "names": np.array(kept, dtype=np.str_),
        "lengths": np.array([len(r) for r in rolls], dtype=np.int64),
        "bits": np.packbits(np.concatenate(rolls), axis=1),
    }
    atomic_write_bytes(path, npz_bytes(arrays))
    return kept, rolls


def load_chorales(
    resolution: int = 1,
    *,
    cache: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Chorales:
    """The Bach chorales of music21's corpus as piano rolls over their used pitch range.

    Args:
        resolution: frames per quarter note (1: quarter notes, as JSB; 4: 16th notes).
        cache: the folder of the parsed rolls (default :func:`cache_dir`).
        progress: a progress bar on stderr while parsing (the first time only).

    Returns:
        :class:`Chorales`, sorted by name, with their fixed splits (:func:`split_of`).
    """
    check_resolution(resolution)
    every = chorale_names()
    position = {name: i for i, name in enumerate(every)}
    names, rolls = _parsed(every, resolution, Path(cache or cache_dir()), progress)
    used = np.flatnonzero(np.any([r.any(0) for r in rolls], axis=0))
    low, high = int(used[0]), int(used[-1])
    return Chorales(
        names=tuple(names),
        rolls=tuple(np.ascontiguousarray(r[:, low : high + 1]) for r in rolls),
        low=low,
        resolution=resolution,
        splits=tuple(split_of(position[n]) for n in names),
    )

r"""Folk-song melodies from music21's corpus (the Essen collection), as token sequences
(offline, cached).

The tunes are those of the 31 ``essenFolksong/*.abc`` files that ship inside the music21
wheel (each an opus of many tunes: about 8,500 in all), parsed once with music21's ABC reader.

Encoding (one token per note or rest):

* **pitch**: the MIDI number, each tune **transposed** by the smallest shift (-5 .. +6
  semitones) that takes its key signature to none (C major, A minor and their modes), so that
  scale degrees, not keys, are what the model learns; ``r`` for a rest (consecutive rests are
  merged).
* **duration**: the note's length in quarter notes as an exact fraction (``1/2`` an eighth,
  ``1/3`` a triplet eighth); a note tied over a bar line is one note of the summed length;
  grace notes (no duration) are dropped; a chord (rare) keeps its top pitch.
* a token is ``"PITCH:DURATION"``, e.g. ``"67:3/2"`` (a dotted quarter G) or ``"r:1/2"``.

Split (fixed, by tune): the tunes sorted by (file, number in the file), the i-th goes to
``valid`` when i % 10 == 8, to ``test`` when i % 10 == 9, else to ``train`` (80 / 10 / 10,
i counting every parsed tune of the files); a tune whose tokens equal an earlier tune's is
dropped, so no tune is in two splits (near variants of a tune, which the collection has, may
be).

Parsing takes minutes, so the tunes are kept in a compressed ``.npz`` under
``$LSTMKIT_DATA/music`` (see :func:`~lstmkit.apps.music.data.cache_dir`), written atomically,
the same bytes for the same files and music21 version.

Shapes: a tune is an (n, 3) int array of notes: pitch (-1 for a rest), duration numerator,
duration denominator.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from fractions import Fraction
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from lstmkit.apps.music.data import SPLITS, cache_dir, npz_bytes, require_music21
from lstmkit.io.atomic import atomic_write_bytes
from lstmkit.io.progress import progress_bar

__all__ = [
    "REST",
    "Melodies",
    "essen_files",
    "load_melodies",
    "melody_split",
    "note_token",
    "token_note",
    "tune_notes",
]

#: the pitch of a rest
REST = -1
#: what changes the cached tunes besides the files: bump to invalidate old caches
FORMAT = 1


def essen_files() -> list[str]:
    """The names of the Essen ``.abc`` files in music21's corpus, sorted (``"altdeu10.abc"``)."""
    music21 = require_music21()
    paths = [Path(str(p)) for p in music21.corpus.getCorePaths(fileExtensions=["abc"])]
    return sorted(p.name for p in paths if p.parent.name == "essenFolksong")


def _essen_path(name: str) -> Path:
    music21 = require_music21()
    for p in music21.corpus.getCorePaths(fileExtensions=["abc"]):
        if Path(str(p)).name == name and Path(str(p)).parent.name == "essenFolksong":
            return Path(str(p))
    raise ValueError(f"files: expected Essen .abc files of music21's corpus, got {name!r}")


def _shift(score: Any) -> int:
    """The semitones (-5 .. +6) that take the tune's first key signature to no sharps or flats."""
    keys = score.flatten().getElementsByClass("KeySignature")
    sharps = int(keys[0].sharps) if len(keys) else 0
    shift = (-7 * sharps) % 12  # each sharp moves the tonic a fifth (7 semitones) up
    return shift - 12 if shift > 6 else shift


def tune_notes(score: Any) -> np.ndarray:
    """The (n, 3) notes of a music21 tune (see the module docstring): transposed pitch (-1:
    rest), duration numerator and denominator in quarter notes."""
    shift = _shift(score)
    notes: list[list[Any]] = []  # [pitch, Fraction]
    for el in score.flatten().notesAndRests:
        length = Fraction(el.duration.quarterLength).limit_denominator(96)
        if length == 0:
            continue  # a grace note
        pitch = REST if el.isRest else max(p.midi for p in el.pitches) + shift
        tied = el.tie is not None and el.tie.type in ("continue", "stop")
        if notes and (tied or pitch == REST == notes[-1][0]):
            notes[-1][1] += length
        else:
            notes.append([pitch, length])
    while notes and notes[-1][0] == REST:
        notes.pop()  # trailing rests say nothing
    while notes and notes[0][0] == REST:
        notes.pop(0)
    return np.array([[p, d.numerator, d.denominator] for p, d in notes], dtype=np.int32).reshape(-1, 3)


def note_token(pitch: int, duration: Fraction) -> str:
    """``"PITCH:DURATION"`` (``"r"`` for a rest), e.g. ``"67:3/2"``."""
    return f"{'r' if pitch == REST else int(pitch)}:{duration}"


def token_note(token: str) -> tuple[int, Fraction]:
    """The (pitch, duration) of a token of :func:`note_token`; ``ValueError`` if it is none."""
    try:
        pitch, duration = token.split(":")
        return (REST if pitch == "r" else int(pitch)), Fraction(duration)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"token: expected 'PITCH:DURATION' (e.g. '67:1/2'), got {token!r}") from None


def melody_split(index: int) -> str:
    """The split of the ``index``-th tune in (file, number) order: valid if index % 10 == 8,
    test if 9, else train."""
    r = index % 10
    return "valid" if r == 8 else "test" if r == 9 else "train"


@dataclass(frozen=True)
class Melodies:
    """Tunes as note tokens.

    Attributes:
        names: ``"file.abc#k"`` (the k-th tune of the file, from 0).
        tunes: one tuple of tokens (:func:`note_token`) per tune.
        splits: each tune's split.
    """

    names: tuple[str, ...]
    tunes: tuple[tuple[str, ...], ...]
    splits: tuple[str, ...]

    def split(self, name: str) -> list[tuple[str, ...]]:
        """The tunes of split ``name`` (``"train"``, ``"valid"`` or ``"test"``), in order."""
        if name not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {name!r}")
        return [t for t, s in zip(self.tunes, self.splits, strict=True) if s == name]


def _parse(files: list[str], progress: bool) -> dict[str, np.ndarray]:
    """Every tune of ``files``: names, note counts and the notes of all, concatenated."""
    music21 = require_music21()
    names: list[str] = []
    tunes: list[np.ndarray] = []
    bar = progress_bar(len(files), "parse folk songs", enable=progress)
    try:
        for name in files:
            opus = music21.converter.parse(_essen_path(name))
            scores = list(opus.scores) if hasattr(opus, "scores") else [opus]
            for k, score in enumerate(scores):
                names.append(f"{name}#{k}")
                tunes.append(tune_notes(score))
            bar.update(1)
    finally:
        bar.close()
    return {
        "names": np.array(names, dtype=np.str_),
        "lengths": np.array([len(t) for t in tunes], dtype=np.int64),
        "notes": np.concatenate(tunes) if tunes else np.zeros((0, 3), np.int32),
    }


def _cached(files: list[str], cache: Path, progress: bool) -> dict[str, np.ndarray]:
    try:
        version = metadata.version("music21")
    except metadata.PackageNotFoundError:
        version = "missing"
    key = hashlib.sha256(json.dumps([files, version, FORMAT]).encode()).hexdigest()[:12]
    path = cache / f"essen_{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in ("names", "lengths", "notes")}
    arrays = _parse(files, progress)
    atomic_write_bytes(path, npz_bytes(arrays))
    return arrays


def load_melodies(
    files: list[str] | None = None,
    *,
    cache: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Melodies:
    """The Essen folk songs of music21's corpus as note tokens, with their fixed splits.

    Args:
        files: which ``.abc`` files (default all of :func:`essen_files`).
        cache: the folder of the parsed tunes (default :func:`~lstmkit.apps.music.data.cache_dir`).
        progress: a progress bar on stderr while parsing (the first time only).
    """
    every = essen_files()
    chosen = sorted(every if files is None else files)
    unknown = sorted(set(chosen) - set(every))
    if unknown or not chosen:
        raise ValueError(f"files: expected names of {len(every)} Essen .abc files, got {unknown or chosen}")
    arrays = _cached(chosen, Path(cache or cache_dir()), progress)
    bounds = np.cumsum(arrays["lengths"])[:-1]
    names, tunes, splits, seen = [], [], [], set()
    for i, (name, notes) in enumerate(zip(arrays["names"], np.split(arrays["notes"], bounds), strict=True)):
        tokens = tuple(note_token(int(p), Fraction(int(a), int(b))) for p, a, b in notes)
        if tokens and tokens not in seen:
            seen.add(tokens)
            names.append(str(name))
            tunes.append(tokens)
            splits.append(melody_split(i))
    return Melodies(tuple(names), tuple(tunes), tuple(splits))

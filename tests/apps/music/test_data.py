"""Piano rolls of music21 streams, the chorale cache and the fixed split."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from lstmkit.apps.music import data

music21 = pytest.importorskip("music21")


def _two_part_score() -> object:
    """Soprano: C5 quarter, D5 half, an eighth E5 at beat 3.5; bass: a C3-G3 chord, whole."""
    soprano = music21.stream.Part()
    soprano.insert(0, music21.note.Note("C5", quarterLength=1))
    soprano.insert(1, music21.note.Note("D5", quarterLength=2))
    soprano.insert(3.5, music21.note.Note("E5", quarterLength=0.5))
    bass = music21.stream.Part()
    bass.insert(0, music21.chord.Chord(["C3", "G3"], quarterLength=4))
    score = music21.stream.Score()
    score.insert(0, soprano)
    score.insert(0, bass)
    return score


def test_piano_roll_quarter_notes_land_in_known_cells() -> None:
    roll = data.piano_roll(_two_part_score(), resolution=1)
    assert roll.shape == (4, 128)
    expected = np.zeros((4, 128), dtype=np.uint8)
    expected[0, 72] = 1  # C5
    expected[1:3, 74] = 1  # D5, two quarters
    expected[:, [48, 55]] = 1  # the bass chord throughout
    # the eighth E5 at 3.5 falls between two quarter-note samples: not seen
    np.testing.assert_array_equal(roll, expected)


def test_piano_roll_sixteenths_see_the_eighth_note() -> None:
    roll = data.piano_roll(_two_part_score(), resolution=4)
    assert roll.shape == (16, 128)
    np.testing.assert_array_equal(np.flatnonzero(roll[:, 76]), [14, 15])  # E5 at 3.5 .. 4
    np.testing.assert_array_equal(np.flatnonzero(roll[:, 74]), np.arange(4, 12))
    assert roll[:, 48].all() and roll.sum() == 4 + 8 + 2 + 32


def test_split_fixed_and_proportions() -> None:
    splits = [data.split_of(i) for i in range(350)]
    assert splits[:5] == ["train", "train", "train", "valid", "test"]
    assert [splits.count(s) for s in data.SPLITS] == [210, 70, 70]
    assert splits == [data.split_of(i) for i in range(350)]


def test_cache_deterministic_and_splits_disjoint(tmp_path, monkeypatch) -> None:
    names = data.chorale_names()
    assert len(names) > 300 and names == sorted(set(names))
    chosen = names[:5]
    monkeypatch.setattr(data, "chorale_names", lambda: chosen)
    first = data.load_chorales(1, cache=tmp_path, progress=False)
    (file,) = tmp_path.glob("chorales_r1_*.npz")
    written = file.read_bytes()
    again = data.load_chorales(1, cache=tmp_path, progress=False)  # from the cache
    assert again.names == first.names and again.low == first.low
    for a, b in zip(first.rolls, again.rolls, strict=True):
        np.testing.assert_array_equal(a, b)
    file.unlink()
    data.load_chorales(1, cache=tmp_path, progress=False)  # parsed again: the same bytes
    assert file.read_bytes() == written
    parts = [set(first.names_of(s)) for s in data.SPLITS]
    assert set.union(*parts) == set(first.names) and sum(map(len, parts)) == len(first.names)
    assert first.names_of("test") == [n for n in first.names if chosen.index(n) == 4]
    # the pitch range is the used one: the first and last columns both hold notes
    used = np.asarray(np.concatenate(first.rolls).any(axis=0), dtype=bool)
    assert used[0] and used[-1] and first.pitches == len(used)


def test_missing_music21_one_line(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "music21", None)
    with pytest.raises(ImportError, match=r"need music21: pip install 'music21==10\.5\.\*'$"):
        data.require_music21()


def test_bad_resolution() -> None:
    with pytest.raises(ValueError, match="resolution: expected"):
        data.piano_roll(_two_part_score(), resolution=0)

"""Piano rolls written as MIDI read back to the same rolls."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("music21")

from lstmkit.apps.music.midi import read_midi, write_midi


@pytest.mark.parametrize("resolution", [1, 4])
def test_midi_round_trip(tmp_path, resolution: int) -> None:
    rng = np.random.default_rng(resolution)
    roll = (rng.random((24, 10)) < 0.3).astype(np.uint8)
    roll[-1, 3] = 1  # a note at the end: trailing silence is not kept by MIDI
    path = tmp_path / "piece.mid"
    write_midi(path, roll, low=60, resolution=resolution)
    back = read_midi(path, resolution)
    assert back.shape == (24, 128)
    np.testing.assert_array_equal(back[:, 60:70], roll)
    assert not back[:, :60].any() and not back[:, 70:].any()


def test_bad_midi_inputs(tmp_path) -> None:
    with pytest.raises(ValueError, match="low: expected a MIDI pitch"):
        write_midi(tmp_path / "x.mid", np.zeros((4, 10)), low=120)
    with pytest.raises(ValueError, match="roll: expected an"):
        write_midi(tmp_path / "x.mid", np.full((4, 10), 2), low=60)
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"not midi at all")
    with pytest.raises(ValueError, match="is not a readable MIDI file"):
        read_midi(junk)


def test_dense_roll_round_trip(tmp_path) -> None:
    roll = (np.random.default_rng(0).random((16, 46)) < 0.5).astype(np.uint8)  # many notes at once
    roll[-1, 0] = 1
    write_midi(tmp_path / "dense.mid", roll, low=36)
    np.testing.assert_array_equal(read_midi(tmp_path / "dense.mid")[:, 36:82], roll)

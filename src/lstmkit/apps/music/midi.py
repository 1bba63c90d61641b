r"""Piano rolls and melodies to MIDI files, and MIDI files back to notes and rolls (through
music21).

A roll becomes one part of notes: each maximal run of frames in which a pitch is on is one note
from the run's first frame to its end (so a repeated note within a run is held, as the roll
cannot tell them apart). Reading a file back gives the same roll (:func:`read_midi`), up to the
silent frames after the last note, which a MIDI file does not keep. A melody (pitches or rests
with exact durations) becomes one part of notes (:func:`write_melody_midi`); :func:`read_notes`
gives its notes back.

Shapes: L frames, P pitches (MIDI ``low`` .. ``low + P - 1``), 128 (every MIDI pitch).
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

import numpy as np

from lstmkit.apps.music.data import check_resolution, frame_at, require_music21
from lstmkit.io.atomic import atomic_write_bytes

__all__ = ["melody_to_stream", "read_midi", "read_notes", "roll_to_stream", "write_melody_midi", "write_midi"]


def _check_roll(roll: Any, low: int) -> np.ndarray:
    a = np.asarray(roll)
    if a.ndim != 2 or not np.isin(a, (0, 1)).all():
        raise ValueError(f"roll: expected an (L, P) piano roll of 0/1 values, got shape {a.shape}")
    if isinstance(low, bool) or not isinstance(low, int) or low < 0 or low + a.shape[1] > 128:
        raise ValueError(f"low: expected a MIDI pitch with low + P <= 128 (P = {a.shape[1]}), got {low!r}")
    return a.astype(bool)


def roll_to_stream(roll: Any, low: int, resolution: int = 1, tempo: float = 80.0) -> Any:
    """A music21 ``Score`` (one piano part) of ``roll`` (L, P) whose column 0 is MIDI ``low``,
    ``resolution`` frames per quarter note, at ``tempo`` quarter notes per minute."""
    music21 = require_music21()
    on = _check_roll(roll, low)
    check_resolution(resolution)
    part = music21.stream.Part()
    part.insert(0, music21.instrument.Piano())
    part.insert(0, music21.tempo.MetronomeMark(number=tempo))
    padded = np.pad(on, ((1, 1), (0, 0))).astype(np.int8)
    for pitch in range(on.shape[1]):
        edges = np.diff(padded[:, pitch])
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        for s, e in zip(starts, ends, strict=True):
            n = music21.note.Note(midi=low + pitch)
            n.duration = music21.duration.Duration(Fraction(int(e - s), resolution))
            part.insert(Fraction(int(s), resolution), n)
    score = music21.stream.Score()
    score.insert(0, part)
    return score


def write_midi(
    path: str | os.PathLike[str], roll: Any, low: int, resolution: int = 1, tempo: float = 80.0
) -> None:
    """Write ``roll`` (see :func:`roll_to_stream`) as a standard MIDI file, atomically."""
    _write_score(path, roll_to_stream(roll, low, resolution, tempo))


def _write_score(path: str | os.PathLike[str], score: Any) -> None:
    music21 = require_music21()
    atomic_write_bytes(path, music21.midi.translate.music21ObjectToMidiFile(score).writestr())


def melody_to_stream(notes: Any, tempo: float = 100.0) -> Any:
    """A music21 ``Score`` (one piano part) of a melody: ``notes`` a sequence of (MIDI pitch or
    -1 for a rest, duration in quarter notes), at ``tempo`` quarter notes per minute."""
    music21 = require_music21()
    part = music21.stream.Part()
    part.insert(0, music21.instrument.Piano())
    part.insert(0, music21.tempo.MetronomeMark(number=tempo))
    offset = Fraction(0)
    for i, (pitch, duration) in enumerate(notes):
        if not (pitch == -1 or 0 <= pitch < 128) or not Fraction(duration) > 0:
            raise ValueError(
                f"notes[{i}]: expected (MIDI pitch or -1, duration > 0), got {(pitch, duration)}"
            )
        if pitch != -1:
            n = music21.note.Note(midi=int(pitch))
            n.duration = music21.duration.Duration(Fraction(duration))
            part.insert(offset, n)
        offset += Fraction(duration)
    score = music21.stream.Score()
    score.insert(0, part)
    return score


def write_melody_midi(path: str | os.PathLike[str], notes: Any, tempo: float = 100.0) -> None:
    """Write a melody (see :func:`melody_to_stream`) as a standard MIDI file, atomically."""
    _write_score(path, melody_to_stream(notes, tempo))


def _note_spans(midi_file: Any) -> list[tuple[int, float, float]]:
    """Every note of a read music21 ``MidiFile``: (MIDI pitch, start, end) in quarter notes."""
    music21 = require_music21()
    on, off = music21.midi.ChannelVoiceMessages.NOTE_ON, music21.midi.ChannelVoiceMessages.NOTE_OFF
    ticks = midi_file.ticksPerQuarterNote
    spans = []
    for track in midi_file.tracks:
        tick, sounding = 0, {}
        for event in track.events:
            if isinstance(event, music21.midi.DeltaTime):
                tick += event.time
            elif event.type == on and event.velocity > 0:
                sounding[(event.channel, event.pitch)] = tick
            elif event.type in (on, off) and (event.channel, event.pitch) in sounding:
                start = sounding.pop((event.channel, event.pitch))
                spans.append((int(event.pitch), start / ticks, tick / ticks))
    return spans


def read_midi(path: str | os.PathLike[str], resolution: int = 1) -> np.ndarray:
    """The (L, 128) piano roll of the MIDI file ``path``, sampled as
    :func:`lstmkit.apps.music.data.piano_roll` samples a stream (``resolution`` frames per
    quarter note), up to its last note's end; a one-line ``ValueError`` if it is not MIDI.

    The notes are read from the file's events (music21's MIDI parser), not through a music21
    score, whose import regroups dense chords into voices and may shift them.
    """
    check_resolution(resolution)
    spans = read_notes(path)
    length = max((frame_at(end, resolution) for _, _, end in spans), default=0)
    roll = np.zeros((length, 128), dtype=np.uint8)
    for pitch, start, end in spans:
        roll[frame_at(start, resolution) : frame_at(end, resolution), pitch] = 1
    return roll


def read_notes(path: str | os.PathLike[str]) -> list[tuple[int, float, float]]:
    """Every note of the MIDI file ``path``: (MIDI pitch, start, end) in quarter notes, sorted
    by start; a one-line ``ValueError`` if it is not MIDI."""
    music21 = require_music21()
    midi_file = music21.midi.MidiFile()
    try:
        midi_file.open(os.fspath(path))
        try:
            midi_file.read()
        finally:
            midi_file.close()
    except (music21.midi.MidiException, IndexError, ValueError) as exc:
        raise ValueError(f"path: {os.fspath(path)!r} is not a readable MIDI file ({exc})") from None
    return sorted(_note_spans(midi_file), key=lambda s: (s[1], s[0]))

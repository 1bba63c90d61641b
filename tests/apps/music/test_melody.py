"""The folk-song melodies: encoding, cache, split by tune; the melody LM learns, generates MIDI
that reads back; the n-gram baseline; ``lstmkit music train-melody|generate-melody``."""

from __future__ import annotations

import json
import logging
from fractions import Fraction

import pytest
import torch

from lstmkit.apps.music import melody
from lstmkit.apps.music.baselines import WittenBellModel
from lstmkit.apps.music.melody_lm import END, MelodyLM
from lstmkit.apps.music.midi import read_notes, write_melody_midi
from lstmkit.cli import main

music21 = pytest.importorskip("music21")

#: a few small Essen files (about 80 tunes, a few seconds to parse)
FILES = ["erk5.abc", "test0.abc", "test1.abc", "testd.abc", "teste.abc"]


@pytest.fixture(scope="module")
def tunes(tmp_path_factory) -> melody.Melodies:
    return melody.load_melodies(FILES, cache=tmp_path_factory.mktemp("cache"), progress=False)


def test_encoding_transposes_merges_ties_and_rests() -> None:
    abc = "X:1\nT:t\nM:4/4\nL:1/8\nK:G\nG2 A2- A2 z z | B/2c/2 d3 z2 z2 |]\n"
    score = music21.converter.parse(abc, format="abc")
    notes = melody.tune_notes(score)
    tokens = [melody.note_token(int(p), Fraction(int(a), int(b))) for p, a, b in notes]
    # G major -> C major (+5): G4=67 -> 72; the tied A is one half note; the rests merge
    assert tokens == ["72:1", "74:2", "r:1", "76:1/4", "77:1/4", "79:3/2"]
    assert melody.token_note("r:1/3") == (melody.REST, Fraction(1, 3))
    with pytest.raises(ValueError, match="token: expected 'PITCH:DURATION'"):
        melody.token_note("67")


def test_cache_is_deterministic_and_split_disjoint_by_tune(tunes, tmp_path) -> None:
    again = melody.load_melodies(FILES, cache=tmp_path, progress=False)
    assert again == tunes  # parsed afresh: the same tunes, names and splits
    (first,) = tmp_path.glob("*.npz")
    bytes_before = first.read_bytes()
    first.unlink()
    melody.load_melodies(FILES, cache=tmp_path, progress=False)
    assert first.read_bytes() == bytes_before
    parts = {s: set(tunes.split(s)) for s in melody.SPLITS}
    assert all(parts[s] for s in melody.SPLITS)
    assert not (
        parts["train"] & parts["valid"] or parts["train"] & parts["test"] or parts["valid"] & parts["test"]
    )
    assert len(set(tunes.names)) == len(tunes.names) == len(tunes.tunes)
    with pytest.raises(ValueError, match="files: expected names of"):
        melody.load_melodies(["nope.abc"], cache=tmp_path)


def test_witten_bell_is_a_distribution_and_uses_context() -> None:
    seqs = [[END, 3, 4, 5, 3, 4, 5, END]] * 5
    for order in (1, 2, 3):
        model = WittenBellModel(order, 5, END).fit(seqs)
        for history in ((END, END), (END, 3), (4, 5)):
            assert sum(model._prob(history, w) for w in range(1, 6)) == pytest.approx(1.0)
    nll = [WittenBellModel(o, 5, END).fit(seqs).nll(seqs)[0] for o in (1, 2)]
    assert nll[1] < 0.5 * nll[0]


def test_short_training_beats_the_unigram_and_generates_midi(tunes, tmp_path) -> None:
    torch.manual_seed(0)
    train, held = tunes.split("train"), tunes.split("valid") + tunes.split("test")
    kw = {"hidden_size": 64, "embedding_size": 32, "batch_size": 16, "progress": False}
    lm = MelodyLM(**kw, max_epochs=25, patience=None).fit(train)
    untrained = MelodyLM(**kw, max_epochs=1, lr=1e-9).fit(train)
    total, events = WittenBellModel(1, len(lm.tokens_) - 1, END).fit(lm.encode(train)).nll(lm.encode(held))
    unigram = total / events
    assert untrained.score(held)["nll"] > unigram  # about ln V for an untrained network
    score = lm.score(held)
    assert score["nll"] < unigram - 0.2 and score["bits"] == pytest.approx(score["nll"] / 0.6931, rel=1e-3)
    primer = next(t[:5] for t in held if set(t[:5]) <= set(lm.tokens_))
    sample = lm.generate(40, primer=primer, seed=2)
    assert list(sample[:5]) == list(primer) and 5 < len(sample) <= 40
    assert lm.generate(40, primer=primer, seed=2) == sample
    with pytest.raises(ValueError, match="primer: expected tokens of the vocabulary"):
        lm.generate(10, primer=["0:1/7"])
    notes = [melody.token_note(t) for t in sample]
    write_melody_midi(tmp_path / "s.mid", notes)
    onset, expected = Fraction(0), []
    for pitch, duration in notes:
        if pitch != melody.REST:
            expected.append((pitch, float(onset), float(onset + duration)))
        onset += duration
    got = read_notes(tmp_path / "s.mid")
    assert [p for p, _, _ in got] == [p for p, _, _ in expected]
    for (_, s0, e0), (_, s1, e1) in zip(got, expected, strict=True):
        assert abs(s0 - s1) < 1e-3 and abs(e0 - e1) < 1e-3


@pytest.fixture
def few_files(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(melody, "essen_files", lambda: FILES)
    monkeypatch.setenv("LSTMKIT_DATA", str(tmp_path / "data"))


@pytest.mark.usefixtures("few_files")
def test_train_melody_then_generate(tmp_path, capsys, caplog) -> None:
    runs = tmp_path / "runs"
    argv = ["music", "train-melody", "--architecture", "gru", "--epochs", "2", "--embedding", "16"]
    with caplog.at_level(logging.INFO, logger="lstmkit.music"):
        assert main([*argv, "--max-notes", "20", "--no-progress", "--out", str(runs), "--name", "m"]) == 0
    out = capsys.readouterr().out
    assert "GRU" in out and "1-gram (Witten-Bell)" in out and "3-gram" in out
    metrics = json.loads((runs / "m" / "metrics.json").read_text())
    assert abs(metrics["size"]["params"] / metrics["size"]["lstm_256_params"] - 1) <= 0.10
    for name in ("index.html", "model.pt", "loss.png", "sample.png", "sample.mid"):
        assert (runs / "m" / name).is_file(), name
    argv = ["music", "generate-melody", "--model", str(runs / "m" / "model.pt"), "--primer", "0"]
    assert main([*argv, "--max-notes", "12", "--out", str(runs), "--name", "g", "--no-progress"]) == 0
    assert "generated" in capsys.readouterr().out and (runs / "g" / "sample.mid").is_file()


def test_melody_errors_are_one_line(tmp_path, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        assert (
            main(["music", "generate-melody", "--model", str(tmp_path / "no.pt"), "--out", str(tmp_path)])
            == 1
        )
        assert (
            main(["music", "train-melody", "--primer", "9", "--max-notes", "4", "--out", str(tmp_path)]) == 1
        )
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors[0].startswith("--model: no such file") and errors[1].startswith("--primer: expected")
    assert all("\n" not in e for e in errors)

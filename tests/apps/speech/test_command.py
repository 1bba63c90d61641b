"""``lstmkit speech``: help, a tiny end-to-end run (train, transcribe, stream), one-line errors."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
import torch

from lstmkit.apps.speech import data, job
from lstmkit.apps.speech.decode import greedy_decode
from lstmkit.apps.speech.estimator import DigitRecognizer
from lstmkit.apps.speech.wav import load_wav, write_wav
from lstmkit.cli import main

TINY = ["--isolated", "24", "--strings", "8", "--test-isolated", "4", "--test-strings", "2", "--epochs", "1"]
TINY += ["--hidden", "8", "--num-layers", "1", "--snrs", "10", "--beam", "2", "--no-progress"]


@pytest.mark.parametrize(
    "words", [["speech"], ["speech", "train"], ["speech", "transcribe"], ["speech", "stream"]]
)
def test_help(capsys, words: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*words, "--help"])
    assert exc.value.code == 0
    assert "usage: lstmkit speech" in capsys.readouterr().out


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_bad_inputs_are_one_line(tmp_path, caplog) -> None:
    (tmp_path / "bad.wav").write_bytes(b"hello")
    model = tmp_path / "m.pt"
    rec = DigitRecognizer(bidirectional=False, hidden_size=4, num_layers=1, progress=False)
    rec.nets_ = [rec._new_net(0).eval()]
    rec.save(model)
    cases = [
        (["speech", "transcribe", str(tmp_path / "bad.wav"), "--model", str(model)], "expected a WAV file"),
        (
            ["speech", "transcribe", str(tmp_path / "bad.wav"), "--model", str(tmp_path / "none.pt")],
            "--model: no such",
        ),
        (["speech", "stream", str(tmp_path / "missing.wav"), "--model", str(model)], "no such WAV file"),
        (
            ["speech", "train", "--isolated", "-1", "--out", str(tmp_path)],
            "--isolated: expected a count >= 0",
        ),
        (["speech", "train", "--snrs", "ten", "--out", str(tmp_path)], "--snrs: expected numbers"),
    ]
    for argv, message in cases:
        caplog.clear()
        assert main(argv) == 1
        (line,) = _errors(caplog)
        assert message in line and "\n" not in line


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_train_transcribe_stream(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("LSTMKIT_DATA", str(tmp_path / "data"))
    assert main(["speech", "train", *TINY, "--unidirectional", "--out", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "strings, 10 dB SNR" in out and "isolated, clean" in out
    folder = tmp_path / "runs" / "speech"
    assert {"index.html", "metrics.json", "model.pt", "utterance_0.png", "loss.png"} <= {
        p.name for p in folder.iterdir()
    }
    rows = json.loads((folder / "metrics.json").read_text())["rows"]
    assert [r["test"] for r in rows][:2] == ["isolated, clean", "strings, clean"]

    test = data.load_corpus("test", 0, 2, 0)
    write_wav(tmp_path / "a.wav", test.audio[0])
    model = DigitRecognizer.load(folder / "model.pt")
    audio = load_wav(tmp_path / "a.wav")  # the 16-bit samples of the file
    assert np.abs(audio - test.audio[0]).max() < 1e-3
    offline = model.logits([audio])[0]

    assert (
        main(
            [
                "speech",
                "transcribe",
                str(tmp_path / "a.wav"),
                "--model",
                str(folder / "model.pt"),
                "--beam",
                "0",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == greedy_decode(offline)

    assert main(["speech", "stream", str(tmp_path / "a.wav"), "--model", str(folder / "model.pt")]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == greedy_decode(offline)
    assert "latency per chunk" in captured.err
    streamed = job.stream(str(folder / "model.pt"), str(tmp_path / "a.wav"))
    torch.testing.assert_close(torch.from_numpy(streamed.logits), offline, atol=1e-5, rtol=0)
    assert len(streamed.latencies) == -(-len(audio) // 160)

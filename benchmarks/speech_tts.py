"""Digit synthesis round trip, for docs/speech.md's "Synthesis" section.

1. espeak-ng speaks ``--train`` random digit strings (1-7 digits) in one training voice
   (``en-us+m3``, fixed speed, pitch, amplitude); a biLSTM acoustic model learns their log-mel
   frames from phonemes and proportional durations (``lstmkit speech train-tts``);
2. ``--held-out`` other strings (3-7 digits, none in the training set) are synthesized
   (acoustic model + Griffin-Lim), and also spoken by espeak-ng in the same voice (the
   reference), and the reference's own log-mel frames are put through the same vocoder (the
   vocoder's ceiling);
3. the biLSTM recognizer of ``make bench-speech`` (``runs/bench-speech-bi/model.pt``; trained
   here with the same settings if absent) transcribes the three (beam 8): digit error rates;
   mel-cepstral distortion (DTW) of the synthesized and vocoded audio against the reference.

One thread. Writes ``benchmarks/results/speech_tts.json``, prints a markdown table.

    OMP_NUM_THREADS=1 python benchmarks/speech_tts.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmkit.apps.speech import job
from lstmkit.apps.speech.distortion import mel_cepstral_distortion
from lstmkit.apps.speech.estimator import DigitRecognizer
from lstmkit.apps.speech.metrics import digit_error_rate
from lstmkit.apps.speech.tts_estimator import DigitSynthesizer
from lstmkit.apps.speech.tts_job import TTSTrainConfig, random_strings, train_tts, tts_corpus
from lstmkit.apps.speech.wav import write_wav
from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.runfolder import add_to_run

RECOGNIZER = Path("runs/bench-speech-bi/model.pt")
RESULTS = Path("benchmarks/results/speech_tts.json")
VOICE = "en-us+m3"


def _recognizer() -> DigitRecognizer:
    if RECOGNIZER.is_file():
        return DigitRecognizer.load(RECOGNIZER)
    sys.path.insert(0, str(Path(__file__).parent))
    from speech import FULL, MODELS  # the bench-speech settings

    print("== no saved recognizer: training the bench-speech biLSTM", file=sys.stderr)
    config = job.SpeechTrainConfig(**FULL, **MODELS["bi"], name="bench-speech-bi", overwrite=True, echo=True)
    return job.train(config).model


def _score(name: str, rec: DigitRecognizer, refs: list[str], audio: list[np.ndarray]) -> dict[str, Any]:
    hyps = rec.transcribe(audio, beam=8)
    exact = float(np.mean([h == r for h, r in zip(hyps, refs, strict=True)]))
    return {"audio": name, "der": digit_error_rate(refs, hyps), "exact": exact, "examples": hyps[:5]}


def main() -> None:
    parser = argparse.ArgumentParser(description="digit synthesis: recognizer round trip and MCD")
    parser.add_argument("--train", type=int, default=300, help="training strings (300)")
    parser.add_argument("--held-out", type=int, default=50, help="held-out strings (50)")
    parser.add_argument("--epochs", type=int, default=40, help="acoustic model epochs (40)")
    parser.add_argument("--iterations", type=int, default=100, help="Griffin-Lim iterations (100)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="load runs/bench-speech-tts/model.pt (trained by this script) instead",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    held = random_strings(args.held_out, seed=101, lengths=(3, 7))
    config = TTSTrainConfig(
        voice=VOICE,
        strings=args.train,
        epochs=args.epochs,
        exclude=tuple(held),
        name="bench-speech-tts",
        overwrite=True,
        echo=True,
    )
    saved = Path("runs/bench-speech-tts/model.pt")
    tts = DigitSynthesizer.load(saved) if args.reuse and saved.is_file() else train_tts(config)
    reused = tts.fit_seconds_ is None  # loaded: the fit time is in the run's metrics.json
    fit_s = (
        json.loads((saved.parent / "metrics.json").read_text())["fit_seconds"] if reused else tts.fit_seconds_
    )
    reference = tts_corpus(held, VOICE)
    synthesized = [tts.speak(s, args.iterations) for s in held]
    vocoded = [tts.vocode(m, args.iterations) for m in tts.targets(reference)]
    names = [f"say_{s}.wav" for s in held[:3]]
    for name, wave in zip(names, synthesized, strict=False):
        write_wav(f"runs/bench-speech-tts/{name}", wave)
    add_to_run("runs/bench-speech-tts", names)
    rec = _recognizer()
    rows = [
        _score("espeak-ng reference", rec, held, reference),
        _score("reference mel + Griffin-Lim", rec, held, vocoded),
        _score("LSTM synthesis + Griffin-Lim", rec, held, synthesized),
    ]
    rows[1]["mcd_db"] = float(np.mean([mel_cepstral_distortion(v, r) for v, r in zip(vocoded, reference)]))
    rows[2]["mcd_db"] = float(
        np.mean([mel_cepstral_distortion(s, r) for s, r in zip(synthesized, reference)])
    )
    out = {
        "voice": VOICE,
        "train_strings": args.train,
        "held_out": held,
        "epochs": args.epochs,
        "iterations": args.iterations,
        "final_train_loss": tts.history_["train_loss"][-1],
        "fit_seconds": fit_s,
        "reused_model": reused,
        "total_seconds": time.perf_counter() - t0,
        "rows": rows,
    }
    atomic_write_text(RESULTS, json.dumps(out, indent=2))
    print("| audio (50 held-out strings) | DER (beam 8) | exact match | MCD vs reference (dB) |")
    print("|---|---|---|---|")
    for r in rows:
        mcd = f"{r['mcd_db']:.2f}" if "mcd_db" in r else "-"
        print(f"| {r['audio']} | {r['der']:.1%} | {r['exact']:.1%} | {mcd} |")
    print(f"fit {fit_s:.0f} s, total {out['total_seconds']:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

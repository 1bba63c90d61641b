"""The ALSA sample recordings as a sanity set, for docs/speech.md ("Real speech: the ALSA
samples").

Real recorded speech with no digits in it (``/usr/share/sounds/alsa/*.wav`` of Debian's
``alsa-utils``: "front center", "rear left", ..., and ``Noise.wav``). Every digit a recognizer
emits there is an insertion. Per file: the biLSTM's and the ``uni-running`` model's transcripts
(beam 8; ``runs/bench-speech-{bi,uni-running}/model.pt`` of ``benchmarks/speech.py``), and the
keyword spotter's triggers (the ``uni-running`` model, ``lstmkit speech wake``'s defaults:
window 3, threshold 0.24, refractory 50 steps) for each keyword 0-9. As a control, the same
words spoken by espeak-ng's test voices (unseen in training; ``en-us``, ``en-gb`` and ``en-029``
accents), so what comes from real speech is told apart from what comes from non-digit words.

One thread. Writes ``benchmarks/results/speech_alsa.json``; prints markdown tables.

    OMP_NUM_THREADS=1 python benchmarks/speech_alsa.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmkit.apps.speech import alsa, data, job, kws
from lstmkit.apps.speech.estimator import DigitRecognizer
from lstmkit.apps.speech.synth import speak
from lstmkit.apps.speech.wav import SAMPLE_RATE
from lstmkit.io.atomic import atomic_write_text

RESULTS = Path("benchmarks/results/speech_alsa.json")
BEAM = 8
THRESHOLD, WINDOW, REFRACTORY = 0.24, 3, 50  # lstmkit speech wake's defaults
CONTROL_ACCENTS = ("en-us", "en-gb", "en-029")


def _triggers(model: DigitRecognizer, audio: list[np.ndarray]) -> list[int]:
    """Per keyword 0-9: the spotter's triggers summed over ``audio``."""
    logits = model.logits(audio)
    return [
        sum(len(kws.triggers(kws.keyword_scores(z, str(k), WINDOW), THRESHOLD, REFRACTORY)) for z in logits)
        for k in range(10)
    ]


def _summary(name: str, audio: list[np.ndarray], models: dict[str, DigitRecognizer]) -> dict[str, Any]:
    seconds = sum(len(a) for a in audio) / SAMPLE_RATE
    row: dict[str, Any] = {"set": name, "files": len(audio), "seconds": seconds}
    for m, model in models.items():
        digits = sum(len(h) for h in model.transcribe(audio, BEAM))
        row[f"{m} digits"] = digits
        row[f"{m} digits/s"] = digits / seconds
    trig = _triggers(models["uni-running"], audio)
    row["kws triggers per keyword 0-9"] = trig
    row["kws triggers/s (any keyword)"] = sum(trig) / seconds
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description="the recognizers on the ALSA sample recordings")
    parser.add_argument("--folder", default=None, help=f"the recordings (default {alsa.ALSA_FOLDER})")
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    samples = alsa.load_alsa_samples(args.folder)
    models = {m: job.load_model(f"runs/bench-speech-{m}/model.pt") for m in ("bi", "uni-running")}
    files = []
    for stem, audio in samples.items():
        row: dict[str, Any] = {
            "file": stem,
            "says": alsa.spoken_words(stem),
            "seconds": len(audio) / SAMPLE_RATE,
        }
        for m, model in models.items():
            row[m] = model.transcribe([audio], BEAM)[0] or "-"
        row["kws triggers (keywords)"] = "".join(
            str(k) * n for k, n in enumerate(_triggers(models["uni-running"], [audio]))
        )
        files.append(row)
    speech = [a for s, a in samples.items() if alsa.spoken_words(s)]
    words = [alsa.spoken_words(s) for s in samples if alsa.spoken_words(s)]
    control_voices = [v for v in data.voices("test") if v.split("+")[0] in CONTROL_ACCENTS]
    control = [speak(w, v) for w in words for v in control_voices]
    summary = [
        _summary("ALSA recordings (real speech)", speech, models),
        _summary("ALSA Noise.wav", [samples["Noise"]], models) if "Noise" in samples else None,
        _summary(f"same words, espeak-ng test voices ({len(control_voices)})", control, models),
    ]
    out = {"files": files, "summary": [s for s in summary if s], "seconds": time.perf_counter() - t0}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS, json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

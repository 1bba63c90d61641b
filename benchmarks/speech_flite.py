"""Another synthesizer: the espeak-ng-trained recognizers scored on flite's voices, for
docs/speech.md ("Another synthesizer").

1. **cross-synthesizer test**: the biLSTM and the streaming ``uni-running`` model of
   ``benchmarks/speech.py`` (``runs/bench-speech-{bi,uni-running}/model.pt``, trained on
   espeak-ng voices only) on digits spoken by flite's five voices (``load_corpus("flite", ...)``):
   isolated-digit accuracy and the digit error rate of strings, clean and with white noise at
   10 dB SNR, with the espeak-ng test split's (unseen espeak-ng voices) in the same run; the
   flite utterances also re-laid out as espeak-ng's are (cut to their speech, then 10 ms of
   silence before and 300 ms after: flite leaves about 0.2 s before the speech, espeak-ng about
   0.01 s); then per flite voice (clean).
2. ``--mixed``: a biLSTM trained as ``benchmarks/speech.py``'s on the espeak-ng training voices
   plus flite's ``flite-train`` voices (kal, kal16, rms), scored on the held-out flite voices
   (``flite-test``: awb, slt) and on the espeak-ng test split, next to the espeak-only biLSTM.

One thread. Writes ``benchmarks/results/speech_flite.json``; prints markdown tables.

    OMP_NUM_THREADS=1 python benchmarks/speech_flite.py
    OMP_NUM_THREADS=1 python benchmarks/speech_flite.py --mixed --models bi
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmkit.apps.speech import data, job, kws
from lstmkit.apps.speech.augment import AugmentConfig
from lstmkit.apps.speech.estimator import DigitRecognizer
from lstmkit.apps.speech.metrics import digit_error_rate
from lstmkit.io.atomic import atomic_write_text

RESULTS = Path("benchmarks/results/speech_flite.json")
BEAM = 8
MIXED = Path("runs/bench-speech-flite-mixed/model.pt")


def _score(model: DigitRecognizer, corpus: data.SpeechCorpus, name: str, snrs: list[float]) -> list[dict]:
    rows = job.evaluate(model, corpus, f"{name}, clean", BEAM)
    for snr in snrs:
        rows += job.evaluate(model, data.noisy(corpus, snr, job.TEST_SEED), f"{name}, {snr:g} dB SNR", BEAM)
    return rows


def _espeak_layout(corpus: data.SpeechCorpus) -> data.SpeechCorpus:
    """Each utterance cut to its speech (:func:`kws.trim`), 10 ms of silence before it, 300 ms after."""
    before, after = np.zeros(160, np.float32), np.zeros(4800, np.float32)
    return replace(corpus, audio=[np.concatenate([before, kws.trim(a), after]) for a in corpus.audio])


def _layout(corpus: data.SpeechCorpus) -> dict[str, float]:
    """Mean seconds before and after the speech (under 2% of the peak) of the isolated digits."""
    edges = []
    for a in corpus.subset(corpus.isolated()).audio:
        loud = np.flatnonzero(np.abs(a) >= 0.02 * np.abs(a).max())
        edges.append((loud[0], len(a) - 1 - loud[-1]))
    before, after = np.mean(edges, axis=0) / 16000
    return {"before_s": float(before), "after_s": float(after)}


def _isolated_errors(model: DigitRecognizer, corpus: data.SpeechCorpus) -> dict[str, int]:
    """The isolated digits' outcomes (beam): right, nothing, one wrong digit, several digits."""
    part = corpus.subset(corpus.isolated())
    hyps = model.transcribe(part.audio, BEAM)
    pairs = list(zip(part.labels, hyps, strict=True))
    return {
        "right": sum(h == r for r, h in pairs),
        "empty": sum(h == "" for _, h in pairs),
        "one_wrong_digit": sum(len(h) == 1 and h != r for r, h in pairs),
        "several_digits": sum(len(h) > 1 for _, h in pairs),
    }


def _per_voice(model: DigitRecognizer, corpus: data.SpeechCorpus) -> list[dict[str, Any]]:
    """Clean, per voice: isolated accuracy and the strings' DER (beam)."""
    rows = []
    for voice in sorted(set(corpus.voices)):
        part = corpus.subset(np.array([v == voice for v in corpus.voices]))
        hyps = model.transcribe(part.audio, BEAM)
        iso = part.isolated()
        rows.append(
            {
                "voice": voice,
                "isolated": int(iso.sum()),
                "accuracy": float(
                    np.mean([h == r for h, r, i in zip(hyps, part.labels, iso, strict=True) if i])
                ),
                "strings": int((~iso).sum()),
                "der": digit_error_rate(
                    [r for r, i in zip(part.labels, iso, strict=True) if not i],
                    [h for h, i in zip(hyps, iso, strict=True) if not i],
                ),
            }
        )
    return rows


def _mixed(args: argparse.Namespace) -> DigitRecognizer:
    """The biLSTM of benchmarks/speech.py trained on espeak-ng + flite-train voices (or reused)."""
    if MIXED.is_file() and not args.retrain:
        return job.load_model(MIXED)
    espeak = data.load_corpus("train", 1500, 2500, 0, progress=True)
    flite = data.load_corpus("flite-train", args.flite_isolated, args.flite_strings, 0, progress=True)
    both = data.SpeechCorpus(
        espeak.audio + flite.audio, espeak.labels + flite.labels, espeak.voices + flite.voices
    )
    both = data.augmented(both, AugmentConfig(), 0)
    model = DigitRecognizer(True, max_epochs=20, progress=True)
    model.fit(both.audio, both.labels)
    MIXED.parent.mkdir(parents=True, exist_ok=True)
    model.save(MIXED)
    print(f"mixed biLSTM: {len(both)} utterances, {model.fit_seconds_:.0f} s of training", file=sys.stderr)
    return model


def _table(rows: list[dict[str, Any]], keys: list[str]) -> str:
    lines = ["| " + " | ".join(keys) + " |", "|---" * len(keys) + "|"]
    for r in rows:
        cells = [f"{r[k]:.1%}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="espeak-ng-trained recognizers on flite's voices")
    parser.add_argument("--models", default="bi,uni-running", help="of benchmarks/speech.py's runs")
    parser.add_argument("--isolated", type=int, default=300, help="isolated test digits per test set")
    parser.add_argument("--strings", type=int, default=300, help="test strings per test set")
    parser.add_argument("--snr", default="10", help="white-noise SNRs (dB) besides clean")
    parser.add_argument("--mixed", action="store_true", help="also train on espeak-ng + flite-train voices")
    parser.add_argument("--retrain", action="store_true", help="retrain the mixed model even if saved")
    parser.add_argument("--flite-isolated", type=int, default=500)
    parser.add_argument("--flite-strings", type=int, default=800)
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    snrs = [float(s) for s in args.snr.split(",") if s]
    sets = {
        "espeak-ng test": data.load_corpus("test", args.isolated, args.strings, job.TEST_SEED, progress=True),
        "flite": data.load_corpus("flite", args.isolated, args.strings, job.TEST_SEED, progress=True),
    }
    out: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    models = {m: job.load_model(f"runs/bench-speech-{m}/model.pt") for m in args.models.split(",")}
    if args.mixed:
        models["bi-mixed"] = _mixed(args)
        sets["flite-test (held out)"] = data.load_corpus(
            "flite-test", args.isolated, args.strings, job.TEST_SEED, progress=True
        )
    for name, model in models.items():
        rows = [r for s, corpus in sets.items() for r in _score(model, corpus, s, snrs)]
        rows += job.evaluate(model, _espeak_layout(sets["flite"]), "flite, espeak-ng's silences", BEAM)
        out[name] = {"rows": rows, "per_voice": _per_voice(model, sets["flite"])}
        out[name]["isolated_errors"] = {s: _isolated_errors(model, corpus) for s, corpus in sets.items()}
        print(f"isolated digits' outcomes: {json.dumps(out[name]['isolated_errors'])}")
        print(f"\n### {name}\n\n{_table(rows, job.COLUMNS)}")
        print(
            f"\nper flite voice (clean)\n\n{_table(out[name]['per_voice'], list(out[name]['per_voice'][0]))}"
        )
    out["layout"] = {s: _layout(corpus) for s, corpus in sets.items()}
    print(f"silence around the isolated digits: {json.dumps(out['layout'])}")
    out["seconds"] = time.perf_counter() - t0
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS, json.dumps(out, indent=1))
    print(f"({out['seconds']:.0f} s in all)")


if __name__ == "__main__":
    main()

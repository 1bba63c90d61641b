"""Spoken digits synthesized by espeak-ng, for docs/speech.md (``make bench-speech``).

1. **offline**: a biLSTM + CTC recognizer (``lstmkit speech train``) trained on the training
   voices (augmented: speed, reverberation, noise) and scored on voices never heard in training:
   isolated-digit accuracy, digit error rate (DER) of digit strings, clean and with white noise
   at 10 and 0 dB SNR, greedy and prefix beam search decoding;
2. **streaming**: the same with a unidirectional LSTM (global normalization, and a second one
   with the causal running-mean normalization); then test utterances pushed 10 ms at a
   time through its streaming recognizer (causal features, ``LSTM.stream()``): the largest
   difference to the offline logits, whether the hypotheses agree, and the recognizer's time
   per 10 ms chunk.

One thread. Writes ``benchmarks/results/speech.json`` (``speech-quick.json`` with ``--quick``)
and prints markdown tables; the models and reports go to ``runs/bench-speech-*``.

    OMP_NUM_THREADS=1 python benchmarks/speech.py            # the study of docs/speech.md
    OMP_NUM_THREADS=1 python benchmarks/speech.py --quick    # small corpus, few epochs: minutes
    OMP_NUM_THREADS=1 python benchmarks/speech.py --only uni-running  # one model, added to the results
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmkit.apps.speech import job
from lstmkit.apps.speech.decode import greedy_decode
from lstmkit.apps.speech.wav import load_wav, write_wav
from lstmkit.io.atomic import atomic_write_text

RESULTS = Path("benchmarks/results")
FULL: dict[str, Any] = {
    "isolated": 1500,
    "strings": 2500,
    "test_isolated": 300,
    "test_strings": 300,
    "epochs": 20,
}
QUICK: dict[str, Any] = {
    "isolated": 200,
    "strings": 200,
    "test_isolated": 50,
    "test_strings": 50,
    "epochs": 4,
}
STREAMED = 60  # test utterances streamed


#: the models: a biLSTM, a unidirectional LSTM with global normalization and one with the
#: causal running-mean normalization (both stream)
MODELS: dict[str, dict[str, Any]] = {
    "bi": {"unidirectional": False},
    "uni": {"unidirectional": True},
    "uni-running": {"unidirectional": True, "normalize": "running"},
}


def _train(sizes: dict[str, Any], kind: str) -> job.SpeechTrainResult:
    name = f"bench-speech-{kind}"
    config = job.SpeechTrainConfig(**sizes, **MODELS[kind], name=name, overwrite=True, echo=True)
    print(f"== {name}", file=sys.stderr)
    return job.train(config)


def _streaming(result: job.SpeechTrainResult, folder: Path) -> dict[str, Any]:
    """Stream test utterances (written as WAV files, read back 10 ms at a time) and compare."""
    model_path = str(Path(result.folder or "") / "model.pt")
    test = result.test
    picks = np.linspace(0, len(test) - 1, min(STREAMED, len(test))).round().astype(int)
    diffs, agree, latencies = [], 0, []
    for i in picks:
        wav = folder / f"utt{i}.wav"
        write_wav(wav, test.audio[i])
        offline = result.model.logits([load_wav(wav)])[0]
        streamed = job.stream(model_path, str(wav))
        diffs.append(float((torch.from_numpy(streamed.logits) - offline).abs().max()))
        agree += streamed.hypothesis == greedy_decode(offline)
        latencies += streamed.latencies
    ms = np.asarray(latencies) * 1000
    return {
        "utterances": len(picks),
        "max_abs_logit_diff": max(diffs),
        "hypotheses_equal": agree,
        "chunks": len(ms),
        "latency_ms": {
            "mean": float(ms.mean()),
            "p50": float(np.percentile(ms, 50)),
            "p99": float(np.percentile(ms, 99)),
            "max": float(ms.max()),
        },
    }


def _markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| test (unseen voices) | utterances | exact match (beam) | DER greedy | DER beam |\n"
        + "|---" * 5
        + "|"
    )
    body = [
        f"| {r['test']} | {r['utterances']} | {r['accuracy']:.1%} | {r['der_greedy']:.1%} "
        f"| {r['der_beam']:.1%} |"
        for r in rows
    ]
    return "\n".join([head, *body])


def _load(path: Path, sizes: dict[str, Any]) -> dict[str, Any]:
    """The results of an earlier run with the same sizes (a run of ``--only`` adds to them)."""
    if not path.is_file():
        return {"sizes": sizes}
    out = json.loads(path.read_text())
    if out.get("sizes") != sizes:
        return {"sizes": sizes}
    if "streaming" in out:  # the first layout: one streamed model, "uni"
        out["uni"]["streaming"] = out.pop("streaming")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="spoken digits synthesized by espeak-ng")
    parser.add_argument("--quick", action="store_true", help="a small corpus and few epochs")
    parser.add_argument("--only", default=",".join(MODELS), help=f"models to train, of {','.join(MODELS)}")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sizes = QUICK if args.quick else FULL
    path = RESULTS / ("speech-quick.json" if args.quick else "speech.json")
    out = _load(path, sizes)
    for kind in args.only.split(","):
        t0 = time.perf_counter()
        result = _train(sizes, kind)
        out[kind] = {"rows": result.rows, "fit_seconds": result.model.fit_seconds_}
        if MODELS[kind]["unidirectional"]:
            folder = Path(f"runs/bench-speech-stream-{kind}")
            folder.mkdir(parents=True, exist_ok=True)
            out[kind]["streaming"] = _streaming(result, folder)
        out[kind]["seconds"] = time.perf_counter() - t0
        RESULTS.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(out, indent=1))
    for kind in (k for k in MODELS if k in out):
        print(f"\n### {kind} ({out[kind]['fit_seconds']:.0f} s training)\n\n{_markdown(out[kind]['rows'])}")
        if "streaming" in out[kind]:
            print(f"\nstreaming: {json.dumps(out[kind]['streaming'])}")
    print(f"({os.cpu_count()} cpus)")


if __name__ == "__main__":
    main()

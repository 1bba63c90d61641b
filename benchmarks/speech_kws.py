"""Keyword spotting ("wake" on a digit) with the streaming unidirectional CTC recognizer, for
docs/speech.md.

A long stream of test-voice utterances (voices never heard in training: isolated digits and the
digit strings without the keyword, gaps of 0.5-3 s, pink background noise) with the keyword's
exact sample spans (``lstmkit.apps.speech.kws``). The recognizer is the ``uni-running`` model of
``benchmarks/speech.py`` (reused from ``runs/bench-speech-uni-running/model.pt``, trained as
there if missing). Per SNR: the keyword score of every step from the whole stream's logits,
triggers for 99 thresholds and 3 windows, true positive rate against false alarms per hour,
latency from the keyword's end to the trigger; the operating points at 1 and 5 false alarms per
hour. Then the first minutes pushed 10 ms at a time through ``KeywordSpotter``: the triggers
equal the whole-stream ones, and the time per chunk.

With ``--connected``: the keyword inside connected digit strings. The stream holds the test
split's digit strings only (2-7 digits, with and without the keyword; no isolated digits); a
string holding the keyword k times should draw k triggers within its span
(``kws.count_in_spans``). Two detectors: the isolated-keyword one (refractory 50 steps, 1 s) and
one that can count repeats (refractory 5 steps, 100 ms, re-armed only once the score fell
below the threshold: ``rearm``). Writes ``speech_kws_connected.json`` and
``docs/images/speech_kws_connected_roc.png`` instead.

One thread. Writes ``benchmarks/results/speech_kws.json`` and ``docs/images/speech_kws_roc.png``.

    OMP_NUM_THREADS=1 python benchmarks/speech_kws.py
    OMP_NUM_THREADS=1 python benchmarks/speech_kws.py --connected
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmkit.apps.speech import data, job, kws
from lstmkit.apps.speech.estimator import DigitRecognizer
from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.plots import pyplot, save_figure

MODEL = Path("runs/bench-speech-uni-running/model.pt")
THRESHOLDS = [round(0.01 * k, 2) for k in range(1, 100)]
WINDOWS = (1, 3, 5)  # steps of 20 ms
REFRACTORY = 50  # steps: 1 s
TOLERANCE = 0.5  # seconds after the keyword's end
#: the connected-stream detectors: name -> (refractory steps, rearm)
DETECTORS = {"R 1 s": (REFRACTORY, False), "R 100 ms + rearm": (5, True)}


def _model(path: Path) -> DigitRecognizer:
    if not path.is_file():
        sys.path.insert(0, str(Path(__file__).parent))
        from speech import FULL, MODELS  # the study of docs/speech.md

        name = "bench-speech-uni-running"
        print(f"{path} missing: training {name} as benchmarks/speech.py does", file=sys.stderr)
        config = job.SpeechTrainConfig(**FULL, **MODELS["uni-running"], name=name, overwrite=True, echo=True)
        job.train(config)
    return job.load_model(path)


def _whole_logits(model: DigitRecognizer, audio: np.ndarray) -> torch.Tensor:
    t0 = time.perf_counter()
    logits = model.logits([audio])[0]  # (T', K)
    print(f"whole-stream logits: {len(logits)} steps in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return logits


def _condition(model: DigitRecognizer, stream: kws.KeywordStream) -> dict[str, Any]:
    logits = _whole_logits(model, stream.audio)
    sub = model.config.subsample
    out: dict[str, Any] = {"hours": stream.hours, "occurrences": len(stream.occurrences()), "windows": {}}
    for w in WINDOWS:
        scores = kws.keyword_scores(logits, stream.keyword, w)
        rows = kws.roc(scores, stream, THRESHOLDS, subsample=sub, refractory=REFRACTORY, tolerance=TOLERANCE)
        out["windows"][str(w)] = {
            "rows": rows,
            "at_1_fa_per_hour": kws.operating_point(rows, 1.0),
            "at_5_fa_per_hour": kws.operating_point(rows, 5.0),
        }
    return out


def _connected(model: DigitRecognizer, stream: kws.KeywordStream) -> dict[str, Any]:
    logits = _whole_logits(model, stream.audio)
    spans, counts = stream.keyword_spans()
    out: dict[str, Any] = {
        "hours": stream.hours,
        "strings": len(stream.labels),
        "keyword_strings": len(spans),
        "occurrences": int(counts.sum()),
        "detectors": {},
    }
    for w in WINDOWS[:2]:
        scores = kws.keyword_scores(logits, stream.keyword, w)
        for name, (refractory, rearm) in DETECTORS.items():
            rows = kws.connected_roc(
                scores,
                stream,
                THRESHOLDS,
                subsample=model.config.subsample,
                refractory=refractory,
                tolerance=TOLERANCE,
                rearm=rearm,
            )
            out["detectors"][f"{name}, window {w}"] = {
                "window": w,
                "rows": rows,
                "at_1_fa_per_hour": kws.operating_point(rows, 1.0),
                "at_5_fa_per_hour": kws.operating_point(rows, 5.0),
                "at_20_fa_per_hour": kws.operating_point(rows, 20.0),
            }
    return out


def _streamed(
    model: DigitRecognizer,
    stream: kws.KeywordStream,
    minutes: float,
    point: dict[str, Any],
    refractory: int = REFRACTORY,
    rearm: bool = False,
) -> dict[str, Any]:
    """The first ``minutes`` pushed 10 ms at a time: triggers against the whole stream's, time per chunk."""
    n = min(len(stream.audio), round(minutes * 60 * 16000))
    audio = stream.audio[:n]
    w, th = int(point["window"]), float(point["threshold"])
    spotter = kws.KeywordSpotter(model.stream(), stream.keyword, th, w, refractory, rearm=rearm)
    fired, times = [], []
    for i in range(0, n, 160):
        t0 = time.perf_counter()
        fired += spotter.push(audio[i : i + 160])
        times.append(time.perf_counter() - t0)
    scores = kws.keyword_scores(model.logits([audio])[0], stream.keyword, w)
    expected = kws.triggers(scores, th, refractory, rearm=rearm)
    ms = np.asarray(times) * 1000
    return {
        "minutes": n / 16000 / 60,
        "window": w,
        "threshold": th,
        "triggers_streamed": len(fired),
        "triggers_equal": bool(np.array_equal(fired, expected)),
        "max_abs_score_diff": float(np.abs(np.asarray(spotter.scores) - scores[: len(spotter.scores)]).max()),
        "chunks": len(ms),
        "chunk_ms": {k: float(np.percentile(ms, q)) for k, q in (("p50", 50), ("p99", 99), ("max", 100))}
        | {"mean": float(ms.mean())},
    }


def _plot(results: dict[str, Any], keyword: str, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (snr, cond), color in zip(results["conditions"].items(), ("C0", "C3", "C2"), strict=False):
        for w, style in zip(WINDOWS, ("-", "--", ":"), strict=True):
            rows = cond["windows"][str(w)]["rows"]
            ax.plot(
                [r["fa_per_hour"] for r in rows],
                [r["tpr"] for r in rows],
                style,
                color=color,
                label=f"{snr} dB, window {w * 20} ms",
            )
    title = f"wake on '{keyword}': unidirectional LSTM + CTC, unseen voices"
    _finish_roc(fig, ax, ("false alarms per hour", "true positive rate", title), path)


def _finish_roc(fig: Any, ax: Any, labels: tuple[str, str, str], path: Path) -> None:
    """Log-scaled false alarms, the (x, y, title) ``labels``, a grid and a legend; saved to ``path``."""
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(labels[2])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path)


def _table(results: dict[str, Any]) -> str:
    lines = [
        "| SNR | window | hours | keywords | target FA/h | threshold | TPR | FA/h | latency mean / p90 (s) |",
        "|---" * 9 + "|",
    ]
    for snr, cond in results["conditions"].items():
        for w in WINDOWS:
            for target in (1, 5):
                r = cond["windows"][str(w)][f"at_{target}_fa_per_hour"]
                if r is None:
                    continue
                lat = (
                    "-"
                    if math.isnan(r["latency_mean"])
                    else f"{r['latency_mean']:.2f} / {r['latency_p90']:.2f}"
                )
                lines.append(
                    f"| {snr} dB | {w * 20} ms | {cond['hours']:.2f} | {cond['occurrences']} | {target} "
                    f"| {r['threshold']:.2f} | {r['tpr']:.1%} | {r['fa_per_hour']:.1f} | {lat} |"
                )
    return "\n".join(lines)


def _latency(r: dict[str, float]) -> str:
    return "-" if math.isnan(r["latency_mean"]) else f"{r['latency_mean']:.2f} / {r['latency_p90']:.2f}"


def _connected_table(results: dict[str, Any]) -> str:
    lines = [
        "| SNR | detector | target FA/h | threshold | keywords found | FA/h outside | excess/h "
        "| strings with exactly k | latency mean / p90 (s) |",
        "|---" * 9 + "|",
    ]
    for snr, cond in results["conditions"].items():
        for name, det in cond["detectors"].items():
            for target in (1, 5, 20):
                r = det[f"at_{target}_fa_per_hour"]
                if r is None:
                    continue
                lines.append(
                    f"| {snr} dB | {name} | {target} | {r['threshold']:.2f} | {r['tpr']:.1%} "
                    f"| {r['outside_per_hour']:.1f} | {r['excess_per_hour']:.1f} | {r['strings_exact']:.1%} "
                    f"| {_latency(r)} |"
                )
    return "\n".join(lines)


def _connected_plot(results: dict[str, Any], path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (snr, cond), color in zip(results["conditions"].items(), ("C0", "C3"), strict=False):
        for (name, det), style in zip(cond["detectors"].items(), ("-", "--", ":", "-."), strict=False):
            rows = det["rows"]
            xs, ys = [r["fa_per_hour"] for r in rows], [r["tpr"] for r in rows]
            ax.plot(xs, ys, style, color=color, label=f"{snr} dB, {name}")
    title = f"wake on '{results['keyword']}' inside connected digit strings, unseen voices"
    _finish_roc(fig, ax, ("false alarms + excess triggers per hour", "keywords found", title), path)


def _run_connected(args: argparse.Namespace, model: DigitRecognizer, corpus: data.SpeechCorpus) -> None:
    results: dict[str, Any] = {"keyword": args.keyword, "model": str(args.model), "conditions": {}}
    streams = {}
    for snr in args.snr.split(","):
        streams[snr] = kws.make_stream(corpus, args.keyword, args.seed, noise_db=float(snr), connected=True)
        results["conditions"][snr] = _connected(model, streams[snr])
    first = next(iter(streams))
    refractory, rearm = DETECTORS["R 100 ms + rearm"]
    det = results["conditions"][first]["detectors"]["R 100 ms + rearm, window 3"]
    point = (det["at_5_fa_per_hour"] or {"threshold": 0.5}) | {"window": 3}
    results["streaming"] = _streamed(model, streams[first], args.stream_minutes, point, refractory, rearm)
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    atomic_write_text("benchmarks/results/speech_kws_connected.json", json.dumps(results, indent=1))
    _connected_plot(results, Path("docs/images/speech_kws_connected_roc.png"))
    print(_connected_table(results))
    print(f"\nstreaming ({first} dB): {json.dumps(results['streaming'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description="keyword spotting on a long stream of unseen voices")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--keyword", default="7")
    parser.add_argument("--isolated", type=int, default=2000, help="isolated test digits in the stream")
    parser.add_argument(
        "--strings", type=int, default=2000, help="test strings drawn (those with the keyword left out)"
    )
    parser.add_argument("--snr", default="20,10", help="background pink noise, dB below the speech")
    parser.add_argument("--stream-minutes", type=float, default=10.0, help="minutes pushed 10 ms at a time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--connected", action="store_true", help="the keyword inside connected strings")
    args = parser.parse_args()
    torch.set_num_threads(1)
    t_start = time.perf_counter()
    model = _model(args.model)
    corpus = data.load_corpus("test", args.isolated, args.strings, seed=args.seed, progress=True)
    if args.connected:
        _run_connected(args, model, corpus)
        print(f"({time.perf_counter() - t_start:.0f} s in all)")
        return
    results: dict[str, Any] = {"keyword": args.keyword, "model": str(args.model), "conditions": {}}
    streams = {}
    for snr in args.snr.split(","):
        streams[snr] = kws.make_stream(corpus, args.keyword, args.seed, noise_db=float(snr))
        results["conditions"][snr] = _condition(model, streams[snr])
    first = next(iter(streams))
    point = results["conditions"][first]["windows"]["3"]["at_1_fa_per_hour"] or {"threshold": 0.5}
    results["streaming"] = _streamed(model, streams[first], args.stream_minutes, point | {"window": 3})
    results["seconds"] = time.perf_counter() - t_start
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    atomic_write_text("benchmarks/results/speech_kws.json", json.dumps(results, indent=1))
    _plot(results, args.keyword, Path("docs/images/speech_kws_roc.png"))
    print(_table(results))
    print(f"\nstreaming ({first} dB): {json.dumps(results['streaming'])}")
    print(f"({results['seconds']:.0f} s in all)")


if __name__ == "__main__":
    main()

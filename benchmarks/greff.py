"""The LSTM variant study of Greff et al. (2017), scaled to this machine: ``make bench-greff``.

Vanilla LSTM (forget gate, peepholes) and its eight variants (NIG, NFG, NOG, NIAF, NOAF, NP,
CIFG, FGR) on three offline tasks, each with the same random-search trials (trial k of every
variant: the same hyperparameters and seed), each trial a fixed number of SGD steps. Every trial
is appended to the results file as it ends; a rerun skips the trials already there.
``--render`` writes docs/greff.md and docs/images/greff_*.png from the results file alone.
One torch thread (``torch.set_num_threads(1)``): it runs next to other work on 2 cores.

    python benchmarks/greff.py                          # 30 trials x 9 variants x 3 tasks
    python benchmarks/greff.py --trials 10 --tasks vowels --variants vanilla nfg
    python benchmarks/greff.py --smoke                  # 2 trials, a quarter of the steps
    python benchmarks/greff.py --render                 # the page from the saved results
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from greff_report import render
from lstmkit.apps.experiments.greff import (
    GREFF_VARIANTS,
    CharLMTask,
    ClassificationTask,
    GreffTask,
    NextStepTask,
    PianoRollTask,
    SearchSpace,
    run_trial,
    sample_trial,
)
from lstmkit.apps.experiments.greff.trial import CLIP_NORM
from lstmkit.io.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "greff.json"
SMOKE_RESULTS = ROOT / "benchmarks" / "results" / "greff-smoke.json"
DOC = ROOT / "docs" / "greff.md"


def _kjv() -> GreffTask:
    from lstmkit.apps.language.corpora import load_text_corpus

    kjv = load_text_corpus("kjv")
    return CharLMTask("kjv", kjv.train[:1_000_000], kjv.test[:20_000], seq_len=100, batch_size=32)


def _vowels() -> GreffTask:
    from lstmkit.apps.datasets import sources

    d = sources.load_classification("japanesevowels")
    train, test = (d.x_train, d.lengths_train, d.y_train), (d.x_test, d.lengths_test, d.y_test)
    return ClassificationTask("vowels", train, test, batch_size=32)


def _weather() -> GreffTask:
    from lstmkit.apps.datasets import sources

    w = sources.load_series("seattle_weather")
    assert w.past_covariates is not None
    series = np.column_stack([w.values, w.past_covariates]).astype(np.float64)  # (T, 4)
    rain = 1 + list(w.past_covariate_names).index("precipitation")
    series[:, rain] = np.log1p(series[:, rain])
    return NextStepTask("weather", series, test_steps=365, seq_len=64, batch_size=32)


def _chorales() -> GreffTask:
    from lstmkit.apps.music.data import load_chorales

    bach = load_chorales(resolution=1, progress=False)
    return PianoRollTask("chorales", bach.split("train"), bach.split("test"), seq_len=32, batch_size=16)


# name -> (loader, SGD steps per trial, what it is)
TASKS: dict[str, tuple[Callable[[], GreffTask], int, str]] = {
    "kjv": (
        _kjv,
        800,
        "character LM on the King James Bible (first 1,000,000 training characters, one-hot "
        "input); 20,000 test characters; metric: test bits per character",
    ),
    "vowels": (
        _vowels,
        400,
        "Japanese Vowels (UEA, bundled with sktime): 9 speakers, 12 LPC cepstrum coefficients "
        "per frame, 7-29 frames; 270 train / 370 test; metric: test error rate",
    ),
    "weather": (
        _weather,
        500,
        "Seattle weather (vega_datasets): next-day prediction of max/min temperature, log "
        "precipitation and wind (standardized), 2012-2014 to train, 2015 to test; metric: test MSE",
    ),
    "chorales": (
        _chorales,
        1000,
        "Bach chorales (music21's corpus, the music app's fixed split, quarter-note frames over "
        "the used pitch range): next-frame prediction of the piano roll, one sigmoid per pitch; "
        "metric: test NLL per frame in nats, summed over pitches (as the paper's JSB task)",
    ),
}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _save(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")


def _settings(steps_scale: float, smoke: bool) -> dict[str, Any]:
    steps = {name: max(1, round(n * steps_scale)) for name, (_, n, _) in TASKS.items()}
    return {
        "space": SearchSpace().to_dict(),
        "steps": steps,
        "optimizer": f"SGD with momentum, gradient norm clipped at {CLIP_NORM}",
        "smoke": smoke,
    }


def _check_settings(data: dict[str, Any], settings: dict[str, Any], path: Path) -> None:
    """Refuse a results file of other settings; a task added since it was written may join it."""
    old = data.get("settings")
    if old is None:
        return
    same_steps = all(settings["steps"].get(k) == v for k, v in old["steps"].items())
    if not same_steps or {k: v for k, v in old.items() if k != "steps"} != {
        k: v for k, v in settings.items() if k != "steps"
    }:
        raise SystemExit(
            f"--results: {path} holds trials of other settings ({old}); expected {settings}: "
            "pass another --results file or move that one away"
        )


def run(
    tasks: list[str], variants: list[str], trials: int, path: Path, settings: dict[str, Any], command: str
) -> None:
    torch.set_num_threads(1)
    data = _load(path)
    _check_settings(data, settings, path)
    data["settings"] = settings
    data["commands"] = [*data.get("commands", []), command]
    data["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, 1 thread"
    data.setdefault("tasks", {})
    data.setdefault("trials", [])
    done = {(r["task"], r["variant"], r["trial"]) for r in data["trials"]}
    loaded: dict[str, GreffTask] = {}
    for k in range(trials):  # trial-major: an interrupted study keeps its trials paired
        for name in tasks:
            todo = [v for v in variants if (name, v, k) not in done]
            if not todo:
                continue
            if name not in loaded:
                loaded[name] = TASKS[name][0]()
                task = loaded[name]
                data["tasks"][name] = {
                    "metric": task.metric,
                    "baseline": task.baseline,
                    "description": TASKS[name][2],
                }
            hp = sample_trial(name, k)
            for variant in todo:
                res = run_trial(loaded[name], variant, hp, steps=settings["steps"][name], trial=k)
                data["trials"].append(res.to_dict())
                _save(path, data)
                print(
                    f"trial {k:>3} {name:<8}{variant:<8}lr {hp.lr:8.2e} H {hp.hidden_size:>3} "
                    f"m {hp.momentum:.3f} noise {hp.input_noise:.2f}  {res.metric:8.4f}"
                    f"{'  diverged' if res.diverged else ''}  {res.seconds:5.1f} s",
                    flush=True,
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--trials", type=int, default=None, help="trials per variant and task (30; 2 with --smoke)"
    )
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=list(TASKS))
    parser.add_argument("--variants", nargs="+", choices=GREFF_VARIANTS, default=list(GREFF_VARIANTS))
    parser.add_argument(
        "--smoke", action="store_true", help="a pipeline check: 2 trials, a quarter of the steps"
    )
    parser.add_argument(
        "--results", type=Path, default=None, help="results file (greff.json; greff-smoke.json)"
    )
    parser.add_argument("--doc", type=Path, default=DOC, help="the markdown page to write")
    parser.add_argument("--render", action="store_true", help="only rebuild the page and figures")
    args = parser.parse_args(argv)
    path = args.results or (SMOKE_RESULTS if args.smoke else RESULTS)
    if not args.render:
        trials = args.trials if args.trials is not None else (2 if args.smoke else 30)
        if trials < 1:
            parser.error(f"--trials: expected an int >= 1, got {trials}")
        start = time.process_time()
        settings = _settings(0.25 if args.smoke else 1.0, args.smoke)
        command = shlex.join(["python", "benchmarks/greff.py", *(sys.argv[1:] if argv is None else argv)])
        run(args.tasks, args.variants, trials, path, settings, command)
        print(f"{time.process_time() - start:.0f} s of CPU", file=sys.stderr)
    data = _load(path)
    if not data.get("trials"):
        raise SystemExit(f"--results: {path} holds no trials; run the study first")
    atomic_write_text(args.doc, render(data, ROOT / "docs" / "images"))
    print(f"wrote {args.doc} from {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

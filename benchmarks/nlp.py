"""Language benchmarks behind docs/nlp.md: `make bench-nlp` (or `python benchmarks/nlp.py`).

Runs the documented commands in this process, one torch thread, and prints their tables:

* ``lm``: character LSTM language model on the King James Bible, 10 minutes of training CPU
  time, next to Kneser-Ney 5/7/9-gram baselines on the same split; then sample generations
  (temperature, top-k, nucleus, priming text).
* ``sentiment``: biLSTM + attention on the VADER movie-review snippets (binary) next to a TF-IDF
  logistic regression on the same split.
* ``numbers`` (extra): numbers written out in English -> French with Bahdanau attention; its
  heat map goes to docs/images/nlp-numbers-attention.png.
* ``translate``: English -> French encoder-decoder with Luong attention on Debian message
  catalogue pairs, BLEU/chrF next to the FreeDict word-by-word baseline; the attention heat
  map is copied to docs/images/nlp-attention.png.

Usage: ``python benchmarks/nlp.py [--only lm,sentiment,translate] [--lm-budget SECONDS]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch

from common import run_lstmkit

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs"
IMAGES = ROOT / "docs" / "images"


def lm_commands(budget: int) -> list[list[str]]:
    run = str(RUNS / "bench-textgen-kjv")
    train = ["textgen", "train", "--corpus", "kjv", "--tokenizer", "char", "--embed-dim", "64",
             "--hidden-size", "256", "--layers", "2", "--bptt", "64", "--batch-size", "32", "--lr", "5e-3",
             "--time-budget", str(budget), "--budget-clock", "cpu", "--epochs", "20",
             "--ngram-orders", "5,7,9", "--run-dir", run, "--no-progress"]  # fmt: skip
    samples = [
        ["--prime", "And God said", "--temperature", "0.5"],
        ["--prime", "And it came to pass", "--temperature", "0.8", "--top-k", "20"],
        ["--prime", "Blessed are", "--temperature", "1.0", "--top-p", "0.9"],
        ["--prime", "", "--temperature", "0", "--length", "200"],
    ]
    larger = [*train, "--hidden-size", "384", "--lr", "4e-3", "--ngram-orders", "", "--run-dir", f"{run}-384"]
    cmds = [train, larger]
    for extra in samples:
        length = [] if "--length" in extra else ["--length", "300"]
        cmds.append(["textgen", "sample", "--checkpoint", run, "--seed", "1", *length, *extra])
    return cmds


def sentiment_commands() -> list[list[str]]:
    run = str(RUNS / "bench-sentiment-movies")
    return [
        ["sentiment", "train", "--dataset", "movies", "--ensemble", "5", "--run-dir", run, "--no-progress"],
        ["sentiment", "predict", "--checkpoint", run, "--attention",
         "A gorgeous, witty, seductive movie.", "The plot is nothing but boilerplate clichés.",
         "Not as bad as I feared, but not good either."],
    ]  # fmt: skip


def translate_commands() -> list[list[str]]:
    run = str(RUNS / "bench-translate-en-fr")
    return [
        ["translate", "train", "--attention", "luong", "--run-dir", run, "--no-progress"],
        ["translate", "train", "--attention", "bahdanau", "--time-budget", "900",
         "--run-dir", f"{run}-bahdanau", "--no-progress"],
        ["translate", "predict", "--checkpoint", run, "Open the file", "Show hidden files",
         "The time before hiding a submenu", "--attention-png", str(Path(run) / "predict.png")],
    ]  # fmt: skip


def numbers_commands() -> list[list[str]]:
    run = str(RUNS / "bench-translate-numbers")
    return [
        ["translate", "train", "--pairs", "numbers-en-fr", "--tokenizer", "word", "--attention", "bahdanau",
         "--embed-dim", "64", "--hidden-size", "128", "--dropout", "0.1", "--lr", "3e-3", "--epochs", "2",
         "--eval-limit", "300", "--no-baseline", "--run-dir", run, "--no-progress"],
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description="Language benchmarks behind docs/nlp.md.")
    parser.add_argument("--only", default="lm,sentiment,translate,numbers", help="comma-separated tasks")
    parser.add_argument(
        "--lm-budget", type=int, default=600, help="char LM training CPU seconds (default 600)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), python {sys.version.split()[0]}")
    tasks = [t.strip() for t in args.only.split(",") if t.strip()]
    for task in tasks:
        if task == "lm":
            cmds = lm_commands(args.lm_budget)
        elif task == "sentiment":
            cmds = sentiment_commands()
        elif task == "translate":
            cmds = translate_commands()
        elif task == "numbers":
            cmds = numbers_commands()
        else:
            parser.error(f"--only: unknown task {task!r}")
        for cmd in cmds:
            run_lstmkit(cmd)
        if task == "translate":
            IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(RUNS / "bench-translate-en-fr" / "attention.png", IMAGES / "nlp-attention.png")
            bahdanau_png = RUNS / "bench-translate-en-fr-bahdanau" / "attention.png"
            shutil.copyfile(bahdanau_png, IMAGES / "nlp-attention-bahdanau.png")
            shutil.copyfile(
                RUNS / "bench-translate-en-fr" / "curves.png", IMAGES / "nlp-translate-curves.png"
            )
        if task == "numbers":
            IMAGES.mkdir(parents=True, exist_ok=True)
            numbers_png = RUNS / "bench-translate-numbers" / "attention.png"
            shutil.copyfile(numbers_png, IMAGES / "nlp-numbers-attention.png")
        if task == "lm":
            IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(RUNS / "bench-textgen-kjv" / "curves.png", IMAGES / "nlp-textgen-curves.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

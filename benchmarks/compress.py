"""Deployment benchmarks (issue 14): ONNX Runtime latency, int8, pruning and distillation.

Four studies, each a markdown table (``--markdown`` writes them into docs/deployment.md between
markers) and a part of ``benchmarks/results/compress.json``:

* ``latency``: onnxruntime (the :func:`lstmkit.export.onnx.to_onnx` file, one intra-op thread)
  against lstmkit eager and torch.nn.LSTM eager (classic only: torch has no peepholes), at
  batch 1 streaming (one step at a time, state carried) and batch 32 over L = 100 steps, for
  the classic and vanilla (peephole) cells at H = 256 and 512;
* ``int8``: :func:`lstmkit.compress.quantize_dynamic` against lstmkit float32 (streaming step
  and batch 32), and the saved ``state_dict`` sizes;
* ``metrics``: the task metric of float32 and int8 models trained the way the apps train them:
  the sentiment classifier (test accuracy), the KJV character LM 2x384 (test bits/char), the
  airline forecaster (MASE over three backtest windows);
* ``prune-distill``: the KJV 2x384 LM pruned to 50% of its hidden units (:func:`prune_units`,
  then fine-tuned) and distilled into a 1x256 student (:func:`distill`): bits/char,
  parameters, file size, scoring and generation speed.

Timings: every configuration of a row group is timed in turn within each repeat (so a change
of machine load hits all alike); a time is the median over repeats, a ratio the median of the
per-repeat ratios against the row's anchor (lstmkit float32 eager), measured in the same run.
Run with one thread (``OMP_NUM_THREADS=1``); the load average is printed with every table.

Trained models are kept in ``--cache`` (default ``runs/bench-compress``) and reused by later
runs (``--retrain`` trains them again), so the timing studies can be rerun on a quieter machine.

    OMP_NUM_THREADS=1 python benchmarks/compress.py --markdown docs/deployment.md   # all (~30 min, then ~10)
    OMP_NUM_THREADS=1 python benchmarks/compress.py --only latency,int8
    OMP_NUM_THREADS=1 python benchmarks/compress.py --quick                         # smoke run, < 1 min
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import io
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from common import load_average

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "compress.json"
CACHE = "runs/bench-compress"
STUDIES = ("latency", "int8", "metrics", "prune-distill")
MARK = "<!-- compress-{}:{} -->"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- machine, load, timing
def machine() -> str:
    """The CPU model (lscpu), its vector extensions, threads and library versions."""
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")
        )
    except (OSError, StopIteration):
        pass
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next(line for line in f if line.startswith("flags")).split(":", 1)[1].split())
    except (OSError, StopIteration):
        pass
    ext = [name for name in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni") if name in flags]
    import onnxruntime

    from lstmkit.core.engines.fused.build import load_extension

    lib = load_extension()
    backends = f"float {lib.gemm_backend()}, int8 {lib.int8_backend()}" if lib else "unavailable"
    return (
        f"{model} ({', '.join(ext) or 'no AVX2'}), {os.cpu_count()} cores, {torch.get_num_threads()} torch "
        f"thread(s); torch {torch.__version__}, onnxruntime {onnxruntime.__version__}; "
        f"fused kernels: {backends}"
    )


@dataclass
class Timing:
    """Medians over repeats: seconds per call of each job, and per-repeat ratios to the anchor."""

    seconds: dict[str, float]
    ratio: dict[str, float]  # anchor time / job time (> 1: faster than the anchor)


def paired(jobs: dict[str, Callable[[], object]], anchor: str, repeats: int, inner: int = 1) -> Timing:
    """Time ``jobs`` in turn within each repeat (``inner`` calls each, after one warm-up call);
    medians of the per-call times and of the per-repeat speed-ups against ``anchor``."""
    for job in jobs.values():
        job()
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            start = time.perf_counter()
            for _ in range(inner):
                job()
            times[name].append((time.perf_counter() - start) / inner)
    ratios = {name: statistics.median(a / b for a, b in zip(times[anchor], t)) for name, t in times.items()}
    return Timing({name: statistics.median(t) for name, t in times.items()}, ratios)


def state_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: the model file without config or tokenizer."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()


def lstm_bytes(model: nn.Module) -> int:
    """Bytes of the saved state of the model's recurrent layers alone (float or int8)."""
    from lstmkit.compress import QuantizedLSTM
    from lstmkit.core.layers import LSTM

    return sum(state_bytes(m) for m in model.modules() if isinstance(m, (LSTM, QuantizedLSTM)))


def sizes_of(model: nn.Module, qmodel: nn.Module) -> dict[str, int]:
    return {
        "float32_bytes": state_bytes(model),
        "int8_bytes": state_bytes(qmodel),
        "lstm_float32_bytes": lstm_bytes(model),
        "lstm_int8_bytes": lstm_bytes(qmodel),
    }


def table(headers: list[str], rows: list[list[Any]]) -> str:
    align = ["---" if i == 0 else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def rel(new: float, old: float) -> str:
    return f"{100 * (new - old) / old:+.2f}%"


@dataclass(frozen=True)
class Sizes:
    """What a run measures: the full study, or the smoke run's small shapes and budgets."""

    hidden: tuple[int, ...] = (256, 512)
    variants: tuple[str, ...] = ("classic", "vanilla")
    steps: int = 100  # streamed steps per timed call
    length: int = 100  # L of the batch-32 inference
    batch: int = 32
    repeats: int = 9
    # the KJV char LM (docs/nlp.md: emb 64, lr 4e-3, bptt 64, batch 32), shorter budgets
    lm_hidden: int = 384
    lm_layers: int = 2
    student_hidden: int = 256
    teacher_cpu_s: float = 300.0
    finetune_steps: int = 300
    max_train_chars: int | None = None
    eval_chars: int | None = None  # the test text scored (None: all of it)
    sentiment_epochs: int = 12
    sentiment_cpu_s: float = 240.0
    sentiment_model: tuple[tuple[str, int], ...] = ()
    forecaster_epochs: int = 200
    forecaster_windows: int = 3


FULL = Sizes()
QUICK = Sizes(
    hidden=(32,),
    variants=("classic",),
    steps=20,
    length=20,
    batch=4,
    repeats=2,
    lm_hidden=32,
    student_hidden=16,
    teacher_cpu_s=3.0,
    finetune_steps=5,
    max_train_chars=20_000,
    eval_chars=4_000,
    sentiment_epochs=1,
    sentiment_cpu_s=3.0,
    sentiment_model=(("embed_dim", 16), ("hidden_size", 16)),
    forecaster_epochs=2,
    forecaster_windows=1,
)


# ---------------------------------------------------------------------- latency: ORT vs eager
class _Step(nn.Module):
    """An LSTM called on (x, h, c) returning (y, h, c): the exported streaming step."""

    def __init__(self, lstm: nn.Module) -> None:
        super().__init__()
        self.lstm = lstm

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
        from lstmkit import LSTMState

        y, state = self.lstm(x, LSTMState(h, c))
        return y, state.h, state.c


def ort_session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_quiet(model: nn.Module, path: Path, example: Any, static_axes: list[int] | None) -> Path:
    from lstmkit.export.onnx import to_onnx

    logging.getLogger("torch").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return to_onnx(model, path, example, static_axes=static_axes, overwrite=True)


def stream_jobs(
    lstm: nn.Module, torch_lstm: nn.LSTM | None, session: Any, xs: torch.Tensor
) -> dict[str, Any]:
    """One call = ``len(xs)`` steps at batch 1, state carried, for each runtime."""
    H = lstm.hidden_size
    stream = lstm.stream(1)
    out = torch.empty(1, H)
    xs_np = xs.numpy()

    def eager() -> None:
        stream.reset()
        for x in xs:
            stream.step(x, out)

    def ort_steps() -> None:
        h = c = np.zeros((1, 1, H), dtype=np.float32)
        for x in xs_np:
            _, h, c = session.run(None, {"x": x[None], "h": h, "c": c})

    jobs: dict[str, Any] = {"lstmkit": eager, "onnxruntime": ort_steps}
    if torch_lstm is not None:

        def torch_steps() -> None:
            with torch.no_grad():
                state = None
                for x in xs:
                    _, state = torch_lstm(x[None], state)

        jobs["torch.nn.LSTM"] = torch_steps
        cell = nn.LSTMCell(H, H).eval()
        cell.load_state_dict({k.removesuffix("_l0"): v for k, v in torch_lstm.state_dict().items()})

        def cell_steps() -> None:
            with torch.no_grad():
                state = None
                for x in xs:
                    state = cell(x, state)

        jobs["torch.nn.LSTMCell"] = cell_steps
    return jobs


def batch_jobs(lstm: nn.Module, torch_lstm: nn.LSTM | None, session: Any, x: torch.Tensor) -> dict[str, Any]:
    x_np = x.numpy()
    name = session.get_inputs()[0].name

    def eager() -> object:
        with torch.no_grad():
            return lstm(x)

    jobs: dict[str, Any] = {"lstmkit": eager, "onnxruntime": lambda: session.run(None, {name: x_np})}
    if torch_lstm is not None:

        def torch_forward() -> object:
            with torch.no_grad():
                return torch_lstm(x)

        jobs["torch.nn.LSTM"] = torch_forward
    return jobs


def latency_study(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    import lstmkit

    rows, raw = [], []
    for H in sizes.hidden:
        for variant in sizes.variants:
            log(f"latency: H={H} {variant} (export, then timing)")
            torch.manual_seed(0)
            lstm = lstmkit.LSTM(H, H, variant=variant).eval()
            torch_lstm = None
            if variant == "classic":
                torch_lstm = nn.LSTM(H, H).eval()
                torch_lstm.load_state_dict(lstm.state_dict())
            # h and c must be distinct tensors: the exporter would read one aliased input for both
            example = (torch.randn(1, 1, H), torch.zeros(1, 1, H), torch.zeros(1, 1, H))
            step_file = export_quiet(
                _Step(lstm).eval(), workdir / f"step-{variant}-{H}.onnx", example, [0, 1]
            )
            seq_file = export_quiet(lstm, workdir / f"seq-{variant}-{H}.onnx", torch.randn(7, 3, H), None)
            xs = torch.randn(sizes.steps, 1, H)
            x = torch.randn(sizes.length, sizes.batch, H)
            for workload, jobs, inner, unit in (
                ("stream, N=1", stream_jobs(lstm, torch_lstm, ort_session(step_file), xs), 1, sizes.steps),
                (
                    f"batch {sizes.batch}, L={sizes.length}",
                    batch_jobs(lstm, torch_lstm, ort_session(seq_file), x),
                    1,
                    1,
                ),
            ):
                t = paired(jobs, "lstmkit", sizes.repeats, inner)
                per = {k: v / unit for k, v in t.seconds.items()}
                scale, label = (1e6, "µs/step") if unit > 1 else (1e3, "ms")
                cells = []
                for name in ("lstmkit", "torch.nn.LSTM", "torch.nn.LSTMCell", "onnxruntime"):
                    if name in per:
                        ratio = "" if name == "lstmkit" else f" ({t.ratio[name]:.2f}x)"
                        cells.append(f"{per[name] * scale:.1f}{ratio}")
                    else:
                        cells.append("n/a")
                rows.append([H, variant, f"{workload} ({label})", *cells])
                raw.append(
                    {"H": H, "variant": variant, "workload": workload, "seconds": per, "speedup": t.ratio}
                )
    text = table(
        [
            "H (= input)",
            "cell",
            "workload",
            "lstmkit eager",
            "torch.nn.LSTM eager",
            "torch.nn.LSTMCell eager",
            "onnxruntime (1 thread)",
        ],
        rows,
    )
    return {"rows": raw, "table": text}


# ---------------------------------------------------------------------- int8 speed and size
def int8_study(sizes: Sizes) -> dict[str, Any]:
    import lstmkit
    from lstmkit.compress import quantize_dynamic

    rows, size_rows, raw = [], [], []
    for H in sizes.hidden:
        for variant in sizes.variants:
            log(f"int8: H={H} {variant}")
            torch.manual_seed(0)
            model = lstmkit.LSTM(H, H, variant=variant).eval()
            qmodel = quantize_dynamic(model)
            xs = torch.randn(sizes.steps, 1, H)
            x = torch.randn(sizes.length, sizes.batch, H)
            entry: dict[str, Any] = {"H": H, "variant": variant}
            for workload, unit, jobs in (
                (
                    "stream, N=1",
                    sizes.steps,
                    {"float32": _stream_job(model, xs), "int8": _stream_job(qmodel, xs)},
                ),
                (
                    f"batch {sizes.batch}, L={sizes.length}",
                    1,
                    {"float32": _forward_job(model, x), "int8": _forward_job(qmodel, x)},
                ),
            ):
                t = paired(jobs, "float32", sizes.repeats)
                scale, label = (1e6, "µs/step") if unit > 1 else (1e3, "ms")
                f32, i8 = (t.seconds[k] / unit * scale for k in ("float32", "int8"))
                speedup = t.ratio["int8"]
                target = "yes" if speedup >= 1.8 else "no"
                rows.append(
                    [
                        H,
                        variant,
                        f"{workload} ({label})",
                        f"{f32:.1f}",
                        f"{i8:.1f}",
                        f"{speedup:.2f}x",
                        target if H == 512 else "",
                    ]
                )
                entry[workload] = {
                    "float32_s": t.seconds["float32"] / unit,
                    "int8_s": t.seconds["int8"] / unit,
                    "speedup": speedup,
                }
            f_bytes, q_bytes = state_bytes(model), state_bytes(qmodel)
            size_rows.append(
                [H, variant, f"{f_bytes / 1e6:.3f}", f"{q_bytes / 1e6:.3f}", f"{f_bytes / q_bytes:.2f}x"]
            )
            entry |= {"float32_bytes": f_bytes, "int8_bytes": q_bytes}
            raw.append(entry)
    text = (
        table(["H (= input)", "cell", "workload", "float32", "int8", "speed-up", ">= 1.8x at 512"], rows)
        + "\n\n"
        + table(
            ["H (= input)", "cell", "float32 state_dict MB", "int8 state_dict MB", "smaller by"], size_rows
        )
    )
    return {"rows": raw, "table": text}


def _stream_job(model: nn.Module, xs: torch.Tensor) -> Callable[[], None]:
    stream = model.stream(1)  # type: ignore[operator]
    out = torch.empty(1, model.hidden_size)  # type: ignore[arg-type]

    def run() -> None:
        stream.reset()
        for x in xs:
            stream.step(x, out)

    return run


def _forward_job(model: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        with torch.no_grad():
            return model(x)

    return run


# ---------------------------------------------------------------------- trained models (cached)
@dataclass
class Cache:
    folder: Path
    retrain: bool

    def path(self, name: str) -> Path:
        return self.folder / name

    def fresh(self, name: str) -> bool:
        """True when ``name`` must be (re)made."""
        return self.retrain or not self.path(name).exists()

    def save_module(self, name: str, module: nn.Module, info: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        torch.save({"module": module, "info": info}, self.path(name))

    def load_module(self, name: str) -> tuple[nn.Module, dict[str, Any]]:
        payload = torch.load(self.path(name), weights_only=False)
        return payload["module"], payload["info"]


def kjv_texts(sizes: Sizes) -> tuple[str, str, str]:
    from lstmkit.apps.language.corpora import load_text_corpus

    corpus = load_text_corpus("kjv")
    train = corpus.train[: sizes.max_train_chars] if sizes.max_train_chars else corpus.train
    test = corpus.test[: sizes.eval_chars] if sizes.eval_chars else corpus.test
    valid = corpus.valid[: sizes.eval_chars] if sizes.eval_chars else corpus.valid
    return train, valid, test


def lm_options(sizes: Sizes, run_dir: str, **over: Any) -> Any:
    from lstmkit.apps.language.training import TrainOptions

    settings: dict[str, Any] = {
        "lr": 4e-3,
        "batch_size": 32,
        "epochs": 20,
        "time_budget": sizes.teacher_cpu_s,
        "budget_clock": "cpu",
        "threads": None,
        "run_dir": run_dir,
        "overwrite": True,
        "progress": False,
    }
    return TrainOptions(**(settings | over))


def kjv_teacher(sizes: Sizes, cache: Cache) -> tuple[nn.Module, Any, dict[str, Any]]:
    """The 2x384 char LM as ``lstmkit textgen train`` trains it (docs/nlp.md), shorter budget."""
    from lstmkit.apps.language import textgen
    from lstmkit.apps.language.bundle import load_bundle
    from lstmkit.apps.language.lm import LanguageModel

    folder = cache.path("kjv-teacher")
    if cache.fresh("kjv-teacher/model.pt"):
        log(f"training the KJV {sizes.lm_layers}x{sizes.lm_hidden} LM ({sizes.teacher_cpu_s:.0f} CPU s)")
        config = textgen.TextgenJobConfig(
            training=lm_options(sizes, str(folder)),
            corpus="kjv",
            tokenizer="char",
            max_train_chars=sizes.max_train_chars,
            model={"embed_dim": 64, "hidden_size": sizes.lm_hidden, "num_layers": sizes.lm_layers},
            bptt=64,
            ngram_orders="",
            sample_length=0,
        )
        textgen.run(config)
    bundle, tokenizers = load_bundle(folder, "lm")
    model = LanguageModel(**bundle["config"])
    model.load_state_dict(bundle["model"])
    history = _steps_of(folder)
    return model.eval(), tokenizers["text"], bundle["extra"] | history


def _steps_of(folder: Path) -> dict[str, Any]:
    """The optimizer steps of a textgen run (its metrics.csv's last ``step``)."""
    import csv

    path = folder / "metrics.csv"
    if not path.exists():
        return {}
    with open(path) as f:
        rows = list(csv.DictReader(f))
    steps = [int(float(r["step"])) for r in rows if r.get("step")]
    return {"steps": max(steps)} if steps else {}


def lm_bits(model: nn.Module, ids: list[int]) -> float:
    from lstmkit.apps.language.lm import bits_per_token, stream_nll

    with torch.no_grad():
        return bits_per_token(stream_nll(model, ids, batch_size=8, bptt=512))  # type: ignore[arg-type]


# ---------------------------------------------------------------------- int8 task metrics
def sentiment_metric(sizes: Sizes, cache: Cache) -> dict[str, Any]:
    """The sentiment job's biLSTM + attention classifier (VADER movie snippets, one member)."""
    from lstmkit.apps.language import sentiment
    from lstmkit.apps.language.bundle import load_bundle
    from lstmkit.apps.language.corpora.vader import load_vader
    from lstmkit.apps.language.text_classifier import TextClassifier
    from lstmkit.compress import quantize_dynamic

    folder = cache.path("sentiment")
    if cache.fresh("sentiment/model.pt"):
        log(
            f"metrics: training the sentiment classifier (<= {sizes.sentiment_epochs} epochs, "
            f"{sizes.sentiment_cpu_s:.0f} CPU s)"
        )
        options = dataclasses.replace(
            sentiment.TRAINING,
            epochs=sizes.sentiment_epochs,
            time_budget=sizes.sentiment_cpu_s,
            run_dir=str(folder),
            overwrite=True,
            progress=False,
        )
        sentiment.run(
            sentiment.SentimentJobConfig(training=options, model=dict(sizes.sentiment_model), baseline=False)
        )
    bundle, tokenizers = load_bundle(folder, "sentiment")
    model = TextClassifier(**bundle["config"])
    model.load_state_dict(bundle["model"])
    model.eval()
    qmodel = quantize_dynamic(model)
    test = load_vader("movies", binary=True).test

    def accuracy(m: nn.Module) -> float:
        pred, _ = sentiment.classify(m, tokenizers["text"], test.texts)  # type: ignore[arg-type]
        return sum(p == g for p, g in zip(pred, test.labels)) / len(pred)

    f, q = accuracy(model), accuracy(qmodel)
    return {
        "task": "sentiment (VADER movies, biLSTM 128 + attention)",
        "metric": "test accuracy",
        "n": len(test.labels),
        "float32": f,
        "int8": q,
        **sizes_of(model, qmodel),
    }


def kjv_metric(sizes: Sizes, cache: Cache) -> dict[str, Any]:
    from lstmkit.compress import quantize_dynamic

    model, tokenizer, info = kjv_teacher(sizes, cache)
    _, _, test = kjv_texts(sizes)
    ids = tokenizer.encode(test)
    log(f"metrics: KJV LM test bits/char, float32 and int8 ({len(ids):,} characters)")
    qmodel = quantize_dynamic(model)
    return {
        "task": f"KJV char LM {sizes.lm_layers}x{sizes.lm_hidden} "
        f"({info.get('cpu_seconds', 0):.0f} CPU s of training)",
        "metric": "test bits/char",
        "n": len(ids),
        "float32": lm_bits(model, ids),
        "int8": lm_bits(qmodel, ids),
        **sizes_of(model, qmodel),
    }


def airline_metric(sizes: Sizes) -> dict[str, Any]:
    """The forecaster of ``lstmkit run`` (defaults, one network) on airline: MASE over the last
    ``forecaster_windows`` windows of 12 months, each fitted on the history before it; the same
    fitted networks quantized forecast the same windows."""
    from lstmkit import Forecaster
    from lstmkit.apps.datasets import sources
    from lstmkit.compress import quantize_dynamic
    from lstmkit.fit.evaluation import mase

    series = sources.load_series("airline")
    horizon, season = 12, 12
    scores: dict[str, list[float]] = {"float32": [], "int8": []}
    sizes_b: dict[str, int] = {}
    for k in range(sizes.forecaster_windows, 0, -1):
        origin = len(series) - k * horizon
        log(f"metrics: airline forecaster, origin {origin}")
        history = series.head(origin)
        actual = np.asarray(series.values, dtype=np.float64).ravel()[origin : origin + horizon]
        fc = Forecaster(horizon, ensemble=1, max_epochs=sizes.forecaster_epochs, progress=False).fit(history)
        point = fc.predict().point  # type: ignore[union-attr]
        scores["float32"].append(mase(actual, point, np.asarray(history.values).ravel(), season))
        nets = fc.nets_
        fc.nets_ = [quantize_dynamic(net.eval()) for net in nets]
        qpoint = fc.predict().point  # type: ignore[union-attr]
        scores["int8"].append(mase(actual, qpoint, np.asarray(history.values).ravel(), season))
        sizes_b = sizes_of(nets[0], fc.nets_[0])
    return {
        "task": f"airline forecaster (LSTM 64, quantile, 1 network, "
        f"{sizes.forecaster_windows} windows of 12)",
        "metric": "MASE",
        "n": sizes.forecaster_windows * horizon,
        "float32": float(np.mean(scores["float32"])),
        "int8": float(np.mean(scores["int8"])),
        "windows": scores,
        **sizes_b,
    }


def metrics_study(sizes: Sizes, cache: Cache) -> dict[str, Any]:
    rows, raw = [], []
    for make in (
        lambda: sentiment_metric(sizes, cache),
        lambda: kjv_metric(sizes, cache),
        lambda: airline_metric(sizes),
    ):
        r = make()
        change = (r["int8"] - r["float32"]) / r["float32"]
        r["relative_change"] = change
        r["within_1pct"] = abs(change) <= 0.01
        raw.append(r)
        rows.append(
            [
                r["task"],
                r["metric"],
                f"{r['float32']:.4f}",
                f"{r['int8']:.4f}",
                rel(r["int8"], r["float32"]),
                "yes" if r["within_1pct"] else "no",
                f"{r['float32_bytes'] / 1e6:.2f} / {r['int8_bytes'] / 1e6:.2f} "
                f"({r['float32_bytes'] / r['int8_bytes']:.1f}x)",
                f"{r['lstm_float32_bytes'] / 1e6:.2f} / {r['lstm_int8_bytes'] / 1e6:.2f} "
                f"({r['lstm_float32_bytes'] / r['lstm_int8_bytes']:.1f}x)",
            ]
        )
        log(f"  {rows[-1]}")
    text = table(
        [
            "model",
            "metric",
            "float32",
            "int8",
            "relative change",
            "within 1%",
            "model MB f32 / int8",
            "LSTM layers MB f32 / int8",
        ],
        rows,
    )
    return {"rows": raw, "table": text}


# ---------------------------------------------------------------------- pruning and distillation
def lm_batches(ids: list[int], batch: int, bptt: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    from lstmkit.apps.language.batching import StreamBatches

    return [(x.contiguous(), y.contiguous()) for x, y in StreamBatches(ids, batch, bptt)]


def fine_tune(model: nn.Module, ids: list[int], steps: int, lr: float) -> float:
    """``steps`` of Adam on consecutive chunks (state carried, as textgen trains); CPU seconds."""
    from lstmkit.apps.language.lm import detach_state

    start = time.process_time()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    batches = lm_batches(ids, 32, 64)
    state = None
    for k in range(steps):
        x, y = batches[k % len(batches)]
        if k % len(batches) == 0:
            state = None
        logits, state = model(x, state)
        state = detach_state(state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()
    return time.process_time() - start


def students(
    sizes: Sizes, cache: Cache, teacher: nn.Module, tokenizer: Any, steps: int
) -> dict[str, tuple[nn.Module, dict[str, Any]]]:
    """The pruned teacher (as is and fine-tuned), the teacher fine-tuned as long (the control),
    the distilled 1xS student and the same student trained on the text alone for as many steps
    (each made once, then cached)."""
    from lstmkit.apps.language.lm import LanguageModel
    from lstmkit.compress import distill, prune_units

    train, valid, _ = kjv_texts(sizes)
    ids = tokenizer.encode(train)
    out: dict[str, tuple[nn.Module, dict[str, Any]]] = {}
    if cache.fresh("pruned.pt"):
        log("prune-distill: prune_units(0.5)")
        pruned = prune_units(copy.deepcopy(teacher), 0.5)
        cache.save_module("pruned.pt", pruned, {"cpu_seconds": 0.0})
    out["pruned"] = cache.load_module("pruned.pt")
    if cache.fresh("pruned-ft.pt"):
        log(f"prune-distill: fine-tuning the pruned model ({sizes.finetune_steps} steps)")
        tuned = copy.deepcopy(out["pruned"][0])
        cpu = fine_tune(tuned, ids, sizes.finetune_steps, 2e-3)
        cache.save_module("pruned-ft.pt", tuned, {"cpu_seconds": cpu, "steps": sizes.finetune_steps})
    out["pruned-ft"] = cache.load_module("pruned-ft.pt")
    if cache.fresh("teacher-ft.pt"):  # the control: the unpruned teacher trained as many more steps
        log(f"prune-distill: the teacher fine-tuned as long ({sizes.finetune_steps} steps)")
        tuned = copy.deepcopy(teacher)
        cpu = fine_tune(tuned, ids, sizes.finetune_steps, 2e-3)
        cache.save_module("teacher-ft.pt", tuned, {"cpu_seconds": cpu, "steps": sizes.finetune_steps})
    out["teacher-ft"] = cache.load_module("teacher-ft.pt")
    vocab = len(tokenizer.vocab)
    if cache.fresh("distilled.pt"):
        log(f"prune-distill: distilling into 1x{sizes.student_hidden} ({steps} steps)")
        torch.manual_seed(0)
        student = LanguageModel(vocab, embed_dim=64, hidden_size=sizes.student_hidden, num_layers=1)
        start = time.process_time()
        distill(
            teacher,
            student,
            lm_batches(ids, 32, 64),
            task="language_model",
            temperature=2.0,
            alpha=0.5,
            epochs=1000,
            lr=4e-3,
            max_steps=steps,
            clip_norm=1.0,
            optimizer="adam",
            restore_best=False,
        )
        cache.save_module(
            "distilled.pt", student.eval(), {"cpu_seconds": time.process_time() - start, "steps": steps}
        )
    out["distilled"] = cache.load_module("distilled.pt")
    if cache.fresh("student-alone.pt"):
        log(f"prune-distill: the 1x{sizes.student_hidden} student trained on the text alone ({steps} steps)")
        from lstmkit.apps.language.textgen import train_language_model

        res = train_language_model(
            train,
            valid,
            copy.deepcopy(tokenizer),
            bptt=64,
            model_kwargs={"embed_dim": 64, "hidden_size": sizes.student_hidden, "num_layers": 1},
            training=lm_options(
                sizes, str(cache.path("student-alone-run")), time_budget=None, max_steps=steps
            ),
        )
        cache.save_module(
            "student-alone.pt", res.model.eval(), {"cpu_seconds": res.cpu_seconds, "steps": res.steps}
        )
    out["student-alone"] = cache.load_module("student-alone.pt")
    return out


def generate_job(model: nn.Module, n: int) -> Callable[[], None]:
    """``n`` characters of ``LanguageModel.generate`` (batch 1, sampling, one token per call)."""

    def run() -> None:
        gen = torch.Generator().manual_seed(0)
        for _ in model.generate([5, 6, 7], n, temperature=0.8, generator=gen):  # type: ignore[operator]
            pass

    return run


def prune_distill_study(sizes: Sizes, cache: Cache) -> dict[str, Any]:
    from lstmkit.apps.language.bundle import count_parameters
    from lstmkit.compress import quantize_dynamic

    teacher, tokenizer, info = kjv_teacher(sizes, cache)
    steps = int(info.get("steps", 50))
    made = students(sizes, cache, teacher, tokenizer, steps)
    _, _, test = kjv_texts(sizes)
    ids = tokenizer.encode(test)
    speed_ids = ids[: 10_000 if sizes.eval_chars is None else 1_000]
    gen_n = 300 if sizes.eval_chars is None else 20
    models: list[tuple[str, nn.Module, dict[str, Any]]] = [
        (f"teacher {sizes.lm_layers}x{sizes.lm_hidden} (unpruned, undistilled)", teacher, info),
        ("pruned 50% units (prune_units), no fine-tuning", *made["pruned"]),
        (f"pruned 50% units + {sizes.finetune_steps} fine-tuning steps", *made["pruned-ft"]),
        (f"control: teacher + the same {sizes.finetune_steps} steps, unpruned", *made["teacher-ft"]),
        (f"student 1x{sizes.student_hidden}, distilled (T=2, alpha=0.5)", *made["distilled"]),
        (f"student 1x{sizes.student_hidden}, trained on the text alone", *made["student-alone"]),
    ]
    models.append(("teacher int8 (quantize_dynamic), for scale", quantize_dynamic(teacher), {}))
    log("prune-distill: bits/char and sizes")
    names = [name for name, _, _ in models]
    bits = {name: lm_bits(model, ids) for name, model, _ in models}
    log("prune-distill: speeds (every model in turn within each repeat, ratios to the teacher)")
    repeats = max(2, sizes.repeats // 2)
    score = paired({n: (lambda m=m: lm_bits(m, speed_ids)) for n, m, _ in models}, names[0], repeats)
    gen = paired({n: generate_job(m, gen_n) for n, m, _ in models}, names[0], repeats)
    rows, raw = [], []
    base_params, base_bytes = count_parameters(teacher), state_bytes(teacher)
    for name, model, extra in models:
        nbytes = state_bytes(model)
        params = count_parameters(model) if not name.startswith("teacher int8") else base_params
        score_s, gen_s = len(speed_ids) / score.seconds[name], gen_n / gen.seconds[name]
        raw.append(
            {
                "model": name,
                "bits": bits[name],
                "params": params,
                "bytes": nbytes,
                "score_chars_s": score_s,
                "score_speedup": score.ratio[name],
                "generate_chars_s": gen_s,
                "generate_speedup": gen.ratio[name],
                "train_cpu_s": extra.get("cpu_seconds"),
                "steps": extra.get("steps"),
            }
        )
        rows.append(
            [
                name,
                f"{bits[name]:.3f} ({rel(bits[name], bits[names[0]])})",
                f"{params:,} ({params / base_params:.2f}x)",
                f"{nbytes / 1e6:.2f} ({nbytes / base_bytes:.2f}x)",
                f"{score_s:,.0f} ({score.ratio[name]:.2f}x)",
                f"{gen_s:,.0f} ({gen.ratio[name]:.2f}x)",
                f"{extra.get('cpu_seconds', 0) or 0:.0f}",
            ]
        )
        log(f"  {rows[-1]}")
    text = table(
        [
            "model",
            "test bits/char (change)",
            "parameters",
            "state_dict MB",
            "scoring chars/s (batch 8)",
            "generation chars/s (batch 1)",
            "training CPU s",
        ],
        rows,
    )
    return {"rows": raw, "table": text, "teacher_steps": steps}


# ---------------------------------------------------------------------- output
def write_block(path: Path, name: str, text: str) -> None:
    """Replace the ``name`` block of ``path`` (appended if absent), atomically."""
    from lstmkit.io.atomic import atomic_write_text

    begin, end = MARK.format(name, "begin"), MARK.format(name, "end")
    block = f"{begin}\n{text}\n{end}"
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old:
        new = old[: old.index(begin)] + block + old[old.index(end) + len(end) :]
    else:
        new = old + ("\n" if old and not old.endswith("\n") else "") + block + "\n"
    atomic_write_text(path, new)


def header(command: str, started: str, before: str, after: str, seconds: float) -> str:
    return (
        f"`{command}` — {started}, {seconds / 60:.1f} min, on {machine()}. "
        f"Load average (1/5/15 min) before: {before}, after: {after} (2 cores shared with other jobs)."
    )


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=",".join(STUDIES), help=f"comma-separated studies of {STUDIES}")
    p.add_argument("--quick", action="store_true", help="tiny shapes and budgets, a smoke run (< 1 min)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per configuration (median)")
    p.add_argument(
        "--cache", default=None, help=f"trained models (default {CACHE}; --quick: a temporary folder)"
    )
    p.add_argument("--retrain", action="store_true", help="train the cached models again")
    p.add_argument(
        "--json", default=None, help=f"results file (default {RESULTS.relative_to(ROOT)}; not with --quick)"
    )
    p.add_argument("--markdown", default=None, help="write the tables into this file between markers")
    args = p.parse_args(argv)
    studies = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(studies) - set(STUDIES))
    if unknown:
        p.error(f"--only: unknown {unknown}; expected some of {', '.join(STUDIES)}")
    args.studies = studies
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    command = "OMP_NUM_THREADS=1 python benchmarks/compress.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    sizes = QUICK if args.quick else FULL
    if args.repeats:
        sizes = dataclasses.replace(sizes, repeats=args.repeats)
    if torch.get_num_threads() != 1:
        log(f"note: torch uses {torch.get_num_threads()} threads; the tables are meant for OMP_NUM_THREADS=1")
    json_path = Path(args.json) if args.json else (None if args.quick else RESULTS)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Cache(Path(args.cache or (tmp if args.quick else CACHE)), args.retrain)
        results: dict[str, Any] = {}
        if json_path is not None and json_path.exists():
            results = json.loads(json_path.read_text())
        for study in args.studies:
            before, started, t0 = load_average(), time.strftime("%Y-%m-%d %H:%M"), time.perf_counter()
            if study == "latency":
                out = latency_study(sizes, Path(tmp))
            elif study == "int8":
                out = int8_study(sizes)
            elif study == "metrics":
                out = metrics_study(sizes, cache)
            else:
                out = prune_distill_study(sizes, cache)
            seconds = time.perf_counter() - t0
            head = header(command, started, before, load_average(), seconds)
            out |= {
                "command": command,
                "started": started,
                "seconds": seconds,
                "machine": machine(),
                "load_before": before,
                "load_after": load_average(),
                "quick": args.quick,
            }
            results[study] = out
            print(f"\n## {study}\n\n{head}\n\n{out['table']}\n", flush=True)
            if args.markdown:
                write_block(Path(args.markdown), study, f"{head}\n\n{out['table']}")
            if json_path is not None:
                from lstmkit.io.atomic import atomic_write_text

                json_path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(json_path, json.dumps(results, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

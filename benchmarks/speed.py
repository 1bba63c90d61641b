"""Speed of lstmkit's LSTM engines against torch.nn.LSTM, measured in the same run.

Prints markdown tables (``make bench-speed`` also writes them into docs/performance.md):

1. forward (no grad) and forward+backward time of lstmkit.core.layers.LSTM (engine ``auto``, and the
   classic cell forced onto the fused kernel) for the variants classic, vanilla (peepholes),
   CIFG, layer norm, classic + recurrent dropout, classic + zoneout, as ms and as ratios to
   torch.nn.LSTM (classic) and to lstmkit's reference path;
2. streaming step latency at N=1 against torch.nn.LSTMCell and torch.nn.LSTM with carried state;
3. the memory saved for backward (unique storages seen by ``saved_tensors_hooks``) against
   torch.nn.LSTM;
4. the cost of ``return_gates=True`` (the gate trace) on the fused engine: the same forward with
   and without it, at (100, 32, 256, 256) (``--gates-only``: this table alone);
5. ConvLSTM training (forward + backward) against a plain PyTorch loop of ``conv2d`` + gates
   (``benchmarks/convlstm_speed.py``; ``--convlstm-only``: this table alone).

Timings are medians of ``--repeats`` runs after ``--warmup`` runs; within a shape every
configuration is timed round-robin (one run of each per round), so a change in machine load
hits all of them alike. Speed numbers only mean something on a quiet machine: the load average
is printed before and after.

    python benchmarks/speed.py                               # all tables to stdout
    python benchmarks/speed.py --markdown docs/performance.md  # ... and into that file
    python benchmarks/speed.py --quick                       # small shapes, a smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from common import load_average
from convlstm_speed import convlstm_table
from lstmkit.core.engines.fused.build import load_extension
from lstmkit.core.layers import LSTM
from lstmkit.io.atomic import atomic_write_text

SHAPES = [(100, 32, 256, 256), (100, 64, 512, 512), (500, 16, 128, 128), (50, 1, 256, 256)]
QUICK_SHAPES = [(20, 4, 32, 32)]
# (row name, LSTM keyword arguments, engine); the layer runs in training mode
VARIANTS: list[tuple[str, dict[str, Any], str]] = [
    ("classic", {}, "auto"),
    ("classic (fused)", {}, "fused"),
    ("vanilla (peepholes)", {"variant": "vanilla"}, "auto"),
    ("CIFG", {"variant": "cifg"}, "auto"),
    ("layer norm", {"layer_norm": True}, "auto"),
    ("classic + recurrent dropout", {"recurrent_dropout": 0.25}, "auto"),
    ("classic + zoneout", {"zoneout": 0.1}, "auto"),
]
STREAM_SIZES = [128, 256, 512]
GATES_SHAPE = (100, 32, 256, 256)
MARK_BEGIN, MARK_END = "<!-- speed-tables:begin -->", "<!-- speed-tables:end -->"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ext = load_extension()
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads; "
        f"fused extension: {ext.gemm_backend() if ext else 'unavailable'}; Python {platform.python_version()}"
    )


def gpu_machine() -> str:
    props = torch.cuda.get_device_properties(0)
    return (
        f"{props.name} ({props.total_memory / 2**30:.0f} GiB, {props.multi_processor_count} SMs), "
        f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}; "
        f"Python {platform.python_version()}"
    )


@dataclass
class Timer:
    """Round-robin timing of named callables: medians in ms (wall clock, or the process's CPU
    time, which with one thread is robust to other processes' load)."""

    repeats: int
    warmup: int
    clock: Callable[[], float] = time.perf_counter
    sync: Callable[[], None] | None = None  # waits for queued GPU work (torch.cuda.synchronize)

    def run(self, jobs: dict[str, Callable[[], object]]) -> dict[str, float]:
        times: dict[str, list[float]] = {name: [] for name in jobs}
        for round_ in range(self.warmup + self.repeats):
            for name, job in jobs.items():
                start = self.clock()
                job()
                if self.sync is not None:
                    self.sync()
                elapsed = self.clock() - start
                if round_ >= self.warmup:
                    times[name].append(elapsed * 1e3)
        return {name: statistics.median(v) for name, v in times.items()}


def forward_job(module: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def job() -> object:
        with torch.no_grad():
            return module(x)

    return job


def train_job(module: nn.Module, x: torch.Tensor) -> Callable[[], object]:
    def job() -> object:
        out, _ = module(x)
        out.sum().backward()
        module.zero_grad(set_to_none=True)
        return None

    return job


def variants(device: str) -> list[tuple[str, dict[str, Any], str]]:
    """:data:`VARIANTS` that run on ``device`` (the fused kernels are CPU code)."""
    return [v for v in VARIANTS if device == "cpu" or v[2] != "fused"]


def speed_table(
    shapes: list[tuple[int, int, int, int]], timer: Timer, reference: bool, device: str = "cpu"
) -> str:
    rows = []
    for shape in shapes:
        T, N, I, H = shape
        log(f"shape (T, N, I, H) = {shape} ...")
        torch.manual_seed(0)
        x = torch.randn(T, N, I, device=device)
        base = nn.LSTM(I, H).to(device).train()
        jobs: dict[str, Callable[[], object]] = {
            "torch fwd": forward_job(base, x),
            "torch train": train_job(base, x),
        }
        for name, kwargs, engine in variants(device):
            layer = LSTM(I, H, engine=engine, **kwargs).to(device).train()
            jobs[f"{name} fwd"] = forward_job(layer, x)
            jobs[f"{name} train"] = train_job(layer, x)
            if reference and engine == "auto":
                ref = LSTM(I, H, engine="reference", **kwargs).to(device).train()
                ref.load_state_dict(layer.state_dict())
                jobs[f"{name} ref fwd"] = forward_job(ref, x)
                jobs[f"{name} ref train"] = train_job(ref, x)
        ms = timer.run(jobs)
        t_fwd, t_train = ms["torch fwd"], ms["torch train"]
        rows.append(f"| {shape} | torch.nn.LSTM (classic) | {t_fwd:.2f} | 1.00 | | {t_train:.2f} | 1.00 | |")
        for name, _, engine in variants(device):
            f, b = ms[f"{name} fwd"], ms[f"{name} train"]
            rf = f"{ms[f'{name} ref fwd'] / f:.1f}x" if f"{name} ref fwd" in ms else ""
            rb = f"{ms[f'{name} ref train'] / b:.1f}x" if f"{name} ref train" in ms else ""
            cells = [f"{f:.2f}", f"{f / t_fwd:.2f}", rf, f"{b:.2f}", f"{b / t_train:.2f}", rb]
            rows.append(f"| {shape} | {name} [{engine}] | " + " | ".join(cells) + " |")
    head = (
        "| shape (T, N, I, H) | lstmkit.core.layers.LSTM [engine] | forward ms | vs torch | reference / this "
        "| fwd+bwd ms | vs torch | reference / this |\n|---|---|---:|---:|---:|---:|---:|---:|"
    )
    return head + "\n" + "\n".join(rows)


def gates_table(shape: tuple[int, int, int, int], timer: Timer) -> str:
    """Time of the same fused forward with and without ``return_gates=True``: inference (no
    grad), training forward (grad on: the kernel saves the activations anyway) and fwd+bwd."""
    T, N, I, H = shape
    log(f"return_gates at (T, N, I, H) = {shape} ...")
    torch.manual_seed(0)
    x = torch.randn(T, N, I)
    layer = LSTM(I, H, engine="fused").train()

    def infer(gates: bool) -> Callable[[], object]:
        def job() -> object:
            with torch.no_grad():
                return layer(x, return_gates=gates)

        return job

    def forward(gates: bool) -> Callable[[], object]:
        return lambda: layer(x, return_gates=gates)

    def train(gates: bool) -> Callable[[], object]:
        def job() -> object:
            layer(x, return_gates=gates)[0].sum().backward()
            layer.zero_grad(set_to_none=True)
            return None

        return job

    kinds = {"forward, no grad": infer, "forward, grad on": forward, "forward + backward": train}
    jobs = {f"{kind} {gates}": make(gates) for kind, make in kinds.items() for gates in (False, True)}
    ms = timer.run(jobs)
    rows = [
        f"| {shape} | {kind} | {ms[f'{kind} False']:.2f} | {ms[f'{kind} True']:.2f} "
        f"| {ms[f'{kind} True'] / ms[f'{kind} False']:.3f} |"
        for kind in kinds
    ]
    head = "| shape (T, N, I, H) | pass | without ms | return_gates=True ms | ratio |"
    head += "\n|---|---|---:|---:|---:|"
    return head + "\n" + "\n".join(rows)


def stream_table(sizes: list[int], timer: Timer, steps: int) -> str:
    rows = []
    for H in sizes:
        log(f"streaming H = {H} ...")
        torch.manual_seed(0)
        xs = torch.randn(steps, 1, H)
        cell = nn.LSTMCell(H, H)
        torch_lstm = nn.LSTM(H, H)

        def cell_job(cell: nn.LSTMCell = cell, xs: torch.Tensor = xs) -> None:
            with torch.no_grad():
                state = None
                for x in xs:
                    state = cell(x, state)

        def lstm_job(torch_lstm: nn.LSTM = torch_lstm, xs: torch.Tensor = xs) -> None:
            with torch.no_grad():
                state = None
                for x in xs:
                    _, state = torch_lstm(x.unsqueeze(0), state)

        jobs: dict[str, Callable[[], object]] = {"LSTMCell": cell_job, "nn.LSTM": lstm_job}
        for name, kwargs in (
            ("classic", {}),
            ("vanilla", {"variant": "vanilla"}),
            ("layer norm", {"layer_norm": True}),
        ):
            stream = LSTM(H, H, **kwargs).eval().stream(1)

            def stream_job(stream: Any = stream, xs: torch.Tensor = xs) -> None:
                stream.reset()
                for x in xs:
                    stream.step(x)

            jobs[name] = stream_job
        layer = LSTM(H, H, variant="vanilla").eval()

        def step_job(layer: LSTM = layer, xs: torch.Tensor = xs) -> None:
            with torch.no_grad():
                state = None
                for x in xs:
                    _, state = layer.step(x, state)

        jobs["LSTM.step"] = step_job
        us = {k: v * 1e3 / steps for k, v in timer.run(jobs).items()}
        cell_us = us["LSTMCell"]
        rows.append(
            f"| {H} | {cell_us:.1f} | {us['nn.LSTM']:.1f} | {us['LSTM.step']:.1f} | "
            + " | ".join(
                f"{us[k]:.1f} ({cell_us / us[k]:.2f}x)" for k in ("classic", "vanilla", "layer norm")
            )
            + " |"
        )
    head = (
        "| H (=I), N=1 | torch.nn.LSTMCell µs | torch.nn.LSTM carried state µs "
        "| lstmkit LSTM.step (vanilla) µs | stream classic µs (speed-up vs LSTMCell) "
        "| stream vanilla µs | stream layer norm µs |\n"
        "|---:|---:|---:|---:|---:|---:|---:|"
    )
    return head + "\n" + "\n".join(rows)


def saved_bytes(module: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the unique storages autograd saves for backward in one forward."""
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out, _ = module(x.requires_grad_(False))
    del out
    return sum(storages.values())


def memory_table(shapes: list[tuple[int, int, int, int]], device: str = "cpu") -> str:
    rows = []
    rows_variants = variants(device)
    for T, N, I, H in shapes:
        x = torch.randn(T, N, I, device=device)
        base = saved_bytes(nn.LSTM(I, H).to(device).train(), x)
        cells = [f"{base / 2**20:.1f}"]
        for _name, kwargs, engine in rows_variants:
            b = saved_bytes(LSTM(I, H, engine=engine, **kwargs).to(device).train(), x)
            cells.append(f"{b / 2**20:.1f} ({b / base:.2f}x)")
        rows.append(f"| {(T, N, I, H)} | " + " | ".join(cells) + " |")
    names = " | ".join(f"{name} [{engine}]" for name, _, engine in rows_variants)
    head = f"| shape (T, N, I, H) | torch.nn.LSTM MiB | {names} |\n|---|" + "---:|" * (len(rows_variants) + 1)
    return head + "\n" + "\n".join(rows)


def write_markdown(path: str, text: str) -> None:
    """Replace the block between the markers in ``path`` (appended if absent), atomically."""
    block = f"{MARK_BEGIN}\n{text}\n{MARK_END}"
    old = Path(path).read_text() if os.path.exists(path) else ""
    if MARK_BEGIN in old and MARK_END in old:
        new = old[: old.index(MARK_BEGIN)] + block + old[old.index(MARK_END) + len(MARK_END) :]
    else:
        new = old + ("\n" if old and not old.endswith("\n") else "") + block + "\n"
    atomic_write_text(path, new)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per configuration (median)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time (default), or the process CPU time (with --threads 1: robust to a busy machine)",
    )
    parser.add_argument("--no-reference", action="store_true", help="skip the (slow) reference-path timings")
    parser.add_argument("--quick", action="store_true", help="tiny shapes and few repeats (a smoke run)")
    parser.add_argument("--gates-only", action="store_true", help="only the return_gates table")
    parser.add_argument("--convlstm-only", action="store_true", help="only the ConvLSTM table")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables into FILE between markers")
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cpu (default) or cuda: the sequence and memory tables on the GPU (cuDNN against "
        "lstmkit's engines there; the fused kernels and the streaming runtime are CPU code)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    gpu = args.device == "cuda"
    if gpu and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no GPU")
    if not gpu and load_extension() is None:
        log("warning: the fused extension is unavailable; non-classic rows measure the reference path")
    shapes = QUICK_SHAPES if args.quick else SHAPES
    if args.clock == "cpu" and torch.get_num_threads() != 1:
        parser.error(
            "--clock cpu: only meaningful with one thread (--threads 1); threads spin-wait on CPU time"
        )
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    timer = Timer(
        repeats=2 if args.quick else args.repeats,
        warmup=1 if args.quick else args.warmup,
        clock=clock,
        sync=torch.cuda.synchronize if gpu else None,
    )
    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M")
    if args.convlstm_only:
        table = convlstm_table(timer, args.quick, log)
        print(
            f"Measured {started} on {machine()}; load before {load_before}, "
            f"after {load_average()}.\n\n{table}"
        )
        return 0
    gates = None if gpu else gates_table(QUICK_SHAPES[0] if args.quick else GATES_SHAPE, timer)
    if args.gates_only:
        after = load_average()
        print(f"Measured {started} on {machine()}; load before {load_before}, after {after}.\n\n{gates}")
        return 0
    speed = speed_table(shapes, timer, reference=not args.no_reference, device=args.device)
    stream = (
        None
        if gpu
        else stream_table([16] if args.quick else STREAM_SIZES, timer, steps=20 if args.quick else 200)
    )
    memory = memory_table(shapes[:1] if args.quick else SHAPES[:3], device=args.device)
    conv = None if gpu else convlstm_table(timer, args.quick, log)
    load_after = load_average()
    text = (
        f"Measured {started} on {gpu_machine() if gpu else machine()}. Load average (1/5/15 min) before: "
        f"{load_before}, after: {load_after}. Medians of {timer.repeats} runs after {timer.warmup} warm-up "
        "runs, round-robin within each shape; clock: "
        f"{'process CPU time' if args.clock == 'cpu' else 'wall'}{', GPU synchronized' if gpu else ''}.\n\n"
        "**Sequence speed** (training mode; forward without grad, fwd+bwd = forward + backward of "
        "`output.sum()`). *vs torch*: time / torch.nn.LSTM's time (lower is better). "
        "*reference / this*: how many times faster than lstmkit's reference path.\n\n"
        f"{speed}\n\n"
        + (
            ""
            if stream is None
            else "**Streaming step latency** (one step, batch 1, per-step µs over "
            f"{20 if args.quick else 200} steps; speed-up = LSTMCell time / stream time).\n\n{stream}\n\n"
        )
        + "**Memory saved for backward** (unique storages saved by autograd in one training "
        "forward, input and weights included; ratio to torch.nn.LSTM).\n\n"
        f"{memory}"
        + (
            ""
            if gates is None
            else "\n\n**Gate traces** (`return_gates=True` on the fused engine, classic cell; ratio = "
            f"time with / time without).\n\n{gates}"
        )
        + (
            ""
            if conv is None
            else "\n\n**ConvLSTM training** (forward + backward of `output.sum()`, training mode; "
            "*plain loop*: `conv2d(cat([x_t, h]))` and the gate math under autograd, the usual PyTorch "
            f"ConvLSTM, same weights; ratios: time / lstmkit's time).\n\n{conv}"
        )
    )
    print(text)
    if args.markdown:
        write_markdown(args.markdown, text)
        log(f"tables written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

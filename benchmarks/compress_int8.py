"""int8 dynamic quantization against float32 lstmkit: speed and size (docs/deployment.md).

For H = 256 and 512, classic and vanilla (one layer, input size H): the streaming step
(``stream(1).step``, batch 1) and batch-32 inference over L = 100 steps (``forward`` under
``torch.no_grad``): float32 and int8 timed in turn in each repeat, the medians of their times and
of the per-repeat speed-ups (float32 / int8); then
the saved ``state_dict`` sizes. Prints markdown tables.

Usage: ``OMP_NUM_THREADS=1 python benchmarks/compress_int8.py [--repeats 7] [--sizes 256 512]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import torch

import lstmkit
from lstmkit.compress import quantize_dynamic
from lstmkit.core.engines.fused.build import require_extension


def paired_seconds(
    fns: tuple[Callable[[], object], Callable[[], object]], repeats: int, inner: int
) -> tuple[float, float, float]:
    """Float and int8 timed in turn (so both see the same machine load): the median over
    ``repeats`` of each one's mean time over ``inner`` calls, and the median of their ratios."""
    times: tuple[list[float], list[float]] = ([], [])
    for fn in fns:
        fn()  # warm-up
    for _ in range(repeats):
        for fn, out in zip(fns, times):
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            out.append((time.perf_counter() - start) / inner)
    ratios = [a / b for a, b in zip(*times)]
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios)


def stream_step(model: torch.nn.Module, H: int) -> Callable[[], object]:
    stream = model.stream(batch_size=1)  # type: ignore[operator]
    x, out = torch.randn(1, H), torch.empty(1, H)
    return lambda: stream.step(x, out)


def batch_forward(model: torch.nn.Module, H: int) -> Callable[[], object]:
    x = torch.randn(100, 32, H)

    def run() -> object:
        with torch.no_grad():
            return model(x)

    return run


def saved_bytes(model: torch.nn.Module) -> int:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description="int8 against float32 lstmkit: speed and size")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"threads: {torch.get_num_threads()}, int8 backend: {require_extension().int8_backend()}\n")
    print("| H | variant | workload | float32 ms | int8 ms | speed-up (median of ratios) |")
    print("|---|---|---|---|---|---|")
    sizes = {}
    for H in args.sizes:
        for variant in ("classic", "vanilla"):
            model = lstmkit.LSTM(H, H, variant=variant).eval()
            qmodel = quantize_dynamic(model)
            sizes[(H, variant)] = (saved_bytes(model), saved_bytes(qmodel))
            for name, make, inner in (
                ("stream step (N=1)", stream_step, 200),
                ("batch 32, L=100", batch_forward, 1),
            ):
                f32, i8, ratio = paired_seconds((make(model, H), make(qmodel, H)), args.repeats, inner)
                print(f"| {H} | {variant} | {name} | {f32 * 1e3:.3f} | {i8 * 1e3:.3f} | {ratio:.2f}x |")
    print("\n| H | variant | float32 file | int8 file | ratio |")
    print("|---|---|---|---|---|")
    for (H, variant), (f32, i8) in sizes.items():
        print(f"| {H} | {variant} | {f32 / 1e6:.2f} MB | {i8 / 1e6:.2f} MB | {f32 / i8:.2f}x |")


if __name__ == "__main__":
    main()

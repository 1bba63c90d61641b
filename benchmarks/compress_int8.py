"""int8 dynamic quantization against float32 lstmkit: speed and size (docs/deployment.md).

For H = 256 and 512, classic and vanilla (one layer, input size H): the streaming step
(``stream(1).step``, batch 1) and batch-32 inference over L = 100 steps (``forward`` under
``torch.no_grad``), each the median of repeats, float32 and int8 measured in the same run; then
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


def median_seconds(fn: Callable[[], object], repeats: int, inner: int) -> float:
    """The median over ``repeats`` of the mean time of ``inner`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def stream_time(model: torch.nn.Module, H: int, repeats: int) -> float:
    stream = model.stream(batch_size=1)  # type: ignore[operator]
    x, out = torch.randn(1, H), torch.empty(1, H)
    return median_seconds(lambda: stream.step(x, out), repeats, 200)


def batch_time(model: torch.nn.Module, H: int, repeats: int) -> float:
    x = torch.randn(100, 32, H)
    with torch.no_grad():
        return median_seconds(lambda: model(x), repeats, 1)


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
    print("| H | variant | workload | float32 ms | int8 ms | speed-up |")
    print("|---|---|---|---|---|---|")
    sizes = {}
    for H in args.sizes:
        for variant in ("classic", "vanilla"):
            model = lstmkit.LSTM(H, H, variant=variant).eval()
            qmodel = quantize_dynamic(model)
            sizes[(H, variant)] = (saved_bytes(model), saved_bytes(qmodel))
            for name, measure in (("stream step (N=1)", stream_time), ("batch 32, L=100", batch_time)):
                f32, i8 = measure(model, H, args.repeats), measure(qmodel, H, args.repeats)
                print(f"| {H} | {variant} | {name} | {f32 * 1e3:.3f} | {i8 * 1e3:.3f} | {f32 / i8:.2f}x |")
    print("\n| H | variant | float32 file | int8 file | ratio |")
    print("|---|---|---|---|---|")
    for (H, variant), (f32, i8) in sizes.items():
        print(f"| {H} | {variant} | {f32 / 1e6:.2f} MB | {i8 / 1e6:.2f} MB | {f32 / i8:.2f}x |")


if __name__ == "__main__":
    main()

"""Wall time of one Forecaster fit in one process against several (``strategy="ddp"``).

Times ``Forecaster.fit`` on a bundled panel of series (``--data``, any name of ``lstmkit data
list --task forecasting``, e.g. ``m3-monthly``) with the same cores used two ways: one process
with ``--threads`` threads, and ``--processes`` processes under ``torchrun`` with ``--threads //
--processes`` threads each (:mod:`lstmkit.fit.distributed`). Each timing runs in a fresh
interpreter (the fit alone is timed, not the start); the two are timed round-robin, and the
medians of ``--repeats`` rounds are printed as a markdown row, with the largest difference of
the point forecasts between the two (float32 sums in another order; with dropout the processes
also draw other masks, so the numbers differ more, the distribution not). Timings only mean
something on a quiet machine: the load average is printed before and after.

    python benchmarks/ddp.py --data m3-monthly --horizon 18 --repeats 3    # the docs/m3.md row
    python benchmarks/ddp.py --data stocks --epochs 1 --hidden 8 --repeats 1  # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import load_average

HERE = Path(__file__).resolve()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--data", default="stocks", help="bundled forecasting dataset (default stocks)")
    p.add_argument("--horizon", type=int, default=12, help="steps to forecast (default 12)")
    p.add_argument("--hidden", type=int, default=64, help="LSTM hidden size (default 64)")
    p.add_argument("--epochs", type=int, default=20, help="epochs, no early stopping (default 20)")
    p.add_argument(
        "--batch-size", type=int, default=None, help="windows per global batch (default: the Forecaster's)"
    )
    p.add_argument("--dropout", type=float, default=0.1, help="the Forecaster's dropout (default 0.1)")
    p.add_argument("--threads", type=int, default=2, help="cores used either way (default 2)")
    p.add_argument("--processes", type=int, default=2, help="processes of the ddp run (default 2)")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds; medians are printed (default 3)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # one fit, its result to this file
    args = p.parse_args(argv)
    if args.processes < 2 or args.threads < args.processes:
        p.error(f"--processes: expected 2 <= processes <= threads = {args.threads}, got {args.processes}")
    return args


def worker(args: argparse.Namespace) -> None:
    """One fit in this process (one of several under torchrun with ``LSTMKIT_STRATEGY=ddp``);
    rank 0 writes the fit's seconds and the point forecasts to ``args.worker``."""
    import torch

    from lstmkit.apps.forecasting.datasets import load_panel
    from lstmkit.apps.forecasting.estimator import Forecaster
    from lstmkit.core.engines.fused.build import load_extension
    from lstmkit.fit.distributed import is_main_process

    load_extension()  # built or loaded before the clock starts
    panel = load_panel(args.data)
    model = Forecaster(
        args.horizon,
        hidden_size=args.hidden,
        dropout=args.dropout,
        ensemble=1,
        max_epochs=args.epochs,
        patience=None,
        batch_size=args.batch_size,
        refit=False,
        progress=False,
    )
    start = time.perf_counter()
    model.fit(panel)
    seconds = time.perf_counter() - start
    if is_main_process():
        forecasts = model.predict()
        points = [f.point.tolist() for f in (forecasts if isinstance(forecasts, list) else [forecasts])]
        info = {
            "seconds": seconds,
            "threads": torch.get_num_threads(),
            "series": len(panel),
            "points": points,
        }
        Path(args.worker).write_text(json.dumps(info))


def run_once(args: argparse.Namespace, processes: int, out: Path) -> dict:
    """One fit in a fresh interpreter: ``processes`` processes of ``threads // processes``
    threads; its result."""
    own = [str(HERE), *sys.argv[1:], "--worker", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads // processes)}
    if processes == 1:
        env["LSTMKIT_STRATEGY"] = "single"
        command = [sys.executable, *own]
    else:
        env["LSTMKIT_STRATEGY"] = "ddp"
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command = [*launcher, "--nproc-per-node", str(processes), *own]
    subprocess.run(command, env=env, check=True)
    return json.loads(out.read_text())


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args)
        return
    print(f"load average before: {load_average()}", file=sys.stderr)
    times: dict[int, list[float]] = {1: [], args.processes: []}
    results: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for procs in times:  # round-robin: a change of load hits both
                results[procs] = run_once(args, procs, Path(tmp) / f"{procs}-{r}.json")
                times[procs].append(results[procs]["seconds"])
                print(f"round {r + 1}: {procs} process(es): {times[procs][-1]:.2f} s", file=sys.stderr)
    print(f"load average after: {load_average()}", file=sys.stderr)
    one, many = (statistics.median(times[p]) for p in times)
    diff = max(
        abs(a - b)
        for s1, s2 in zip(results[1]["points"], results[args.processes]["points"])
        for a, b in zip(s1, s2)
    )
    p, t = args.processes, args.threads
    print(
        f"| data | series | epochs | 1 process x {t} threads (s) | {p} processes x {t // p} "
        f"thread{'s' if t // p > 1 else ''} (s) | speed-up | max abs point difference |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.data} | {results[1]['series']} | {args.epochs} | {one:.2f} | {many:.2f} | "
        f"{one / many:.2f} | {diff:.3g} |"
    )


if __name__ == "__main__":
    main()

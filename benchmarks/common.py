"""What the benchmark scripts share: running an ``lstmkit`` command in the same process, and the
machine's load average (speed numbers only mean something on a quiet machine).

The scripts run as ``python benchmarks/NAME.py``, so this folder is on their import path."""

from __future__ import annotations

import os
import shlex
import time

__all__ = ["load_average", "run_lstmkit"]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, ``"0.52 / 0.61 / 0.70"`` (``"n/a"`` where unknown)."""
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def run_lstmkit(cmd: list[str]) -> None:
    """Run ``lstmkit CMD`` in this process, printing the command and its wall time; stop the
    study (``SystemExit``) if it fails."""
    from lstmkit.cli import main

    print(f"\n$ lstmkit {shlex.join(cmd)}", flush=True)
    start = time.perf_counter()
    rc = main(cmd)
    print(f"(exit {rc}, {time.perf_counter() - start:.0f} s wall)", flush=True)
    if rc != 0:
        raise SystemExit(rc)

"""The speed benchmark runs and writes its tables (a smoke run on tiny shapes, not a timing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def test_speed_benchmark_writes_its_tables(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(
        "# Title\n\nintro\n\n<!-- speed-tables:begin -->\nold\n<!-- speed-tables:end -->\n\nafter\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "speed.py"),
            "--quick",
            "--threads",
            "1",
            "--markdown",
            str(doc),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    text = doc.read_text()
    assert text.startswith("# Title\n\nintro\n") and text.rstrip().endswith("after"), (
        "text around the tables kept"
    )
    assert "old" not in text
    for row in (
        "torch.nn.LSTM (classic)",
        "classic (fused) [fused]",
        "CIFG [auto]",
        "classic + zoneout [auto]",
    ):
        assert row in text, row
    assert "Streaming step latency" in text and "Memory saved for backward" in text
    assert "fused extension: unavailable" not in text

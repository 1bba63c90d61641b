"""Glucose forecasting on simulated type-1 diabetes patients, for docs/glucose.md.

Runs ``lstmkit glucose`` (the arguments after the script's own are passed on: ``--quick``,
``--patients 4``...), then writes the run's tables, split, settings and timings between the
markers ``<!-- glucose-results:NAME:begin -->`` and ``...:end -->`` of docs/glucose.md (appended
when absent) and copies its Clarke grids and a test patient's day into docs/images as
``NAME_*.png``.

    python benchmarks/glucose.py                 # the full study: 30 patients, 4 days
    python benchmarks/glucose.py --quick         # 6 patients, 2 days, a short training
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from common import load_average, run_lstmkit
from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.html import format_table

DOC = Path("docs/glucose.md")
IMAGES = Path("docs/images")
RUNS = Path("runs")


def _name(args: list[str]) -> str:
    """The run's folder name, as ``lstmkit glucose`` chooses it."""
    if "--name" in args:
        return args[args.index("--name") + 1]
    return "glucose-quick" if "--quick" in args else "glucose"


def _markdown(metrics: dict[str, Any], command: str, images: list[str]) -> str:
    """The block of one run: the command, the split, the tables, the timings and the pictures."""
    rows, cfg = metrics["rows"], metrics["config"]
    cols = ["model", "horizon", "RMSE", "MAE", "A", "B", "C", "D", "E", "A+B"]
    groups = ["model", "horizon", "RMSE adult", "RMSE adolescent", "RMSE child"]
    seconds = ", ".join(f"{k} {v:.0f} s" for k, v in metrics["seconds"].items())
    lines = [
        f"`{command}` (OMP_NUM_THREADS=1, load average at the end {load_average()}: a shared machine, "
        "so the times are not clean):",
        "",
        f"- {cfg['patients']} patients per group, {cfg['days']:g} simulated days each, seed {cfg['seed']}; "
        f"LSTM window {cfg['window']}, hidden {cfg['hidden']}, ensemble {cfg['ensemble']}, "
        f"at most {cfg['epochs']} epochs",
        f"- training patients ({len(metrics['train_patients'])}): {', '.join(metrics['train_patients'])}",
        f"- test patients ({len(metrics['test_patients'])}): {', '.join(metrics['test_patients'])}",
        f"- ARIMA per test patient: {'; '.join(f'{k} {v}' for k, v in metrics['arima'].items())}",
        f"- time after the cohort: {metrics['total_seconds']:.0f} s ({seconds})",
        "",
        "RMSE and MAE in mg/dL at the horizon (minutes); Clarke zones in % of the forecast origins:",
        "",
        "```",
        format_table(rows, cols, floatfmt=".1f"),
        "```",
        "",
        "RMSE (mg/dL) by group of the test patients:",
        "",
        "```",
        format_table(rows, groups, floatfmt=".1f"),
        "```",
        "",
        *[f"![{Path(p).stem}](images/{Path(p).name})" for p in images],
    ]
    return "\n".join(lines)


def write_block(path: Path, name: str, text: str) -> None:
    """Replace the block of run ``name`` in ``path`` (appended if absent), atomically."""
    begin, end = f"<!-- glucose-results:{name}:begin -->", f"<!-- glucose-results:{name}:end -->"
    block = f"{begin}\n{text}\n{end}"
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old:
        new = old[: old.index(begin)] + block + old[old.index(end) + len(end) :]
    else:
        new = old + ("\n" if old and not old.endswith("\n") else "") + block + "\n"
    atomic_write_text(path, new)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" in args or "--help" in args:
        print(__doc__)
        return 0
    name = _name(args)
    cmd = ["glucose", *args, "--out", str(RUNS), "--overwrite", "--no-progress"]
    run_lstmkit(cmd)
    folder = RUNS / name
    metrics = json.loads((folder / "metrics.json").read_text())
    IMAGES.mkdir(parents=True, exist_ok=True)
    images = []
    for picture in sorted(folder.glob("clarke_*.png")) + sorted(folder.glob("day_*.png"))[-1:]:
        target = IMAGES / f"{name}_{picture.name}"
        shutil.copyfile(picture, target)
        images.append(str(target))
    command = "lstmkit " + " ".join(["glucose", *args])
    write_block(DOC, name, _markdown(metrics, command, images))
    print(f"wrote {DOC} ({name}) and {len(images)} pictures in {IMAGES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Tables, plots and findings of comparison results (the dicts of
:func:`~lstmkit.apps.compare.study.study_task`), for the terminal, the HTML report and
``docs/comparison.md``. Everything here reads the numbers only: the "where the LSTM loses"
lines are computed from them, never written by hand.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from lstmkit.io.html import format_table
from lstmkit.io.plots import pyplot, save_figure

__all__ = [
    "COLUMNS",
    "lstm_losses",
    "markdown_table",
    "plot_latency",
    "plot_metric_vs_time",
    "table_rows",
    "text_table",
]

COLUMNS = ("model", "metric", "params", "vs LSTM", "lr", "train s", "ms/step", "state")


def _fmt(value: float, digits: int = 4) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.{digits}g}"


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _last_latency(study: Mapping[str, Any], model: str) -> dict[str, Any] | None:
    rows = study.get("latency", {}).get(model)
    return rows[-1] if rows else None


def table_rows(study: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per model: metric mean ± std over seeds, parameters (and their ratio to the
    LSTM's), chosen rate, mean training seconds, and the streaming step time and state after
    the longest context measured."""
    rows = []
    for m in study["models"]:
        lat = _last_latency(study, m["model"])
        neural = m["kind"] == "neural"
        flag = "" if not neural or m["matched"] else " (!)"
        rows.append(
            {
                "model": m["model"],
                "metric": f"{_fmt(m['mean'])} ± {_fmt(m['std'], 2)}",
                "params": str(m["params"]) if neural else "-",
                "vs LSTM": f"{m['param_ratio']:.2f}{flag}" if neural else "-",
                "lr": f"{m['lr']:g}" if neural else "-",
                "train s": f"{m['train_seconds']:.1f}",
                "ms/step": _fmt(lat["median_ms"], 3) if lat else "-",
                "state": _bytes(lat["state_bytes"]) if lat else "-",
            }
        )
    return rows


def _context_note(study: Mapping[str, Any]) -> str:
    lat = next(iter(study.get("latency", {}).values()), None)
    return f"ms/step and state after {lat[-1]['length']} steps of context, batch 1, one thread" if lat else ""


def text_table(study: Mapping[str, Any]) -> str:
    """The task's table for the terminal."""
    head = (
        f"{study['task']}: {study['metric']} ({'higher' if study['higher_better'] else 'lower'} is better), "
        f"mean ± std over {study['seeds']} seeds; budget {study['budget']:g} {study['budget_unit']}"
    )
    return "\n".join([head, format_table(table_rows(study), COLUMNS), _context_note(study)])


def markdown_table(study: Mapping[str, Any]) -> str:
    """The task's table in Markdown."""
    rows = table_rows(study)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r[c] for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def lstm_losses(study: Mapping[str, Any]) -> list[str]:
    """Where another model beats the LSTM on this task, from the numbers: a better mean metric
    (and whether by more than the two spreads), less training time, a faster streaming step or a
    smaller state at the longest context."""
    by = {m["model"]: m for m in study["models"]}
    if "lstm" not in by:
        return []
    lstm, out, better = by["lstm"], [], study["higher_better"]
    for name, m in by.items():
        if name == "lstm" or not math.isfinite(m["mean"]) or not math.isfinite(lstm["mean"]):
            continue
        gap = (m["mean"] - lstm["mean"]) * (1 if better else -1)
        if gap > 0:
            clear = "clearly" if gap > m["std"] + lstm["std"] else "within the spread"
            out.append(
                f"{study['task']}: {name} {study['metric']} {_fmt(m['mean'])} vs the LSTM's "
                f"{_fmt(lstm['mean'])} ({clear})"
            )
    for name, m in by.items():
        if name != "lstm" and m["kind"] == "neural" and m["train_seconds"] < 0.8 * lstm["train_seconds"]:
            out.append(
                f"{study['task']}: {name} trains in {m['train_seconds']:.1f} s vs the LSTM's "
                f"{lstm['train_seconds']:.1f} s for the same budget"
            )
    ref = _last_latency(study, "lstm")
    for name in study.get("latency", {}):
        lat = _last_latency(study, name)
        if name == "lstm" or ref is None or lat is None:
            continue
        if lat["median_ms"] < 0.8 * ref["median_ms"]:
            out.append(
                f"{study['task']}: {name} streams a step in {lat['median_ms']:.3g} ms vs the LSTM's "
                f"{ref['median_ms']:.3g} ms after {lat['length']} steps"
            )
    return out


def plot_metric_vs_time(study: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Each run's test metric against its training seconds, one colour per model."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for m in study["models"]:
        runs = m["runs"]
        ax.scatter([r["seconds"] for r in runs], [r["value"] for r in runs], label=m["model"], alpha=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("training time (s)")
    ax.set_ylabel(study["metric"])
    ax.set_title(f"{study['task']}: {study['metric']} vs training time")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_latency(study: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Median streaming step time against the context length, one line per model."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, rows in study.get("latency", {}).items():
        ax.plot([r["length"] for r in rows], [r["median_ms"] for r in rows], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("context length L (steps before the new one)")
    ax.set_ylabel("ms per step (batch 1, one thread)")
    ax.set_title(f"{study['task']}: streaming latency")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def render_markdown(
    studies: Sequence[Mapping[str, Any]], images: str, image_link: str, preamble: Sequence[str]
) -> str:
    """``docs/comparison.md`` from the studies: ``preamble`` lines, a table and two plots per
    task (written under ``images``, linked as ``image_link/<file>``), and the findings."""
    lines = list(preamble)
    findings = []
    for study in studies:
        task = study["task"]
        metric_png, latency_png = f"compare_{task}_metric.png", f"compare_{task}_latency.png"
        plot_metric_vs_time(study, os.path.join(images, metric_png))
        plot_latency(study, os.path.join(images, latency_png))
        lines += [
            f"## {task}",
            "",
            f"{study['title']}. {study['metric']}: {'higher' if study['higher_better'] else 'lower'} is "
            f"better; mean ± std over {study['seeds']} seeds at the rate chosen on validation among "
            f"{', '.join(f'{lr:g}' for lr in study['lrs'])}; every network trains for "
            f"{study['budget']:g} {study['budget_unit']}. {_context_note(study)}. "
            "(!) marks a size not within 10% of the LSTM's parameters.",
            "",
            markdown_table(study),
            "",
            f"![{task} metric vs time]({image_link}/{metric_png}) "
            f"![{task} latency]({image_link}/{latency_png})",
            "",
        ]
        findings += lstm_losses(study)
    lines += ["## Where the LSTM loses", "", "Computed from the numbers above:", ""]
    lines += [f"- {f}" for f in findings] or ["- nowhere in these runs"]
    return "\n".join(lines) + "\n"

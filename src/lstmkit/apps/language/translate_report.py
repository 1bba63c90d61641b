"""The report of the translation job: heat maps of the attention weights, and a self-contained
HTML page with the score table, the heat maps and sample translations.

Example::

    >>> plot_attention([(["Open", "the", "file"], ["Ouvrir", "le", "fichier"], weights)], "att.png")
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import torch

from lstmkit.fit.logs import save_png
from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.plots import pyplot

__all__ = ["plot_attention", "write_attention_report"]


def plot_attention(
    examples: list[tuple[list[str], list[str], torch.Tensor]], path: str | Path, *, title: str = ""
) -> None:
    """Heat maps of attention weights: one panel per (source tokens, output tokens, (T, S) weights)."""
    plt = pyplot()
    n = len(examples)
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 4.5), squeeze=False)
    for ax, (src, out, w) in zip(axes[0], examples):
        ax.imshow(w.numpy(), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(src)))
        ax.set_xticklabels(src, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(out)))
        ax.set_yticklabels(out, fontsize=8)
        ax.set_xlabel("source (English)")
        ax.set_ylabel("output (French)")
    if title:
        fig.suptitle(title)
    save_png(fig, path)


def write_attention_report(
    path: str | Path, *, title: str, table: list[dict[str, Any]], samples: list[dict[str, str]], image: str
) -> None:
    """A self-contained HTML page: the score table, sample translations and the heat map."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px}th{background:#f4f4f4}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><h2>Test scores</h2><table><tr>",
    ]
    keys = list(table[0]) if table else []
    parts.extend(f"<th>{html.escape(k)}</th>" for k in keys)
    parts.append("</tr>")
    for row in table:
        parts.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(f'{v:.2f}' if isinstance(v, float) else str(v))}</td>"
                for v in row.values()
            )
            + "</tr>"
        )
    parts.append("</table>")
    if Path(image).is_file():
        data = base64.b64encode(Path(image).read_bytes()).decode("ascii")
        parts.append(f"<h2>Attention</h2><img alt='attention heat maps' src='data:image/png;base64,{data}'>")
    parts.append("<h2>Sample translations</h2><table><tr><th>English</th><th>reference</th><th>model</th>")
    parts.append("<th>dictionary</th></tr>")
    for s in samples:
        parts.append(
            "<tr>" + "".join(f"<td>{html.escape(s.get(k, ''))}</td>" for k in ("src", "ref", "model", "dict"))
        )
        parts.append("</tr>")
    parts.append("</table></body></html>")
    atomic_write_text(path, "\n".join(parts))

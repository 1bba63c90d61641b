"""Pictures of attributions: heatmaps (steps x channels), series coloured by attribution,
importance bars (PNG, matplotlib Agg, written atomically by :func:`lstmkit.io.plots.save_figure`),
and tokens coloured by a weight (HTML).

Attributions are signed: red raises the explained output, blue lowers it; the colour scale is
symmetric about zero so that white is "no effect".
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence

import numpy as np

from lstmkit.io.plots import pyplot, save_figure

__all__ = ["plot_bars", "plot_heatmap", "plot_series_attribution", "tokens_html"]


def _limit(values: np.ndarray) -> float:
    """The symmetric colour limit: the largest magnitude (1 for all zeros)."""
    m = float(np.abs(values).max()) if values.size else 0.0
    return m if m > 0 else 1.0


def plot_heatmap(
    values: np.ndarray,
    path: str | os.PathLike[str],
    *,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
) -> None:
    """A signed heatmap of ``values`` (R, C): rows bottom to top as given, columns left to right."""
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (len(row_labels), len(col_labels)):
        raise ValueError(
            f"values: expected ({len(row_labels)}, {len(col_labels)}) like the labels, got {v.shape}"
        )
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(min(2 + 0.28 * v.shape[1], 14), min(1.5 + 0.32 * v.shape[0], 10)))
    lim = _limit(v)
    im = ax.imshow(v, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, origin="lower")
    ax.set_yticks(range(v.shape[0]), list(row_labels), fontsize=7)
    step = max(1, v.shape[1] // 24)
    ax.set_xticks(
        range(0, v.shape[1], step),
        [col_labels[i] for i in range(0, v.shape[1], step)],
        fontsize=7,
        rotation=60,
        ha="right",
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    save_figure(fig, path)


def plot_series_attribution(
    series: np.ndarray,
    attributions: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike[str],
    *,
    x: np.ndarray | None = None,
    title: str = "",
) -> None:
    """A series (L,) drawn once per attribution (L,), its points coloured by it (one panel each)."""
    s = np.asarray(series, dtype=np.float64)
    t = np.arange(len(s)) if x is None else np.asarray(x)
    plt = pyplot()
    fig, axes = plt.subplots(
        len(attributions), 1, figsize=(10, 2.6 * len(attributions)), sharex=True, squeeze=False
    )
    for k, (ax, (name, a)) in enumerate(zip(axes[:, 0], attributions)):
        a = np.asarray(a, dtype=np.float64)
        if a.shape != s.shape:
            raise ValueError(
                f"attributions: expected {name!r} of shape {s.shape} like the series, got {a.shape}"
            )
        lim = _limit(a)
        ax.plot(t, s, color="#999999", lw=0.8, zorder=1)
        pts = ax.scatter(t, s, c=a, cmap="RdBu_r", vmin=-lim, vmax=lim, s=14, zorder=2)
        fig.colorbar(pts, ax=ax, fraction=0.03, pad=0.01)
        ax.set_title(f"{title}: {name}" if title and k == 0 else name, fontsize=9)  # (a suptitle overlaps)
        ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_bars(
    names: Sequence[str],
    means: np.ndarray,
    spreads: np.ndarray,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    xlabel: str = "",
) -> None:
    """Horizontal bars ``means`` with error bars ``spreads`` (one per name)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.4 * len(names)))
    ax.barh(range(len(names)), means, xerr=spreads, color="#d62728", alpha=0.8, capsize=3)
    ax.set_yticks(range(len(names)), list(names))
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    save_figure(fig, path)


def _colour(w: float, lim: float, signed: bool) -> str:
    """A background colour: red for positive, blue for negative (``signed``), or white to
    orange for non-negative weights."""
    a = min(abs(w) / lim, 1.0)
    if not signed:
        return f"rgba(255,140,0,{a:.2f})"
    return f"rgba(214,39,40,{a:.2f})" if w >= 0 else f"rgba(31,119,180,{a:.2f})"


def tokens_html(tokens: Sequence[str], weights: np.ndarray, *, signed: bool = True) -> str:
    """The tokens as ``<span>`` elements coloured by ``weights`` (n,), the weight in a tooltip."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(tokens),):
        raise ValueError(f"weights: expected ({len(tokens)},) like the tokens, got {w.shape}")
    lim = _limit(w)
    spans = [
        f"<span title='{v:.4f}' style='background:{_colour(v, lim, signed)};padding:1px 2px;"
        f"margin:1px;border-radius:3px'>{html.escape(tok)}</span>"
        for tok, v in zip(tokens, w)
    ]
    return "<span style='line-height:1.9'>" + " ".join(spans) + "</span>"

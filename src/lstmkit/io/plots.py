"""Plots of forecasts, backtest errors, loss curves and anomaly scores (PNG, matplotlib Agg)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["plot_anomaly", "plot_backtest", "plot_forecast", "plot_losses", "pyplot", "save_figure"]

COLORS = {
    "LSTM": "#d62728",
    "seasonal naive": "#7f7f7f",
    "naive": "#bcbd22",
    "ARIMA": "#1f77b4",
    "ETS": "#2ca02c",
}


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files only, no display); an ``ImportError`` that
    names the package when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install 'matplotlib==3.11.*'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike[str]) -> None:
    """Save as PNG atomically (temp file in the same folder, then rename) and close the figure."""
    path = os.fspath(path)
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".tmp-{os.getpid()}-{os.path.basename(path)}")
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
        pyplot().close(fig)


def plot_forecast(
    series: Any, forecast: Any, path: str | os.PathLike[str], *, history: int | None = None, title: str = ""
) -> None:
    """History (the last ``history`` steps) and the forecast with its 80% and 95% intervals."""
    plt = pyplot()
    n = len(series) if history is None else min(history, len(series))
    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.plot(series.index[-n:], series.values[-n:], color="black", lw=1.2, label=f"{series.name} (observed)")
    lo95, hi95 = forecast.interval(0.95)
    lo80, hi80 = forecast.interval(0.8)
    idx = forecast.index
    color = COLORS.get(forecast.model, "#d62728")
    ax.fill_between(idx, lo95, hi95, color=color, alpha=0.15, lw=0, label="95% interval")
    ax.fill_between(idx, lo80, hi80, color=color, alpha=0.3, lw=0, label="80% interval")
    ax.plot(idx, forecast.point, color=color, lw=1.6, label=f"{forecast.model} forecast (median)")
    ax.set_title(title or f"{series.name}: {len(forecast)}-step forecast")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_backtest(results: Mapping[str, Any], series: Any, path: str | os.PathLike[str]) -> None:
    """Backtest: every model's forecasts over the actuals, MASE per window, and MAE by step ahead."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), gridspec_kw={"width_ratios": [2.2, 1, 1]})
    ax = axes[0]
    first = min(w.origin for r in results.values() for w in r.windows)
    start = max(0, first - 3 * max(r.horizon for r in results.values()))
    ax.plot(series.index[start:], series.values[start:], color="black", lw=1.2, label="observed")
    for name, r in results.items():
        color = COLORS.get(name)
        for k, w in enumerate(r.windows):
            if w.series != series.name:
                continue
            ax.plot(w.forecast.index, w.forecast.point, color=color, lw=1.2, label=name if k == 0 else None)
            if name == "LSTM":
                lo, hi = w.forecast.interval(0.8)
                ax.fill_between(w.forecast.index, lo, hi, color=color, alpha=0.15, lw=0)
    ax.set_title("backtest forecasts (expanding window)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    ax = axes[1]
    names = list(results)
    for i, name in enumerate(names):
        vals = [e["MASE"] for e in results[name].window_errors()]
        ax.scatter(
            np.full(len(vals), i) + np.linspace(-0.15, 0.15, len(vals)), vals, color=COLORS.get(name), s=18
        )
        ax.hlines(np.mean(vals), i - 0.3, i + 0.3, color=COLORS.get(name, "black"), lw=2)
    ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
    ax.axhline(1.0, color="grey", ls=":", lw=1)
    ax.set_title("MASE per window (bar: mean)")
    ax.grid(alpha=0.3)
    ax = axes[2]
    for name, r in results.items():
        steps = np.arange(1, r.horizon + 1)
        ax.plot(steps, r.errors_by_step("MASE"), marker="o", ms=3, color=COLORS.get(name), label=name)
    ax.set_xlabel("steps ahead")
    ax.set_title("scaled absolute error by step")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_losses(curves: Mapping[str, Sequence[float]], path: str | os.PathLike[str], title: str = "") -> None:
    """Training and validation loss per epoch (and the refit on all data, if any)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = {"train_loss": "training", "val_loss": "validation", "refit_loss": "refit on all data"}
    for key, values in curves.items():
        v = np.asarray(values, dtype=float)
        if len(v) and np.isfinite(v).any():
            ax.plot(np.arange(1, len(v) + 1), v, lw=1.3, label=labels.get(key, key))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title or "loss curves")
    ax.legend()
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_anomaly(
    values: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    path: str | os.PathLike[str],
    *,
    labels: np.ndarray | None = None,
    spans: Mapping[str, tuple[int, int]] | None = None,
    title: str = "",
) -> None:
    """Signal with labelled anomalies shaded, and the scores with the threshold."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(13, 5.5), sharex=True)
    t = np.arange(len(values))
    axes[0].plot(t, values[:, 0] if values.ndim == 2 else values, lw=0.6, color="black")
    for ax in axes:
        if labels is not None and labels.any():
            ax.fill_between(
                t,
                0,
                1,
                where=labels.astype(bool),
                transform=ax.get_xaxis_transform(),
                color="red",
                alpha=0.15,
                lw=0,
            )
        for name, (a, b) in (spans or {}).items():
            ax.axvline(a, color="grey", ls=":", lw=0.8)
            ax.text(a, 1.0, f" {name}", transform=ax.get_xaxis_transform(), fontsize=8, va="top")
            del b
    axes[0].set_title(title or "signal (red: labelled anomalies)")
    axes[1].plot(t, scores, lw=0.8, color="#1f77b4", label="anomaly score")
    axes[1].axhline(threshold, color="red", lw=1, label="threshold")
    axes[1].legend(fontsize=8, loc="upper left")
    for ax in axes:
        ax.grid(alpha=0.3)
    save_figure(fig, path)

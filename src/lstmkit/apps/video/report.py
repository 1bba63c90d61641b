"""The video job's report folder: image strips, animated GIFs, error curves, the confusion
matrix or the ROC curve, the table, ``metrics.json`` and the fitted model (``model.pt``)."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lstmkit.apps.common.reports import write_summary
from lstmkit.apps.video import metrics
from lstmkit.apps.video.job import COLUMNS, VideoJobConfig, VideoJobResult
from lstmkit.io.atomic import atomic_write_bytes
from lstmkit.io.html import metrics_table_html
from lstmkit.io.plots import plot_losses, pyplot, save_figure
from lstmkit.io.runfolder import run_folder

__all__ = ["plot_curves", "plot_strip", "write_gif", "write_report"]


def plot_strip(rows: Sequence[tuple[str, torch.Tensor]], path: str | os.PathLike[str]) -> None:
    """Rows of frames, one image each: ``(label, frames (L, C, H, W))`` pairs."""
    plt = pyplot()
    cols = max(len(f) for _, f in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(cols * 0.9, len(rows) * 0.95), squeeze=False)
    for r, (label, frames) in enumerate(rows):
        for c in range(cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(frames):
                ax.imshow(frames[c, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            else:
                ax.axis("off")
        axes[r][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    save_figure(fig, path)


def write_gif(panels: Sequence[torch.Tensor], path: str | os.PathLike[str], ms: int = 150) -> None:
    """An animated GIF of videos ``panels`` (each (L, C, H, W) in [0, 1]) side by side, written
    atomically (Pillow)."""
    import io

    from PIL import Image

    length = max(len(p) for p in panels)
    images = []
    for t in range(length):
        parts = [p[min(t, len(p) - 1), 0].numpy() for p in panels]
        gap = np.ones((parts[0].shape[0], 2))
        row = np.concatenate([x for part in parts for x in (part, gap)][:-1], 1)
        images.append(Image.fromarray((row * 255).round().astype(np.uint8), mode="L"))
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=ms, loop=0)
    atomic_write_bytes(path, buf.getvalue())


def plot_curves(curves: dict[str, dict[str, list[float]]], path: str | os.PathLike[str], start: int) -> None:
    """Per-frame MSE and SSIM by frame number: ``{model: {"mse_by_step": .., "ssim_by_step": ..}}``."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, c in curves.items():
        steps = np.arange(start + 1, start + 1 + len(c["mse_by_step"]))
        axes[0].plot(steps, c["mse_by_step"], marker="o", label=name)
        axes[1].plot(steps, c["ssim_by_step"], marker="o", label=name)
    axes[0].set_ylabel("per-frame MSE (sum over pixels)")
    axes[1].set_ylabel("SSIM")
    for ax in axes:
        ax.set_xlabel("frame")
        ax.legend(fontsize=8)
    save_figure(fig, path)


def _predict_figures(result: VideoJobResult, config: VideoJobConfig, tmp: str) -> str:
    test, pred, copy, c = result.test, result.outputs["pred"], result.outputs["copy"], config.context
    for k in range(2):
        rows = [
            ("input", test[k, :c]),
            ("truth", test[k, c:]),
            ("predicted", pred[k]),
            ("copy-last", copy[k]),
        ]
        plot_strip(rows, os.path.join(tmp, f"strip_{k}.png"))
        write_gif([test[k], torch.cat([test[k, :c], pred[k]])], os.path.join(tmp, f"video_{k}.gif"))
    rows = {r["model"]: r for r in result.rows}
    plot_curves(rows, os.path.join(tmp, "curves.png"), c)
    return (
        "<p>Frames 1..{c} are read, the rest predicted. GIFs: the true video (left) and the "
        "context followed by the prediction (right).</p>".replace("{c}", str(c))
        + "".join(
            f"<img src='strip_{k}.png' alt='frames'><img src='video_{k}.gif' alt='video'>" for k in range(2)
        )
        + "<h3>Error by frame</h3><img src='curves.png' alt='error curves'>"
    )


def _confusion(result: VideoJobResult, tmp: str) -> str:
    assert result.labels is not None
    classes = result.metrics["classes"]
    k = len(classes)
    pred = result.outputs["proba"].argmax(1)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (result.labels, pred), 1)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1 + 0.6 * k, 0.8 + 0.6 * k))
    ax.imshow(cm, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    save_figure(fig, os.path.join(tmp, "confusion.png"))
    return "<img src='confusion.png' alt='confusion matrix'>"


def _detect_figures(result: VideoJobResult, config: VideoJobConfig, tmp: str) -> str:
    assert result.labels is not None
    scores, frames = result.outputs["scores"], result.outputs["frame_scores"]
    fpr, tpr = metrics.roc_curve(result.labels, scores)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].plot(fpr, tpr)
    axes[0].plot([0, 1], [0, 1], color="gray", lw=0.8)
    axes[0].set_xlabel("false positive rate")
    axes[0].set_ylabel("true positive rate")
    kinds = result.metrics["kinds"]
    shown = [int(np.flatnonzero(np.asarray(kinds) == k)[0]) for k in dict.fromkeys(kinds)]
    steps = np.arange(config.context + 1, config.context + 1 + frames.shape[1])
    for i in shown:
        axes[1].plot(steps, frames[i], marker="o", label=kinds[i])
    axes[1].set_xlabel("frame")
    axes[1].set_ylabel("standardized frame error")
    axes[1].legend(fontsize=8)
    save_figure(fig, os.path.join(tmp, "roc.png"))
    out = ["<img src='roc.png' alt='ROC curve and frame errors'>"]
    for i in shown:
        write_gif([result.test[i]], os.path.join(tmp, f"video_{kinds[i]}.gif"))
        out.append(
            f"<figure><img src='video_{kinds[i]}.gif' alt='video'><figcaption>{html.escape(kinds[i])}, "
            f"score {scores[i]:.2f}</figcaption></figure>"
        )
    return "".join(out)


def write_report(result: VideoJobResult, config: VideoJobConfig) -> None:
    """Write the run folder: ``index.html``, ``metrics.json``, ``model.pt``, the figures."""
    assert result.folder is not None
    sections: list[tuple[str, str]] = [
        ("", f"<p>{html.escape(_describe(config))}</p>"),
        ("Results", metrics_table_html(result.rows, COLUMNS[result.task], floatfmt=".4g")),
    ]
    with run_folder(result.folder, "video", overwrite=config.overwrite) as tmp:
        figures = {
            "predict": lambda: _predict_figures(result, config, tmp),
            "classify": lambda: _confusion(result, tmp),
            "detect": lambda: _detect_figures(result, config, tmp),
        }[result.task]()
        sections.append(("Examples" if result.task != "classify" else "Confusion matrix", figures))
        if result.model.history_.get("train_loss"):
            plot_losses(
                {"train": result.model.history_["train_loss"]}, os.path.join(tmp, "loss.png"), "training loss"
            )
            sections.append(("Training", "<img src='loss.png' alt='training loss'>"))
        result.model.save(os.path.join(tmp, "model.pt"))
        metrics_out: dict[str, Any] = dict(result.metrics)
        write_summary(tmp, f"lstmkit video {config.task}: {config.architecture}", sections, metrics_out)


def _describe(config: VideoJobConfig) -> str:
    data = {
        "predict": "moving digits (two digits bouncing)",
        "classify": "motion classes (one digit)",
        "detect": "moving digits; test videos with a digit that teleports, stops or turns",
    }[config.task]
    return (
        f"{config.train} training and {config.test} test videos of {data}, {config.frames} frames of "
        f"{config.size}x{config.size} from {config.source} digit images (test images unseen in training). "
        f"Model {config.architecture}, {config.epochs} epochs."
    )

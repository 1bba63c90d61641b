"""What a training run leaves in its folder (:class:`RunLogs`): the configuration, CSV logs,
a summary, TensorBoard events, a PNG of the curves and an HTML report.

matplotlib and tensorboard are imported lazily, only when a run asks for them.

Example::

    >>> logs = RunLogs(Path("runs/demo"), TrainConfig(run_dir="runs/demo"))
    >>> logs.open()                       # claims the folder, writes config.json
    >>> logs.write(history, global_step=30, epochs=3)  # metrics.csv, steps.csv, summary.json
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lstmkit.fit.config import TrainConfig
from lstmkit.fit.history import History
from lstmkit.io.atomic import atomic_write_bytes, atomic_write_text
from lstmkit.io.runfolder import claim_folder
from lstmkit.io.tables import write_rows as write_csv

__all__ = ["RunLogs", "TensorBoardLogger", "plot_curves", "save_png", "write_csv", "write_report"]

log = logging.getLogger("lstmkit.fit")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return "" if value is None else str(value)


class TensorBoardLogger:
    """Scalars to TensorBoard event files under ``log_dir`` (needs the ``tensorboard`` package)."""

    def __init__(self, log_dir: str | os.PathLike[str], purge_step: int | None = None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "tensorboard=True needs the tensorboard package: pip install 'tensorboard==2.21.*' "
                "(or `make setup`)"
            ) from exc
        self.writer = SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)

    def log(self, values: Mapping[str, Any], step: int, prefix: str = "") -> None:
        for key, value in values.items():
            if (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and key not in ("epoch", "step")
            ) and not math.isnan(float(value)):
                self.writer.add_scalar(prefix + key, float(value), step)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def _series(rows: Sequence[Mapping[str, Any]], key: str, x_key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for row in rows:
        v = row.get(key)
        if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
            xs.append(float(row[x_key]))
            ys.append(float(v))
    return xs, ys


def plot_curves(
    path: str | os.PathLike[str],
    epochs: Sequence[Mapping[str, Any]],
    steps: Sequence[Mapping[str, Any]],
    title: str = "training curves",
) -> None:
    """Loss curves (per step and per epoch, train and validation), the other validation
    metrics and the learning rate, in one PNG (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric_keys = [
        k
        for k in dict.fromkeys(k for r in epochs for k in r)
        if k.startswith("val_") and k != "val_loss" and _series(epochs, k, "epoch")[0]
    ]
    n = 2 + (1 if metric_keys else 0)
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 3.8))
    ax = axes[0]
    xs, ys = _series(steps, "loss", "step")
    if xs:
        ax.plot(xs, ys, color="0.75", lw=0.8, label="train (per step)")
    for key, style in (("train_loss", "-o"), ("val_loss", "-s")):
        # epochs are placed at the optimizer step where they ended
        ex, ey = _series(epochs, key, "step")
        if ex:
            ax.plot(ex, ey, style, ms=3, label=key.replace("_", " "))
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    if ys and min(ys) > 0 and max(ys) / max(min(ys), 1e-12) > 50:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = axes[1]
    xs, ys = _series(steps, "lr", "step")
    ax.plot(xs, ys, color="tab:purple")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("learning rate")
    ax.set_title("learning rate")
    ax.grid(alpha=0.3)
    if metric_keys:
        ax = axes[2]
        for key in metric_keys:
            ex, ey = _series(epochs, key, "epoch")
            ax.plot(ex, ey, "-o", ms=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_title("validation metrics")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    save_png(fig, path)


def save_png(fig: Any, path: str | os.PathLike[str]) -> None:
    """Lay out a matplotlib figure, write it to ``path`` as a PNG (atomically) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def write_report(
    path: str | os.PathLike[str],
    *,
    title: str,
    config: Mapping[str, Any],
    summary: Mapping[str, Any],
    epochs: Sequence[Mapping[str, Any]],
    image: str | os.PathLike[str] | None = None,
) -> None:
    """A self-contained HTML page: the curves (embedded), a summary, the epoch table, the config."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;"
        "text-align:right}th{background:#f4f4f4}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if image is not None and Path(image).is_file():
        data = base64.b64encode(Path(image).read_bytes()).decode("ascii")
        parts.append(f"<img alt='training curves' src='data:image/png;base64,{data}'>")
    parts.append("<h2>Summary</h2><table>")
    for k, v in summary.items():
        parts.append(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>")
    parts.append("</table><h2>Epochs</h2><table><tr>")
    keys = list(dict.fromkeys(k for r in epochs for k in r))
    parts.extend(f"<th>{html.escape(k)}</th>" for k in keys)
    parts.append("</tr>")
    for row in epochs:
        cells = []
        for k in keys:
            v = row.get(k)
            cells.append(f"<td>{html.escape(f'{v:.5g}' if isinstance(v, float) else _fmt(v))}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table><h2>Configuration</h2><table>")
    for k, v in config.items():
        parts.append(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>")
    parts.append("</table></body></html>")
    atomic_write_text(path, "\n".join(parts))


class RunLogs:
    """The files a :class:`~lstmkit.fit.Trainer` keeps in its run folder.

    ``config.json`` (the settings), ``metrics.csv`` (a row per epoch), ``steps.csv`` (a row per
    logged optimizer step), ``summary.json`` (the outcome so far), TensorBoard events under
    ``tensorboard/`` (``config.tensorboard``), and at the end ``curves.png`` and ``report.html``
    (``config.plot``).

    Args:
        run_dir: the folder; :meth:`open` refuses one that holds a user's files.
        config: the run's settings.
    """

    def __init__(self, run_dir: Path, config: TrainConfig) -> None:
        self.run_dir = run_dir
        self.config = config
        self._tb: TensorBoardLogger | None = None

    def open(self, purge_step: int | None = None) -> None:
        """Claim the folder and write ``config.json``; start TensorBoard (from ``purge_step``
        on, for a resumed run, so the events after it are replaced)."""
        claim_folder(self.run_dir, "train", what="run_dir")  # never over a folder of the user's
        atomic_write_text(self.run_dir / "config.json", self.config.to_json() + "\n")
        if self.config.tensorboard:
            self._tb = TensorBoardLogger(self.run_dir / "tensorboard", purge_step=purge_step)

    def write(self, history: History, *, global_step: int, epochs: int) -> None:
        """Rewrite ``metrics.csv``, ``steps.csv`` and ``summary.json`` (the outcome so far:
        the best epoch and value, why the run stopped, its optimizer steps and epochs)."""
        write_csv(self.run_dir / "metrics.csv", history.epochs)
        write_csv(self.run_dir / "steps.csv", history.steps)
        summary = {
            "monitor": history.monitor,
            "best_epoch": history.best_epoch,
            "best_value": history.best_value,
            "stop_reason": history.stop_reason,
            "global_step": global_step,
            "epochs": epochs,
        }
        atomic_write_text(self.run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")

    def log_step(self, row: Mapping[str, Any]) -> None:
        """One optimizer step's loss, rate and gradient norm to TensorBoard."""
        if self._tb is not None:
            self._tb.log(
                {"loss": row["loss"], "lr": row["lr"], "grad_norm": row["grad_norm"]}, row["step"], "step/"
            )

    def log_epoch(self, row: Mapping[str, Any]) -> None:
        """One epoch's row to TensorBoard."""
        if self._tb is not None:
            self._tb.log(row, row["step"], "epoch/")

    def close(self) -> None:
        """Flush and close TensorBoard's files."""
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    def report(self, history: History, summary: Mapping[str, Any]) -> None:
        """``curves.png`` (without matplotlib: a warning and no image) and ``report.html``."""
        image: Path | None = self.run_dir / "curves.png"
        try:
            plot_curves(self.run_dir / "curves.png", history.epochs, history.steps, title=self.run_dir.name)
        except ImportError:
            log.warning("plot=True needs matplotlib (pip install 'matplotlib==3.11.*'); no curves.png")
            image = None
        write_report(
            self.run_dir / "report.html",
            title=f"lstmkit run {self.run_dir.name}",
            config=self.config.to_dict(),
            summary=summary,
            epochs=history.epochs,
            image=image,
        )

"""The anomaly-detection job (``lstmkit detect``): fit an LSTM detector on the normal start of a
bundled signal, set its threshold on the part after it, and score the rest.

The signal is split in time: ``[0, a)`` trains the detector (normal behaviour), ``[a, b)`` sets
the threshold, ``[b, T)`` is the test part, with

.. math::

    a = \\lfloor T \\cdot \\text{train} \\rfloor, \\qquad
    b = \\lfloor T \\cdot (\\text{train} + \\text{val}) \\rfloor

A labelled signal is evaluated on the test part (precision, recall, F1, ROC-AUC); an
unlabelled one reports the samples flagged. The report folder (``runs/detect-NAME/``) holds
``index.html``, ``scores.png`` (signal, scores, threshold) and ``metrics.json``.

Example::

    >>> from lstmkit.apps.anomaly.job import DetectJobConfig, run
    >>> result = run(DetectJobConfig(dataset="yahoo", epochs=2, out=None))
    >>> sorted(result.metrics)[:3]
    ['config', 'dataset', 'f1']
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.apps.anomaly.data import AnomalyData, load_anomaly
from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.common.gates import gate_sections
from lstmkit.apps.common.options import pick
from lstmkit.apps.common.reports import OutputOptions, check_device, html_value_rows, write_summary
from lstmkit.io import plots
from lstmkit.io.runfolder import prepare_run_folder, run_folder

__all__ = ["DetectJobConfig", "DetectJobResult", "run"]

log = logging.getLogger("lstmkit.detect")


@dataclass(frozen=True)
class DetectJobConfig(OutputOptions):
    """The settings of :func:`run` (``lstmkit detect``).

    Args:
        dataset: a bundled signal (``mitdb``, ``yahoo``: labelled; ``ppg``, ``ppg_long``: not).
        method: ``"forecast"`` (next-step forecast residuals) or ``"autoencoder"``
            (reconstruction error).
        train: the share of the signal that trains the detector, in (0, 1).
        val: the share after it that sets the threshold (``train + val < 1``).
        window: window in (downsampled) samples. downsample: samples averaged into one
            (``None``: down to about 90 Hz). smooth: moving average of the scores (``None``: the window).
        epochs: training epochs. hidden: LSTM hidden size.
        quantile: threshold quantile of the normal validation scores.
        seed: seed. device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``.
        (and :class:`~lstmkit.apps.common.reports.OutputOptions`: out, overwrite, progress, echo)
    """

    dataset: str = "mitdb"
    method: str = "forecast"
    train: float = 0.55
    val: float = 0.20
    window: int = 96
    downsample: int | None = None
    smooth: int | None = None
    epochs: int = 40
    hidden: int = 32
    quantile: float = 0.99
    seed: int = 0
    device: str = "cpu"


@dataclass
class DetectJobResult:
    """What :func:`run` found.

    Attributes:
        data: the signal. detector: the fitted detector. scores: (T,) the score of every sample.
        split: ``(a, b)``: the ends of the training and validation parts.
        downsample: the downsampling used.
        metrics: what ``metrics.json`` holds (threshold, seconds, settings, and precision,
            recall, F1, ROC-AUC or the number of flagged samples).
        folder: the report folder (``None`` without one).
    """

    data: AnomalyData
    detector: AnomalyDetector
    scores: np.ndarray
    split: tuple[int, int]
    downsample: int
    metrics: dict[str, Any]
    folder: str | None


def _check_split(train: float, val: float) -> None:
    for flag, value in (("--train", train), ("--val", val)):
        if not 0 < value < 1:  # also false for NaN
            raise ValueError(f"{flag}: expected a fraction of the signal in (0, 1), got {value}")
    if train + val >= 1:
        raise ValueError(
            f"--train, --val: expected train + val < 1 (the rest is the test part), "
            f"got {train} + {val} = {train + val:g}"
        )


def run(config: DetectJobConfig) -> DetectJobResult:
    """Fit the detector on the training part, set the threshold on the validation part, score
    the whole signal and evaluate (or count) the test part's anomalies; write the report.

    Args:
        config: the settings.

    Returns:
        the scores, the metrics and the detector (:class:`DetectJobResult`).
    """
    _check_split(config.train, config.val)
    check_device(config.device)  # before any folder or training
    data = load_anomaly(config.dataset)
    folder = None if config.out is None else os.path.join(config.out, f"detect-{data.name}")
    if folder is not None:
        prepare_run_folder(folder, "detect", overwrite=config.overwrite)
    x, labels = data.values, data.labels
    a, b = int(len(x) * config.train), int(len(x) * (config.train + config.val))
    auto = max(1, round(data.sample_rate / 90)) if data.sample_rate else 1
    down = auto if config.downsample is None else config.downsample
    if labels is not None and labels[:a].any():
        log.warning("the training part holds %d labelled anomalous samples", int(labels[:a].sum()))
    t0 = time.perf_counter()
    det = _detector(config, down).fit(x[:a], val=x[a:b], val_labels=None if labels is None else labels[a:b])
    scores = det.score(x)
    seconds = time.perf_counter() - t0
    metrics: dict[str, Any] = {
        "dataset": data.name,
        "method": config.method,
        "threshold": det.threshold_,
        "seconds": seconds,
        "config": det.config_dict(),
    }
    lines = [
        f"dataset {data.name}: {len(x)} samples; train [0, {a}), validation [{a}, {b}), test [{b}, {len(x)})",
        f"method {config.method}, window {config.window}, downsample {down}, threshold {det.threshold_:.4g}",
        _test_part(det, data, b, metrics),
        f"time {seconds:.0f} s",
    ]
    if config.echo:
        print("\n".join(lines))
    result = DetectJobResult(data, det, scores, (a, b), down, metrics, folder)
    if folder is not None:
        write_report(result, overwrite=config.overwrite)
    return result


def _detector(config: DetectJobConfig, downsample: int) -> AnomalyDetector:
    """The detector of ``config`` (the settings named as its arguments pass through)."""
    return AnomalyDetector(
        config.method,
        downsample=downsample,
        hidden_size=config.hidden,
        max_epochs=config.epochs,
        threshold_quantile=config.quantile,
        **pick(config, "window", "smooth", "seed", "device", "progress"),
    )


def _test_part(det: AnomalyDetector, data: AnomalyData, b: int, metrics: dict[str, Any]) -> str:
    """Evaluate the test part ``[b, T)`` against its labels (both classes present), else count
    the flagged samples; add the figures to ``metrics`` and return the line to print."""
    x, labels = data.values, data.labels
    if labels is not None and labels[b:].any() and (~labels[b:].astype(bool)).any():
        m = det.evaluate(x[b:], labels[b:], context=x[:b])
        metrics.update(m)
        return (
            f"test: precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}  "
            f"ROC-AUC {m['roc_auc']:.3f}"
        )
    flagged = det.predict(x[b:], context=x[:b])
    metrics["flagged"] = int(flagged.sum())
    return f"test: {int(flagged.sum())} of {len(flagged)} samples flagged (no labels to evaluate against)"


def write_report(result: DetectJobResult, *, overwrite: bool = False) -> None:
    """Write the report folder: the signal with its scores, ``metrics.json`` and ``index.html``."""
    assert result.folder is not None
    data, (a, b) = result.data, result.split
    x = data.values
    sections = [
        ("", f"<p>{data.description}</p><table>{html_value_rows(result.metrics)}</table>"),
        ("Signal and scores", "<img src='scores.png' alt='scores'>"),
    ]
    with run_folder(result.folder, "detect", overwrite=overwrite) as tmp:
        plots.plot_anomaly(
            x,
            result.scores,
            float(result.detector.threshold_ or 0),
            os.path.join(tmp, "scores.png"),
            labels=data.labels,
            spans={"validation": (a, b), "test": (b, len(x))},
            title=f"{data.name}: signal (red: labelled anomalies)",
        )
        sections += _gate_sections(result, tmp)
        result.detector.save(os.path.join(tmp, "model.pt"))  # for export, compress and explain
        write_summary(tmp, f"lstmkit detect: {data.name}", sections, result.metrics)


def _gate_sections(result: DetectJobResult, folder: str) -> list[tuple[str, str]]:
    """The gates of the detector's (first) LSTM while it scores the start of the test part
    (200 downsampled samples, at least a window)."""
    det, b = result.detector, result.split[1]
    cfg = det.config
    part = result.data.values[b : b + max(200, cfg.window) * cfg.downsample]
    reads = "the signal as one sequence" if cfg.method == "forecast" else "its windows"
    return gate_sections(
        det.nets_[0],
        lambda: det.score(part),
        folder,
        what=f"the {cfg.method} network, scoring the first {len(part)} test samples ({reads})",
    )

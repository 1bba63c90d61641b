r"""The video job (``lstmkit video predict|classify|detect``) on offline moving digits.

* **predict**: a :class:`~lstmkit.apps.video.estimator.VideoPredictor` (ConvLSTM
  encoder-forecaster or FC-LSTM) trained on ``train`` moving-digit videos (10 frames in, 10
  out), scored on the fixed test set against copy-last-frame: per-frame MSE and SSIM, by step
  ahead.
* **classify**: a :class:`~lstmkit.apps.video.estimator.VideoClassifier` (ConvLSTM + pooling or
  CNN + LSTM) on the motion classes; test accuracy and the confusion matrix.
* **detect**: a :class:`~lstmkit.apps.video.anomaly.VideoAnomalyDetector` trained on normal
  moving digits; ROC-AUC on test videos of which half have a digit that teleports, stops or
  turns, overall and per kind.

The data (:mod:`lstmkit.apps.video.data`) come from bundled digit images; the test videos use
digit images the training never sees, from the split's fixed seed. The report folder
(``runs/NAME/``) holds ``index.html``, ``metrics.json``, ``model.pt`` and the figures
(:mod:`lstmkit.apps.video.report`).

Example::

    >>> from lstmkit.apps.video.job import VideoJobConfig, run
    >>> result = run(VideoJobConfig(task="predict", train=64, test=16, epochs=1, out=None))
    >>> sorted(result.metrics["rows"][0])[:3]
    ['model', 'mse', 'params']
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lstmkit.apps.common.options import pick
from lstmkit.apps.common.reports import OutputOptions, check_device, check_folder_name
from lstmkit.apps.video import baselines, data, metrics
from lstmkit.apps.video.anomaly import SCORINGS, VideoAnomalyDetector
from lstmkit.apps.video.estimator import CLASSIFIERS, PREDICTORS, VideoClassifier, VideoPredictor, scores
from lstmkit.apps.video.model import count_parameters
from lstmkit.io.html import format_table
from lstmkit.io.runfolder import prepare_run_folder

__all__ = ["TASKS", "VideoJobConfig", "VideoJobResult", "run", "summary_text"]

log = logging.getLogger("lstmkit.video")

TASKS = ("predict", "classify", "detect")


@dataclass(frozen=True)
class VideoJobConfig(OutputOptions):
    """The settings of :func:`run` (``lstmkit video TASK``).

    Args:
        task: ``"predict"``, ``"classify"`` or ``"detect"``.
        architecture: ``"convlstm"`` (default), ``"fc-lstm"`` (predict, detect) or
            ``"cnn-lstm"`` (classify).
        train, test: training and test videos.
        source: the digit images, ``"mnist"`` or ``"fashion"``.
        frames, size, context: frames per video, their side in pixels, the frames read.
        hidden, num_layers, kernel_size, patch: the network (``None``: the model's default).
        epochs, batch_size, lr: training.
        seed: of the training videos and the weights (the test set is fixed).
        device: where the network trains. name: the report folder (``None``: ``video-TASK``).
        scoring: detect's :class:`~lstmkit.apps.video.anomaly.VideoAnomalyDetector` scoring,
            ``"one-step"`` or ``"rollout"``.
        (and :class:`~lstmkit.apps.common.reports.OutputOptions`: out, overwrite, progress, echo)
    """

    task: str = "predict"
    architecture: str = "convlstm"
    train: int = 3000
    test: int = 500
    source: str = "mnist"
    frames: int = 20
    size: int = 64
    context: int = 10
    hidden: int | None = None
    num_layers: int | None = None
    kernel_size: int = 3
    patch: int = 4
    epochs: int = 8
    batch_size: int = 16
    lr: float = 2e-3
    seed: int = 0
    device: str = "cpu"
    name: str | None = None
    scoring: str = "one-step"


@dataclass
class VideoJobResult:
    """What :func:`run` found.

    Attributes:
        task: the task. rows: the table (a row per model). metrics: what ``metrics.json`` holds.
        model: the fitted model. test: the test videos (N, L, C, H, W). labels: their classes
            or anomaly labels (``None`` for predict). outputs: per task, the predictions
            (``"pred"``, ``"copy"``), class probabilities (``"proba"``), or the anomaly
            ``"scores"`` and ``"frame_scores"``. folder: the report folder (``None``: none).
    """

    task: str
    rows: list[dict[str, Any]]
    metrics: dict[str, Any]
    model: Any
    test: torch.Tensor
    labels: np.ndarray | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    folder: str | None = None


def _check(config: VideoJobConfig) -> None:
    """The settings a long run would otherwise trip on, checked first."""
    if config.task not in TASKS:
        raise ValueError(f"task: expected one of {TASKS}, got {config.task!r}")
    allowed = CLASSIFIERS if config.task == "classify" else PREDICTORS
    if config.architecture not in allowed:
        raise ValueError(
            f"--architecture: expected one of {allowed} for {config.task}, got {config.architecture!r}"
        )
    for flag, value, low in (
        ("--train", config.train, 2),
        ("--test", config.test, 2),
        ("--epochs", config.epochs, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{flag}: expected an int >= {low}, got {value!r}")
    if config.task != "classify" and not 0 < config.context < config.frames:
        raise ValueError(
            f"--context: expected 1..{config.frames - 1} (fewer than --frames), got {config.context}"
        )
    if config.source not in data.SOURCES:
        raise ValueError(f"--source: expected one of {data.SOURCES}, got {config.source!r}")
    if config.scoring not in SCORINGS:
        raise ValueError(f"--scoring: expected one of {SCORINGS}, got {config.scoring!r}")
    if config.task == "detect" and config.scoring == "one-step" and config.context < 3:
        raise ValueError(f"--context: one-step scoring needs at least 3 context frames, got {config.context}")
    check_folder_name(config.name)
    check_device(config.device)


def _model(config: VideoJobConfig, cls: Callable[..., Any]) -> Any:
    return cls(
        config.architecture,
        hidden_size=config.hidden,
        num_layers=config.num_layers,
        kernel_size=config.kernel_size,
        patch=config.patch,
        context=config.context,
        max_epochs=config.epochs,
        **pick(config, "batch_size", "lr", "seed", "device", "progress"),
    )


def _videos(config: VideoJobConfig, n: int, split: str) -> Any:
    """The task's videos of ``split`` (the test split from its fixed seed)."""
    seed = config.seed if split == "train" else None
    shape = {
        "frames": config.frames,
        "size": config.size,
        "source": config.source,
        "split": split,
        "seed": seed,
    }
    if config.task == "classify":
        return data.motion_classes(n, **shape)
    if config.task == "detect" and split == "test":
        return data.motion_anomalies(n, start=config.context, **shape)
    return data.moving_digits(n, **shape)


def _predict(config: VideoJobConfig) -> VideoJobResult:
    train, test = _videos(config, config.train, "train").frames, _videos(config, config.test, "test").frames
    model = _model(config, VideoPredictor).fit(train)
    pred = model.predict(test)
    copy = baselines.copy_last(test[:, : config.context], config.frames - config.context)
    truth = test[:, config.context :]
    rows = [
        {
            "model": config.architecture,
            **scores(pred, truth),
            "params": count_parameters(model.nets_[0]),
            "train_seconds": model.fit_seconds_,
        },
        {"model": "copy-last", **scores(copy, truth), "params": 0, "train_seconds": 0.0},
    ]
    return VideoJobResult("predict", rows, {}, model, test, outputs={"pred": pred, "copy": copy})


def _classify(config: VideoJobConfig) -> VideoJobResult:
    train, test = _videos(config, config.train, "train"), _videos(config, config.test, "test")
    model = _model(config, VideoClassifier).fit(train.frames, train.labels.numpy())
    proba = model.predict_proba(test.frames)
    labels = test.labels.numpy()
    row = {
        "model": config.architecture,
        "accuracy": metrics.accuracy(labels, proba.argmax(1)),
        "params": count_parameters(model.nets_[0]),
        "train_seconds": model.fit_seconds_,
    }
    result = VideoJobResult("classify", [row], {"classes": list(train.classes)}, model, test.frames, labels)
    result.outputs = {"proba": proba}
    return result


def _detect(config: VideoJobConfig) -> VideoJobResult:
    train, test = _videos(config, config.train, "train").frames, _videos(config, config.test, "test")
    model = _model(config, functools.partial(VideoAnomalyDetector, scoring=config.scoring)).fit(train)
    frame_scores = model.frame_scores(test.frames)
    score = frame_scores.max(1)
    labels = test.labels.numpy()
    rows = [
        {"model": config.architecture, **row} for row in metrics.roc_auc_by_kind(labels, test.kinds, score)
    ]
    result = VideoJobResult(
        "detect", rows, {"kinds": test.kinds, "scoring": config.scoring}, model, test.frames, labels
    )
    result.outputs = {"scores": score, "frame_scores": frame_scores}
    return result


def run(config: VideoJobConfig) -> VideoJobResult:
    """Make the videos, fit the model, score it on the fixed test set, print the table
    (``echo``) and write the report (``out``)."""
    _check(config)
    name = config.name or f"video-{config.task}"
    folder = None if config.out is None else os.path.join(config.out, name)
    if folder is not None:
        prepare_run_folder(folder, "video", overwrite=config.overwrite)
    t0 = time.perf_counter()
    result = {"predict": _predict, "classify": _classify, "detect": _detect}[config.task](config)
    result.folder = folder
    result.metrics = {
        "task": config.task,
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k not in ("echo", "progress")},
        "rows": result.rows,
        **result.metrics,
        "total_seconds": time.perf_counter() - t0,
    }
    if config.echo:
        print(summary_text(result))
    if folder is not None:
        from lstmkit.apps.video.report import write_report

        write_report(result, config)
    return result


COLUMNS = {
    "predict": ["model", "mse", "ssim", "params", "train_seconds"],
    "classify": ["model", "accuracy", "params", "train_seconds"],
    "detect": ["model", "kind", "videos", "roc_auc"],
}


def summary_text(result: VideoJobResult) -> str:
    """The table as printed on stdout."""
    heads = {
        "predict": "per-frame MSE (sum over a frame's pixels) and SSIM of the predicted frames, test videos",
        "classify": "test accuracy on the motion classes",
        "detect": "ROC-AUC of the anomaly score (largest standardized frame error), test videos",
    }
    return "\n".join([heads[result.task], format_table(result.rows, COLUMNS[result.task], floatfmt=".4g")])

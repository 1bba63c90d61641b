"""The detect jobs of the browser app: anomalies in one column of an uploaded CSV over time.

A detect job (``{"task": "detect", "csv", "target", "time", ...}`` posted to ``/v1/jobs``) is
checked before it is queued (:func:`write_detect_input`: the column, finite numbers, enough
rows) and run in the worker by :func:`run_detect` with the anomaly app's detector
(:class:`lstmkit.apps.anomaly.estimator.AnomalyDetector`, forecast method: an LSTM predicts each
next sample, a sample's score is its residual in units of the training residuals, smoothed).

The first ``train`` share of the rows (in time order) is taken as normal and trains the
detector; the threshold is the ``quantile`` quantile of its scores there; the whole column is
then scored and flagged. With ``tune`` the worker first searches the detector's window, LSTM
variant, size and learning rate on the training part alone
(:func:`lstmkit.apps.serve.tuning.tune_detector`). The job's ``run/`` folder (built aside and
moved into place whole) holds ``model.pt`` (``AnomalyDetector.load``, ``lstmkit serve``
sessions), ``scores.csv`` (time, value, score, flag per row) and ``index.html`` with
``scores.png``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lstmkit.io.atomic import atomic_write_text

from .tabular import column_values, ordered_rows, read_table

__all__ = ["DetectJobRequest", "auto_window", "run_detect", "training_rows", "write_detect_input"]

CSV_INPUT = "input.csv"


class DetectJobRequest(BaseModel):
    """A detect job: the CSV text, the column to watch, the time column (``None``: row order),
    the share of rows taken as normal for training, the threshold quantile, the window
    (``None``: :func:`auto_window`), the network's size, epochs and an optional time budget in
    seconds (small defaults: two cores). ``tune``: search the detector's settings first (at most
    ``trials`` trials, half the budget; see :mod:`lstmkit.apps.serve.tuning`)."""

    model_config = ConfigDict(extra="forbid")
    task: Literal["detect"]
    csv: Annotated[str, Field(min_length=1)]
    target: Annotated[str, Field(min_length=1, max_length=200)]
    time: Annotated[str | None, Field(max_length=200)] = None
    train: Annotated[float, Field(ge=0.1, le=0.9, allow_inf_nan=False)] = 0.5
    quantile: Annotated[float, Field(ge=0.5, lt=1.0, allow_inf_nan=False)] = 0.99
    window: Annotated[int | None, Field(ge=4, le=512)] = None
    epochs: Annotated[int, Field(ge=1, le=500)] = 30
    hidden: Annotated[int, Field(ge=1, le=256)] = 16
    budget_s: Annotated[float | None, Field(gt=0, le=86_400, allow_inf_nan=False)] = None
    tune: bool = False
    trials: Annotated[int, Field(ge=1, le=200)] = 20


def auto_window(train_rows: int) -> int:
    """The default window: an eighth of the training rows, between 8 and 64."""
    return int(min(64, max(8, train_rows // 8)))


def _series(path: Path, request: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    """The rows' time labels and the target's values, in time order."""
    frame = ordered_rows(read_table(path), request.get("time"))
    values = column_values(frame, request["target"])
    stamps = frame[request["time"]] if request.get("time") else frame.index.to_series()
    return [str(s) for s in stamps], values


def write_detect_input(folder: Path, req: DetectJobRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the job's data (one-line ``ValueError``) and write ``input.csv``; (its settings,
    its status fields)."""
    atomic_write_text(folder / CSV_INPUT, req.csv.removeprefix("\ufeff"))
    settings = req.model_dump(exclude={"csv"})
    _, values = _series(folder / CSV_INPUT, settings)
    train = int(len(values) * req.train)
    window = req.window or auto_window(train)
    if train < 2 * window:
        raise ValueError(
            f"csv: the first {req.train:.0%} of the rows ({train}) are too few to train windows of "
            f"{window}; need at least {2 * window} (more rows, a larger share or a smaller window)"
        )
    if req.tune:
        from .tuning import detect_windows

        if not detect_windows(train):
            raise ValueError(
                f"tune: the training rows ({train}) are too few to hold out a validation part and "
                "train windows of 4 or more (more rows, a larger share, or tune off)"
            )
    return settings | {"window": window}, {"task": "detect", "target": req.target}


def training_rows(folder: Path, request: dict[str, Any]) -> np.ndarray:
    """(T_train,) the first ``train`` share of the target's values, taken as normal."""
    _, values = _series(folder / CSV_INPUT, request)
    return values[: int(len(values) * float(request["train"]))]


def run_detect(folder: Path, request: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Train the job's detector (in the worker), write its ``run/`` folder and return the
    figures the page shows (written to ``result.json`` by the worker).

    Args:
        folder: the job's folder (``input.csv`` in it).
        request: the job's settings (a :class:`DetectJobRequest` without the CSV; a tuned job's
            also hold the chosen ``variant`` and ``lr``).
        progress: the trainer callback that writes the progress rows.
    """
    from lstmkit.apps.anomaly.estimator import AnomalyDetector
    from lstmkit.fit.estimator import also_report_to

    stamps, values = _series(folder / CSV_INPUT, request)
    train = int(len(values) * float(request["train"]))
    detector = AnomalyDetector(
        "forecast", window=int(request["window"]), hidden_size=int(request["hidden"]),
        variant=request.get("variant", "classic"), lr=float(request.get("lr", 3e-3)),
        max_epochs=int(request["epochs"]), threshold_quantile=float(request["quantile"]), progress=False,
    )  # fmt: skip
    with also_report_to(progress):
        detector.fit(values[:train])
    scores = detector.score(values)
    assert detector.threshold_ is not None
    flags = scores > detector.threshold_
    _write_run(folder, request, detector, (stamps, values, scores, flags), train)
    return {
        "kind": "detect",
        "index": stamps,
        "values": values.tolist(),
        "scores": scores.tolist(),
        "flags": np.flatnonzero(flags).tolist(),
        "threshold": detector.threshold_,
        "train_rows": train,
        "window": int(request["window"]),
        "series": request["target"],
    }


def _write_run(
    folder: Path, request: dict[str, Any], detector: Any, data: tuple[Any, ...], train: int
) -> None:
    """``run/``: the model, ``scores.csv`` and the report (built aside, moved into place whole)."""
    from lstmkit.apps.common.reports import write_summary
    from lstmkit.io import plots
    from lstmkit.io.runfolder import run_folder

    stamps, values, scores, flags = data
    lines = ["time,value,score,flag"] + [
        f"{s},{v!r},{c!r},{int(f)}" for s, v, c, f in zip(stamps, values.tolist(), scores.tolist(), flags)
    ]
    summary = {"rows": len(values), "train_rows": train, "flagged": int(flags.sum()),
               "threshold": detector.threshold_, "config": detector.config_dict()}  # fmt: skip
    with run_folder(folder / "run", "app-detect") as tmp:
        detector.save(os.path.join(tmp, "model.pt"))
        atomic_write_text(os.path.join(tmp, "scores.csv"), "\n".join(lines) + "\n")
        spans = {"training (normal)": (0, train), "scored": (train, len(values))}
        plots.plot_anomaly(values, scores, float(detector.threshold_), os.path.join(tmp, "scores.png"),
                           spans=spans, title=f"{request['target']}: signal")  # fmt: skip
        sections = [
            ("Summary", f"<p>{int(flags.sum())} of {len(values)} rows flagged (score above "
                        f"{detector.threshold_:.4g}, the {request['quantile']} quantile of the training "
                        f"part's scores); the first {train} rows trained the detector.</p>"),
            ("Signal and scores", "<img src='scores.png' alt='signal and anomaly scores'>"),
        ]  # fmt: skip
        write_summary(tmp, f"lstmkit app: anomalies in {request['target']}", sections, summary)

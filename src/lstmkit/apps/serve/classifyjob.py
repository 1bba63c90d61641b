"""The classify jobs of the browser app: a classifier of labelled sequences from an uploaded CSV.

The CSV is in **long format**: one row per time step of a sequence, with

* an ``id`` column naming the sequence each row belongs to,
* optionally an ``order`` column (numbers or dates) ordering the steps within a sequence
  (without it, the file's order),
* one or more ``values`` columns (numbers: the channels),
* a ``label`` column, the same on every row of a sequence (its class).

Sequences may differ in length (the shorter ones are padded and their lengths kept). A
stratified ``test`` share of the sequences of each class (at least one) is held out; the
classification app's estimator (:class:`lstmkit.apps.classification.estimator.SequenceClassifier`)
is trained on the rest (in the worker, :func:`run_classify`) and scored on the held-out ones: accuracy, the
confusion matrix (rows the true class), precision, recall and F1 per class, next to the
majority class's accuracy. The job's ``run/`` folder (built aside, moved into place whole) holds
``model.pt`` (``SequenceClassifier.load``), ``predictions.csv`` (id, label, predicted,
probability of the prediction, per test sequence) and ``index.html``.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lstmkit.io.atomic import atomic_write_text

from .handlers import WrongInput
from .tabular import column_values, ordered_rows, read_table

__all__ = ["ClassifyJobRequest", "Sequences", "run_classify", "write_classify_input"]

CSV_INPUT = "input.csv"
#: the most sequences and the longest sequence a classify job takes
MAX_SEQUENCES, MAX_LENGTH = 20_000, 5_000


class ClassifyJobRequest(BaseModel):
    """A classify job: the CSV text (long format, see the module docstring), its ``id``,
    ``order`` (``None``: file order), ``values`` and ``label`` columns, the held-out ``test``
    share, the architecture, its size, epochs, an optional time budget in seconds, the seed."""

    model_config = ConfigDict(extra="forbid")
    task: Literal["classify"]
    csv: Annotated[str, Field(min_length=1)]
    id: Annotated[str, Field(min_length=1, max_length=200)]
    order: Annotated[str | None, Field(max_length=200)] = None
    values: Annotated[list[Annotated[str, Field(max_length=200)]], Field(min_length=1, max_length=64)]
    label: Annotated[str, Field(min_length=1, max_length=200)]
    test: Annotated[float, Field(ge=0.05, le=0.5, allow_inf_nan=False)] = 0.25
    architecture: Literal["lstm-fcn", "lstm", "bilstm"] = "lstm-fcn"
    hidden: Annotated[int | None, Field(ge=1, le=256)] = None
    epochs: Annotated[int, Field(ge=1, le=2000)] = 100
    budget_s: Annotated[float | None, Field(gt=0, le=86_400, allow_inf_nan=False)] = None
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


class Sequences:
    """The sequences of a long-format table: ``ids`` (N,), ``x`` (N, L, C) zero-padded,
    ``lengths`` (N,), ``y`` (N,) class numbers of ``classes`` (sorted labels as strings)."""

    def __init__(self, path: Path, request: dict[str, Any]) -> None:
        key, label = request["id"], request["label"]
        frame = ordered_rows(read_table(path), request.get("order"), within=key)
        cols = [column_values(frame, c, "values") for c in request["values"]]
        labels = frame[label].astype(str) if label in frame.columns else None
        if labels is None or key not in frame.columns:
            missing = label if labels is None else key
            raise WrongInput(f"csv: expected a column {missing!r}, got columns {list(frame.columns)}")
        groups = frame.groupby(key, sort=False).indices
        if len(groups) > MAX_SEQUENCES:
            raise WrongInput(f"{key}: expected at most {MAX_SEQUENCES} sequences, got {len(groups)}")
        self.ids = [str(g) for g in groups]
        rows = list(groups.values())
        self.lengths = np.array([len(r) for r in rows])
        if self.lengths.max() > MAX_LENGTH:
            raise WrongInput(
                f"{key}: expected sequences of at most {MAX_LENGTH} rows, got {self.lengths.max()}"
            )
        self.x = np.zeros((len(rows), int(self.lengths.max()), len(cols)))
        names = []
        for n, r in enumerate(rows):
            self.x[n, : len(r)] = np.stack([c[r] for c in cols], 1)
            mine = labels.iloc[r].unique()
            if len(mine) > 1:
                raise WrongInput(f"{label}: sequence {self.ids[n]!r} has several labels {sorted(mine)[:3]}")
            names.append(mine[0])
        self.classes = sorted(set(names))
        self.y = np.array([self.classes.index(v) for v in names])


def split(y: np.ndarray, test: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, test) indices: ``test`` of each class's sequences (at least one,
    and at least one left to train on); a one-line ``WrongInput`` for a class of one sequence."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for k in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == k))
        if len(members) < 2:
            raise WrongInput(f"label: every class needs 2 sequences or more, class {k} has {len(members)}")
        n = min(len(members) - 1, max(1, round(test * len(members))))
        held += members[:n].tolist()
        train += members[n:].tolist()
    return np.sort(train), np.sort(held)


def write_classify_input(folder: Path, req: ClassifyJobRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the job's data (one-line ``ValueError``) and write ``input.csv``; (its settings,
    its status fields)."""
    atomic_write_text(folder / CSV_INPUT, req.csv.removeprefix("\ufeff"))
    settings = req.model_dump(exclude={"csv"})
    data = Sequences(folder / CSV_INPUT, settings)
    if len(data.classes) < 2:
        raise WrongInput(f"{req.label}: expected 2 classes or more, got {data.classes}")
    split(data.y, req.test, req.seed)
    return settings, {"task": "classify", "target": req.label}


def _per_class(confusion: np.ndarray, classes: list[str]) -> list[dict[str, Any]]:
    rows = []
    for k, name in enumerate(classes):
        hit, predicted, support = confusion[k, k], confusion[:, k].sum(), confusion[k].sum()
        p = float(hit / predicted) if predicted else 0.0
        r = float(hit / support) if support else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows.append({"class": name, "precision": p, "recall": r, "f1": f1, "support": int(support)})
    return rows


def run_classify(folder: Path, request: dict[str, Any], progress: Any) -> dict[str, Any]:
    """Train the job's classifier (in the worker), write its ``run/`` folder and return the
    figures the page shows (written to ``result.json`` by the worker).

    Args:
        folder: the job's folder (``input.csv`` in it).
        request: the job's settings (a :class:`ClassifyJobRequest` without the CSV).
        progress: the trainer callback that writes the progress rows.
    """
    from lstmkit.apps.classification.estimator import SequenceClassifier
    from lstmkit.fit.estimator import also_report_to
    from lstmkit.fit.evaluation import confusion_matrix

    data = Sequences(folder / CSV_INPUT, request)
    train, test = split(data.y, float(request["test"]), int(request["seed"]))
    model = SequenceClassifier(
        request["architecture"], hidden_size=request.get("hidden"), max_epochs=int(request["epochs"]),
        seed=int(request["seed"]), progress=False,
    )  # fmt: skip
    with also_report_to(progress):
        model.fit(data.x[train], data.y[train], data.lengths[train])
    probs = model.predict_proba(data.x[test], data.lengths[test])  # (N_test, K)
    pred = probs.argmax(1)
    confusion = confusion_matrix(data.y[test], pred, len(data.classes))
    majority = np.bincount(data.y[train], minlength=len(data.classes)).argmax()
    result = {
        "kind": "classify",
        "classes": data.classes,
        "accuracy": float((pred == data.y[test]).mean()),
        "majority_accuracy": float((data.y[test] == majority).mean()),
        "confusion": confusion.tolist(),
        "per_class": _per_class(confusion, data.classes),
        "train": len(train),
        "test": len(test),
        "length": int(data.lengths.max()),
        "channels": int(data.x.shape[2]),
    }
    predictions = ["id,label,predicted,probability"] + [
        f"{data.ids[i]},{data.classes[data.y[i]]},{data.classes[p]},{probs[n, p]:.6g}"
        for n, (i, p) in enumerate(zip(test, pred))
    ]
    _write_run(folder, model, result, predictions)
    return result


def _write_run(folder: Path, model: Any, result: dict[str, Any], predictions: list[str]) -> None:
    """``run/``: the model, ``predictions.csv`` and the report (built aside, moved into place whole)."""
    from lstmkit.apps.common.reports import write_summary
    from lstmkit.io.html import metrics_table_html
    from lstmkit.io.runfolder import run_folder

    names = [html.escape(c) for c in result["classes"]]
    header = "".join(f"<th>{c}</th>" for c in ["true \\ predicted", *names])
    body = "".join(
        f"<tr><td>{c}</td>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
        for c, row in zip(names, result["confusion"])
    )
    summary = (
        f"<p>Accuracy {result['accuracy']:.3f} on {result['test']} held-out sequences (the majority "
        f"class: {result['majority_accuracy']:.3f}); trained on {result['train']}.</p>"
    )
    sections = [
        ("Summary", summary),
        ("Confusion matrix", f"<table><tr>{header}</tr>{body}</table>"),
        (
            "Per class",
            metrics_table_html(result["per_class"], ["class", "precision", "recall", "f1", "support"]),
        ),
    ]
    with run_folder(folder / "run", "app-classify") as tmp:
        model.save(os.path.join(tmp, "model.pt"))
        atomic_write_text(os.path.join(tmp, "predictions.csv"), "\n".join(predictions) + "\n")
        metrics = {k: v for k, v in result.items() if k != "per_class"} | {"config": model.config_dict()}
        write_summary(tmp, "lstmkit app: sequence classifier", sections, json.loads(json.dumps(metrics)))

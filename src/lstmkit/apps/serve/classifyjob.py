"""The classify jobs of the browser app: a classifier of labelled sequences from an uploaded CSV.

The CSV has a header row and one of two layouts (``layout``):

* **long** (default): one row per time step of a sequence, with an ``id`` column naming the
  sequence each row belongs to, optionally an ``order`` column (numbers or dates) ordering the
  steps within a sequence (without it, the file's order), one or more ``values`` columns
  (numbers: the channels) and a ``label`` column, the same on every row of a sequence (its class).
* **wide** (as the UCR archive's files): one row per sequence, a ``label`` column and the
  ``values`` columns, one per time step in the file's order (``values`` empty: every column but
  the label and the optional ``id``); one channel. A row may end early (blank cells at its end:
  a shorter sequence), but a blank cell between values, a cell that is not a number or a row
  without values is refused in one line naming the row and column.

Sequences may differ in length (the shorter ones are padded and their lengths kept). A
stratified ``test`` share of the sequences of each class (at least one) is held out; the
classification app's estimator (:class:`lstmkit.apps.classification.estimator.SequenceClassifier`)
is trained on the rest (in the worker, :func:`run_classify`) and scored on the held-out ones: accuracy, the
confusion matrix (rows the true class), precision, recall and F1 per class, next to the
majority class's accuracy. With ``tune`` the worker first searches the classifier's settings on
the training split alone (:func:`lstmkit.apps.serve.tuning.tune_classifier`). The job's ``run/``
folder (built aside, moved into place whole) holds ``model.pt`` (``SequenceClassifier.load``),
``predictions.csv`` (id, label, predicted, probability of the prediction, per test sequence)
and ``index.html``.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from lstmkit.io.atomic import atomic_write_text

from .handlers import WrongInput
from .tabular import column_values, ordered_rows, read_table

__all__ = [
    "ClassifyJobRequest",
    "Sequences",
    "run_classify",
    "split",
    "training_split",
    "write_classify_input",
]

CSV_INPUT = "input.csv"
#: the most sequences, the longest sequence and the most channels a classify job takes
MAX_SEQUENCES, MAX_LENGTH, MAX_CHANNELS = 20_000, 5_000, 64


class ClassifyJobRequest(BaseModel):
    """A classify job: the CSV text, its ``layout`` (see the module docstring), its ``id`` (a long
    table's; a wide table's is optional), ``order`` (``None``: file order), ``values`` and
    ``label`` columns, the held-out ``test`` share, the architecture, its size, epochs, an
    optional time budget in seconds, the seed. ``tune``: search the classifier's settings first
    (at most ``trials`` trials, half the budget; see :mod:`lstmkit.apps.serve.tuning`)."""

    model_config = ConfigDict(extra="forbid")
    task: Literal["classify"]
    csv: Annotated[str, Field(min_length=1)]
    layout: Literal["long", "wide"] = "long"
    id: Annotated[str | None, Field(max_length=200)] = None
    order: Annotated[str | None, Field(max_length=200)] = None
    values: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=MAX_LENGTH)] = []
    label: Annotated[str, Field(min_length=1, max_length=200)]
    test: Annotated[float, Field(ge=0.05, le=0.5, allow_inf_nan=False)] = 0.25
    architecture: Literal["lstm-fcn", "lstm", "bilstm", "gru"] = "lstm-fcn"
    hidden: Annotated[int | None, Field(ge=1, le=256)] = None
    epochs: Annotated[int, Field(ge=1, le=2000)] = 100
    budget_s: Annotated[float | None, Field(gt=0, le=86_400, allow_inf_nan=False)] = None
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    tune: bool = False
    trials: Annotated[int, Field(ge=1, le=200)] = 20


class Sequences:
    """The sequences of a long or wide table (see the module docstring): ``ids`` (N,), ``x``
    (N, L, C) zero-padded, ``lengths`` (N,), ``y`` (N,) class numbers of ``classes`` (sorted
    labels as strings)."""

    def __init__(self, path: Path, request: dict[str, Any]) -> None:
        frame = read_table(path)
        read = _wide if request.get("layout") == "wide" else _long
        self.ids, self.x, self.lengths, names = read(frame, request)
        self.classes = sorted(set(names))
        self.y = np.array([self.classes.index(v) for v in names])


Read = tuple[list[str], np.ndarray, np.ndarray, list[str]]


def _check_size(sequences: int, longest: int) -> None:
    if sequences > MAX_SEQUENCES:
        raise WrongInput(f"csv: expected at most {MAX_SEQUENCES} sequences, got {sequences}")
    if longest > MAX_LENGTH:
        raise WrongInput(f"csv: expected sequences of at most {MAX_LENGTH} steps, got {longest}")


def _long(frame: pd.DataFrame, request: dict[str, Any]) -> Read:
    """(ids, x (N, L, C), lengths, labels) of a long table: the rows of each id, in order."""
    key, label, values = request.get("id"), request["label"], request["values"]
    if not key:
        raise WrongInput("id: a long table needs its sequence id column, got none")
    if not 1 <= len(values) <= MAX_CHANNELS:
        raise WrongInput(f"values: a long table needs 1 to {MAX_CHANNELS} value columns, got {len(values)}")
    frame = ordered_rows(frame, request.get("order"), within=key)
    cols = [column_values(frame, c, "values") for c in values]
    labels = frame[label].astype(str) if label in frame.columns else None
    if labels is None or key not in frame.columns:
        missing = label if labels is None else key
        raise WrongInput(f"csv: expected a column {missing!r}, got columns {list(frame.columns)}")
    rows = list(frame.groupby(key, sort=False).indices.items())
    lengths = np.array([len(r) for _, r in rows])
    _check_size(len(rows), int(lengths.max()))
    x = np.zeros((len(rows), int(lengths.max()), len(cols)))
    names = []
    for n, (name, r) in enumerate(rows):
        x[n, : len(r)] = np.stack([c[r] for c in cols], 1)
        mine = labels.iloc[r].unique()
        if len(mine) > 1:
            raise WrongInput(f"{label}: sequence {str(name)!r} has several labels {sorted(mine)[:3]}")
        names.append(mine[0])
    return [str(name) for name, _ in rows], x, lengths, names


def _wide(frame: pd.DataFrame, request: dict[str, Any]) -> Read:
    """(ids, x (N, L, 1), lengths, labels) of a wide table: a row per sequence, a column per
    step; blank cells only at a row's end."""
    key, label = request.get("id") or None, request["label"]
    for name, what in ((label, "label"), (key, "id"), *((c, "values") for c in request["values"])):
        if name is not None and name not in frame.columns:
            raise WrongInput(f"{what}: expected one of {list(frame.columns)}, got {name!r}")
    steps = request["values"] or [c for c in frame.columns if c not in (label, key)]
    if not steps:
        raise WrongInput(f"values: a wide table needs value columns besides {label!r}, got none")
    _check_size(len(frame), len(steps))
    cells = frame[steps]
    numbers = cells.apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)  # (N, L), NaN: not a number
    given = cells.notna().to_numpy()
    lengths = given.sum(1)
    within = np.arange(len(steps))[None, :] < lengths[:, None]  # a row's first `length` cells
    for bad, why in ((given & ~np.isfinite(numbers), "{cell!r}, expected a number"),
                     (given != within, "blank between values (blanks only at a row's end)")):  # fmt: skip
        if bad.any():
            r, c = np.argwhere(bad)[0]
            cell = cells.iat[r, c]
            raise WrongInput(f"values: row {r + 1}, column {steps[c]!r} is " + why.format(cell=cell))
    if (lengths == 0).any() or frame[label].isna().any():
        r = int(np.flatnonzero((lengths == 0) | frame[label].isna().to_numpy())[0])
        raise WrongInput(f"csv: row {r + 1} has no values or no {label!r}")
    x = np.where(within, numbers, 0.0)[..., None]
    ids = frame[key].astype(str).tolist() if key else [f"row{r + 1}" for r in range(len(frame))]
    return ids, x, lengths, frame[label].astype(str).tolist()


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
    train, _ = split(data.y, req.test, req.seed)
    if req.tune:
        from .tuning import VALIDATION

        try:
            split(data.y[train], VALIDATION, req.seed)
        except WrongInput as exc:
            raise WrongInput(
                f"tune: a validation part is held out of the training sequences; {exc}"
            ) from None
    return settings, {"task": "classify", "target": req.label}


def training_split(folder: Path, request: dict[str, Any]) -> tuple[Sequences, np.ndarray, np.ndarray]:
    """The job's sequences and their (train, test) indices: the split every use of the job takes."""
    data = Sequences(folder / CSV_INPUT, request)
    train, test = split(data.y, float(request["test"]), int(request["seed"]))
    return data, train, test


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
        request: the job's settings (a :class:`ClassifyJobRequest` without the CSV; a tuned
            job's also hold the chosen ``variant`` and ``lr``).
        progress: the trainer callback that writes the progress rows.
    """
    from lstmkit.apps.classification.estimator import SequenceClassifier
    from lstmkit.fit.estimator import also_report_to
    from lstmkit.fit.evaluation import confusion_matrix

    data, train, test = training_split(folder, request)
    model = SequenceClassifier(
        request["architecture"], hidden_size=request.get("hidden"), variant=request.get("variant", "classic"),
        lr=float(request.get("lr", 1e-3)), max_epochs=int(request["epochs"]), seed=int(request["seed"]),
        progress=False,
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

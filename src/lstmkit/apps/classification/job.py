"""The classification job (``lstmkit classify``): train a sequence classifier on the training
split of a bundled UCR/UEA dataset, measure its accuracy on the test split and write the report.

The test split is never used for training or model selection. The report folder
(``runs/classify-NAME-ARCH/``) holds ``index.html`` (accuracy, confusion matrix, loss curve),
``loss.png`` and ``metrics.json``. Errors name the command-line flag of the setting at fault and
come before any training: the device, the data and the output paths are checked first.

Example::

    >>> from lstmkit.apps.classification.job import ClassifyJobConfig, run
    >>> result = run(ClassifyJobConfig(dataset="gunpoint", epochs=3, out=None))
    >>> 0.0 <= result.test_accuracy <= 1.0
    True
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.apps.classification.data import ClassificationData, load_classification
from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.common.gates import gate_sections
from lstmkit.apps.common.options import pick
from lstmkit.apps.common.reports import OutputOptions, check_device, write_summary
from lstmkit.fit.evaluation import confusion_matrix
from lstmkit.io import plots
from lstmkit.io.atomic import check_output_file
from lstmkit.io.runfolder import prepare_run_folder, run_folder

__all__ = ["PAPER", "ClassifyJobConfig", "ClassifyJobResult", "run"]

log = logging.getLogger("lstmkit.classify")

#: LSTM-FCN test accuracy reported by Karim et al. (2018), Table 1
PAPER = {"gunpoint": 1.000, "italypowerdemand": 0.962, "arrowhead": 0.897, "osuleaf": 0.983}


@dataclass(frozen=True)
class ClassifyJobConfig(OutputOptions):
    """The settings of :func:`run` (``lstmkit classify``).

    Args:
        dataset: a bundled classification dataset (``lstmkit data list --task classification``).
        arch: ``"lstm-fcn"`` (Karim et al. 2018), ``"lstm"``, ``"bilstm"``, ``"fcn"`` (Wang et
            al. 2017), ``"gru"``, ``"rnn"``, ``"transformer"`` or ``"tcn"`` (the
            ``architecture`` of :class:`~lstmkit.apps.classification.estimator.SequenceClassifier`).
        pooling: ``"last"``, ``"mean"`` or ``"attention"`` (not ``lstm-fcn``, ``fcn``).
        hidden: hidden size (``None``: 8 for LSTM-FCN, else 64).
        shuffle: LSTM-FCN's dimension shuffle (``False``: the LSTM runs over time).
        num_heads: the Transformer's attention heads. kernel_size: the TCN's kernel.
        epochs, batch_size, lr: training. ensemble: networks from different seeds.
        augment: ``"none"``, ``"light"`` (jitter, scaling) or ``"warp"`` (also time warping,
            window slicing). test_views: predictions averaged over the series and
            ``test_views - 1`` window slices of it.
        seed: base seed. device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``.
        save: also write the fitted classifier to this file.
        (and :class:`~lstmkit.apps.common.reports.OutputOptions`: out, overwrite, progress, echo)
    """

    dataset: str = "gunpoint"
    arch: str = "lstm-fcn"
    pooling: str = "last"
    hidden: int | None = None
    shuffle: bool = True
    num_heads: int = 4
    kernel_size: int = 3
    epochs: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    ensemble: int = 1
    augment: str = "none"
    test_views: int = 1
    seed: int = 0
    device: str = "cpu"
    save: str | None = None


@dataclass
class ClassifyJobResult:
    """What :func:`run` measured.

    Attributes:
        data: the dataset. classifier: the fitted classifier.
        test_accuracy, train_accuracy: shares of right predictions.
        paper: LSTM-FCN's test accuracy in Karim et al. (2018), if it reports the dataset.
        seconds: training time. confusion: (K, K) test counts, rows the true class.
        folder: the report folder (``None`` without one).
    """

    data: ClassificationData
    classifier: SequenceClassifier
    test_accuracy: float
    train_accuracy: float
    paper: float | None
    seconds: float
    confusion: np.ndarray
    folder: str | None


def run(config: ClassifyJobConfig) -> ClassifyJobResult:
    """Train on the dataset's training split, measure the test accuracy and write the report.

    Args:
        config: the settings.

    Returns:
        the accuracies, confusion matrix and classifier (:class:`ClassifyJobResult`).
    """
    check_device(config.device)  # before any folder or training
    data = load_classification(config.dataset)
    folder = None if config.out is None else os.path.join(config.out, f"classify-{data.name}-{config.arch}")
    if folder is not None:
        prepare_run_folder(folder, "classify", overwrite=config.overwrite)
    if config.save:
        check_output_file(config.save, "--save", torch_file=True)
    log.info("%r", data)
    t0 = time.perf_counter()
    clf = _classifier(config).fit(data.x_train, data.y_train, data.lengths_train)
    seconds = time.perf_counter() - t0
    pred = clf.predict(data.x_test, data.lengths_test)
    result = ClassifyJobResult(
        data,
        clf,
        float((pred == data.y_test).mean()),
        clf.score(data.x_train, data.y_train, data.lengths_train),
        PAPER.get(data.name),
        seconds,
        confusion_matrix(data.y_test, pred, data.num_classes),
        folder,
    )
    if config.echo:
        print(summary(result, config))
    if config.save:
        clf.save(config.save)
    if folder is not None:
        write_report(result, config)
    return result


def _classifier(config: ClassifyJobConfig) -> SequenceClassifier:
    """The classifier of ``config`` (the settings named as its arguments pass through)."""
    same = pick(config, "pooling", "shuffle", "batch_size", "lr", "ensemble", "augment", "test_views")
    same |= pick(config, "num_heads", "kernel_size", "seed", "device", "progress")
    return SequenceClassifier(config.arch, hidden_size=config.hidden, max_epochs=config.epochs, **same)


def summary(result: ClassifyJobResult, config: ClassifyJobConfig) -> str:
    """The lines ``lstmkit classify`` prints: the data, the model, the accuracies, the time."""
    data, paper = result.data, result.paper
    pooling = f" ({config.pooling} pooling)" if config.arch not in ("lstm-fcn", "fcn") else ""
    return "\n".join(
        [
            f"dataset {data.name}: {len(data.y_train)} train / {len(data.y_test)} test sequences, "
            f"{data.num_classes} classes",
            f"model {config.arch}{pooling}",
            f"train accuracy {result.train_accuracy:.4f}",
            f"test accuracy  {result.test_accuracy:.4f}"
            + (f"   (LSTM-FCN paper: {paper:.3f})" if paper else ""),
            f"training time  {result.seconds:.0f} s",
        ]
    )


def write_report(result: ClassifyJobResult, config: ClassifyJobConfig) -> None:
    """Write the report folder: the loss curve, ``metrics.json`` and ``index.html``."""
    assert result.folder is not None
    clf, acc, train_acc = result.classifier, result.test_accuracy, result.train_accuracy
    metrics: dict[str, Any] = {
        "dataset": result.data.name,
        "arch": config.arch,
        "test_accuracy": acc,
        "train_accuracy": train_acc,
        "paper": result.paper,
        "seconds": result.seconds,
        "confusion": result.confusion.tolist(),
        "config": vars(clf.config),
    }
    rows = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in result.confusion)
    sections = [
        (
            "",
            f"<p>{config.arch}: test accuracy <b>{acc:.4f}</b> (train {train_acc:.4f}); "
            f"{result.seconds:.0f} s.</p>",
        ),
        ("Confusion matrix (rows: true class)", f"<table>{rows}</table>"),
        ("Training loss", "<img src='loss.png' alt='loss'>"),
    ]
    with run_folder(result.folder, "classify", overwrite=config.overwrite) as tmp:
        plots.plot_losses(clf.history_, os.path.join(tmp, "loss.png"), title="training loss (first member)")
        sections += _gate_sections(result, tmp)
        clf.save(os.path.join(tmp, "model.pt"))  # for predict, export, compress and explain
        write_summary(tmp, f"lstmkit classify: {result.data.name}", sections, metrics)


def _gate_sections(result: ClassifyJobResult, folder: str) -> list[tuple[str, str]]:
    """The gates of the first member's LSTM on the first 4 test sequences, cut to 200 steps
    (unless the LSTM reads the dimension-shuffled series: then its steps are the channels)."""
    clf, data, n = result.classifier, result.data, min(4, len(result.data.x_test))
    shuffled = clf.config.architecture == "lstm-fcn" and clf.config.shuffle
    steps = data.x_test.shape[1] if shuffled else 200
    x, lengths = data.x_test[:n, :steps], np.minimum(data.lengths_test[:n], steps)
    reads = "the dimension-shuffled series (a step per channel)" if shuffled else f"at most {steps} steps"
    return gate_sections(
        clf.nets_[0],
        lambda: clf.predict_proba(x, lengths),
        folder,
        what=f"the first ensemble member, on the first {n} test sequences ({reads})",
    )

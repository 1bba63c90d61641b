r"""The music job (``lstmkit music train|generate``) on the Bach chorales of music21's corpus.

* **train**: a :class:`~lstmkit.apps.music.estimator.ChoraleLSTM` (an LSTM, or with
  ``architecture`` a GRU, RNN, causal Transformer or TCN whose width, unless given, matches an
  LSTM of 128 units in parameters) fitted on the training chorales with early stopping on the
  validation chorales, scored on the test chorales (NLL per frame in nats, Bay et al.'s frame
  accuracy) next to the counting baselines (per-pitch marginal, repeat the previous frame).
  The run folder (``runs/NAME/``) holds ``model.pt``, ``index.html``, ``metrics.json``, the
  loss curves, a test chorale's piano roll next to the model's probabilities, and a piece
  generated from that chorale's first frames (``sample.mid``, ``sample.png``).
* **generate**: a piece sampled from a saved model (``--model``), from silence or continuing
  the first ``--primer`` frames of a test chorale, written as ``sample.mid`` and ``sample.png``
  in its own run folder.

The data: :mod:`lstmkit.apps.music.data` (piano rolls, not transposed, the fixed split by
chorale). Example::

    >>> from lstmkit.apps.music.job import MusicJobConfig, run
    >>> result = run(MusicJobConfig(task="train", epochs=2, out=None))
    >>> [row["model"] for row in result.rows]
    ['LSTM', 'per-pitch marginal', 'repeat previous frame']
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmkit.apps.common.options import pick
from lstmkit.apps.common.reports import OutputOptions, check_device, check_folder_name
from lstmkit.apps.music import data
from lstmkit.apps.music.baselines import score_baselines
from lstmkit.apps.music.estimator import DEFAULT_LAYERS, ChoraleLSTM, Sample, matched_hidden_size
from lstmkit.apps.music.model import ARCHITECTURES, PolyphonicNet
from lstmkit.core.layers.encoder import count_parameters
from lstmkit.io.html import format_table
from lstmkit.io.runfolder import prepare_run_folder

__all__ = ["NAMES", "TASKS", "MusicJobConfig", "MusicJobResult", "check_flags", "run", "summary_text"]

log = logging.getLogger("lstmkit.music")

TASKS = ("train", "generate")
#: the table's name of each architecture
NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN", "transformer": "Transformer", "tcn": "TCN"}
COLUMNS = ["model", "test_nll", "test_accuracy", "params"]


@dataclass(frozen=True)
class MusicJobConfig(OutputOptions):
    """The settings of :func:`run` (``lstmkit music TASK``).

    Args:
        task: ``"train"`` or ``"generate"``.
        resolution: frames per quarter note (train; generate takes the model's).
        architecture: the network (train): ``"lstm"``, ``"gru"``, ``"rnn"``, ``"transformer"``
            or ``"tcn"``.
        hidden: its width (``None``: 128 for an LSTM, else the width whose parameter count is
            nearest an LSTM of 128 units, :func:`~lstmkit.apps.music.estimator.matched_hidden_size`).
        num_layers: layers or blocks (``None``: :data:`~lstmkit.apps.music.estimator.DEFAULT_LAYERS`).
        dropout, epochs, patience, batch_size, lr: the network and its
            training (train).
        seed: of the weights (train) and of the sampling.
        device: where the network runs.
        model: the saved model to sample from (generate).
        length: frames of the generated piece (primer included).
        primer: frames of a test chorale the piece continues (0: from silence).
        chorale: which test chorale (its index in name order) gives the primer and the figures.
        temperature: of the sampling (1: the model's probabilities).
        name: the run folder (``None``: ``music`` or ``music-sample``).
        (and :class:`~lstmkit.apps.common.reports.OutputOptions`: out, overwrite, progress, echo)
    """

    task: str = "train"
    resolution: int = 1
    architecture: str = "lstm"
    hidden: int | None = None
    num_layers: int | None = None
    dropout: float = 0.0
    epochs: int = 250
    patience: int = 15
    batch_size: int = 16
    lr: float = 3e-3
    seed: int = 0
    device: str = "cpu"
    model: str | None = None
    length: int = 64
    primer: int = 8
    chorale: int = 0
    temperature: float = 1.0
    name: str | None = None


@dataclass
class MusicJobResult:
    """What :func:`run` found.

    Attributes:
        task: the task. rows: the table (a row per model; empty for generate).
        model: the fitted or loaded model. chorale: the test chorale's roll (L, P) (the primer's
        source). probs: the model's probabilities for it (train). sample: the generated piece.
        metrics: what ``metrics.json`` holds. folder: the run folder (``None``: none).
    """

    task: str
    rows: list[dict[str, Any]]
    model: ChoraleLSTM
    chorale: np.ndarray
    sample: Sample
    probs: np.ndarray | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    folder: str | None = None


def check_flags(
    ints: list[tuple[str, object, int]],
    primer: tuple[int, str, int, str],
    temperature: float,
    model: str | None,
    train_command: str | None,
) -> None:
    """The checks the music jobs share, each a one-line error naming the flag: ``ints``
    (flag, value, lowest) are ints >= lowest (``None`` values skipped); ``primer`` (its value,
    the length flag, its value, the unit): the primer fits the length; ``temperature`` > 0;
    with ``train_command`` (a sampling task), ``model`` names the file that command wrote."""
    for flag, value, low in ints:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"{flag}: expected an int >= {low}, got {value!r}")
    given, length_flag, length, unit = primer
    if given > length:
        raise ValueError(f"--primer: expected at most {length_flag} ({length}) {unit}, got {given}")
    if not 0 < temperature < float("inf"):
        raise ValueError(f"--temperature: expected a finite value > 0, got {temperature}")
    if train_command is not None:
        if model is None:
            raise ValueError(f"--model: expected the model.pt of a `{train_command}` run, got none")
        if not os.path.isfile(model):
            raise FileNotFoundError(f"--model: no such file {model!r}")


def _check(config: MusicJobConfig) -> None:
    """The settings a long run would otherwise trip on, checked first."""
    if config.task not in TASKS:
        raise ValueError(f"task: expected one of {TASKS}, got {config.task!r}")
    if config.architecture not in ARCHITECTURES:
        raise ValueError(f"--architecture: expected one of {ARCHITECTURES}, got {config.architecture!r}")
    ints = [
        ("--hidden", config.hidden, 1),
        ("--num-layers", config.num_layers, 1),
        ("--epochs", config.epochs, 1),
        ("--patience", config.patience, 0),
        ("--length", config.length, 1),
        ("--primer", config.primer, 0),
        ("--chorale", config.chorale, 0),
    ]
    primer = (config.primer, "--length", config.length, "frames")
    train_command = "lstmkit music train" if config.task == "generate" else None
    check_flags(ints, primer, config.temperature, config.model, train_command)
    data.check_resolution(config.resolution)
    check_folder_name(config.name)
    check_device(config.device)


def _test_chorale(chorales: data.Chorales, index: int) -> np.ndarray:
    test = chorales.split("test")
    if index >= len(test):
        raise ValueError(f"--chorale: expected a test chorale index in 0..{len(test) - 1}, got {index}")
    return test[index].astype(np.float32)


def _baseline_rows(train: list[np.ndarray], test: list[np.ndarray]) -> list[dict[str, Any]]:
    return [
        {"model": name, "test_nll": v["nll"], "test_accuracy": v["accuracy"], "params": 0}
        for name, v in score_baselines(train, test).items()
    ]


def _size(config: MusicJobConfig, pitches: int) -> tuple[int, int, int]:
    """The width and layers of the network to train, and an LSTM of 128 units' parameter count
    (the reference a width not given is matched to; logged on stderr)."""
    layers = config.num_layers or DEFAULT_LAYERS.get(config.architecture, 1)
    reference = count_parameters(PolyphonicNet(pitches, 128))
    if config.hidden is not None or config.architecture == "lstm":
        hidden = config.hidden or 128
    else:
        hidden, _ = matched_hidden_size(config.architecture, pitches, reference, layers)
    params = count_parameters(PolyphonicNet(pitches, hidden, layers, architecture=config.architecture))
    log.info(
        "%s: width %d, %d layer(s), %d parameters (an LSTM of 128 units: %d, ratio %.3f)",
        NAMES[config.architecture],
        hidden,
        layers,
        params,
        reference,
        params / reference,
    )
    return hidden, layers, reference


def _train(config: MusicJobConfig) -> MusicJobResult:
    chorales = data.load_chorales(config.resolution, progress=config.progress)
    train, valid, test = (chorales.split(s) for s in data.SPLITS)
    chorale = _test_chorale(chorales, config.chorale)  # before the training, not after
    hidden, layers, reference = _size(config, chorales.pitches)
    model = ChoraleLSTM(
        hidden_size=hidden,
        num_layers=layers,
        architecture=config.architecture,
        dropout=config.dropout,
        max_epochs=config.epochs,
        patience=config.patience,
        **pick(config, "batch_size", "lr", "seed", "device", "progress"),
    ).fit(train, valid, low=chorales.low, resolution=chorales.resolution)
    scored = model.score(test)
    params = count_parameters(model.nets_[0])
    rows = [
        {
            "model": NAMES[config.architecture],
            "test_nll": scored["nll"],
            "test_accuracy": scored["accuracy"],
            "params": params,
        }
    ]
    rows += _baseline_rows(train, test)
    (probs,) = model.predict_proba([chorale])
    sample = _sample(model, chorale, config)
    extra = {
        "chorales": {s: len(chorales.split(s)) for s in data.SPLITS},
        "fit_seconds": model.fit_seconds_,
        "size": {"hidden": hidden, "num_layers": layers, "params": params, "lstm_128_params": reference},
    }
    return MusicJobResult("train", rows, model, chorale, sample, probs, extra)


def _sample(model: ChoraleLSTM, chorale: np.ndarray, config: MusicJobConfig) -> Sample:
    primer = chorale[: config.primer] if config.primer else None
    return model.generate(config.length, primer=primer, temperature=config.temperature, seed=config.seed)


def _generate(config: MusicJobConfig) -> MusicJobResult:
    assert config.model is not None
    model = ChoraleLSTM.load(config.model, device=config.device)
    meta = model.meta_
    chorales = data.load_chorales(meta["resolution"], progress=config.progress)
    if (chorales.low, chorales.pitches) != (meta["low"], meta["pitches"]):
        raise ValueError(
            f"--model: trained on pitches {meta['low']}..{meta['low'] + meta['pitches'] - 1}, the "
            f"chorales here span {chorales.low}..{chorales.low + chorales.pitches - 1}; retrain it "
            "with `lstmkit music train`"
        )
    chorale = _test_chorale(chorales, config.chorale)
    return MusicJobResult("generate", [], model, chorale, _sample(model, chorale, config))


def run(config: MusicJobConfig) -> MusicJobResult:
    """Train a model or sample from one, print the table (``echo``), write the run folder (``out``)."""
    _check(config)
    name = config.name or ("music" if config.task == "train" else "music-sample")
    folder = None if config.out is None else os.path.join(config.out, name)
    kind = f"music-{config.task}"
    if folder is not None:
        prepare_run_folder(folder, kind, overwrite=config.overwrite)
    t0 = time.perf_counter()
    result = _train(config) if config.task == "train" else _generate(config)
    result.folder = folder
    result.metrics = {
        "task": config.task,
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k not in ("echo", "progress")},
        "rows": result.rows,
        **result.metrics,
        "sample_notes_per_frame": float(result.sample.roll.sum(1).mean()),
        "total_seconds": time.perf_counter() - t0,
    }
    if config.echo:
        print(summary_text(result))
    if folder is not None:
        from lstmkit.apps.music.report import write_report

        write_report(result, config, kind)
    return result


def summary_text(result: MusicJobResult) -> str:
    """What the command prints on stdout."""
    if result.task == "generate":
        roll = result.sample.roll
        where = f" in {result.folder}" if result.folder else ""
        return f"generated {len(roll)} frames, {roll.sum(1).mean():.2f} notes per frame{where}"
    head = "test chorales: NLL per frame (nats) and frame accuracy TP/(TP+FP+FN)"
    return "\n".join([head, format_table(result.rows, COLUMNS, floatfmt=".4g")])

r"""The melody job (``lstmkit music train-melody|generate-melody``) on the Essen folk songs of
music21's corpus (:mod:`lstmkit.apps.music.melody`).

* **train-melody**: a :class:`~lstmkit.apps.music.melody_lm.MelodyLM` (an LSTM; or a GRU whose
  width, unless given, matches the LSTM of 256 units in parameters) fitted on the training tunes
  with early stopping on the validation tunes, scored on the test tunes (NLL per event in nats
  and bits) next to interpolated Witten-Bell n-grams of orders 1-3 on the same vocabulary. The
  run folder (``runs/NAME/``) holds ``model.pt``, ``index.html``, ``metrics.json``, the loss
  curves and a tune generated after a test tune's first notes (``sample.mid``, ``sample.png``).
* **generate-melody**: a tune sampled from a saved model (``--model``), from nothing or after
  the first ``--primer`` notes of a test tune, as ``sample.mid`` and ``sample.png``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from lstmkit.apps.common.options import pick
from lstmkit.apps.common.reports import OutputOptions, check_device, check_folder_name
from lstmkit.apps.music import melody
from lstmkit.apps.music.baselines import WittenBellModel
from lstmkit.apps.music.estimator import nearest_width
from lstmkit.apps.music.job import check_flags
from lstmkit.apps.music.melody_lm import END, MelodyLM, vocabulary
from lstmkit.apps.music.model import MelodyNet
from lstmkit.core.layers.encoder import count_parameters
from lstmkit.io.html import format_table
from lstmkit.io.runfolder import prepare_run_folder

__all__ = ["MELODY_TASKS", "MelodyJobConfig", "MelodyJobResult", "ngram_rows", "run", "size_of"]

log = logging.getLogger("lstmkit.music")

MELODY_TASKS = ("train-melody", "generate-melody")
COLUMNS = ["model", "test_nll", "test_bits", "params"]
NAMES = {"lstm": "LSTM", "gru": "GRU"}


@dataclass(frozen=True)
class MelodyJobConfig(OutputOptions):
    """The settings of :func:`run` (``lstmkit music train-melody|generate-melody``).

    Args:
        task: ``"train-melody"`` or ``"generate-melody"``.
        architecture: ``"lstm"`` or ``"gru"`` (train).
        hidden: units (``None``: 256 for an LSTM; a GRU's width matching that LSTM's parameters).
        embedding, num_layers, dropout, epochs, patience, batch_size, lr: the network and its
            training (train).
        seed: of the weights (train) and of the sampling.
        device: where the network runs.
        model: the saved model to sample from (generate-melody).
        max_notes: the most notes of the generated tune (primer included).
        primer: notes of a test tune the generated one continues (0: from its start).
        tune: which test tune (its index) gives the primer.
        temperature: of the sampling.
        name: the run folder (``None``: ``melody`` or ``melody-sample``).
        (and :class:`~lstmkit.apps.common.reports.OutputOptions`: out, overwrite, progress, echo)
    """

    task: str = "train-melody"
    architecture: str = "lstm"
    hidden: int | None = None
    embedding: int = 64
    num_layers: int = 1
    dropout: float = 0.2
    epochs: int = 40
    patience: int = 3
    batch_size: int = 32
    lr: float = 3e-3
    seed: int = 0
    device: str = "cpu"
    model: str | None = None
    max_notes: int = 64
    primer: int = 8
    tune: int = 0
    temperature: float = 1.0
    name: str | None = None


@dataclass
class MelodyJobResult:
    """What :func:`run` found: the table ``rows`` (empty for generate-melody), the ``model``,
    the ``sample`` (tokens), the ``primer`` length used, ``metrics`` and the ``folder``."""

    task: str
    rows: list[dict[str, Any]]
    model: MelodyLM
    sample: list[str]
    primer: int
    metrics: dict[str, Any] = field(default_factory=dict)
    folder: str | None = None


def _check(config: MelodyJobConfig) -> None:
    if config.task not in MELODY_TASKS:
        raise ValueError(f"task: expected one of {MELODY_TASKS}, got {config.task!r}")
    if config.architecture not in NAMES:
        raise ValueError(f"--architecture: expected one of {tuple(NAMES)}, got {config.architecture!r}")
    ints = [
        ("--hidden", config.hidden, 1),
        ("--epochs", config.epochs, 1),
        ("--patience", config.patience, 0),
        ("--max-notes", config.max_notes, 1),
        ("--primer", config.primer, 0),
        ("--tune", config.tune, 0),
    ]
    primer = (config.primer, "--max-notes", config.max_notes, "notes")
    train_command = "lstmkit music train-melody" if config.task == "generate-melody" else None
    check_flags(ints, primer, config.temperature, config.model, train_command)
    check_folder_name(config.name)
    check_device(config.device)


def size_of(
    architecture: str, vocab_size: int, embedding: int, layers: int, hidden: int | None
) -> tuple[int, int]:
    """The width of the network to train and the parameters of an LSTM of 256 units (the
    reference a GRU's width, when not given, is matched to)."""

    def count(arch: str, width: int) -> int:
        return count_parameters(MelodyNet(vocab_size, embedding, width, layers, architecture=arch))

    reference = count("lstm", 256)
    if hidden is None:
        hidden = (
            256 if architecture == "lstm" else nearest_width(lambda w: count(architecture, w), reference)[0]
        )
    params = count(architecture, hidden)
    log.info(
        "%s: width %d, %d parameters (an LSTM of 256 units: %d, ratio %.3f)",
        NAMES[architecture], hidden, params, reference, params / reference,
    )  # fmt: skip
    return hidden, reference


def ngram_rows(
    model: MelodyLM, train: list[Any], test: list[Any], orders: tuple[int, ...] = (1, 2, 3)
) -> list[dict[str, Any]]:
    """Witten-Bell n-grams of ``orders`` on ``model``'s vocabulary, fitted on ``train`` and
    scored on ``test`` (NLL per event in nats and bits)."""
    rows = []
    seqs, held = model.encode(train), model.encode(test)
    for order in orders:
        total, events = WittenBellModel(order, len(model.tokens_) - 1, END).fit(seqs).nll(held)
        nll = total / events
        rows.append(
            {
                "model": f"{order}-gram (Witten-Bell)",
                "test_nll": nll,
                "test_bits": nll / math.log(2),
                "params": 0,
            }
        )
    return rows


def _test_tune(tunes: melody.Melodies, index: int) -> tuple[str, ...]:
    test = tunes.split("test")
    if index >= len(test):
        raise ValueError(f"--tune: expected a test tune index in 0..{len(test) - 1}, got {index}")
    return test[index]


def _train(config: MelodyJobConfig) -> MelodyJobResult:
    tunes = melody.load_melodies(progress=config.progress)
    train, valid, test = (tunes.split(s) for s in melody.SPLITS)
    primer = _test_tune(tunes, config.tune)[: config.primer]  # before the training, not after
    vocab = len(vocabulary(train))
    hidden, reference = size_of(
        config.architecture, vocab, config.embedding, config.num_layers, config.hidden
    )
    model = MelodyLM(
        embedding_size=config.embedding,
        hidden_size=hidden,
        num_layers=config.num_layers,
        dropout=config.dropout,
        architecture=config.architecture,
        max_epochs=config.epochs,
        patience=config.patience,
        **pick(config, "batch_size", "lr", "seed", "device", "progress"),
    ).fit(train, valid)
    scored = model.score(test)
    params = count_parameters(model.nets_[0])
    rows = [
        {
            "model": NAMES[config.architecture],
            "test_nll": scored["nll"],
            "test_bits": scored["bits"],
            "params": params,
        }
    ]
    rows += ngram_rows(model, train, test)
    extra = {
        "tunes": {s: len(tunes.split(s)) for s in melody.SPLITS},
        "vocabulary": len(model.tokens_),
        "test_events": scored["events"],
        "test_unk": scored["unk"],
        "fit_seconds": model.fit_seconds_,
        "size": {"hidden": hidden, "params": params, "lstm_256_params": reference},
    }
    return MelodyJobResult("train-melody", rows, model, *_sample(model, primer, config), extra)


def _sample(model: MelodyLM, primer: tuple[str, ...], config: MelodyJobConfig) -> tuple[list[str], int]:
    """A tune generated after ``primer``, cut before its first token outside the model's
    vocabulary (logged), and the primer's length used."""
    known = set(model.tokens_)
    used = next((i for i, t in enumerate(primer) if t not in known), len(primer))
    if used < len(primer):
        log.info("primer: its note %d (%s) is not in the vocabulary; %d notes kept", used, primer[used], used)
    sample = model.generate(
        config.max_notes, primer=primer[:used], temperature=config.temperature, seed=config.seed
    )
    return sample, used


def _generate(config: MelodyJobConfig) -> MelodyJobResult:
    assert config.model is not None
    model = MelodyLM.load(config.model, device=config.device)
    primer: tuple[str, ...] = ()
    if config.primer:
        primer = _test_tune(melody.load_melodies(progress=config.progress), config.tune)[: config.primer]
    return MelodyJobResult("generate-melody", [], model, *_sample(model, primer, config))


def run(config: MelodyJobConfig) -> MelodyJobResult:
    """Train a melody model or sample from one, print the table (``echo``), write the run
    folder (``out``)."""
    _check(config)
    name = config.name or ("melody" if config.task == "train-melody" else "melody-sample")
    folder = None if config.out is None else os.path.join(config.out, name)
    if folder is not None:
        prepare_run_folder(folder, config.task, overwrite=config.overwrite)
    t0 = time.perf_counter()
    result = _train(config) if config.task == "train-melody" else _generate(config)
    result.folder = folder
    result.metrics = {
        "task": config.task,
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k not in ("echo", "progress")},
        "rows": result.rows,
        **result.metrics,
        "sample": result.sample,
        "total_seconds": time.perf_counter() - t0,
    }
    if config.echo:
        print(summary_text(result))
    if folder is not None:
        from lstmkit.apps.music.report import write_melody_report

        write_melody_report(result, config)
    return result


def summary_text(result: MelodyJobResult) -> str:
    """What the command prints on stdout."""
    if result.task == "generate-melody":
        where = f" in {result.folder}" if result.folder else ""
        return f"generated {len(result.sample)} notes{where}: {' '.join(result.sample)}"
    head = "test tunes: NLL per event (every note or rest and each tune's end) in nats and bits"
    return "\n".join([head, format_table(result.rows, COLUMNS, floatfmt=".4g")])

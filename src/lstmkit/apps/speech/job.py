r"""The speech job (``lstmkit speech train|transcribe|stream``) on synthesized spoken digits.

* **train** (:func:`train`): synthesize (or read from the cache) the training split's
  isolated digits and digit strings (:mod:`lstmkit.apps.speech.data`), augment them (speed,
  reverberation, noise), fit a :class:`~lstmkit.apps.speech.estimator.DigitRecognizer`, and
  score it on the test split (voices never heard in training; a fixed set, seed 0): isolated
  digit accuracy and the digit error rate of strings, clean and with white noise at each SNR
  of ``snrs``, greedy and beam decoding. The run folder (``runs/NAME/``) holds ``model.pt``,
  ``metrics.json`` and ``index.html`` with a spectrogram and a CTC posteriorgram.
* **transcribe** (:func:`transcribe`): the digits of WAV files by a saved model.
* **stream** (:func:`stream`): a WAV file or stdin pushed 10 ms at a time through the streaming
  recognizer; the partial hypotheses and each chunk's latency.

Example::

    >>> from lstmkit.apps.speech.job import SpeechTrainConfig, train
    >>> result = train(SpeechTrainConfig(isolated=40, strings=0, test_isolated=10, test_strings=4,
    ...                                  epochs=1, out=None))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

import numpy as np

from lstmkit.apps.common.options import pick
from lstmkit.apps.common.reports import OutputOptions, check_device, check_folder_name
from lstmkit.apps.speech import data
from lstmkit.apps.speech.augment import AugmentConfig
from lstmkit.apps.speech.estimator import DigitRecognizer
from lstmkit.apps.speech.metrics import digit_error_rate, isolated_accuracy
from lstmkit.apps.speech.wav import SAMPLE_RATE, WavReader, load_wav, to_16k
from lstmkit.fit.estimator import Estimator
from lstmkit.io.html import format_table
from lstmkit.io.runfolder import prepare_run_folder

#: a saved model class (an Estimator with ``load``)
E = TypeVar("E", bound=Estimator)

__all__ = [
    "COLUMNS",
    "SpeechTrainConfig",
    "SpeechTrainResult",
    "StreamResult",
    "evaluate",
    "latency_text",
    "load_model",
    "stream",
    "stream_and_print",
    "summary_text",
    "train",
    "transcribe",
]

#: the fixed test set's seed
TEST_SEED = 0
COLUMNS = ["test", "utterances", "accuracy", "der_greedy", "der_beam"]


@dataclass(frozen=True)
class SpeechTrainConfig(OutputOptions):
    """The settings of :func:`train` (``lstmkit speech train``).

    Args:
        isolated, strings: training utterances: isolated digits and 2..7-digit strings.
        test_isolated, test_strings: test utterances (voices unseen in training).
        augment: speed, reverberation and noise on the training waveforms.
        snrs: SNRs in dB of the noisy test conditions (white noise).
        unidirectional: a unidirectional LSTM (streams) instead of a biLSTM.
        hidden, num_layers, subsample, features, normalize, deltas, spec_augment: the model
            (``normalize`` ``None``: per utterance for a biLSTM, global for a unidirectional one).
        epochs, batch_size, lr: training. beam: the beam search's width.
        seed: of the training corpus, its augmentation and the weights.
        device: where the network trains. name: the report folder (``None``: ``speech``).
        (and :class:`~lstmkit.apps.common.reports.OutputOptions`: out, overwrite, progress, echo)
    """

    isolated: int = 1500
    strings: int = 2500
    test_isolated: int = 300
    test_strings: int = 300
    augment: bool = True
    snrs: tuple[float, ...] = (10.0, 0.0)
    unidirectional: bool = False
    hidden: int = 128
    num_layers: int = 2
    subsample: int = 2
    features: str = "logmel"
    normalize: str | None = None
    deltas: bool = False
    spec_augment: bool = True
    epochs: int = 15
    batch_size: int = 32
    lr: float = 2e-3
    beam: int = 8
    seed: int = 0
    device: str = "cpu"
    name: str | None = None


@dataclass
class SpeechTrainResult:
    """What :func:`train` found: the table ``rows``, ``metrics`` (``metrics.json``), the
    fitted ``model``, the clean ``test`` corpus and the report ``folder`` (``None``: none)."""

    rows: list[dict[str, Any]]
    metrics: dict[str, Any]
    model: DigitRecognizer
    test: data.SpeechCorpus
    folder: str | None = None


def _check(config: SpeechTrainConfig) -> None:
    counts = [("--isolated", config.isolated), ("--strings", config.strings)]
    counts += [("--test-isolated", config.test_isolated), ("--test-strings", config.test_strings)]
    for flag, value in counts:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{flag}: expected a count >= 0, got {value!r}")
    if config.isolated + config.strings < 2 or config.test_isolated + config.test_strings < 1:
        raise ValueError("--isolated/--strings: expected at least 2 training and 1 test utterances")
    if isinstance(config.beam, bool) or not isinstance(config.beam, int) or config.beam < 1:
        raise ValueError(f"--beam: expected a beam width >= 1, got {config.beam!r}")
    check_folder_name(config.name)
    check_device(config.device)


def _model(config: SpeechTrainConfig) -> DigitRecognizer:
    return DigitRecognizer(
        not config.unidirectional,
        hidden_size=config.hidden,
        num_layers=config.num_layers,
        subsample=config.subsample,
        features=config.features,
        normalize=config.normalize,
        deltas=config.deltas,
        spec_augment=config.spec_augment,
        max_epochs=config.epochs,
        **pick(config, "batch_size", "lr", "seed", "device", "progress"),
    )


def evaluate(
    model: DigitRecognizer, corpus: data.SpeechCorpus, condition: str, beam: int
) -> list[dict[str, Any]]:
    """Rows of ``corpus``'s isolated digits and strings: exact-match accuracy and the digit
    error rate of greedy and beam decoding, named ``"<kind>, <condition>"``."""
    rows = []
    for kind, mask in (("isolated", corpus.isolated()), ("strings", ~corpus.isolated())):
        part = corpus.subset(mask)
        if not len(part):
            continue
        logits = model.logits(part.audio)
        greedy = [model.decode(z, 0) for z in logits]
        beamed = [model.decode(z, beam) for z in logits]
        rows.append(
            {
                "test": f"{kind}, {condition}",
                "utterances": len(part),
                "accuracy": isolated_accuracy(part.labels, beamed),
                "der_greedy": digit_error_rate(part.labels, greedy),
                "der_beam": digit_error_rate(part.labels, beamed),
            }
        )
    return rows


def _corpora(config: SpeechTrainConfig) -> tuple[data.SpeechCorpus, data.SpeechCorpus]:
    progress = config.progress
    train_set = data.load_corpus("train", config.isolated, config.strings, config.seed, progress=progress)
    test_set = data.load_corpus(
        "test", config.test_isolated, config.test_strings, TEST_SEED, progress=progress
    )
    if config.augment:
        train_set = data.augmented(train_set, AugmentConfig(), config.seed)
    return train_set, test_set


def train(config: SpeechTrainConfig) -> SpeechTrainResult:
    """Synthesize the data, fit the recognizer, score it on unseen voices, print the table
    (``echo``) and write the report (``out``)."""
    _check(config)
    folder = None if config.out is None else os.path.join(config.out, config.name or "speech")
    if folder is not None:
        prepare_run_folder(folder, "speech", overwrite=config.overwrite)
    t0 = time.perf_counter()
    train_set, test_set = _corpora(config)
    model = _model(config).fit(train_set.audio, train_set.labels)
    rows = evaluate(model, test_set, "clean", config.beam)
    for snr in config.snrs:
        rows += evaluate(model, data.noisy(test_set, snr, TEST_SEED), f"{snr:g} dB SNR", config.beam)
    metrics = {
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k not in ("echo", "progress")},
        "rows": rows,
        "train_utterances": len(train_set),
        "fit_seconds": model.fit_seconds_,
        "total_seconds": time.perf_counter() - t0,
    }
    result = SpeechTrainResult(rows, metrics, model, test_set, folder)
    if config.echo:
        print(summary_text(result))
    if folder is not None:
        from lstmkit.apps.speech.report import write_report

        write_report(result, config)
    return result


def summary_text(result: SpeechTrainResult) -> str:
    """The table as printed on stdout."""
    head = "test voices unseen in training: exact-match accuracy (beam) and digit error rates"
    return "\n".join([head, format_table(result.rows, COLUMNS, floatfmt=".4f")])


def load_saved(cls: type[E], path: str | os.PathLike[str], command: str, device: str = "cpu") -> E:
    """A saved ``cls`` model; a one-line error naming ``--model`` (and the ``command`` that
    writes such files) for a missing file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--model: no such file {os.fspath(path)!r} (a model.pt of {command})")
    return cls.load(path, device=device)


def load_model(path: str | os.PathLike[str], device: str = "cpu") -> DigitRecognizer:
    """A saved recognizer (:func:`load_saved`)."""
    return load_saved(DigitRecognizer, path, "lstmkit speech train", device)


def transcribe(
    model_path: str, files: Sequence[str], beam: int = 8, device: str = "cpu", *, echo: bool = False
) -> list[str]:
    """The digits of each WAV file in ``files`` (``"-"``: stdin) by the model at ``model_path``;
    ``echo`` prints them (one line, or ``FILE<tab>DIGITS`` per file for several)."""
    if isinstance(beam, bool) or not isinstance(beam, int) or beam < 0:
        raise ValueError(f"--beam: expected a beam width >= 1 (0: greedy), got {beam!r}")
    model = load_model(model_path, device)
    audio = [load_wav(f) for f in files]
    digits = model.transcribe(audio, beam=beam)
    if echo:
        for f, d in zip(files, digits, strict=True):
            print(f"{f}\t{d}" if len(files) > 1 else d)
    return digits


@dataclass
class StreamResult:
    """What :func:`stream` found: the final ``hypothesis``, each chunk's ``latencies`` (seconds
    spent in the recognizer), the ``audio_seconds`` read and the ``logits`` (T', K)."""

    hypothesis: str
    latencies: list[float] = field(default_factory=list)
    audio_seconds: float = 0.0
    logits: Any = None


def _chunks(source: str, chunk: int, log: TextIO) -> Any:
    """The samples of ``source`` (a WAV file or ``"-"``) ``chunk`` at a time at 16 kHz, read as
    they come; a file at another rate is read whole and resampled first (said on ``log``)."""
    if source != "-" and not os.path.isfile(source):
        raise FileNotFoundError(f"{source}: no such WAV file")
    fh = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
    try:
        reader = WavReader(fh, "stdin" if source == "-" else source)
        if reader.rate != SAMPLE_RATE:
            print(f"{reader.name}: {reader.rate} Hz, resampled to 16 kHz before streaming", file=log)
            whole = to_16k(reader.read(), reader.rate)
            yield from (whole[i : i + chunk] for i in range(0, len(whole), chunk))
            return
        while len(block := reader.read(chunk)):
            yield block
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()


def stream(
    model_path: str,
    source: str,
    *,
    chunk_ms: float = 10.0,
    device: str = "cpu",
    on_partial: Callable[[float, str, float], None] | None = None,
) -> StreamResult:
    """Push ``source`` (a WAV file or ``"-"``: stdin) ``chunk_ms`` at a time through the
    streaming recognizer of the model at ``model_path``; ``on_partial(seconds, hypothesis,
    latency)`` is called whenever the hypothesis changes."""
    if not 0 < chunk_ms <= 1000:
        raise ValueError(f"--chunk-ms: expected a chunk length in (0, 1000] ms, got {chunk_ms}")
    recognizer = load_model(model_path, device).stream()
    chunk = max(1, round(chunk_ms * SAMPLE_RATE / 1000))
    result, shown, samples, outs = StreamResult(""), "", 0, []
    for block in _chunks(source, chunk, sys.stderr):
        t0 = time.perf_counter()
        outs.append(recognizer.push(block))
        hypothesis = recognizer.hypothesis()
        result.latencies.append(time.perf_counter() - t0)
        samples += len(block)
        if hypothesis != shown and on_partial is not None:
            on_partial(samples / SAMPLE_RATE, hypothesis, result.latencies[-1])
        shown = hypothesis
    if samples == 0:
        raise ValueError(f"{source}: expected audio samples, got none")
    result.hypothesis, result.audio_seconds = shown, samples / SAMPLE_RATE
    result.logits = np.concatenate([o.numpy() for o in outs])
    return result


def latency_text(result: StreamResult, chunk_ms: float = 10.0) -> str:
    """One line: chunks, audio length and the recognizer's latency per chunk (mean, p50, p99, max)."""
    ms = np.asarray(result.latencies) * 1000
    return (
        f"{len(ms)} chunks of {chunk_ms:g} ms ({result.audio_seconds:.2f} s of audio): latency per chunk "
        f"mean {ms.mean():.3f} ms, p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, "
        f"max {ms.max():.3f} ms"
    )


def stream_and_print(
    model_path: str, source: str, *, chunk_ms: float = 10.0, device: str = "cpu"
) -> StreamResult:
    """:func:`stream`, with the partial hypotheses and the latencies on stderr and the final
    digits on stdout (``lstmkit speech stream``)."""

    def partial(seconds: float, hypothesis: str, latency: float) -> None:
        print(f"{seconds:7.2f} s  {hypothesis or '-':<10}  (chunk {latency * 1000:.3f} ms)", file=sys.stderr)

    result = stream(model_path, source, chunk_ms=chunk_ms, device=device, on_partial=partial)
    print(latency_text(result, chunk_ms), file=sys.stderr)
    print(result.hypothesis)
    return result

"""The answer of each model kind to its request, as JSON-ready dicts.

Each handler takes a loaded model (:class:`~lstmkit.apps.deploy.models.Loaded`) and a checked
request (:mod:`.schemas`) and runs the app's own prediction code, so a served model answers as
its command does. A request the model cannot take (another kind, other channels) raises
:class:`WrongInput` with a one-line message, answered as 422.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import torch

from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.deploy.models import Loaded
from lstmkit.apps.forecasting.base import LEVELS, Forecast
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.language.lm import LanguageModel
from lstmkit.apps.language.sentiment import classify as classify_texts
from lstmkit.apps.language.seq2seq import Seq2Seq
from lstmkit.apps.language.text_classifier import TextClassifier
from lstmkit.apps.language.textgen import sample_text
from lstmkit.apps.language.translate import translate_texts

from .schemas import ClassifyRequest, DetectRequest, ForecastRequest, GenerateRequest, TextsRequest

__all__ = [
    "WrongInput",
    "classify",
    "detect",
    "forecast",
    "forecast_csv",
    "generate",
    "sentiment",
    "translate",
]


class WrongInput(ValueError):
    """A request this model cannot answer (the message names the field and what was expected)."""


def _need(loaded: Loaded, kind: str, endpoint: str) -> None:
    if loaded.kind.name != kind:
        raise WrongInput(
            f"model: /{endpoint} needs a {kind} model, {loaded.path.name!r} is a {loaded.kind.name} "
            f"(written by lstmkit {loaded.kind.command})"
        )


def _estimator(loaded: Loaded) -> Any:
    assert loaded.estimator is not None
    return loaded.estimator


# ---------------------------------------------------------------------- forecaster
def forecast(loaded: Loaded, req: ForecastRequest) -> dict[str, Any]:
    """The forecast after ``req.values``: index, point and quantiles at every level."""
    _need(loaded, "forecaster", "forecast")
    model: Forecaster = _estimator(loaded)
    fitted = model.layout_.get("freq") if model.layout_ else None
    if req.start is None and model.layout_ and model.layout_.get("calendar"):
        raise WrongInput(
            f"start: this forecaster was fitted on dates (freq {fitted}); give the first value's date"
        )
    index = None
    if req.start is not None:
        freq = req.freq or fitted
        if freq is None:
            raise WrongInput("freq: give the dates' frequency (e.g. 'MS') with start")
        try:
            index = pd.date_range(req.start, periods=len(req.values), freq=freq)
        except (ValueError, TypeError) as exc:
            raise WrongInput(
                f"start, freq: expected a date and a pandas frequency, got {req.start!r}, {freq!r} ({exc})"
            ) from None
    series = TimeSeries(np.asarray(req.values, dtype=np.float64), index)
    out = model.predict(req.horizon, series=series)
    assert isinstance(out, Forecast)
    return {
        "index": [str(i) for i in out.index],
        "point": out.point.tolist(),
        "levels": list(LEVELS),
        "quantiles": out.quantiles.tolist(),
    }


def forecast_csv(text: str, column: str | None, time: str | None, horizon: int | None) -> ForecastRequest:
    """A :class:`ForecastRequest` from a CSV body: ``column`` (default: the last numeric one),
    dated by ``time`` (a column of dates; its frequency inferred) or by row number."""
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:
        raise WrongInput(f"body: expected a CSV table with a header row ({exc})") from None
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    name = column if column is not None else (numeric[-1] if numeric else None)
    if name is None or name not in frame.columns:
        raise WrongInput(f"column: expected one of {list(frame.columns)}, got {column!r}")
    values = np.asarray(pd.to_numeric(frame[name], errors="coerce"), dtype=np.float64)  # NaN where unparsable
    if not np.isfinite(values).all():
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise WrongInput(
            f"column {name!r}: expected finite numbers, row {bad + 1} is {frame[name].iloc[bad]!r}"
        )
    start = freq = None
    if time is not None:
        if time not in frame.columns:
            raise WrongInput(f"time: expected one of {list(frame.columns)}, got {time!r}")
        stamps = pd.to_datetime(frame[time], errors="coerce")
        freq = pd.infer_freq(stamps) if stamps.notna().all() and len(stamps) >= 3 else None
        if freq is None:
            raise WrongInput(f"time: column {time!r} holds no regular dates (gaps or unparsable rows)")
        start = str(stamps.iloc[0])
    return ForecastRequest(values=values.tolist(), start=start, freq=freq, horizon=horizon)


# ---------------------------------------------------------------------- classifier, detector
def _array(rows: list[Any], field: str) -> np.ndarray:
    """(L, C) float array of one series given as (L, C) rows or (L,) values."""
    arr = np.asarray(rows, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise WrongInput(f"{field}: expected rows of equal length (L, C) or numbers (L,), got ragged rows")
    return arr


def classify(loaded: Loaded, req: ClassifyRequest) -> dict[str, Any]:
    """The class and class probabilities of each series (shorter series padded, their lengths kept)."""
    _need(loaded, "classifier", "classify")
    model: SequenceClassifier = _estimator(loaded)
    series = [_array(s, f"series[{k}]") for k, s in enumerate(req.series)]
    channels = {s.shape[1] for s in series}
    if len(channels) > 1:
        raise WrongInput(f"series: expected the same channels in every series, got {sorted(channels)}")
    lengths = np.array([len(s) for s in series])
    x = np.zeros((len(series), int(lengths.max()), channels.pop()))
    for k, s in enumerate(series):
        x[k, : len(s)] = s
    probs = model.predict_proba(x, lengths)
    return {"classes": probs.argmax(1).tolist(), "probabilities": probs.tolist()}


def detect(loaded: Loaded, req: DetectRequest) -> dict[str, Any]:
    """Every sample's anomaly score and flag (score above the fitted threshold)."""
    _need(loaded, "detector", "detect")
    model: AnomalyDetector = _estimator(loaded)
    values = _array(req.values, "values")
    context = None if req.context is None else _array(req.context, "context")
    scores = model.score(values, context)
    threshold = model.threshold_
    flags = [] if threshold is None else (scores > threshold).astype(int).tolist()
    return {"scores": scores.tolist(), "flags": flags, "threshold": threshold}


# ---------------------------------------------------------------------- language
def _network(loaded: Loaded, cls: type) -> Any:
    net = loaded.nets[0]
    assert isinstance(net, cls)
    return net


class _Pieces(io.StringIO):
    """A text stream whose writes go to a queue (the generated text, piece by piece)."""

    def __init__(self, out: queue.Queue[str | BaseException | None]) -> None:
        self.out = out

    def write(self, s: str) -> int:
        self.out.put(s)
        return len(s)


def generate(loaded: Loaded, req: GenerateRequest) -> Iterator[str]:
    """The continuation of ``req.prime``, piece by piece as the model samples it (run by
    :func:`lstmkit.apps.language.textgen.sample_text` in a thread of its own)."""
    _need(loaded, "lm", "generate")
    model, tokenizer = _network(loaded, LanguageModel), loaded.tokenizers["text"]
    pieces: queue.Queue[str | BaseException | None] = queue.Queue()

    def work() -> None:
        try:
            with torch.inference_mode():
                sample_text(
                    model,
                    tokenizer,
                    req.prime,
                    req.length,
                    temperature=req.temperature,
                    top_k=req.top_k,
                    top_p=req.top_p,
                    seed=req.seed,
                    stream=_Pieces(pieces),
                )
        except BaseException as exc:  # handed to the reader, who raises it
            pieces.put(exc)
        pieces.put(None)

    threading.Thread(target=work, daemon=True).start()
    while (piece := pieces.get()) is not None:
        if isinstance(piece, BaseException):
            raise piece
        if piece:
            yield piece


def sentiment(loaded: Loaded, req: TextsRequest) -> dict[str, Any]:
    """The label and class probabilities of each text (an ensemble's averaged)."""
    _need(loaded, "sentiment", "sentiment")
    nets = [n for n in loaded.nets if isinstance(n, TextClassifier)]
    classes = loaded.payload["extra"]["classes"]
    preds, probs = classify_texts(nets, loaded.tokenizers["text"], list(req.texts))
    return {"labels": [classes[p] for p in preds], "classes": list(classes), "probabilities": probs.tolist()}


def translate(loaded: Loaded, req: TextsRequest) -> dict[str, Any]:
    """Each text's translation (beam search of ``req.beam_size``)."""
    _need(loaded, "translate", "translate")
    model = _network(loaded, Seq2Seq)
    outs = translate_texts(model, loaded.tokenizers["src"], loaded.tokenizers["tgt"], list(req.texts),
                           beam_size=req.beam_size)  # fmt: skip
    return {"translations": [text for text, _ in outs]}

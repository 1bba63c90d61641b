"""Per model kind: the inputs ``lstmkit explain`` reads by default and the sections it draws.

Each function takes the :class:`~lstmkit.apps.deploy.models.Loaded` file, the job's settings and
the folder to write pictures into, and returns ``(sections, metrics)``: (heading, HTML) pairs
for the page and plain numbers for ``explain.json``. Every kind gets the gate section of its
network's first LSTM (:func:`lstmkit.apps.common.gates.gate_sections`); then

* forecaster: integrated gradients and occlusion of each horizon step over the input window,
  permutation importance of the covariates (:func:`lstmkit.apps.forecasting.explain.explain_forecaster`);
* classifier: attributions over the time steps of test sequences
  (:func:`lstmkit.apps.classification.explain.explain_classifier`);
* detector: the samples that made the highest-scoring stretch anomalous
  (:func:`lstmkit.apps.anomaly.explain.explain_detector`);
* language model: interpretable units on held-out text
  (:func:`lstmkit.apps.language.units.find_interpretable_units`);
* sentiment: token attributions beside the attention weights
  (:func:`lstmkit.apps.language.explain.explain_sentiment`);
* translation: the encoder's gates only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lstmkit.apps.anomaly.data import load_anomaly
from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.anomaly.explain import explain_detector
from lstmkit.apps.classification.data import load_classification
from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.classification.explain import explain_classifier
from lstmkit.apps.common.gates import gate_sections
from lstmkit.apps.deploy.models import Loaded
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.explain import explain_forecaster
from lstmkit.apps.forecasting.job import SeriesSource, load_series
from lstmkit.apps.language.corpora import load_text_corpus, load_vader
from lstmkit.apps.language.corpora.parallel import load_parallel
from lstmkit.apps.language.explain import explain_sentiment
from lstmkit.apps.language.lm import LanguageModel
from lstmkit.apps.language.sentiment import classify
from lstmkit.apps.language.seq2seq import Seq2Seq
from lstmkit.apps.language.text_classifier import TextClassifier
from lstmkit.apps.language.translate import translate_texts
from lstmkit.apps.language.units import find_interpretable_units, units_report
from lstmkit.io.text import read_text

__all__ = ["KINDS", "Sections", "recorded_metrics"]

Sections = tuple[list[tuple[str, str]], dict[str, Any]]


def recorded_metrics(checkpoint: str) -> dict[str, Any]:
    """The ``metrics.json`` beside ``checkpoint`` (its run's report), or ``{}``."""
    path = Path(checkpoint).with_name("metrics.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _dataset(loaded: Loaded, config: Any, what: str) -> str:
    """``--input`` (a bundled dataset's name), else the one the run's report records."""
    name = config.input or recorded_metrics(os.fspath(loaded.path)).get("dataset")
    if not name:
        raise ValueError(
            f"--input: expected a bundled {what} dataset name (`lstmkit data list`); the checkpoint's "
            "folder has no metrics.json naming the one it was trained on"
        )
    return str(name)


def _texts(config: Any, default: Callable[[], list[str]]) -> list[str]:
    """``--input``'s lines (a text file; blank lines skipped), else ``default()``."""
    if config.input is None:
        return default()
    lines = [line.strip() for line in read_text(config.input).splitlines()]
    texts = [line for line in lines if line]
    if not texts:
        raise ValueError(
            f"--input: expected a text file with at least one non-empty line, got {config.input!r}"
        )
    return texts


def forecaster(loaded: Loaded, config: Any, folder: str) -> Sections:
    fc = loaded.estimator
    assert isinstance(fc, Forecaster)
    if config.input is None:
        data = recorded_metrics(os.fspath(loaded.path)).get("data")
        if not isinstance(data, dict):
            raise ValueError(
                "--input: expected a bundled forecasting dataset or a CSV file; the checkpoint's folder "
                "has no metrics.json recording its data"
            )
        source = SeriesSource(**data)
    elif os.path.isfile(config.input):
        source = SeriesSource(
            csv=config.input,
            target=config.target,
            time=config.time,
            covariates=tuple(config.covariates),
            future_covariates=tuple(config.future_covariates),
        )
    else:
        source = SeriesSource(dataset=config.input)
    found, _ = load_series(source)
    series = found if not isinstance(found, list) else max(found, key=len)
    ex = explain_forecaster(fc, series, n_steps=config.n_steps, seed=config.seed)
    sections = ex.write(folder, "explain_forecast_")
    run = lambda: fc.predict(series=series)  # noqa: E731
    sections += gate_sections(
        fc.nets_[0], run, folder, what="the first ensemble member", prefix="explain_gates_"
    )
    return sections, ex.metrics()


def classifier(loaded: Loaded, config: Any, folder: str) -> Sections:
    clf = loaded.estimator
    assert isinstance(clf, SequenceClassifier)
    data = load_classification(_dataset(loaded, config, "classification"))
    k = min(config.examples, len(data.y_test))
    x, lengths = data.x_test[:k], data.lengths_test[:k]
    ex = explain_classifier(clf, x, lengths, n_steps=config.n_steps, classes=list(data.classes))
    sections = ex.write(folder, "explain_classify_")
    run = lambda: clf.predict(x, lengths)  # noqa: E731
    what = f"the first ensemble member on {k} test sequences of {data.name}"
    sections += gate_sections(clf.nets_[0], run, folder, what=what, prefix="explain_gates_")
    return sections, ex.metrics()


def detector(loaded: Loaded, config: Any, folder: str) -> Sections:
    det = loaded.estimator
    assert isinstance(det, AnomalyDetector)
    data = load_anomaly(_dataset(loaded, config, "anomaly"))
    ex = explain_detector(det, data.values, n_steps=config.n_steps)
    sections = ex.write(folder, "explain_detect_")
    stretch = data.values[: max(2000, 8 * det.config.window * det.config.downsample)]
    run = lambda: det.score(stretch)  # noqa: E731
    what = f"the detector's network while it scores the first {len(stretch)} samples of {data.name}"
    sections += gate_sections(det.nets_[0], run, folder, what=what, prefix="explain_gates_")
    return sections, ex.metrics()


def language_model(loaded: Loaded, config: Any, folder: str) -> Sections:
    model, tokenizer = loaded.nets[0], loaded.tokenizers["text"]
    assert isinstance(model, LanguageModel)
    corpus = loaded.payload.get("extra", {}).get("corpus")
    if config.input is not None:
        text = read_text(config.input)
    elif corpus:
        text = load_text_corpus(str(corpus)).valid
    else:
        raise ValueError("--input: expected a text file (the model's bundle names no corpus)")
    text = text[: config.max_chars]
    sections: list[tuple[str, str]] = []
    metrics: dict[str, Any] = {"characters": len(text)}
    if type(tokenizer).__name__ == "CharTokenizer":
        found = find_interpretable_units(model, tokenizer, text)
        sections.append(("Interpretable units", units_report(found, folder, png=False)))
        metrics["best_units"] = {p: [s.unit, float(s.r)] for p, (s, *_) in found.best.items()}
    ids = torch.tensor([tokenizer.encode(text[:800])[:400]])
    run = lambda: model(ids)  # noqa: E731
    sections += gate_sections(model, run, folder, what="400 tokens of the text", prefix="explain_gates_")
    return sections, metrics


def sentiment(loaded: Loaded, config: Any, folder: str) -> Sections:
    extra, tokenizer = loaded.payload.get("extra", {}), loaded.tokenizers["text"]
    nets = [n for n in loaded.nets if isinstance(n, TextClassifier)]

    def bundled() -> list[str]:
        name = extra.get("dataset")
        if not name:
            raise ValueError("--input: expected a text file, one text per line (the bundle names no dataset)")
        subset = str(name).removeprefix("vader-")  # the bundle records the splits' name, vader-<subset>
        return list(load_vader(subset, binary=True).test.texts)

    texts = _texts(config, bundled)[: config.examples]
    classes = extra.get("classes")
    ex = explain_sentiment(nets, tokenizer, texts, classes=classes, n_steps=config.n_steps)
    sections = ex.write(folder, "explain_sentiment_")
    run = lambda: classify(nets[0], tokenizer, texts)  # noqa: E731
    what = f"the first ensemble member on {len(texts)} texts"
    sections += gate_sections(loaded.nets[0], run, folder, what=what, prefix="explain_gates_")
    return sections, ex.metrics()


def translation(loaded: Loaded, config: Any, folder: str) -> Sections:
    pairs = loaded.payload.get("extra", {}).get("pairs")

    def bundled() -> list[str]:
        if not pairs:
            raise ValueError(
                "--input: expected a text file, one sentence per line (the bundle names no pairs)"
            )
        return [src for src, _ in load_parallel(str(pairs)).test[: config.examples]]

    texts = _texts(config, bundled)[: config.examples]
    src, tgt, net = loaded.tokenizers["src"], loaded.tokenizers["tgt"], loaded.nets[0]
    assert isinstance(net, Seq2Seq)
    run = lambda: translate_texts(net, src, tgt, texts, beam_size=1)  # noqa: E731
    what = f"the encoder on {len(texts)} source sentences"
    sections = gate_sections(net, run, folder, what=what, prefix="explain_gates_")
    return sections, {"sentences": len(texts)}


#: model kind (:data:`lstmkit.apps.deploy.models.KINDS` names) -> its explanation
KINDS: dict[str, Callable[[Loaded, Any, str], Sections]] = {
    "forecaster": forecaster,
    "classifier": classifier,
    "detector": detector,
    "lm": language_model,
    "sentiment": sentiment,
    "translate": translation,
}

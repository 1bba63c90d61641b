"""``lstmkit explain``: one page per model kind, from the data the run recorded or from --input;
integrated gradients complete (sum = output change) on each; a second run needs --overwrite; bad
input is a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.apps.anomaly.data import load_anomaly
from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.classification.data import load_classification
from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.language.bundle import save_bundle
from lstmkit.apps.language.lm import LanguageModel
from lstmkit.apps.language.text_classifier import TextClassifier
from lstmkit.apps.language.tokenizers import CharTokenizer, WordTokenizer
from lstmkit.cli import main
from lstmkit.io.runfolder import MARKER, prepare_run_folder, run_folder

TEXT = 'he said "come here" (to me) and left.\nshe said "no" and stayed.\n' * 30
_T = np.arange(60)


def _explained(folder: Path) -> tuple[str, dict]:
    page = (folder / "explain.html").read_text(encoding="utf-8")
    return page, json.loads((folder / "explain.json").read_text(encoding="utf-8"))


def test_forecaster_from_a_csv_then_overwrite(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    y = 10 + np.sin(2 * np.pi * _T / 12) + 0.05 * _T
    x = np.random.default_rng(0).normal(size=60)
    frame = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=60, freq="MS"), "y": y, "x": x})
    csv = tmp_path / "toy.csv"
    frame.to_csv(csv, index=False)
    index = pd.DatetimeIndex(frame["date"])
    series = TimeSeries(y, index, name="y", past_covariates=x[:, None], past_covariate_names=("x",))
    model = Forecaster(horizon=4, window=8, hidden_size=8, ensemble=1, max_epochs=2, progress=False)
    model.fit(series)
    ckpt = tmp_path / "run" / "model.pt"
    model.save(ckpt)
    argv = ["explain", "--checkpoint", str(ckpt), "--input", str(csv), "--target", "y", "--time", "date"]
    argv += ["--covariates", "x", "--n-steps", "32", "--out", str(tmp_path / "runs")]
    assert main(argv) == 0
    page, metrics = _explained(tmp_path / "runs" / "run")
    assert metrics["kind"] == "forecaster" and metrics["max_relative_gap"] <= 0.01
    assert "permutation_importance" in metrics and "past: x" in metrics["permutation_importance"]
    assert "LSTM gates and cell states" in page and "integrated gradients" in page.lower()
    assert main(argv) == 1  # the page exists
    assert "--overwrite" in caplog.records[-1].getMessage()
    assert main([*argv, "--overwrite"]) == 0


def test_classifier_from_the_recorded_dataset_into_its_run_folder(tmp_path: Path) -> None:
    data = load_classification("gunpoint")
    clf = SequenceClassifier("lstm", hidden_size=8, max_epochs=2, progress=False, seed=0)
    clf.fit(data.x_train[:20], data.y_train[:20], data.lengths_train[:20])
    run = tmp_path / "runs" / "gunpoint"
    with run_folder(run, "classify") as tmp:  # as `lstmkit classify` writes it
        clf.save(Path(tmp) / "model.pt")
        (Path(tmp) / "metrics.json").write_text(json.dumps({"dataset": "gunpoint"}), encoding="utf-8")
    argv = ["explain", "--checkpoint", str(run / "model.pt"), "--examples", "2", "--n-steps", "32"]
    assert main([*argv, "--out", str(tmp_path / "runs")]) == 0
    page, metrics = _explained(run)
    assert metrics["kind"] == "classifier" and metrics["max_relative_gap"] <= 0.01
    assert "LSTM gates and cell states" in page
    # the run's marker lists the page: the run stays one lstmkit replaces without --overwrite
    marker = json.loads((run / MARKER).read_text(encoding="utf-8"))
    assert {"explain.html", "explain.json"} <= set(marker["files"])
    prepare_run_folder(run, "classify")


def test_detector_with_a_named_dataset(tmp_path: Path) -> None:
    values = load_anomaly("yahoo").values
    det = AnomalyDetector(window=16, hidden_size=8, max_epochs=1, progress=False)
    det.fit(values[:400])
    det.save(tmp_path / "model.pt")
    argv = ["explain", "--checkpoint", str(tmp_path / "model.pt"), "--input", "yahoo", "--n-steps", "32"]
    assert main([*argv, "--out", str(tmp_path), "--name", "page"]) == 0
    page, metrics = _explained(tmp_path / "page")
    assert metrics["kind"] == "detector" and metrics["max_relative_gap"] <= 0.01
    assert "LSTM gates and cell states" in page


def test_char_lm_units_and_gates(tmp_path: Path) -> None:
    tokenizer = CharTokenizer().fit([TEXT])
    torch.manual_seed(0)
    lm = LanguageModel(len(tokenizer), embed_dim=8, hidden_size=12, num_layers=2).eval()
    runs = tmp_path / "runs"
    with run_folder(runs / "lm", "textgen") as tmp:  # a finished run folder lstmkit made
        save_bundle(Path(tmp) / "model.pt", kind="lm", model=lm, tokenizers={"text": tokenizer}, extra={})
    text = tmp_path / "held-out.txt"
    text.write_text(TEXT, encoding="utf-8")
    argv = ["explain", "--checkpoint", str(runs / "lm" / "model.pt"), "--input", str(text)]
    assert main([*argv, "--out", str(runs)]) == 0
    page, metrics = _explained(runs / "lm")
    assert metrics["kind"] == "lm" and metrics["characters"] == len(TEXT)
    assert {"in quotes", "in parens", "line position"} <= set(metrics["best_units"])
    assert "Interpretable units" in page and "LSTM gates and cell states" in page
    # every file explain wrote is in the run's marker (units.html too): the run stays replaceable
    marker = json.loads((runs / "lm" / MARKER).read_text(encoding="utf-8"))
    assert {p.name for p in (runs / "lm").iterdir() if p.name != MARKER} == set(marker["files"])
    prepare_run_folder(runs / "lm", "textgen")


def test_sentiment_attributions_beside_attention(tmp_path: Path) -> None:
    texts = ["a great and lovely film", "a dull and awful film", "great acting", "awful plot"]
    tokenizer = WordTokenizer().fit(texts)
    torch.manual_seed(0)
    net = TextClassifier(len(tokenizer), 2, embed_dim=8, hidden_size=8).eval()
    ckpt = tmp_path / "sent" / "model.pt"
    extra = {"classes": ["negative", "positive"], "dataset": "vader-movies"}  # as sentiment train saves it
    save_bundle(ckpt, kind="sentiment", model=net, tokenizers={"text": tokenizer}, extra=extra)
    lines = tmp_path / "texts.txt"
    lines.write_text("\n".join(texts) + "\n\n", encoding="utf-8")
    argv = ["explain", "--checkpoint", str(ckpt), "--input", str(lines), "--n-steps", "32"]
    assert main([*argv, "--out", str(tmp_path / "runs")]) == 0
    page, metrics = _explained(tmp_path / "runs" / "sent")
    assert metrics["kind"] == "sentiment" and metrics["max_relative_gap"] <= 0.01
    assert "attention" in page.lower() and "LSTM gates and cell states" in page
    # without --input: the first test texts of the dataset the bundle records
    argv = ["explain", "--checkpoint", str(ckpt), "--examples", "2", "--n-steps", "16", "--name", "bundled"]
    assert main([*argv, "--out", str(tmp_path / "runs")]) == 0
    assert _explained(tmp_path / "runs" / "bundled")[1]["kind"] == "sentiment"


def test_missing_input_and_bad_numbers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    series = TimeSeries(10 + np.sin(_T / 2), pd.date_range("2000-01-01", periods=60, freq="MS"), name="s")
    model = Forecaster(horizon=4, window=8, hidden_size=8, ensemble=1, max_epochs=1, progress=False)
    model.fit(series)
    model.save(tmp_path / "model.pt")
    argv = ["explain", "--checkpoint", str(tmp_path / "model.pt"), "--out", str(tmp_path / "runs")]
    assert main(argv) == 1
    message = caplog.records[-1].getMessage()
    assert message.startswith("--input:") and "\n" not in message and caplog.records[-1].exc_info is None
    assert not list((tmp_path / "runs").rglob("explain.html"))
    assert main([*argv, "--n-steps", "0"]) == 1
    assert "--n-steps: expected an int >= 1" in caplog.records[-1].getMessage()
    int8 = tmp_path / "model.int8.pt"
    assert main(["compress", "--checkpoint", str(tmp_path / "model.pt"), "--method", "quantize"]) == 0
    assert main(["explain", "--checkpoint", str(int8), "--input", "airline"]) == 1
    message = caplog.records[-1].getMessage()
    assert "int8 networks" in message and "explain the float model" in message and "\n" not in message

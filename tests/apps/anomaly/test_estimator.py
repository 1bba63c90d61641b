"""Anomaly detection on a signal with an injected anomaly, thresholds, metrics, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.anomaly.estimator import AnomalyDetector


def signal(n: int = 2400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy periodic signal; in [2000, 2100) the waveform changes (double frequency)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = np.sin(2 * np.pi * t / 40) + 0.5 * np.sin(2 * np.pi * t / 13) + 0.05 * rng.normal(size=n)
    labels = np.zeros(n, dtype=int)
    labels[2000:2100] = 1
    x[2000:2100] = np.sin(2 * np.pi * t[2000:2100] / 20) + 0.05 * rng.normal(size=100)
    return x, labels


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forecast", "autoencoder"])
def test_detects_the_changed_waveform(method: str) -> None:
    x, labels = signal()
    det = AnomalyDetector(method, window=40, max_epochs=12, progress=False).fit(x[:1200], val=x[1200:1700])
    m = det.evaluate(x[1700:], labels[1700:], context=x[:1700])
    assert m["roc_auc"] >= 0.9, m  # scores of an untrained model are unrelated to the labels
    assert m["recall"] >= 0.5 and m["precision"] >= 0.5, m


def test_threshold_maximizes_f1_with_labelled_validation() -> None:
    scores = np.concatenate([np.linspace(0, 1, 90), np.linspace(2, 3, 10)])
    labels = np.r_[np.zeros(90), np.ones(10)].astype(bool)
    thr = AnomalyDetector._best_f1_threshold(scores, labels)
    assert 1.0 <= thr <= 2.0


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="too few for windows of 64"):
        AnomalyDetector(progress=False).fit(np.zeros(100))
    x = np.sin(np.arange(500) / 5.0)
    x[10] = np.nan
    with pytest.raises(ValueError, match=r"missing or infinite values at samples \[10\]"):
        AnomalyDetector(progress=False).fit(x)
    with pytest.raises(ValueError, match="method: expected one of"):
        AnomalyDetector("isolation-forest")
    with pytest.raises(RuntimeError, match="call fit"):
        AnomalyDetector().score(np.zeros(100))


def test_the_chosen_threshold_gives_the_f1_it_was_chosen_for() -> None:
    from lstmkit.fit.evaluation import precision_recall_f1

    rng = np.random.default_rng(0)
    for _ in range(10):
        s = np.r_[rng.normal(0, 1, 1000), rng.normal(3, 1, 7)]
        labels = np.r_[np.zeros(1000, int), np.ones(7, int)]
        s, labels = np.repeat(s, 4), np.repeat(labels, 4)  # ties, as downsample=4 makes them
        t = AnomalyDetector._best_f1_threshold(s, labels)
        deployed = precision_recall_f1(labels, s > t)[2]  # how predict() and evaluate() flag
        cands = np.unique(np.quantile(s, np.linspace(0.5, 0.9999, 400)))
        assert deployed == max(precision_recall_f1(labels, s > c)[2] for c in cands)


def test_context_with_other_channels_and_short_input_are_named() -> None:
    det = AnomalyDetector("forecast", window=8, downsample=4, max_epochs=1, progress=False)
    signal = np.sin(np.arange(400) / 5)
    det.fit(signal)
    with pytest.raises(ValueError, match="context: expected 1 channels like values, got 2"):
        det.score(signal[:100], context=np.zeros((50, 2)))
    ae = AnomalyDetector("autoencoder", window=8, downsample=4, max_epochs=1, progress=False).fit(signal)
    with pytest.raises(ValueError, match=r"values: 20 samples \(5 after downsampling by 4\)"):
        ae.score(signal[:20])


@pytest.mark.parametrize("method", ["forecast", "autoencoder"])
def test_save_and_load_give_the_same_scores(tmp_path, method: str) -> None:
    x = signal()[0][:600]
    det = AnomalyDetector(method, window=16, max_epochs=1, progress=False).fit(x[:400], val=x[400:500])
    det.save(tmp_path / "det.pt")
    again = AnomalyDetector.load(tmp_path / "det.pt")
    assert again.threshold_ == det.threshold_ and again.config == det.config
    assert np.array_equal(again.score(x[500:], context=x[:500]), det.score(x[500:], context=x[:500]))
    assert np.array_equal(again.predict(x[500:]), det.predict(x[500:]))


def test_every_argument_reaches_the_settings() -> None:
    from dataclasses import asdict, fields

    from lstmkit.apps.anomaly.estimator import DetectorConfig

    values = {
        "method": "autoencoder", "window": 9, "stride": 2, "downsample": 3, "smooth": 5, "error": "squared",
        "hidden_size": 7, "num_layers": 2, "variant": "cifg", "engine": "reference", "max_epochs": 4,
        "batch_size": 6, "lr": 0.01, "threshold_quantile": 0.9, "seed": 11, "device": "cpu",
    }  # fmt: skip
    assert {f.name for f in fields(DetectorConfig)} == set(values)
    assert asdict(AnomalyDetector(**values, progress=False).config) == values

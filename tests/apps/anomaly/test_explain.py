"""Detector explanations: completeness on the MIT-BIH ECG, attributions that find an injected
glitch, the report file."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.anomaly.explain import explain_detector
from lstmkit.apps.datasets import sources


@pytest.mark.parametrize("method", ["forecast", "autoencoder"])
def test_integrated_gradients_are_complete_on_an_ecg(method: str, tmp_path) -> None:
    ecg = sources.load_anomaly("mitdb")
    det = AnomalyDetector(method, downsample=4, window=32, hidden_size=16, max_epochs=2, progress=False)
    det.fit(ecg.values[:3000])
    ex = explain_detector(det, ecg.values[3000:6000])
    assert ex.max_gap <= 0.01, ex.gap
    assert abs(ex.score - ex.baseline_score) > 0
    assert (
        ex.attribution.shape
        == ex.values.shape
        == (len(ex.samples), ecg.values.shape[1] if ecg.values.ndim == 2 else 1)
    )
    sections = ex.write(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [
        "detect_attribution.png"
    ] and "detect_attribution.png" in sections[0][1]


def test_attributions_find_an_injected_glitch() -> None:
    t = np.arange(4000)
    rng = np.random.default_rng(0)
    signal = np.sin(2 * np.pi * t / 25) + 0.05 * rng.normal(size=len(t))
    det = AnomalyDetector(window=32, hidden_size=16, max_epochs=8, progress=False).fit(signal[:3000])
    test = signal[3000:].copy()
    test[500:504] += 3.0  # a glitch
    assert 490 <= int(np.argmax(det.score(test))) < 540  # the scores (smoothed) peak after it
    ex = explain_detector(det, test, start=496)
    assert (ex.start, ex.stop) == (496, 512)  # half a window
    mag = np.abs(ex.attribution[:, 0])
    near = (ex.samples >= 498) & (ex.samples < 506)
    assert mag[near].sum() > 0.5 * mag.sum(), mag.round(3)  # 8 of ~48 samples
    assert ex.max_gap <= 0.01


def test_bad_start_is_named() -> None:
    det = AnomalyDetector(window=8, hidden_size=4, max_epochs=1, progress=False).fit(np.sin(np.arange(200.0)))
    with pytest.raises(ValueError, match=r"start: expected a sample index in \[0, 100\)"):
        explain_detector(det, np.sin(np.arange(100.0)), start=100)

"""Streaming sessions of a forecaster and a detector: posting the observations one (or a few) at
a time gives the answers of one call on the whole series; the detector's stream equals its
whole-signal scores for any piece size and downsampling."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.anomaly.stream import ScoreStream
from lstmkit.apps.serve.app import ServeSettings, create_app

RNG = np.random.default_rng(0)
SIGNAL = np.sin(np.arange(600) / 6) + 0.1 * RNG.standard_normal(600)
TEST = SIGNAL[400:].copy()
TEST[120:126] += 3.0  # an anomaly


def _detector(**kwargs: object) -> AnomalyDetector:
    torch.manual_seed(0)
    settings: dict = {"window": 16, "hidden_size": 8, "max_epochs": 3, "progress": False} | kwargs
    return AnomalyDetector(**settings).fit(SIGNAL[:400])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, forecaster_file: Path) -> TestClient:
    folder = tmp_path_factory.mktemp("sessions")
    shutil.copy(forecaster_file, folder / "fc.pt")
    _detector().save(folder / "det.pt")
    _detector(method="autoencoder", max_epochs=1).save(folder / "ae.pt")
    return TestClient(create_app(ServeSettings(str(folder), max_sessions=3)))


def _series(n: int = 30) -> list[float]:
    t = np.arange(n)
    return (10 + np.sin(2 * np.pi * t / 12) + 0.05 * t).tolist()


def test_a_forecaster_session_answers_as_one_call_on_the_history(client: TestClient) -> None:
    values = _series()
    dated = {"start": "2000-01-01", "freq": "MS"}
    sid = client.post("/v1/sessions", json={"model": "fc", **dated}).json()["id"]
    first = client.post(f"/v1/sessions/{sid}/frames", json={"values": values[:1], "horizon": 3}).json()
    assert first == {"read": 1, "values": 1, "forecast": None}  # one value forecasts nothing
    for k in range(1, len(values)):
        answer = client.post(f"/v1/sessions/{sid}/frames", json={"values": [values[k]], "horizon": 3})
        assert answer.status_code == 200, answer.text
        if k in (1, 9, len(values) - 1):  # the forecast after k + 1 values, as one call gives it
            whole = {"values": values[: k + 1], "horizon": 3, **dated}
            expected = client.post("/v1/models/fc/forecast", json=whole).json()
            assert answer.json()["forecast"] == expected and answer.json()["values"] == k + 1
    client.delete(f"/v1/sessions/{sid}")


@pytest.mark.parametrize("piece", [1, 7])
def test_a_detector_session_scores_as_one_call_on_the_signal(client: TestClient, piece: int) -> None:
    sid = client.post("/v1/sessions", json={"model": "det"}).json()["id"]
    scores: list[float] = []
    for i in range(0, len(TEST), piece):
        answer = client.post(
            f"/v1/sessions/{sid}/frames", json={"values": TEST[i : i + piece].tolist()}
        ).json()
        assert answer["first"] == len(scores) and answer["pending"] == min(i + piece, len(TEST)) - answer[
            "first"
        ] - len(answer["scores"])
        scores += answer["scores"]
    assert len(scores) < len(TEST)  # the centred smoothing holds the last ones back
    last = client.post(f"/v1/sessions/{sid}/frames", json={"end": True}).json()
    scores += last["scores"]
    whole = client.post("/v1/models/det/detect", json={"values": TEST.tolist()}).json()
    np.testing.assert_allclose(scores, whole["scores"], rtol=1e-5, atol=1e-6)
    flags = np.asarray(whole["flags"])
    assert flags[118:128].all() and flags[:100].mean() < 0.05  # the anomaly is what it flags
    again = client.post(f"/v1/sessions/{sid}/frames", json={"values": [0.0]})
    assert again.status_code == 422 and "ended" in again.json()["detail"]
    client.delete(f"/v1/sessions/{sid}")


@pytest.mark.parametrize(("down", "smooth"), [(3, 5), (2, 1), (1, 40)])
def test_the_score_stream_equals_the_whole_signal_scores(down: int, smooth: int) -> None:
    det = _detector(downsample=down, smooth=smooth, max_epochs=1)
    stream = ScoreStream(det)
    parts = [stream.push(TEST[i : min(i + 5, len(TEST) - 1)]) for i in range(0, len(TEST) - 1, 5)]
    parts += [stream.push(TEST[-1:]), stream.end()]
    np.testing.assert_allclose(np.concatenate(parts), det.score(TEST), rtol=1e-5, atol=1e-6)
    assert len(stream.errors) <= smooth + 2  # only what later scores need is kept


def test_sessions_refuse_what_they_cannot_stream(client: TestClient) -> None:
    ae = client.post("/v1/sessions", json={"model": "ae"})
    assert ae.status_code == 422 and "forecast method" in ae.json()["detail"]
    sid = client.post("/v1/sessions", json={"model": "det"}).json()["id"]
    text = client.post(f"/v1/sessions/{sid}/frames", json={"text": "abc"})
    assert text.status_code == 422 and "values" in text.json()["detail"]
    nan = client.post(f"/v1/sessions/{sid}/frames", content=b'{"values": [1.0, NaN]}')
    assert nan.status_code == 422
    client.delete(f"/v1/sessions/{sid}")

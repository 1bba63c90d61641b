"""``lstmkit serve``: each model kind answers as its app does, bad requests get one-line 4xx
answers, no name reaches outside the served folder, sessions stream, the token and the body
limit hold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from fastapi.testclient import TestClient

from lstmkit.apps.classification.data import load_classification
from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.deploy.models import load_model
from lstmkit.apps.forecasting.base import Forecast
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.language.lm import LanguageModel
from lstmkit.apps.serve.app import ServeSettings, create_app
from lstmkit.apps.serve.job import check_exposure
from lstmkit.cli import main

TOKEN = "s3cret-token-0123456789"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, forecaster_file: Path, lm_file: Path) -> Path:
    """A folder: runs/airline/model.pt (forecaster), lm.pt, gunpoint.pt (classifier), a
    non-model file, and a secret file beside the folder."""
    root = tmp_path_factory.mktemp("served")
    folder = root / "models"
    (folder / "airline").mkdir(parents=True)
    shutil.copy(forecaster_file, folder / "airline" / "model.pt")
    shutil.copy(lm_file, folder / "lm.pt")
    data = load_classification("gunpoint")
    clf = SequenceClassifier("lstm", hidden_size=8, max_epochs=1, progress=False, seed=0)
    clf.fit(data.x_train[:16], data.y_train[:16], data.lengths_train[:16])
    clf.save(folder / "gunpoint.pt")
    torch.save({"not": "a model"}, root / "secret.pt")
    (folder / "escape.pt").symlink_to(root / "secret.pt")
    return folder


@pytest.fixture()
def client(served: Path) -> TestClient:
    return TestClient(create_app(ServeSettings(str(served), max_body=200_000, max_sessions=2)))


def _history(n: int = 48) -> list[float]:
    t = np.arange(n)
    return (10 + np.sin(2 * np.pi * t / 12) + 0.05 * t).tolist()


def test_forecast_equals_the_estimators_own_forecast(client: TestClient, served: Path) -> None:
    values = _history()
    r = client.post(
        "/v1/models/airline/model/forecast", json={"values": values, "start": "2000-01-01", "horizon": 3}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    own = load_model(served / "airline" / "model.pt").estimator
    assert isinstance(own, Forecaster)
    dates = pd.date_range("2000-01-01", periods=len(values), freq="MS")
    expected = own.predict(3, series=TimeSeries(np.asarray(values), dates))
    assert isinstance(expected, Forecast)
    np.testing.assert_allclose(body["point"], expected.point, rtol=1e-6)
    np.testing.assert_allclose(body["quantiles"], expected.quantiles, rtol=1e-6)
    assert len(body["levels"]) == expected.quantiles.shape[1]


def test_forecast_from_csv_dated_and_answered_as_csv(client: TestClient) -> None:
    values = _history()
    dates = [f"{2000 + k // 12}-{k % 12 + 1:02d}-01" for k in range(len(values))]
    csv = "month,sales\n" + "".join(f"{d},{v}\n" for d, v in zip(dates, values))
    r = client.post(
        "/v1/models/airline/model/forecast?time=month&format=csv",
        content=csv,
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    lines = r.text.strip().splitlines()
    assert lines[0].startswith("index,point,q0.025") and len(lines) == 1 + 4  # the model's horizon
    assert lines[1].startswith("2004-01-01")
    bad = client.post(
        "/v1/models/airline/model/forecast?column=b",
        content="a,b\n1,x\n2,3\n",
        headers={"content-type": "text/csv"},
    )
    assert bad.status_code == 422 and "expected finite numbers" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"values": [1.0]}, "at least 2"),
        ({"values": [1.0, "NaN", 2.0]}, "finite"),
        ({"values": [1.0, 2.0], "extra": 1}, "Extra inputs"),
        ({"values": [1.0, 2.0], "horizon": 0}, "greater than or equal to 1"),
        ({"values": [1.0, 2.0, 3.0]}, "fitted on dates (freq MS)"),
        ('{"values": [1.0, 2.0', "Invalid JSON"),
    ],
)
def test_bad_forecast_requests_are_422_naming_the_field(
    client: TestClient, body: dict | str, fragment: str
) -> None:
    r = client.post(
        "/v1/models/airline/model/forecast",
        content=body if isinstance(body, str) else json.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert fragment in json.dumps(r.json()["detail"])


def test_classify_equals_predict_proba(client: TestClient, served: Path) -> None:
    data = load_classification("gunpoint")
    x = data.x_test[:3, : int(data.lengths_test[0])]
    r = client.post("/v1/models/gunpoint/classify", json={"series": x.tolist()})
    assert r.status_code == 200, r.text
    own = load_model(served / "gunpoint.pt").estimator
    assert isinstance(own, SequenceClassifier)
    np.testing.assert_allclose(r.json()["probabilities"], own.predict_proba(x), rtol=1e-6)
    wrong = client.post("/v1/models/gunpoint/forecast", json={"values": [1.0, 2.0]})
    assert wrong.status_code == 422 and "needs a forecaster" in wrong.json()["detail"]


def test_generate_streams_the_same_text_as_one_answer(client: TestClient) -> None:
    req = {"prime": "in the ", "length": 30, "seed": 3, "temperature": 1.0}
    whole = client.post("/v1/models/lm/generate", json=req).json()["text"]
    with client.stream("POST", "/v1/models/lm/generate", json={**req, "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    pieces = [json.loads(e[len("data: ") :])["text"] for e in events if e.startswith('data: {"text"')]
    assert "".join(pieces) == whole and len(whole) == 30 and events[-2] == "event: end"


def test_session_equals_reading_the_whole_text_at_once(client: TestClient, lm_file: Path) -> None:
    sid = client.post("/v1/sessions", json={"model": "lm"}).json()["id"]
    for piece in ("in the beg", "inning god cre"):
        answer = client.post(f"/v1/sessions/{sid}/frames", json={"text": piece, "top": 3}).json()
    loaded = load_model(lm_file)
    net, tok = loaded.nets[0], loaded.tokenizers["text"]
    assert isinstance(net, LanguageModel)
    with torch.no_grad():
        logits, _ = net(torch.tensor([tok.encode("in the beginning god cre")]))
    p, idx = torch.softmax(logits[0, -1], -1).topk(3)
    assert [n["token"] for n in answer["next"]] == tok.vocab.tokens(idx.tolist())
    np.testing.assert_allclose([n["p"] for n in answer["next"]], p.numpy(), rtol=1e-5)
    assert answer["tokens"] == len("in the beginning god cre")
    assert client.delete(f"/v1/sessions/{sid}").status_code == 200
    assert client.post(f"/v1/sessions/{sid}/frames", json={"text": "a"}).status_code == 404


def test_sessions_are_capped_and_only_for_language_models(client: TestClient) -> None:
    ids = [client.post("/v1/sessions", json={"model": "lm"}).json()["id"] for _ in range(2)]
    full = client.post("/v1/sessions", json={"model": "lm"})
    assert full.status_code == 429 and "all 2 are in use" in full.json()["detail"]
    client.delete(f"/v1/sessions/{ids[0]}")
    assert client.post("/v1/sessions", json={"model": "lm"}).status_code == 200
    other = client.post("/v1/sessions", json={"model": "gunpoint"})
    assert other.status_code == 422 and "is a classifier" in other.json()["detail"]


@pytest.mark.parametrize("name", ["../secret", "escape", "%2e%2e/secret", "airline/../../secret", "nothing"])
def test_no_name_reads_outside_the_folder(client: TestClient, name: str) -> None:
    r = client.get(f"/v1/models/{name}")
    assert r.status_code == 404, r.text
    assert client.get("/v1/models").json()["models"] == ["airline/model", "gunpoint", "lm"]


def test_body_limit_and_token(served: Path) -> None:
    client = TestClient(create_app(ServeSettings(str(served), token=TOKEN, max_body=1000)))
    assert client.get("/v1/models").status_code == 401
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert client.get("/v1/models", headers=auth).status_code == 200
    big = client.post("/v1/models/airline/model/forecast", json={"values": [1.0] * 500}, headers=auth)
    assert big.status_code == 413 and "at most 1000 bytes" in big.json()["detail"]
    assert (
        client.get("/docs").status_code == 200
        and "/static/swagger/swagger-ui-bundle.js" in client.get("/docs").text
    )
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200


def test_exposed_host_needs_a_token(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    check_exposure("127.0.0.1", None)
    with pytest.raises(ValueError, match="give --token"):
        check_exposure("0.0.0.0", None)
    assert main(["serve", "--models", str(tmp_path), "--host", "0.0.0.0"]) != 0
    assert "give --token" in caplog.text
    assert main(["serve", "--models", str(tmp_path / "missing")]) != 0
    assert "--models: expected a folder of model files" in caplog.text

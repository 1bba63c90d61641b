"""The detect and classify jobs of the browser app: each trains in the worker to ``done`` with
its progress, result and files (the detector flags the jump, the classifier beats the majority
class on held-out sequences), and bad tables are refused in one line before a worker starts."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.apps.serve.conftest import sequences_csv, spiky_csv, wait

from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.serve.classifyjob import split


def _done(client: TestClient, body: dict) -> dict:
    r = client.post("/v1/jobs", json=body)
    assert r.status_code == 200, r.text
    return wait(client, r.json()["id"], lambda s: s["state"] in ("done", "failed", "cancelled"), timeout=120)


def test_a_detect_job_flags_the_jump(client: TestClient, root: Path, tmp_path: Path) -> None:
    body = {
        "task": "detect",
        "csv": spiky_csv(),
        "target": "level",
        "time": "day",
        "epochs": 15,
        "hidden": 12,
    }
    status = _done(client, body)
    assert status["state"] == "done", status.get("error")
    assert status["progress"] and status["progress"][-1]["epoch"] >= 1
    result = status["result"]
    assert result["kind"] == "detect" and result["train_rows"] == 160 and result["window"] == 20
    flagged = np.asarray(result["flags"])
    assert ((flagged >= 245) & (flagged <= 258)).any()  # the jump
    assert ((flagged < 240) | (flagged > 262)).mean() < 0.2  # and little else
    assert set(status["files"]) == {"model.pt", "scores.csv", "report.html"}
    job = status["id"]
    scores = pd.read_csv(io.StringIO(client.get(f"/v1/jobs/{job}/files/scores.csv").text))
    assert list(scores.columns) == ["time", "value", "score", "flag"] and scores["time"][0] == "2020-01-01"
    (tmp_path / "det.pt").write_bytes(client.get(f"/v1/jobs/{job}/files/model.pt").content)
    det = AnomalyDetector.load(tmp_path / "det.pt")
    np.testing.assert_allclose(det.score(scores["value"].to_numpy()), scores["score"], rtol=1e-5)
    assert "scores.png" in status["images"]


def test_a_classify_job_beats_the_majority_class(client: TestClient, tmp_path: Path) -> None:
    body = {"task": "classify", "csv": sequences_csv(), "id": "id", "order": "step", "values": ["x"],
            "label": "label", "architecture": "lstm", "hidden": 16, "epochs": 40}  # fmt: skip
    status = _done(client, body)
    assert status["state"] == "done", status.get("error")
    r = status["result"]
    assert r["classes"] == ["down", "up"] and r["train"] + r["test"] == 48 and r["test"] == 12
    assert r["accuracy"] >= 0.9 and r["majority_accuracy"] == 0.5  # untrained: about 0.5
    confusion = np.asarray(r["confusion"])
    assert confusion.sum() == 12 and np.trace(confusion) == round(r["accuracy"] * 12)
    assert [c["support"] for c in r["per_class"]] == [6, 6]
    assert set(status["files"]) == {"model.pt", "predictions.csv", "report.html"}
    job = status["id"]
    preds = pd.read_csv(io.StringIO(client.get(f"/v1/jobs/{job}/files/predictions.csv").text))
    assert len(preds) == 12 and (preds["label"] == preds["predicted"]).mean() == r["accuracy"]
    (tmp_path / "clf.pt").write_bytes(client.get(f"/v1/jobs/{job}/files/model.pt").content)
    assert SequenceClassifier.load(tmp_path / "clf.pt").meta_["num_classes"] == 2


def test_the_split_is_stratified() -> None:
    y = np.array([0] * 10 + [1] * 3)
    train, test = split(y, 0.25, 0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(13))
    assert (y[test] == 0).sum() == 2 and (y[test] == 1).sum() == 1
    with pytest.raises(ValueError, match="class 1 has 1"):
        split(np.array([0, 0, 1]), 0.25, 0)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"task": "detect", "csv": spiky_csv(), "target": "nope"}, "target: expected one of"),
        ({"task": "detect", "csv": spiky_csv(20, ()), "target": "level"}, "too few to train windows"),
        ({"task": "detect", "csv": "a,b\n1,x\n2,3\n4,5\n", "target": "b"}, "row 1 is 'x'"),
        ({"task": "classify", "csv": sequences_csv(4), "id": "id", "values": ["x"], "label": "step"},
         "step: sequence 's"),
        ({"task": "classify", "csv": sequences_csv(1), "id": "id", "values": ["x"], "label": "label"},
         "every class needs 2 sequences"),
        ({"task": "classify", "csv": sequences_csv(4), "id": "id", "values": ["label"], "label": "label"},
         "values: column 'label' must hold finite numbers"),
    ],
)  # fmt: skip
def test_bad_tables_are_refused_in_one_line(client: TestClient, body: dict, expected: str) -> None:
    r = client.post("/v1/jobs", json=body)
    assert r.status_code == 422 and expected in r.json()["detail"], r.text
    assert "\n" not in r.json()["detail"]

"""The "tune" switch of the classify and detect jobs (a search on the training part only, its
trials written and shown, its best settings used by the run) and the wide (UCR-like) classify
tables (good ones read, bad ones refused in one line)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.apps.serve.conftest import sequences_csv, spiky_csv, wait

from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.serve import tuning
from lstmkit.apps.serve.classifyjob import Sequences, training_split
from lstmkit.apps.serve.detectjob import training_rows

EPOCHS = 20
CLASSIFY = {"task": "classify", "id": "id", "order": "step", "values": ["x"], "label": "label", "test": 0.25,
            "seed": 0}  # fmt: skip


def _rows(array: np.ndarray) -> set[bytes]:
    return {np.ascontiguousarray(r).tobytes() for r in array}


def _trials(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / tuning.TRIALS).read_text().splitlines()]


def _check_best(folder: Path, best: dict[str, Any], metric: str, n: int) -> None:
    """``n`` trial rows with finite scores; ``best`` (also in tuned.json) is the lowest one's."""
    rows = _trials(folder)
    assert [r["trial"] for r in rows] == list(range(n)) and all(r["metric"] == metric for r in rows)
    assert all(np.isfinite(r[metric]) for r in rows)
    low = min(rows, key=lambda r: r[metric])
    assert best[metric] == low[metric] and best["trial"] == low["trial"]
    skip = ("trial", "metric", metric, "seconds")
    assert best["settings"] == {k: v for k, v in low.items() if k not in skip}
    assert json.loads((folder / tuning.TUNED).read_text()) == best


def test_the_classify_search_sees_the_training_split_only(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "input.csv").write_text(sequences_csv(8, 12))
    data, train, test = training_split(tmp_path, CLASSIFY)
    fitted: list[np.ndarray] = []
    scored: list[np.ndarray] = []
    fit, proba = SequenceClassifier.fit, SequenceClassifier.predict_proba
    monkeypatch.setattr(
        SequenceClassifier, "fit", lambda s, x, y, n=None: fitted.append(x) or fit(s, x, y, n)
    )
    monkeypatch.setattr(
        SequenceClassifier, "predict_proba", lambda s, x, n=None: scored.append(x) or proba(s, x, n)
    )
    x, y, lengths = data.x[train], data.y[train], data.lengths[train]
    best = tuning.tune_classifier(x, y, lengths, 2, 0, tmp_path, trials=2, timeout=None)
    _check_best(tmp_path, best, "val_loss", 2)
    assert best["settings"]["architecture"] in tuning.CLASSIFY_ARCHITECTURES
    assert len(fitted) == len(scored) == 2
    for seen_fit, seen_val in zip(fitted, scored):  # a validation part carved from the training split
        assert len(seen_fit) + len(seen_val) == len(train) == 12 and len(seen_val) == 4
        assert _rows(seen_fit) | _rows(seen_val) == _rows(data.x[train])
        assert not (_rows(seen_fit) | _rows(seen_val)) & _rows(data.x[test])


def test_the_search_ends_within_its_time(tmp_path: Path) -> None:
    (tmp_path / "input.csv").write_text(sequences_csv(8, 12))
    data, train, _ = training_split(tmp_path, CLASSIFY)
    started = time.monotonic()
    best = tuning.tune_classifier(
        data.x[train], data.y[train], data.lengths[train], 5000, 0, tmp_path, trials=200, timeout=1.0
    )
    # the running trial's 5000 epochs stop at the deadline (about 1 s for a few hundred here)
    assert time.monotonic() - started < 4 and 1 <= len(_trials(tmp_path)) < 200
    assert best["trial"] in [r["trial"] for r in _trials(tmp_path)]


def test_the_detect_search_sees_the_normal_part_only(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "input.csv").write_text(spiky_csv())
    values = training_rows(tmp_path, {"target": "level", "time": "day", "train": 0.5})
    assert len(values) == 160  # the first half: the jump at 250 is after it
    seen: list[tuple[int, int | None, int]] = []
    score = AnomalyDetector.score

    def recording(self: AnomalyDetector, v: Any, context: Any = None) -> np.ndarray:
        seen.append((len(v), None if context is None else len(context), self.config.window))
        return score(self, v, context)

    monkeypatch.setattr(AnomalyDetector, "score", recording)
    best = tuning.tune_detector(values, 2, tmp_path, trials=2, timeout=None)
    _check_best(tmp_path, best, "val_error", 2)
    # each trial: the threshold on its 120 training rows, then the error on the last 40 normal ones
    assert [s[:2] for s in seen] == [(120, None), (40, 120)] * 2
    assert {s[2] for s in seen} <= set(tuning.detect_windows(160)) == {7, 15, 30}


def test_the_detect_criterion_is_the_held_out_prediction_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = np.sin(np.arange(400) / 4) + 0.01 * rng.standard_normal(400)
    best = tuning.tune_detector(values, EPOCHS, tmp_path, trials=1, timeout=None)
    fit = values[:300]  # the last quarter is held out
    scaled = (values - fit.mean()) / fit.std()
    # in the fit part's deviations: a trained net predicts a sine far better than repeating the
    # last sample does (an untrained one does not)
    naive = np.abs(np.diff(scaled[299:])).mean()
    assert best["val_error"] < 0.5 * naive, (best, naive)


def _done(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/v1/jobs", json=body)
    assert r.status_code == 200, r.text
    return wait(client, r.json()["id"], lambda s: s["state"] in ("done", "failed", "cancelled"), timeout=120)


def test_a_tuned_classify_job_trains_the_best_settings(client: TestClient, tmp_path: Path) -> None:
    body = CLASSIFY | {"csv": sequences_csv(8, 12), "epochs": 3, "tune": True, "trials": 2}
    status = _done(client, body)
    assert status["state"] == "done", status.get("error")
    trials, result = status["trials"], status["result"]
    assert len(trials) == 2 and (result["train"], result["test"]) == (12, 4)
    tuned = result["tuned"]
    assert tuned["metric"] == "val_loss" and tuned["val_loss"] == min(t["val_loss"] for t in trials)
    (tmp_path / "clf.pt").write_bytes(client.get(f"/v1/jobs/{status['id']}/files/model.pt").content)
    config = SequenceClassifier.load(tmp_path / "clf.pt").config
    chosen = tuned["settings"]
    assert (config.architecture, config.hidden_size, config.variant) == (
        chosen["architecture"], chosen["hidden"], chosen["variant"],
    )  # fmt: skip
    assert config.lr == pytest.approx(chosen["lr"])


def test_a_tuned_detect_job_trains_the_best_settings(client: TestClient, tmp_path: Path) -> None:
    body = {"task": "detect", "csv": spiky_csv(), "target": "level", "epochs": 2, "tune": True, "trials": 2}
    status = _done(client, body)
    assert status["state"] == "done", status.get("error")
    tuned = status["result"]["tuned"]
    assert len(status["trials"]) == 2 and tuned["metric"] == "val_error"
    assert status["result"]["window"] == tuned["settings"]["window"]
    (tmp_path / "det.pt").write_bytes(client.get(f"/v1/jobs/{status['id']}/files/model.pt").content)
    config = AnomalyDetector.load(tmp_path / "det.pt").config
    assert (config.window, config.hidden_size, config.variant) == tuple(
        tuned["settings"][k] for k in ("window", "hidden", "variant")
    )


WIDE = "label,t1,t2,t3,t4\nup,1,2,3,4\ndown,4,3,2,1\nup,0,1,2,\ndown,9,8,,\n"


def test_a_wide_table_is_a_row_per_sequence(tmp_path: Path) -> None:
    (tmp_path / "input.csv").write_text(WIDE)
    data = Sequences(tmp_path / "input.csv", {"layout": "wide", "label": "label", "values": []})
    assert data.x.shape == (4, 4, 1) and data.lengths.tolist() == [4, 4, 3, 2]
    assert data.x[2, :, 0].tolist() == [0, 1, 2, 0] and data.x[3, :, 0].tolist() == [9, 8, 0, 0]
    assert data.classes == ["down", "up"] and data.y.tolist() == [1, 0, 1, 0]
    assert data.ids == ["row1", "row2", "row3", "row4"]
    picked = Sequences(tmp_path / "input.csv", {"layout": "wide", "label": "label", "values": ["t2", "t1"]})
    assert picked.x[0, :, 0].tolist() == [2, 1]  # the columns named, in the order named


@pytest.mark.parametrize(
    ("csv", "request_", "expected"),
    [
        (WIDE.replace("up,1,2,3,4", "up,1,x,3,4"), {}, "values: row 1, column 't2' is 'x', expected a"),
        (WIDE.replace("up,1,2,3,4", "up,1,,3,4"), {}, "values: row 1, column 't2' is blank between values"),
        (WIDE.replace("down,4,3,2,1", "down,4,3,2,1,0"), {}, "csv: expected a table with a header row"),
        (WIDE.replace("up,1,2,3,4", "up,,,,"), {}, "csv: row 1 has no values or no 'label'"),
        (WIDE, {"values": ["t9"]}, "values: expected one of"),
        (WIDE, {"label": "kind"}, "label: expected one of"),
        (WIDE, {"layout": "long", "id": None, "values": ["t1"]}, "id: a long table needs its sequence id"),
        (WIDE, {"tune": True}, "tune: a validation part is held out of the training sequences; label: every"),
    ],
)  # fmt: skip
def test_bad_wide_tables_are_refused_in_one_line(
    client: TestClient, csv: str, request_: dict[str, Any], expected: str
) -> None:
    body = {"task": "classify", "csv": csv, "layout": "wide", "label": "label"} | request_
    r = client.post("/v1/jobs", json=body)
    assert r.status_code == 422 and expected in r.json()["detail"], r.text
    assert "\n" not in r.json()["detail"]

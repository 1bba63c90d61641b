"""The training jobs of ``lstmkit serve``: a job runs in a worker process to ``done`` with its
progress and files, bad data is refused in one line, jobs queue one at a time, cancel and a
killed worker end them without a model file, a restarted server marks left-overs failed."""

from __future__ import annotations

import io
import json
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.apps.serve.conftest import wait

from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.serve.jobs import JobStore
from lstmkit.io.atomic import atomic_write_text, pid_alive


def monthly_csv(n: int = 72, drop: tuple[int, ...] = ()) -> str:
    t = np.arange(n)
    frame = pd.DataFrame(
        {
            "month": pd.date_range("2000-01-01", periods=n, freq="MS").strftime("%Y-%m-%d"),
            "sales": 10 + np.sin(2 * np.pi * t / 12) + 0.05 * t,
        }
    )
    return frame.drop(index=list(drop)).to_csv(index=False)


TINY = {"target": "sales", "time": "month", "horizon": 6, "epochs": 4, "hidden": 8, "windows": 2,
        "baselines": ["seasonal_naive"]}  # fmt: skip
LONG = TINY | {"epochs": 2000, "hidden": 16}


def test_preview_detects_the_time_column_frequency_and_gaps(client: TestClient) -> None:
    out = client.post(
        "/v1/preview", content=monthly_csv(drop=(10, 11, 30)), headers={"content-type": "text/csv"}
    )
    assert out.status_code == 200, out.text
    body = out.json()
    assert body["columns"] == ["month", "sales"] and body["numeric"] == ["sales"]
    assert body["time"] == "month" and body["target"] == "sales"
    assert body["time_info"]["gaps"] == 3 and body["time_info"]["frequency"] is None
    assert body["rows"] == 69 and body["first_rows"][0][0] == "2000-01-01"
    regular = client.post("/v1/preview", content=monthly_csv(), headers={"content-type": "text/csv"}).json()
    assert regular["time_info"]["frequency"] == "MS" and regular["time_info"]["gaps"] == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"csv": "just one line"}, "csv"),
        ({"target": "price"}, "price"),
        ({"csv": "month,sales\n2000-01-01,a\n2000-02-01,b\n2000-03-01,c\n"}, "sales"),
        ({"csv": monthly_csv(n=12)}, "too short"),
        ({"horizon": 0}, "horizon"),
        ({"budget_s": -1}, "budget_s"),
    ],
)
def test_bad_data_is_a_one_line_422(client: TestClient, change: dict[str, Any], expected: str) -> None:
    before = len(client.get("/v1/jobs").json()["jobs"])
    out = client.post("/v1/jobs", json={"csv": monthly_csv()} | TINY | change)
    assert out.status_code == 422, out.text
    detail = out.json()["detail"]
    text = detail if isinstance(detail, str) else json.dumps(detail)
    assert expected in text and "\n" not in text and "Traceback" not in text
    assert len(client.get("/v1/jobs").json()["jobs"]) == before  # no job folder left behind
    assert (
        client.post("/v1/preview", content=b"\x00\x01", headers={"content-type": "text/csv"}).status_code
        == 422
    )


def test_a_tiny_job_runs_to_done_with_progress_and_files(client: TestClient, tmp_path: Path) -> None:
    job_id = client.post("/v1/jobs", json={"csv": monthly_csv()} | TINY).json()["id"]
    kinds: list[str] = []
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as events:
        kinds = [line.split(": ", 1)[1] for line in events.iter_lines() if line.startswith("event:")]
    assert kinds[-1] == "end" and "progress" in kinds
    status = client.get(f"/v1/jobs/{job_id}").json()
    assert status["state"] == "done", status
    rows = status["progress"]
    assert len(rows) == kinds.count("progress") >= 2 * TINY["epochs"]
    assert all(np.isfinite(r["train_loss"]) and r["elapsed"] >= 0 for r in rows)
    assert [r["epoch"] for r in rows[: TINY["epochs"]]] == list(range(1, TINY["epochs"] + 1))
    result = status["result"]
    assert [r["model"] for r in result["rows"]] == ["LSTM", "seasonal naive"]
    assert len(result["forecast"]["point"]) == 6
    lower, upper = np.array(result["forecast"]["lower95"]), np.array(result["forecast"]["upper95"])
    assert (lower <= np.array(result["forecast"]["point"])).all() and (
        np.array(result["forecast"]["point"]) <= upper
    ).all()
    assert set(status["files"]) == {"model.pt", "forecast.csv", "report.html"}
    model_bytes = client.get(f"/v1/jobs/{job_id}/files/model.pt")
    assert model_bytes.status_code == 200 and "attachment" in model_bytes.headers["content-disposition"]
    (tmp_path / "model.pt").write_bytes(model_bytes.content)
    frame = pd.read_csv(io.StringIO(monthly_csv()), parse_dates=["month"]).set_index("month")
    series = TimeSeries(frame["sales"].to_numpy(), pd.DatetimeIndex(frame.index, freq="MS"), name="sales")
    again = Forecaster.load(tmp_path / "model.pt").predict(6, series=series)
    csv = pd.read_csv(io.StringIO(client.get(f"/v1/jobs/{job_id}/files/forecast.csv").text))
    np.testing.assert_allclose(csv["point"].to_numpy(), again.point, rtol=1e-4)  # the file is this model's
    np.testing.assert_allclose(result["forecast"]["point"], again.point, rtol=1e-4)
    report = client.get(f"/v1/jobs/{job_id}/files/report.html")
    assert report.status_code == 200 and "<html" in report.text.lower()
    for name in ("status.json", "..%2Fstatus.json", "input.csv", "run"):
        assert client.get(f"/v1/jobs/{job_id}/files/{name}").status_code == 404
    assert client.get("/v1/jobs/../../etc").status_code == 404
    assert client.get("/v1/jobs/0123456789ab").status_code == 404


def _started(client: TestClient, job_id: str) -> dict[str, Any]:
    return wait(client, job_id, lambda s: s["state"] == "running" and s["progress"])


def test_jobs_queue_one_at_a_time_and_cancel(client: TestClient, root: Path) -> None:
    first = client.post("/v1/jobs", json={"csv": monthly_csv()} | LONG).json()["id"]
    second = client.post("/v1/jobs", json={"csv": monthly_csv()} | LONG).json()["id"]
    running = _started(client, first)
    assert client.get(f"/v1/jobs/{second}").json()["state"] == "queued"  # one worker at a time
    assert client.delete(f"/v1/jobs/{second}").json()["state"] == "cancelled"
    out = client.delete(f"/v1/jobs/{first}")
    assert out.status_code == 200 and out.json()["state"] == "cancelled"
    assert not pid_alive(running["pid"]) or _zombie(running["pid"])
    states = {j["id"]: j["state"] for j in client.get("/v1/jobs").json()["jobs"]}
    assert states[first] == states[second] == "cancelled"
    assert client.delete(f"/v1/jobs/{first}").json()["state"] == "cancelled"  # an ended job stays
    assert not list((root / "jobs" / first).rglob("model.pt"))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_a_killed_worker_fails_its_job_without_a_model_file(client: TestClient, root: Path) -> None:
    job_id = client.post("/v1/jobs", json={"csv": monthly_csv()} | LONG).json()["id"]
    running = _started(client, job_id)
    os.kill(running["pid"], signal.SIGKILL)
    status = wait(client, job_id, lambda s: s["state"] != "running", timeout=30)
    assert status["state"] == "failed" and "killed (SIGKILL)" in status["error"]
    assert client.get(f"/v1/jobs/{job_id}/files/model.pt").status_code == 404
    assert not list((root / "jobs" / job_id).rglob("model.pt"))  # nor a half-built run folder's
    assert client.get("/v1/health").json()["status"] == "ok"  # the server lives on


def test_a_restarted_store_marks_left_over_jobs_failed(tmp_path: Path) -> None:
    for job_id, state in (("aaaaaaaaaaaa", "running"), ("bbbbbbbbbbbb", "queued"), ("cccccccccccc", "done")):
        (tmp_path / job_id).mkdir()
        atomic_write_text(tmp_path / job_id / "status.json", json.dumps({"state": state, "pid": 999_999_999}))
    (tmp_path / "aaaaaaaaaaaa" / ".tmp-run-999999999-xyz").mkdir()  # a dead worker's run folder
    (tmp_path / "dddddddddddd").mkdir()
    (tmp_path / "dddddddddddd" / "status.json").write_text("{half a file")
    store = JobStore(tmp_path)
    try:
        states = {j["id"]: (j["state"], j["error"]) for j in store.list()}
    finally:
        store.close()
    assert states["aaaaaaaaaaaa"] == ("failed", "the server stopped before the job ended")
    assert states["bbbbbbbbbbbb"][0] == "failed" and states["cccccccccccc"] == ("done", None)
    assert states["dddddddddddd"] == ("failed", "status.json: unreadable (JSONDecodeError)")
    assert not (tmp_path / "aaaaaaaaaaaa" / ".tmp-run-999999999-xyz").exists()


def test_tune_within_a_time_budget_then_train_the_best_settings(client: TestClient, tmp_path: Path) -> None:
    budget = 1.0  # half for the search; each of the 4 planned trainings then gets 0.7 / 4 of the rest
    request = {"csv": monthly_csv()} | LONG | {"budget_s": budget, "tune": True, "trials": 200}
    job_id = client.post("/v1/jobs", json=request).json()["id"]
    status = wait(client, job_id, lambda s: s["state"] in ("done", "failed", "cancelled"), timeout=90)
    assert status["state"] == "done", status
    trials = status["trials"]
    assert 1 <= len(trials) < 200 and all(np.isfinite(t["MASE"]) for t in trials)  # the budget ended it
    assert [t["trial"] for t in trials] == list(range(len(trials)))
    best = min(trials, key=lambda t: t["MASE"])
    tuned = status["result"]["tuned"]
    keys = ("architecture", "variant", "hidden", "layers", "lr", "window")
    assert tuned["MASE"] == best["MASE"] and tuned["settings"] == {k: best[k] for k in keys}
    (tmp_path / "model.pt").write_bytes(client.get(f"/v1/jobs/{job_id}/files/model.pt").content)
    config = Forecaster.load(tmp_path / "model.pt").config  # the job trained the chosen settings
    assert (config.hidden_size, config.num_layers, config.window) == (
        best["hidden"],
        best["layers"],
        best["window"],
    )
    assert (config.architecture, config.lr) == (best["architecture"], pytest.approx(best["lr"]))
    first = [r for r in status["progress"] if r["training"] == 1]
    epoch_s = float(np.median(np.diff([r["elapsed"] for r in first]))) if len(first) > 1 else 1.0
    # the run's trainings stop too: without the budget, early stopping alone runs >= 20 + 1 epochs
    assert len(first) <= 2 + 0.7 * (budget / 2) / 4 / max(epoch_s, 1e-3) < 21

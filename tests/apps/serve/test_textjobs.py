"""The text jobs of ``lstmkit serve``: a character model trained on an uploaded text in the
worker (progress rows in bits per character, the ``lm`` bundle to download), bad uploads
refused in one line, cancel, and generation from the job's model (streamed == whole)."""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.apps.serve.conftest import wait

from lstmkit.apps.deploy.models import load_model

WORDS = ["the cat", "a dog", "my hen", "one fox"]
VERBS = ["sat on", "ran to", "saw", "hid by"]


def story(n: int = 160, seed: int = 0) -> str:
    """Lines of a tiny grammar: easy for a character model, far from uniform."""
    rng = random.Random(seed)
    return "".join(f"{rng.choice(WORDS)} {rng.choice(VERBS)} {rng.choice(WORDS)}.\n" for _ in range(n))


TINY = {"task": "text", "name": "story.txt", "epochs": 6, "hidden": 32, "bptt": 32, "lr": 1e-2}
LONG = TINY | {"epochs": 500, "hidden": 128}


@pytest.fixture(scope="module")
def done_job(client: TestClient) -> dict[str, Any]:
    job_id = client.post("/v1/jobs", json=TINY | {"text": story()}).json()["id"]
    return wait(client, job_id, lambda s: s["state"] in ("done", "failed", "cancelled"))


def test_the_preview_counts_characters_lines_and_vocabulary(client: TestClient) -> None:
    text = "ab\nba\n" * 50
    out = client.post("/v1/preview/text", content=text.encode())
    assert out.status_code == 200, out.text
    body = out.json()
    assert (body["characters"], body["lines"], body["vocabulary"]) == (300, 100, 3)
    assert body["first_lines"][:2] == ["ab", "ba"] and set(body["common"]) == {"a", "b", "\n"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "text"),
        ("   \n\n  ", "empty"),
        ("abc\x00" * 100, "NUL byte"),
        ("caf\ufffd " * 60, "not UTF-8"),
        ("too short", "expected 200 to 2,000,000 characters, got 9"),
    ],
)
def test_a_bad_text_is_a_one_line_422(client: TestClient, text: str, expected: str) -> None:
    before = len(client.get("/v1/jobs").json()["jobs"])
    out = client.post("/v1/jobs", json=TINY | {"text": text})
    assert out.status_code == 422, out.text
    detail = out.json()["detail"]
    line = detail if isinstance(detail, str) else json.dumps(detail)
    assert expected in line and "\n" not in line and "Traceback" not in line
    assert len(client.get("/v1/jobs").json()["jobs"]) == before  # no job folder left behind
    binary = client.post("/v1/preview/text", content=b"PK\x03\x04\xff\xfe" * 50)
    assert binary.status_code == 422 and "binary data (byte 0xff" in binary.json()["detail"]


def test_a_tiny_text_job_trains_to_done_with_bits_per_character(done_job: dict[str, Any], client: TestClient,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    assert done_job["state"] == "done", done_job
    rows = done_job["progress"]
    assert [r["epoch"] for r in rows] == list(range(1, TINY["epochs"] + 1))
    for r in rows:
        assert r["train_bits"] == pytest.approx(r["train_loss"] / math.log(2))
    result = done_job["result"]
    vocabulary = len(set(story()))
    # an untrained model is near log2(vocabulary) bits per character (4.2 here); this grammar
    # needs far fewer (its words repeat), which a few epochs learn
    assert rows[-1]["train_bits"] < rows[0]["train_bits"]
    assert result["valid_bits"] < math.log2(vocabulary) - 1.5
    assert done_job["files"] == ["model.pt"] and done_job["target"] == "story.txt"
    model = client.get(f"/v1/jobs/{done_job['id']}/files/model.pt")
    assert model.status_code == 200 and "attachment" in model.headers["content-disposition"]
    (tmp_path / "model.pt").write_bytes(model.content)
    loaded = load_model(tmp_path / "model.pt")  # the textgen bundle, whole
    assert loaded.kind.name == "lm" and loaded.payload["extra"]["corpus"] == "story.txt"


def _events(client: TestClient, job_id: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    with client.stream("POST", f"/v1/jobs/{job_id}/generate", json=body | {"stream": True}) as out:
        assert out.status_code == 200 and out.headers["content-type"].startswith("text/event-stream")
        blocks = "".join(out.iter_text()).strip().split("\n\n")
    events = []
    for block in blocks:
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


def test_generate_streams_the_same_text_as_one_answer(done_job: dict[str, Any], client: TestClient) -> None:
    job_id = done_job["id"]
    body = {"prime": "the cat ", "length": 80, "temperature": 0.7, "seed": 3}
    whole = client.post(f"/v1/jobs/{job_id}/generate", json=body)
    assert whole.status_code == 200, whole.text
    text = whole.json()["text"]
    assert len(text) == 80
    events = _events(client, job_id, body)
    assert events[-1][0] == "end" and all(kind == "message" for kind, _ in events[:-1])
    pieces = [data["text"] for _, data in events[:-1]]
    assert len(pieces) > 1 and "".join(pieces) == text  # piece by piece, the same sample
    other = client.post(f"/v1/jobs/{job_id}/generate", json=body | {"seed": 4}).json()["text"]
    assert other != text
    bad = client.post(f"/v1/jobs/{job_id}/generate", json=body | {"temperature": -1})
    assert bad.status_code == 422
    assert client.post("/v1/jobs/0123456789ab/generate", json=body).status_code == 404


def test_a_text_job_cancels_without_a_model(client: TestClient, root: Path) -> None:
    job_id = client.post("/v1/jobs", json=LONG | {"text": story(400)}).json()["id"]
    wait(client, job_id, lambda s: s["state"] == "running" and s["progress"])
    early = client.post(f"/v1/jobs/{job_id}/generate", json={"prime": "a"})
    assert early.status_code == 404 and "model.pt" in early.json()["detail"]  # not done: no model yet
    assert client.delete(f"/v1/jobs/{job_id}").json()["state"] == "cancelled"
    assert not list((root / "jobs" / job_id).rglob("model.pt"))


def test_a_time_budget_ends_a_text_job_with_its_model(client: TestClient) -> None:
    budget = 1.5  # wall-clock seconds; 500 epochs of this text take minutes
    job_id = client.post("/v1/jobs", json=LONG | {"text": story(400), "budget_s": budget}).json()["id"]
    status = wait(client, job_id, lambda s: s["state"] in ("done", "failed", "cancelled"))
    assert status["state"] == "done", status
    assert 1 <= len(status["progress"]) < LONG["epochs"]
    # the bar follows the budget, not the few epochs of 500 done
    assert status["progress"][-1]["fraction"] > 0.5
    assert status["result"]["seconds"] < budget + 1.0  # stopped after the step that spent it
    assert status["files"] == ["model.pt"]


def test_a_forecasting_job_does_not_generate(client: TestClient, root: Path, forecaster_file: Path) -> None:
    folder = root / "jobs" / "feedfeedfeed"  # a finished forecasting job, as its worker leaves it
    (folder / "run").mkdir(parents=True)
    (folder / "status.json").write_text(json.dumps({"state": "done", "task": "forecast"}))
    shutil.copy(forecaster_file, folder / "run" / "model.pt")
    out = client.post("/v1/jobs/feedfeedfeed/generate", json={"prime": "a", "stream": True})
    assert out.status_code == 422 and out.json()["detail"] == (
        "job: feedfeedfeed trained a forecaster; only text jobs generate"
    )

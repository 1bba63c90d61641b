"""What the job tests share: a server with a jobs folder (one per test module) and a poll for a
job's state."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lstmkit.apps.serve.app import ServeSettings, create_app


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve-jobs")
    (root / "models").mkdir()
    return root


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(ServeSettings(str(root / "models"), jobs=str(root / "jobs")))) as c:
        yield c


def wait(
    client: TestClient, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 60.0
) -> dict[str, Any]:
    """Job ``job_id``'s status once ``until(status)`` holds (polled every 0.1 s; an
    ``AssertionError`` after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = client.get(f"/v1/jobs/{job_id}").json()
        if until(status):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id}: timed out, last status {status}")

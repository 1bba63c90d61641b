"""What the job tests share: a server with a jobs folder (one per test module), a poll for a
job's state, and the tables of the detect and classify jobs."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
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


@contextlib.contextmanager
def serving(root: Path, token: str | None = None) -> Iterator[str]:
    """A server (uvicorn, a free port on 127.0.0.1, models and jobs under ``root``, an optional
    bearer token) in a thread of this process; its base URL."""
    import uvicorn

    (root / "models").mkdir(exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(ServeSettings(str(root / "models"), token=token, jobs=str(root / "jobs")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


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


def spiky_csv(n: int = 320, spikes: tuple[int, ...] = (250, 251, 252)) -> str:
    """A daily sine with a little noise and a jump at ``spikes`` (after the training half)."""
    rng = np.random.default_rng(0)
    values = np.sin(np.arange(n) / 5) + 0.05 * rng.standard_normal(n)
    values[list(spikes)] += 2.5
    days = pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d")
    return "day,level\n" + "".join(f"{d},{v:.5f}\n" for d, v in zip(days, values))


def sequences_csv(per_class: int = 24, length: int = 24) -> str:
    """Long format (id, step, x, label): 'up' sequences rise, 'down' ones fall, with noise and
    random offsets, rows shuffled (the step column orders them)."""
    rng = np.random.default_rng(1)
    rows = []
    for n in range(2 * per_class):
        label = ("up", "down")[n % 2]
        slope = (1 if label == "up" else -1) * rng.uniform(0.5, 1.5) / length
        x = rng.normal() + slope * np.arange(length) * 4 + 0.1 * rng.standard_normal(length)
        rows += [f"s{n},{t},{v:.5f},{label}" for t, v in enumerate(x)]
    order = rng.permutation(len(rows))
    return "id,step,x,label\n" + "".join(rows[k] + "\n" for k in order)

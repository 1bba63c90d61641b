"""Training jobs of ``lstmkit serve``: queued, run one at a time in a worker process, cancelled,
and found again after a browser reload or a server restart.

Each job lives in its own folder ``<jobs>/<id>/``: ``request.json`` (the settings),
``input.csv`` (the uploaded table; a text job's ``input.txt``: see
:mod:`lstmkit.apps.serve.textjob`; detect and classify jobs: :mod:`~lstmkit.apps.serve.detectjob`,
:mod:`~lstmkit.apps.serve.classifyjob`), ``status.json`` (``state``: ``queued``, ``running``,
``done``, ``failed`` or ``cancelled``; ``error``: one line when failed; written atomically),
``progress.jsonl`` (a row per epoch, appended by the worker), ``result.json`` (done only),
``log.txt`` and ``run/``, the forecasting app's run folder (``model.pt``, ``forecast.csv``,
``index.html``...; built aside and swapped in whole, so a killed worker leaves no model file).

The worker is a separate process (``multiprocessing``'s ``spawn`` context, one torch thread):
a crash or a kill of it marks its job ``failed`` with the reason and the server goes on. A job a
previous server left ``queued`` or ``running`` is marked ``failed`` ("the server stopped") when
the next server opens the folder.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.runfolder import recover_run_folders

from . import worker
from .classifyjob import ClassifyJobRequest, write_classify_input
from .detectjob import DetectJobRequest, write_detect_input
from .preview import check_forecast_data
from .textjob import TEXT_INPUT, TextJobRequest, check_text
from .tuning import TRIALS
from .worker import INPUT, PROGRESS, REQUEST, RESULT, STATUS, read_json, write_status

__all__ = ["AnyJobRequest", "JobNotFound", "JobRequest", "JobStore"]

log = logging.getLogger("lstmkit.serve")
ENDED = ("done", "failed", "cancelled")
_ID = re.compile(r"[0-9a-f]{12}")
#: the files of a job a client may download: name -> path in the job folder
FILES = {
    "model.pt": "run/model.pt",
    "forecast.csv": "run/forecast.csv",
    "scores.csv": "run/scores.csv",
    "predictions.csv": "run/predictions.csv",
    "report.html": "run/index.html",
}
_IMAGE = re.compile(r"[A-Za-z0-9_\-]+\.png")
BASELINES = ("seasonal_naive", "arima", "ets")


class JobNotFound(LookupError):
    """No job of that id in the jobs folder."""


class JobRequest(BaseModel):
    """A forecasting job: the CSV text, the column to forecast, the time column (``None``:
    row numbers), the horizon (``None``: one season), an optional time budget in seconds for
    the trainings, and the forecaster's size (small defaults: two cores). ``tune``: search the
    forecaster's settings first (at most ``trials`` trials, half the budget; see
    :mod:`lstmkit.apps.serve.tuning`)."""

    model_config = ConfigDict(extra="forbid")
    task: Literal["forecast"] = "forecast"
    csv: Annotated[str, Field(min_length=1)]
    target: Annotated[str, Field(min_length=1, max_length=200)]
    time: Annotated[str | None, Field(max_length=200)] = None
    horizon: Annotated[int | None, Field(ge=1, le=500)] = None
    budget_s: Annotated[float | None, Field(gt=0, le=86_400, allow_inf_nan=False)] = None
    epochs: Annotated[int, Field(ge=1, le=2000)] = 100
    hidden: Annotated[int, Field(ge=1, le=512)] = 32
    ensemble: Annotated[int, Field(ge=1, le=10)] = 1
    windows: Annotated[int, Field(ge=1, le=20)] = 3
    baselines: Annotated[list[Literal["seasonal_naive", "arima", "ets"]], Field(max_length=3)] = list(
        BASELINES
    )
    tune: bool = False
    trials: Annotated[int, Field(ge=1, le=200)] = 20


def _task(body: Any) -> str:
    """The kind of a job request: its ``task`` (``"forecast"`` when left out or unknown)."""
    task = body.get("task", "forecast") if isinstance(body, dict) else getattr(body, "task", "forecast")
    return task if task in ("text", "detect", "classify") else "forecast"


#: what ``POST /v1/jobs`` takes: a forecasting job, or (``"task": "text"``, ``"detect"``,
#: ``"classify"``) a text, detect or classify job
AnyJobRequest = Annotated[
    Annotated[JobRequest, Tag("forecast")]
    | Annotated[TextJobRequest, Tag("text")]
    | Annotated[DetectJobRequest, Tag("detect")]
    | Annotated[ClassifyJobRequest, Tag("classify")],
    Discriminator(_task),
]
TaskRequest = JobRequest | TextJobRequest | DetectJobRequest | ClassifyJobRequest


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Children started inside inherit one OpenMP/MKL thread (set before they import torch)."""
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update(dict.fromkeys(saved, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        return f"the worker process was killed ({signal.Signals(-code).name}) before the job ended"
    return f"the worker process ended (exit code {code}) before the job did"


class JobStore:
    """The jobs under ``folder`` (made if missing) and the worker that runs them, one at a time.

    Args:
        folder: the jobs folder.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.root = Path(folder)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root = self.root.resolve()
        self._queue: collections.deque[str] = collections.deque()
        self._wake = threading.Condition()
        self._running: tuple[str, Any] | None = None
        self._cancelled: set[str] = set()
        self._closed = False
        self._context = multiprocessing.get_context("spawn")
        self._mark_left_overs()
        self._thread = threading.Thread(target=self._loop, name="lstmkit-jobs", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the folder
    @staticmethod
    def _read_status(path: Path) -> dict[str, Any]:
        """A ``status.json``; one that does not read (edited, disk trouble) is a failed job."""
        try:
            return read_json(path)
        except (OSError, ValueError) as exc:
            return {"state": "failed", "error": f"status.json: unreadable ({type(exc).__name__})"}

    def _mark_left_overs(self) -> None:
        for status_file in self.root.glob(f"*/{STATUS}"):
            folder = status_file.parent
            if self._read_status(status_file).get("state") in ("queued", "running"):
                write_status(folder, state="failed", error="the server stopped before the job ended")
                recover_run_folders(folder)  # the temporary run folder of the dead worker goes

    def folder(self, job_id: str) -> Path:
        """The folder of job ``job_id``; :class:`JobNotFound` unless it is one."""
        if not _ID.fullmatch(job_id) or not (self.root / job_id / STATUS).is_file():
            raise JobNotFound(f"job: no job {job_id!r} (see /v1/jobs)")
        return self.root / job_id

    def status(self, job_id: str, since: int = 0, trials_since: int = 0) -> dict[str, Any]:
        """The job's status, its progress rows from row ``since`` on, the tuning trials from
        ``trials_since`` on and (done) its result."""
        folder = self.folder(job_id)
        status = self._read_status(folder / STATUS) | {"id": job_id}
        status["progress"] = self._rows(folder / PROGRESS)[since:]
        status["trials"] = self._rows(folder / TRIALS)[trials_since:]
        if status["state"] == "done" and (folder / RESULT).is_file():
            status["result"] = read_json(folder / RESULT)
            status["files"] = [name for name, rel in FILES.items() if (folder / rel).is_file()]
            status["images"] = sorted(p.name for p in (folder / "run").glob("*.png"))
        return status

    @staticmethod
    def _rows(path: Path) -> list[dict[str, Any]]:
        """The rows of a JSON-lines file a worker appends to (a line being written is left out)."""
        if not path.is_file():
            return []
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):  # a line being written
                rows.append(json.loads(line))
        return rows

    def list(self) -> list[dict[str, Any]]:
        """Every job, newest first: id, state, target, created."""
        jobs = []
        for status_file in self.root.glob(f"*/{STATUS}"):
            s = self._read_status(status_file)
            keep = ("state", "task", "target", "created", "error")
            jobs.append({"id": status_file.parent.name} | {k: s.get(k) for k in keep})
        return sorted(jobs, key=lambda j: j.get("created") or 0, reverse=True)

    def file(self, job_id: str, name: str) -> Path:
        """A downloadable file of the job: ``model.pt``, ``forecast.csv``, ``scores.csv``,
        ``predictions.csv``, ``report.html`` (and
        the report's images); :class:`JobNotFound` for any other name or a missing file."""
        folder = self.folder(job_id)
        rel = FILES.get(name) or (f"run/{name}" if _IMAGE.fullmatch(name) else None)
        if rel is None:
            raise JobNotFound(f"file: expected one of {sorted(FILES)}, got {name!r}")
        path = (folder / rel).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            raise JobNotFound(f"file: job {job_id} has no {name!r} (yet)")
        return path

    # ------------------------------------------------------------------ submitting, cancelling
    @staticmethod
    def _write_input(folder: Path, req: TaskRequest) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check the job's data and write it to the folder: (its settings, its status fields)."""
        if isinstance(req, DetectJobRequest):
            return write_detect_input(folder, req)
        if isinstance(req, ClassifyJobRequest):
            return write_classify_input(folder, req)
        if isinstance(req, TextJobRequest):
            text = req.text.removeprefix("\ufeff")
            check_text(text)
            atomic_write_text(folder / TEXT_INPUT, text)
            return req.model_dump(exclude={"text"}), {"task": "text", "target": req.name}
        atomic_write_text(folder / INPUT, req.csv)
        _, horizon = check_forecast_data(folder / INPUT, req.target, req.time, req.horizon, req.windows)
        settings = req.model_dump(exclude={"csv"}) | {"horizon": horizon}
        return settings, {"task": "forecast", "target": req.target, "horizon": horizon}

    def submit(self, req: TaskRequest) -> str:
        """Check the data (one-line ``ValueError`` when it cannot be trained on), write the
        job's folder and queue it; its id."""
        job_id = uuid.uuid4().hex[:12]
        folder = self.root / job_id
        folder.mkdir()
        try:
            settings, fields = self._write_input(folder, req)
        except Exception:
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
            raise
        atomic_write_text(folder / REQUEST, json.dumps(settings, indent=1))
        write_status(folder, state="queued", created=time.time(), **fields)
        with self._wake:
            self._queue.append(job_id)
            self._wake.notify_all()
        return job_id

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job (the worker is terminated); a job that has ended
        stays as it is. Its status."""
        folder = self.folder(job_id)
        with self._wake:
            if job_id in self._queue:
                self._queue.remove(job_id)
                write_status(folder, state="cancelled", ended=time.time())
            elif self._running is not None and self._running[0] == job_id:
                self._cancelled.add(job_id)
                self._running[1].terminate()
            elif self._read_status(folder / STATUS).get("state") == "queued":
                self._cancelled.add(job_id)  # taken from the queue, not started yet: it will not be
        if job_id in self._cancelled:
            self._wait_ended(job_id)
        return self.status(job_id)

    def _wait_ended(self, job_id: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.status(job_id)["state"] not in ENDED:
            time.sleep(0.05)

    def close(self) -> None:
        """Stop the worker (its job becomes ``failed``: the server stopped) and the loop."""
        with self._wake:
            self._closed = True
            running = self._running
            self._wake.notify_all()
        if running is not None:
            running[1].terminate()
        self._thread.join(timeout=30)

    # ------------------------------------------------------------------ the worker loop
    def _next(self) -> str | None:
        with self._wake:
            while not self._queue and not self._closed:
                self._wake.wait()
            return None if self._closed else self._queue.popleft()

    def _loop(self) -> None:
        while (job_id := self._next()) is not None:
            try:
                self._run_one(job_id)
            except Exception as exc:  # the loop must go on for the next jobs
                log.exception("serve: job %s", job_id)
                write_status(self.root / job_id, state="failed", error=f"the server failed: {exc}")

    def _run_one(self, job_id: str) -> None:
        folder = self.root / job_id
        process = self._context.Process(target=worker.work, args=(str(folder),), name=f"lstmkit-job-{job_id}")
        with self._wake:
            if job_id in self._cancelled:
                self._cancelled.discard(job_id)
                write_status(folder, state="cancelled", ended=time.time())
                return
            with _one_thread():
                process.start()
            self._running = (job_id, process)
            write_status(folder, state="running", started=time.time(), pid=process.pid)
        process.join()
        with self._wake:
            self._running = None
            cancelled = job_id in self._cancelled
            self._cancelled.discard(job_id)
            closed = self._closed
        if read_json(folder / STATUS).get("state") in ENDED:
            return  # the worker recorded how it ended
        recover_run_folders(folder)  # a half-built run folder goes
        if cancelled:
            write_status(folder, state="cancelled", ended=time.time())
        else:
            reason = "the server stopped before the job ended" if closed else _exit_reason(process.exitcode)
            write_status(folder, state="failed", error=reason, ended=time.time())

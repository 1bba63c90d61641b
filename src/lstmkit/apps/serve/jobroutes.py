"""The routes of the browser app and its training jobs (see :mod:`lstmkit.apps.serve.jobs`):

* ``POST /v1/preview`` (a CSV body) -> columns, the detected time column, frequency, gaps and
  the first rows
* ``POST /v1/preview/text`` (a text file's bytes) -> characters, lines, vocabulary, first lines
* ``POST /v1/jobs`` (:class:`~lstmkit.apps.serve.jobs.JobRequest`, or a text, detect or
  classify job: :class:`~lstmkit.apps.serve.textjob.TextJobRequest`,
  :class:`~lstmkit.apps.serve.detectjob.DetectJobRequest`,
  :class:`~lstmkit.apps.serve.classifyjob.ClassifyJobRequest`) -> ``{"id", "state"}``;
  ``GET /v1/jobs``; ``GET /v1/jobs/{id}`` (``?since=N``: progress rows from N on);
  ``GET /v1/jobs/{id}/events`` (``?since=N``; server-sent events: ``progress`` per epoch
  row, its row number as the event id, ``trial`` per finished tuning trial, ``status`` on
  each change of state, ``end`` when the job has ended); ``DELETE /v1/jobs/{id}`` (cancel);
  ``GET /v1/jobs/{id}/files/{name}`` (``model.pt``, ``forecast.csv``, ``scores.csv``,
  ``predictions.csv``, ``report.html``)
* ``/app/``: the page (``static/``: every asset local)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from .jobs import ENDED, AnyJobRequest, JobStore
from .preview import preview
from .textjob import text_preview

__all__ = ["job_routes", "no_jobs", "page_routes"]

STATIC = Path(__file__).parent / "static"
#: seconds between looks at a job's files while streaming its events
POLL_S = 0.25
_TYPES = {".pt": "application/octet-stream", ".csv": "text/csv", ".html": "text/html", ".png": "image/png"}


def _sse(event: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


async def _job_events(jobs: JobStore, job_id: str, since: int, request: Request) -> AsyncIterator[str]:
    """Progress rows from row ``since`` on as they come (each with its row number as the event
    id) and the state on each change, until the job ends."""
    seen, trials, state = since, 0, None
    while True:
        status = await asyncio.to_thread(jobs.status, job_id, seen, trials)
        for row in status.pop("trials"):
            yield _sse("trial", row)
            trials += 1
        for row in status.pop("progress"):
            yield _sse("progress", row, seen)
            seen += 1
        if status["state"] != state:
            state = status["state"]
            yield _sse("status", status)
        if state in ENDED:
            yield _sse("end", {"state": state})
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)


def no_jobs() -> HTTPException:
    return HTTPException(404, detail="jobs: this server runs no training jobs (lstmkit serve --jobs DIR)")


def job_routes(app: FastAPI, jobs: JobStore | None, guard: list[Any]) -> None:
    """Add the preview and job routes (answering 404 when ``jobs`` is ``None``)."""

    def store() -> JobStore:
        if jobs is None:
            raise no_jobs()
        return jobs

    @app.post("/v1/preview", dependencies=guard)
    async def preview_csv(request: Request) -> dict[str, Any]:
        return preview((await request.body()).decode("utf-8", errors="replace"))

    @app.post("/v1/preview/text", dependencies=guard)
    async def preview_text(request: Request) -> dict[str, Any]:
        return text_preview(await request.body())

    @app.post("/v1/jobs", dependencies=guard)
    def submit(req: AnyJobRequest) -> dict[str, Any]:
        job_id = store().submit(req)
        return {"id": job_id, "state": "queued"}

    @app.get("/v1/jobs", dependencies=guard)
    def list_jobs() -> dict[str, Any]:
        return {"jobs": store().list()}

    @app.get("/v1/jobs/{job_id}", dependencies=guard)
    def job(job_id: str, since: int = 0) -> dict[str, Any]:
        return store().status(job_id, max(0, since))

    @app.get("/v1/jobs/{job_id}/events", dependencies=guard)
    def events(job_id: str, request: Request, since: int = 0) -> StreamingResponse:
        store().folder(job_id)  # 404 before the stream begins
        last = request.headers.get("last-event-id", "")  # a reconnecting EventSource goes on
        since = max(since, int(last) + 1 if last.isdigit() else 0)
        return StreamingResponse(_job_events(store(), job_id, since, request), media_type="text/event-stream")

    @app.delete("/v1/jobs/{job_id}", dependencies=guard)
    def cancel(job_id: str) -> dict[str, Any]:
        status = store().cancel(job_id)
        status.pop("progress", None)
        return status

    @app.get("/v1/jobs/{job_id}/files/{name}", dependencies=guard)
    def download(job_id: str, name: str) -> FileResponse:
        path = store().file(job_id, name)
        inline = name.endswith((".html", ".png"))
        return FileResponse(
            path,
            media_type=_TYPES[path.suffix],
            filename=None if inline else f"{job_id}-{name}",
            content_disposition_type="inline" if inline else "attachment",
        )


def page_routes(app: FastAPI) -> None:
    """The browser app's page at ``/app/`` (``/app`` and ``/`` lead there)."""
    app.mount("/app", StaticFiles(directory=STATIC, html=True), name="app")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/app/")

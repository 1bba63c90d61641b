"""The FastAPI application of ``lstmkit serve``: routes, errors, limits and the bearer token.

Routes (all JSON unless said; OpenAPI at ``/openapi.json``, its pages at ``/docs`` from local
assets, no internet needed):

* ``GET /v1/health``; ``GET /v1/models`` (names); ``GET /v1/models/{name}`` (kind and settings)
* ``POST /v1/models/{name}/forecast`` (JSON, or a CSV body with ``?column=&time=``;
  ``?format=csv`` answers CSV), ``/classify``, ``/detect``, ``/generate`` (``"stream": true``:
  server-sent events, one per piece of text), ``/sentiment``, ``/translate``
* ``POST /v1/sessions`` ``{"model"}`` -> ``{"id"}``; ``POST /v1/sessions/{id}/frames``
  ``{"text"}`` -> the next-token distribution (a language model), ``{"values"}`` -> the
  forecast after them (a forecaster) or their settled anomaly scores (a detector; see
  :mod:`lstmkit.apps.serve.sessions`); ``DELETE /v1/sessions/{id}``
* the browser app at ``/app/``, ``POST /v1/preview`` and the training jobs ``/v1/jobs...``
  (:mod:`lstmkit.apps.serve.jobroutes`); ``POST /v1/jobs/{id}/generate`` (a
  :class:`~lstmkit.apps.serve.schemas.GenerateRequest`) samples from a finished text job's
  model as ``/generate`` does

Errors answer ``{"detail": "one line"}``: 404 unknown model or session, 413 body over the
limit, 415 a body type the route does not read, 422 bad input, 429 sessions full, 401 without
the token (when one is set), 500 otherwise (logged; no traceback leaves the server).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from lstmkit.apps.deploy.models import load_model

from . import handlers
from .jobroutes import job_routes, no_jobs, page_routes
from .jobs import JobNotFound, JobStore
from .limits import BodyLimit, token_guard
from .schemas import (
    ClassifyRequest,
    DetectRequest,
    ForecastRequest,
    GenerateRequest,
    SessionFeed,
    SessionRequest,
    TextsRequest,
)
from .sessions import SessionNotFound, SessionsFull, SessionStore
from .store import ModelNotFound, ModelStore

__all__ = ["ServeSettings", "create_app"]

log = logging.getLogger("lstmkit.serve")


@dataclass(frozen=True)
class ServeSettings:
    """What a server offers and allows.

    Attributes:
        models: the folder of model files served.
        token: the bearer token every ``/v1`` request must carry (``None``: none needed).
        cors: origins allowed to call from a browser (empty: CORS off).
        max_body: the largest request body, bytes.
        max_sessions, session_idle_s: the cap on live streaming sessions and their idle expiry.
        jobs: the folder of the browser app's training jobs (made if missing; ``None``: the
            server runs no jobs).
    """

    models: str
    token: str | None = None
    cors: tuple[str, ...] = ()
    max_body: int = 8 * 2**20
    max_sessions: int = 64
    session_idle_s: float = 600.0
    jobs: str | None = None


_ERRORS: dict[type[Exception], int] = {
    ModelNotFound: 404,
    SessionNotFound: 404,
    JobNotFound: 404,
    SessionsFull: 429,
    ValueError: 422,  # WrongInput and the apps' own one-line input errors
}


def _status(exc: Exception) -> int | None:
    return next((code for cls, code in _ERRORS.items() if isinstance(exc, cls)), None)


def _one_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _install_errors(app: FastAPI) -> None:
    @app.middleware("http")
    async def answer_errors(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        try:
            return await call_next(request)
        except Exception as exc:  # the apps' errors become their status; others 500, logged
            code = _status(exc)
            if code is None:
                log.exception("serve: %s %s failed", request.method, request.url.path)
                code = 500
            return JSONResponse({"detail": _one_line(exc)}, status_code=code)


def _docs(app: FastAPI) -> None:
    """Swagger UI from the swagger-ui-bundle package's files (no CDN)."""
    import swagger_ui_bundle

    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="lstmkit serve",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="",
        )


def _events(pieces: Iterator[str]) -> Iterator[str]:
    """Server-sent events: ``data: {"text": ...}`` per piece, then ``event: end`` (or ``error``)."""
    try:
        for piece in pieces:
            yield f"data: {json.dumps({'text': piece})}\n\n"
    except Exception as exc:  # the stream has begun: the error travels as an event
        yield f"event: error\ndata: {json.dumps({'detail': _one_line(exc)})}\n\n"
        return
    yield "event: end\ndata: {}\n\n"


def create_app(settings: ServeSettings) -> FastAPI:
    """The application serving ``settings.models`` (see the module docstring for the routes)."""
    store = ModelStore(settings.models)
    sessions = SessionStore(settings.max_sessions, settings.session_idle_s)
    jobs = JobStore(settings.jobs) if settings.jobs is not None else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if jobs is not None:
            jobs.close()  # the running worker stops with the server

    app = FastAPI(title="lstmkit serve", docs_url=None, redoc_url=None, lifespan=lifespan)
    _install_errors(app)
    app.add_middleware(BodyLimit, limit=settings.max_body)
    if settings.cors:
        app.add_middleware(
            CORSMiddleware, allow_origins=list(settings.cors), allow_methods=["*"], allow_headers=["*"]
        )
    _docs(app)
    guard = [Depends(token_guard(settings.token))]

    @app.get("/v1/health", dependencies=guard)
    def health() -> dict[str, Any]:
        return {"status": "ok", "models": len(store.names()), "sessions": len(sessions)}

    @app.get("/v1/models", dependencies=guard)
    def models() -> dict[str, Any]:
        return {"models": store.names()}

    @app.get("/v1/models/{name:path}", dependencies=guard)
    def model(name: str) -> dict[str, Any]:
        loaded = store.get(name)
        return {"name": name, "kind": loaded.kind.name, "command": loaded.kind.command,
                "config": json.loads(json.dumps(loaded.config, default=str))}  # fmt: skip

    _model_routes(app, store, guard)
    _session_routes(app, store, sessions, guard)
    job_routes(app, jobs, guard)
    _job_generate_route(app, jobs, guard)
    page_routes(app)
    return app


def _model_routes(app: FastAPI, store: ModelStore, guard: list[Any]) -> None:
    @app.post("/v1/models/{name:path}/forecast", dependencies=guard)
    async def forecast(name: str, request: Request, column: str | None = None, time: str | None = None,
                       horizon: int | None = None, format: str = "json") -> Response:  # fmt: skip
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
        body = await request.body()
        if kind == "text/csv":
            req = handlers.forecast_csv(body.decode("utf-8", errors="replace"), column, time, horizon)
        elif kind == "application/json":
            try:
                req = ForecastRequest.model_validate_json(body)
            except ValidationError as exc:
                raise HTTPException(
                    422, detail=exc.errors(include_url=False, include_context=False, include_input=False)
                ) from None
        else:
            raise HTTPException(
                415, detail=f"content-type: expected application/json or text/csv, got {kind!r}"
            )
        out = handlers.forecast(store.get(name), req)
        if format == "csv":
            return Response(_forecast_csv(out), media_type="text/csv")
        if format != "json":
            raise HTTPException(422, detail=f"format: expected json or csv, got {format!r}")
        return JSONResponse(out)

    @app.post("/v1/models/{name:path}/classify", dependencies=guard)
    def classify(name: str, req: ClassifyRequest) -> dict[str, Any]:
        return handlers.classify(store.get(name), req)

    @app.post("/v1/models/{name:path}/detect", dependencies=guard)
    def detect(name: str, req: DetectRequest) -> dict[str, Any]:
        return handlers.detect(store.get(name), req)

    @app.post("/v1/models/{name:path}/generate", dependencies=guard)
    def generate(name: str, req: GenerateRequest) -> Response:
        return _generated(handlers.generate(store.get(name), req), req.stream)

    @app.post("/v1/models/{name:path}/sentiment", dependencies=guard)
    def sentiment(name: str, req: TextsRequest) -> dict[str, Any]:
        return handlers.sentiment(store.get(name), req)

    @app.post("/v1/models/{name:path}/translate", dependencies=guard)
    def translate(name: str, req: TextsRequest) -> dict[str, Any]:
        return handlers.translate(store.get(name), req)


def _generated(pieces: Iterator[str], stream: bool) -> Response:
    """The generated text: server-sent events as it comes, or ``{"text"}`` at the end."""
    if stream:
        return StreamingResponse(_events(pieces), media_type="text/event-stream")
    return JSONResponse({"text": "".join(pieces)})


def _job_generate_route(app: FastAPI, jobs: JobStore | None, guard: list[Any]) -> None:
    @app.post("/v1/jobs/{job_id}/generate", dependencies=guard)
    def generate_from_job(job_id: str, req: GenerateRequest) -> Response:
        if jobs is None:
            raise no_jobs()
        loaded = load_model(jobs.file(job_id, "model.pt"))  # 404 until the job is done
        if loaded.kind.name != "lm":
            raise handlers.WrongInput(f"job: {job_id} trained a {loaded.kind.name}; only text jobs generate")
        return _generated(handlers.generate(loaded, req), req.stream)


def _session_routes(app: FastAPI, store: ModelStore, sessions: SessionStore, guard: list[Any]) -> None:
    @app.post("/v1/sessions", dependencies=guard)
    def open_session(req: SessionRequest) -> dict[str, Any]:
        return {"id": sessions.open(req, store.get(req.model)), "model": req.model}

    @app.post("/v1/sessions/{sid}/frames", dependencies=guard)
    def feed(sid: str, req: SessionFeed) -> dict[str, Any]:
        return sessions.get(sid).feed(req)

    @app.delete("/v1/sessions/{sid}", dependencies=guard)
    def close(sid: str) -> dict[str, Any]:
        sessions.close(sid)
        return {"closed": sid}


def _forecast_csv(out: dict[str, Any]) -> str:
    """The forecast as CSV: index, point, then a column per quantile level."""
    buf = io.StringIO()
    levels = [f"q{level:g}" for level in out["levels"]]
    buf.write(",".join(["index", "point", *levels]) + "\n")
    for i, (stamp, point) in enumerate(zip(out["index"], out["point"])):
        buf.write(",".join([stamp, repr(point), *(repr(q) for q in out["quantiles"][i])]) + "\n")
    return buf.getvalue()


def settings_dict(settings: ServeSettings) -> dict[str, Any]:
    """The settings without the token (for logs)."""
    return {k: ("***" if k == "token" and v else v) for k, v in asdict(settings).items()}

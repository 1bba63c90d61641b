"""``lstmkit serve``: an HTTP API over the saved models of a folder. The work is
:func:`lstmkit.apps.serve.job.serve`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.serve import job
from lstmkit.apps.serve.app import ServeSettings

HELP = "serve saved models over HTTP (forecast, classify, detect, generate, sentiment, translate)"
DESCRIPTION = """
Serve every model file (*.pt) under --models over HTTP: POST /v1/models/<name>/forecast (JSON or
CSV), /classify, /detect, /generate (server-sent events with "stream": true), /sentiment,
/translate, and streaming sessions of character language models (/v1/sessions). <name> is the file's
path under --models without .pt (runs/airline/model.pt under --models runs: airline/model). The
API's description is at /docs and /openapi.json. The browser app is at /app/: upload a CSV, train a
forecaster in a worker process (jobs kept under --jobs), follow it, download the results. Listens on
127.0.0.1 unless --host says otherwise; any other host needs --token, which every request must then
carry as 'Authorization: Bearer <token>'.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "serve", HELP, DESCRIPTION, main)
    p.add_argument("--models", default="runs", help="the folder of model files served (default runs)")
    p.add_argument(
        "--jobs",
        default="runs/app-jobs",
        help="the folder of the browser app's training jobs (made if missing; default runs/app-jobs)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--token", default=None, help="bearer token requests must carry (required off 127.0.0.1)")
    p.add_argument(
        "--cors", type=opt.comma_list, default=[], help="comma-separated origins allowed (default none)"
    )
    p.add_argument("--max-body-mb", type=float, default=8.0, help="largest request body in MiB (default 8)")
    p.add_argument(
        "--max-sessions", type=int, default=64, help="live streaming sessions at most (default 64)"
    )
    p.add_argument("--session-idle", type=float, default=600.0, help="seconds before an idle session expires")
    p.add_argument("--threads", type=int, default=1, help="torch threads the requests share (default 1)")


def main(args: argparse.Namespace) -> int:
    settings = ServeSettings(
        models=args.models,
        token=args.token,
        cors=tuple(args.cors),
        max_body=int(args.max_body_mb * 2**20),
        max_sessions=args.max_sessions,
        session_idle_s=args.session_idle,
        jobs=args.jobs,
    )
    job.serve(job.ServeJobConfig(settings, host=args.host, port=args.port, threads=args.threads))
    return 0

"""Load and fault study of ``lstmkit serve`` on 127.0.0.1 only: ``make bench-serve``.

Builds three small models in a temporary folder (a forecaster on the airline passengers, a
character LM on a slice of the KJV Bible, an anomaly detector on a noisy sine; a few seconds of
training each), starts ``lstmkit serve`` on a free
local port as a child process (one torch thread), then, bounded in count and time:

1. ``--requests`` forecast requests from ``--clients`` concurrent clients: latency p50 / p90 / p99,
   errors, the server's resident memory before and after;
2. ``--sessions`` concurrent streaming sessions of the character LM, each reading ``--pieces``
   characters one request each (one streaming step of the LSTM): latency per step, errors, memory;
   the same for sessions of the forecaster (one new month per request: the forecast after it) and
   of an anomaly detector (one new sample per request: the scores it settles);
3. faults: an oversized body (413), malformed JSON (422), NaN (422), a path outside the folder
   (404), an unknown session (404); then the server must still answer ``/v1/health``.

Prints a markdown report (``--markdown FILE`` also writes it). Latencies mean something only on a
quiet machine: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from common import load_average

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(
    base: str, method: str, path: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, Any, float]:
    """(status, decoded JSON or text, seconds) of one request; status 0: the connection was
    closed before an answer could be read (a server refusing a body mid-upload does so)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(
        base + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError) as e:  # the server closed the connection
        status, text = 0, str(e)
    seconds = time.perf_counter() - start
    try:
        return status, json.loads(text), seconds
    except json.JSONDecodeError:
        return status, text, seconds


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


SIGNAL = [math.sin(t / 6) + 0.1 * math.sin(t * 1.7) for t in range(1200)]


def _models(folder: Path) -> list[float]:
    """Train the three models into ``folder``; the airline history the forecast requests send."""
    from lstmkit.apps.anomaly.estimator import AnomalyDetector
    from lstmkit.apps.forecasting.datasets import load_series
    from lstmkit.apps.forecasting.estimator import Forecaster
    from lstmkit.apps.language.bundle import save_bundle
    from lstmkit.apps.language.corpora import load_text_corpus
    from lstmkit.apps.language.lm import LanguageModel
    from lstmkit.apps.language.tokenizers import CharTokenizer

    torch.manual_seed(0)
    series = load_series("airline")
    Forecaster(horizon=12, window=24, hidden_size=32, max_epochs=30, progress=False).fit(series).save(
        folder / "airline.pt"
    )
    text = load_text_corpus("kjv").train[:20000]
    tok = CharTokenizer().fit([text])
    lm = LanguageModel(len(tok), embed_dim=32, hidden_size=128, num_layers=2).eval()
    save_bundle(folder / "kjv.pt", kind="lm", model=lm, tokenizers={"text": tok}, extra={"corpus": "kjv"})
    det = AnomalyDetector(window=32, hidden_size=32, max_epochs=5, progress=False).fit(SIGNAL[:800])
    det.save(folder / "detector.pt")
    return [float(v) for v in series.values]


def _percentiles(seconds: list[float]) -> str:
    ms = sorted(1000 * s for s in seconds)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else ms * 99
    return f"{q[49]:.1f} / {q[89]:.1f} / {q[98]:.1f}"


def _forecasts(base: str, history: list[float], n: int, clients: int) -> tuple[list[float], int]:
    body = {"values": history, "start": "1949-01-01"}
    with ThreadPoolExecutor(clients) as pool:
        out = list(pool.map(lambda _: _call(base, "POST", "/v1/models/airline/forecast", body), range(n)))
    return [s for _, _, s in out], sum(status != 200 for status, _, _ in out)


def _sessions(
    base: str, n: int, pieces: int, opening: dict[str, Any], frame: Callable[[int], dict[str, Any]]
) -> tuple[list[float], int]:
    """``n`` concurrent sessions opened with ``opening``, each posting ``frame(k)`` for k <
    ``pieces``: the seconds of each post and the errors."""

    def one(_: int) -> tuple[list[float], int]:
        status, opened, s0 = _call(base, "POST", "/v1/sessions", opening)
        if status != 200:
            return [s0], 1
        times, errors = [], 0
        for k in range(pieces):
            status, _, s = _call(base, "POST", f"/v1/sessions/{opened['id']}/frames", frame(k))
            times.append(s)
            errors += status != 200
        errors += _call(base, "DELETE", f"/v1/sessions/{opened['id']}")[0] != 200
        return times, errors

    with ThreadPoolExecutor(n) as pool:
        out = list(pool.map(one, range(n)))
    return [s for times, _ in out for s in times], sum(e for _, e in out)


TEXT = "And God said, Let there be light: and there was light. " * 4


def _session_studies(
    base: str, history: list[float]
) -> list[tuple[str, dict[str, Any], Callable[[int], dict[str, Any]]]]:
    """(what, opening, frame) of each kind of session: one character, month or sample per post."""
    months = {"model": "airline", "start": "1949-01-01", "freq": "MS"}
    return [
        ("LM session step (1 character, 2x128 LSTM)", {"model": "kjv"},
         lambda k: {"text": TEXT[k % len(TEXT)]}),
        ("forecaster session step (97 months, then 1 per post; 12 out)", months,
         lambda k: {"values": history[: 96 + 1] if k == 0 else [history[96 + k % 48]]}),
        ("detector session step (1 sample, 32-unit LSTM)", {"model": "detector"},
         lambda k: {"values": [SIGNAL[800 + k % 400]]}),
    ]  # fmt: skip


def _faults(base: str) -> list[tuple[str, int, int]]:
    """(what, expected status, status) of each bad request."""
    big = b'{"values": [' + b"1.0," * 3_000_000 + b"1.0]}"
    cases = [
        (
            "12 MB body (0: closed mid-upload after the 413)",
            413,
            _call(base, "POST", "/v1/models/airline/forecast", raw=big)[0],
        ),
        ("malformed JSON", 422, _call(base, "POST", "/v1/models/airline/forecast", raw=b'{"values": [1,')[0]),
        (
            "NaN in values",
            422,
            _call(base, "POST", "/v1/models/airline/forecast", raw=b'{"values": [1, NaN, 2]}')[0],
        ),
        ("path outside the folder", 404, _call(base, "GET", "/v1/models/..%2F..%2Fetc%2Fpasswd")[0]),
        ("unknown session", 404, _call(base, "POST", "/v1/sessions/nope/frames", {"text": "a"})[0]),
    ]
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description="Load and fault study of lstmkit serve (127.0.0.1 only).")
    parser.add_argument("--requests", type=int, default=400, help="forecast requests (default 400)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--sessions", type=int, default=8, help="concurrent sessions of each kind (default 8)"
    )
    parser.add_argument("--pieces", type=int, default=50, help="steps each session reads (default 50)")
    parser.add_argument("--markdown", default=None, help="also write the report to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        history = _models(Path(tmp))
        port = _free_port()
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        cmd = [
            str(Path(sys.executable).with_name("lstmkit")),
            "serve",
            "--models",
            tmp,
            "--port",
            str(port),
            "--threads",
            "1",
        ]
        server = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            report = _study(base, server.pid, history, args)
        finally:
            server.terminate()
            server.wait(30)
    print(report)
    if args.markdown:
        Path(args.markdown).write_text(report + "\n", encoding="utf-8")
    return 0


def _study(base: str, pid: int, history: list[float], args: argparse.Namespace) -> str:
    for _ in range(240):  # the server imports torch and the apps first
        if _call(base, "GET", "/v1/health")[0] == 200:
            break
        time.sleep(0.5)
    else:
        raise SystemExit("lstmkit serve did not answer within 2 minutes")
    _call(
        base, "POST", "/v1/models/airline/forecast", {"values": history, "start": "1949-01-01"}
    )  # load once
    _call(base, "POST", "/v1/sessions", {"model": "kjv"})
    rss0 = _rss_mb(pid)
    f_times, f_err = _forecasts(base, history, args.requests, args.clients)
    rss1 = rss_forecasts = _rss_mb(pid)
    session_rows = []
    for what, opening, frame in _session_studies(base, history):
        s_times, s_err = _sessions(base, args.sessions, args.pieces, opening, frame)
        rss2 = _rss_mb(pid)
        session_rows.append(
            f"| {what} | {args.sessions} sessions x {args.pieces} steps | "
            f"{_percentiles(s_times)} | {s_err} | {rss1:.0f} -> {rss2:.0f} |"
        )
        rss1 = rss2
    faults = _faults(base)
    alive = _call(base, "GET", "/v1/health")[0] == 200
    rows = [
        f"| forecast (airline, 144 values in, 12 out) | {args.requests} from {args.clients} clients | "
        f"{_percentiles(f_times)} | {f_err} | {rss0:.0f} -> {rss_forecasts:.0f} |",
        *session_rows,
    ]
    accepted = {413: (413, 0)}  # a refused upload may end in a closed connection before the answer
    fault_rows = [
        f"| {what} | {want} | {got} | {'yes' if got in accepted.get(want, (want,)) else 'NO'} |"
        for what, want, got in faults
    ]
    return "\n".join(
        [
            f"`python benchmarks/serve_load.py` ({time.strftime('%Y-%m-%d %H:%M')}, "
            f"load average {load_average()}, one server process, one torch thread)",
            "",
            "| requests | count | latency p50 / p90 / p99 ms | errors | server RSS MB |",
            "|---|---|---:|---:|---|",
            *rows,
            "",
            "| fault | expected | answered | as expected |",
            "|---|---:|---:|---|",
            *fault_rows,
            "",
            f"Server alive afterwards: {'yes' if alive else 'NO'}.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

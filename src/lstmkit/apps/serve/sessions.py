"""Streaming sessions: a model's state kept between requests.

Three kinds, by the model served:

* a recurrent language model (``lm``): each piece of text advances the LSTM from where the last
  one left it (a piece costs its own length, not the history's); the answer is the
  distribution of the next token;
* a forecaster: each post adds observations to the session's history; the answer is the
  forecast after it (:func:`lstmkit.apps.serve.handlers.forecast`, the forecaster's own
  ``predict``, so it equals one call on the whole history);
* a detector of the forecast method: each post is scored by
  :class:`lstmkit.apps.anomaly.stream.ScoreStream` (one LSTM step per sample, the state
  carried); the answer is the scores settled so far (a centred smoothing of ``k`` samples holds
  the last ``k - 1 - k // 2`` back until the samples after them come, or ``"end": true``).

Sessions idle longer than ``idle_s`` expire; at most ``max_sessions`` live at once (a new one is
refused with :class:`SessionsFull` while that many are in use), so the memory they hold is
bounded by the cap times one session (a model state, or a forecaster's history of at most
:data:`~lstmkit.apps.serve.schemas.MAX_STEPS` values).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lstmkit.apps.anomaly.stream import ScoreStream
from lstmkit.apps.deploy.models import Loaded
from lstmkit.apps.language.lm import LanguageModel

from .handlers import WrongInput, forecast
from .schemas import MAX_STEPS, ForecastRequest, SessionFeed, SessionRequest

__all__ = ["Session", "SessionNotFound", "SessionStore", "SessionsFull"]


class SessionNotFound(LookupError):
    """No live session of that id (never made, closed, or expired)."""


class SessionsFull(RuntimeError):
    """The cap on live sessions is reached."""


def _needs(req: SessionFeed, name: str, kind: str) -> Any:
    value = getattr(req, name)
    if value is None:
        raise WrongInput(f"{name}: a {kind} session reads {name!r}, the request has none")
    return value


@dataclass
class Session:
    """One model's state between posts (see the module docstring for the three kinds)."""

    model: str
    loaded: Loaded
    request: SessionRequest
    state: Any = None
    tokens: int = 0
    last_used: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def feed(self, req: SessionFeed) -> dict[str, Any]:
        """Read the post's text or values; the answer of the session's kind."""
        with self.lock:
            self.last_used = time.monotonic()
            kind = self.loaded.kind.name
            if kind == "forecaster":
                return self._forecast(req)
            if kind == "detector":
                return self._detect(req)
            return self._next_token(_needs(req, "text", "language-model"), req.top)

    def _next_token(self, text: str, top: int) -> dict[str, Any]:
        """Read ``text``; the ``top`` most likely next tokens with their probabilities."""
        net, tokenizer = self.loaded.nets[0], self.loaded.tokenizers["text"]
        assert isinstance(net, LanguageModel)
        ids = tokenizer.encode(text)
        if not ids:
            raise WrongInput(f"text: nothing this model's tokenizer reads in {text[:40]!r}")
        with torch.inference_mode():
            logits, self.state = net(torch.tensor([ids], dtype=torch.long), self.state)  # (1, L, V)
            self.tokens += len(ids)
        probs = torch.softmax(logits[0, -1].float(), -1)
        p, idx = probs.topk(min(top, probs.numel()))
        vocab = tokenizer.vocab.tokens(idx.tolist())
        return {
            "read": len(ids),
            "tokens": self.tokens,
            "next": [{"token": t, "p": float(q)} for t, q in zip(vocab, p)],
        }

    def _values(self, req: SessionFeed, kind: str) -> np.ndarray:
        values = np.asarray(_needs(req, "values", kind), dtype=np.float64)
        if kind == "forecaster" and values.ndim != 1:
            raise WrongInput("values: a forecaster session reads numbers (T,), got rows")
        return values

    def _forecast(self, req: SessionFeed) -> dict[str, Any]:
        """Add the values to the history; the forecast after it (``None`` before 2 values)."""
        values = self._values(req, "forecaster")
        history: list[float] = self.state if self.state is not None else []
        if len(history) + len(values) > MAX_STEPS:
            raise WrongInput(f"values: a forecaster session holds at most {MAX_STEPS} values; open a new one")
        history.extend(values.tolist())
        self.state = history
        answer: dict[str, Any] = {"read": len(values), "values": len(history), "forecast": None}
        if len(history) >= 2:
            whole = ForecastRequest(
                values=history, start=self.request.start, freq=self.request.freq, horizon=req.horizon
            )
            answer["forecast"] = forecast(self.loaded, whole)
        return answer

    def _detect(self, req: SessionFeed) -> dict[str, Any]:
        """Score the values (and, with ``end``, settle the rest); the scores settled by this post."""
        stream: ScoreStream = self.state
        if stream.ended:
            raise WrongInput("end: this detector session has ended; open a new one")
        first = stream.emitted
        scores = stream.push(self._values(req, "detector")) if req.values is not None else np.zeros(0)
        if req.end:
            scores = np.concatenate([scores, stream.end()])
        elif req.values is None:
            raise WrongInput(
                "values: a detector session reads 'values' (or 'end': true), the request has neither"
            )
        threshold = stream.detector.threshold_
        return {
            "read": stream.samples,
            "first": first,
            "scores": scores.tolist(),
            "flags": [] if threshold is None else (scores > threshold).astype(int).tolist(),
            "threshold": threshold,
            "pending": stream.samples - stream.emitted,
        }


def _initial_state(model: str, loaded: Loaded) -> Any:
    """A new session's state; :class:`WrongInput` for a model sessions cannot stream."""
    kind = loaded.kind.name
    if kind == "forecaster":
        return None
    if kind == "detector":
        try:
            return ScoreStream(loaded.estimator)  # type: ignore[arg-type]
        except ValueError as exc:
            raise WrongInput(f"model: {model!r}: {exc}") from None
    if kind != "lm":
        raise WrongInput(
            f"model: sessions stream language models (textgen), forecasters and detectors, "
            f"{model!r} is a {kind}"
        )
    net = loaded.nets[0]
    if not isinstance(net, LanguageModel) or net.window is not None:
        raise WrongInput(f"model: sessions stream recurrent language models, {model!r} reads a window")
    return None


class SessionStore:
    """The live sessions, by id."""

    def __init__(self, max_sessions: int = 64, idle_s: float = 600.0) -> None:
        if max_sessions < 1 or idle_s <= 0:
            raise ValueError(
                f"sessions: expected max_sessions >= 1 and idle_s > 0, got {max_sessions}, {idle_s}"
            )
        self.max_sessions, self.idle_s = max_sessions, idle_s
        self._live: dict[str, Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._live)

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [s for s, v in self._live.items() if now - v.last_used > self.idle_s]:
            del self._live[sid]

    def open(self, req: SessionRequest, loaded: Loaded) -> str:
        """A new session over ``loaded`` (a recurrent language model, a forecaster or a
        forecast-method detector); its id."""
        state = _initial_state(req.model, loaded)
        with self._lock:
            self._expire()
            if len(self._live) >= self.max_sessions:
                raise SessionsFull(
                    f"sessions: all {self.max_sessions} are in use; close one or wait {self.idle_s:.0f} s"
                )
            sid = secrets.token_urlsafe(12)
            self._live[sid] = Session(req.model, loaded, req, state)
        return sid

    def get(self, sid: str) -> Session:
        with self._lock:
            self._expire()
            if sid not in self._live:
                raise SessionNotFound(f"session: no live session {sid!r} (closed, expired or never made)")
            return self._live[sid]

    def close(self, sid: str) -> None:
        with self._lock:
            if self._live.pop(sid, None) is None:
                raise SessionNotFound(f"session: no live session {sid!r} (closed, expired or never made)")

"""Streaming sessions: a recurrent language model's state kept between requests.

A session reads text in pieces: each piece advances the LSTM from where the last one left it
(the cost of a piece is its own length, not the history's), and the answer is the distribution
of the next token. Sessions idle longer than ``idle_s`` expire; at most ``max_sessions`` live at
once (a new one is refused with :class:`SessionsFull` while that many are in use), so the
memory they hold is bounded by the cap times one model state.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from lstmkit.apps.deploy.models import Loaded
from lstmkit.apps.language.lm import LanguageModel

from .handlers import WrongInput

__all__ = ["Session", "SessionNotFound", "SessionStore", "SessionsFull"]


class SessionNotFound(LookupError):
    """No live session of that id (never made, closed, or expired)."""


class SessionsFull(RuntimeError):
    """The cap on live sessions is reached."""


@dataclass
class Session:
    """One model's state between pieces of text."""

    model: str
    loaded: Loaded
    state: Any = None
    tokens: int = 0
    last_used: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def feed(self, text: str, top: int) -> dict[str, Any]:
        """Read ``text``; the ``top`` most likely next tokens with their probabilities."""
        net, tokenizer = self.loaded.nets[0], self.loaded.tokenizers["text"]
        assert isinstance(net, LanguageModel)
        ids = tokenizer.encode(text)
        if not ids:
            raise WrongInput(f"text: nothing this model's tokenizer reads in {text[:40]!r}")
        with self.lock, torch.inference_mode():
            logits, self.state = net(torch.tensor([ids], dtype=torch.long), self.state)  # (1, L, V)
            self.tokens += len(ids)
            self.last_used = time.monotonic()
        probs = torch.softmax(logits[0, -1].float(), -1)
        p, idx = probs.topk(min(top, probs.numel()))
        vocab = tokenizer.vocab.tokens(idx.tolist())
        return {
            "read": len(ids),
            "tokens": self.tokens,
            "next": [{"token": t, "p": float(q)} for t, q in zip(vocab, p)],
        }


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

    def open(self, model: str, loaded: Loaded) -> str:
        """A new session over ``loaded`` (a recurrent language model); its id."""
        if loaded.kind.name != "lm":
            raise WrongInput(
                f"model: sessions stream language models (textgen), {model!r} is a {loaded.kind.name}"
            )
        net = loaded.nets[0]
        if not isinstance(net, LanguageModel) or net.window is not None:
            raise WrongInput(f"model: sessions stream recurrent language models, {model!r} reads a window")
        with self._lock:
            self._expire()
            if len(self._live) >= self.max_sessions:
                raise SessionsFull(
                    f"sessions: all {self.max_sessions} are in use; close one or wait {self.idle_s:.0f} s"
                )
            sid = secrets.token_urlsafe(12)
            self._live[sid] = Session(model, loaded)
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

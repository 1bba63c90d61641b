"""What each request may hold: types, sizes and finite numbers, checked before a model runs.

A request that breaks these gets a 422 answer naming the field, what was expected and what
came (FastAPI's validation error). Sizes are capped so one request cannot hold the server.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_STEPS",
    "ClassifyRequest",
    "DetectRequest",
    "ForecastRequest",
    "GenerateRequest",
    "SessionFeed",
    "SessionRequest",
    "TextsRequest",
]

#: the most time steps (values) one series in a request may hold
MAX_STEPS = 100_000
#: the most series, texts or characters per request
MAX_ITEMS = 256
MAX_CHARS = 20_000

Finite = Annotated[float, Field(allow_inf_nan=False)]
Row = Annotated[list[Finite], Field(min_length=1, max_length=1024)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ForecastRequest(_Request):
    """The history to forecast from, oldest first (finite numbers), and the horizon."""

    values: list[Finite] = Field(min_length=2, max_length=MAX_STEPS)
    start: str | None = Field(None, description="the first value's date (ISO); default: integer steps")
    freq: str | None = Field(None, description="pandas frequency of the dates, e.g. 'MS' (with start)")
    horizon: int | None = Field(None, ge=1, le=10_000, description="steps ahead (default: the model's)")


class ClassifyRequest(_Request):
    """Series to classify: each (L, C) rows of channel values, or (L,) for one channel."""

    series: list[list[Row] | list[Finite]] = Field(min_length=1, max_length=MAX_ITEMS)


class DetectRequest(_Request):
    """A signal (T, C) or (T,) to score, and optional context just before it."""

    values: list[Row] | list[Finite] = Field(min_length=1, max_length=MAX_STEPS)
    context: list[Row] | list[Finite] | None = Field(None, max_length=MAX_STEPS)


class GenerateRequest(_Request):
    """A text to continue and how to sample."""

    prime: str = Field("", max_length=MAX_CHARS)
    length: int = Field(200, ge=1, le=5_000, description="tokens to generate")
    temperature: float = Field(0.8, ge=0.0, le=10.0, allow_inf_nan=False)
    top_k: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    seed: int | None = None
    stream: bool = Field(False, description="send each token as a server-sent event")


class TextsRequest(_Request):
    """Texts to classify (sentiment) or translate."""

    texts: list[Annotated[str, Field(max_length=MAX_CHARS)]] = Field(min_length=1, max_length=MAX_ITEMS)
    beam_size: int = Field(5, ge=1, le=16, description="translation: beam width (1: greedy)")


class SessionRequest(_Request):
    """A streaming session over a model (``start``, ``freq``: a dated forecaster's first date
    and frequency, as in :class:`ForecastRequest`)."""

    model: str = Field(max_length=512)
    start: str | None = Field(None, description="forecaster: the first value's date (ISO)")
    freq: str | None = Field(None, description="forecaster: pandas frequency of the dates")


class SessionFeed(_Request):
    """What a session reads next: ``text`` (a language model), or ``values`` (a forecaster:
    numbers; a detector: (T, C) rows or (T,) numbers); ``end``: a detector scores what it
    still holds back."""

    text: str | None = Field(None, min_length=1, max_length=MAX_CHARS)
    top: int = Field(5, ge=1, le=100, description="the most likely next tokens returned")
    values: list[Row] | list[Finite] | None = Field(None, min_length=1, max_length=MAX_STEPS)
    horizon: int | None = Field(None, ge=1, le=10_000, description="forecaster: steps ahead")
    end: bool = Field(False, description="detector: settle the scores held back (the last samples)")

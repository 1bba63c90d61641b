r"""Keyword spotting ("wake" on one digit) with the streaming CTC recognizer.

**Long streams** (:func:`make_stream`): test-voice utterances (isolated digits, and digit
strings that do not contain the keyword) trimmed to their speech, shuffled, and laid end to end
with gaps of silence between them; optional 1/f^alpha background noise over the whole stream.
Every placed utterance keeps its exact sample span, so the keyword's occurrences are known to
the sample. Strings that contain the keyword are left out: the word boundaries inside a
connected string are not known. **Connected** streams (``connected=True``) hold the digit strings
only, with and without the keyword: each keyword is then known to lie in its string's span, a
string may hold it several times, and the scoring counts triggers per string
(:func:`count_in_spans`).

**Score and trigger.** From the recognizer's per-step CTC logits :math:`z_t` (K classes, the
keyword digit d is class 1 + d), the keyword score is its posterior averaged over the last W
steps:

.. math:: s_t = \frac{1}{W} \sum_{u=t-W+1}^{t} \operatorname{softmax}(z_u)_{1+d}

(steps before the first count as 0). A trigger fires at step t when :math:`s_t \ge \theta`
and at least R steps (the refractory period) have passed since the last trigger; with
``rearm``, also only if the score fell below :math:`\theta` at some step since the last
trigger (one trigger per rise of the score, so a short R can count repeated keywords without
firing twice on one).
:class:`KeywordSpotter` does this chunk by chunk on top of
:class:`~lstmkit.apps.speech.streaming.StreamingRecognizer`; :func:`keyword_scores` and
:func:`triggers` do it on a whole stream's logits, with the same result.

**Scoring** (:func:`match`, :func:`roc`): a trigger at time :math:`\tau` (when its step's last
sample has arrived) is a hit of an occurrence [a, b) if :math:`a \le \tau \le b + ` tolerance,
each occurrence and each trigger matched once (in time order); the others are false alarms.
Latency is :math:`\tau - b` (the keyword's end to the trigger). In a connected stream
(:func:`count_in_spans`, :func:`connected_roc`) a string [a, b) holding the keyword k times
and drawing n triggers in [a, b + tolerance] scores min(n, k) hits and max(n - k, 0) excess
triggers; triggers outside every such span are false alarms. A hit there may be a trigger on
another digit of the string while the keyword was missed: the string's span is all that is
known. Latency is measured on the strings that end with the keyword and draw exactly k
triggers: the last trigger minus the string's last sample.

Shapes: S samples, T' steps, K classes, M occurrences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lstmkit.apps.speech.augment import colored_noise
from lstmkit.apps.speech.data import SpeechCorpus
from lstmkit.apps.speech.features import HOP, WINDOW
from lstmkit.apps.speech.streaming import StreamingRecognizer
from lstmkit.apps.speech.wav import SAMPLE_RATE

__all__ = [
    "Detections",
    "KeywordSpotter",
    "KeywordStream",
    "SpanCounts",
    "check_keyword",
    "connected_roc",
    "count_in_spans",
    "keyword_scores",
    "make_stream",
    "match",
    "operating_point",
    "roc",
    "step_end_samples",
    "triggers",
    "trim",
]


#: samples of background noise drawn at a time (10 s: one FFT per block, not one per stream)
NOISE_BLOCK = 160_000


def check_keyword(keyword: object) -> str:
    """``keyword`` as one digit ``"0"`` .. ``"9"``; a one-line ``ValueError`` otherwise."""
    s = str(keyword)
    if len(s) != 1 or s not in "0123456789":
        raise ValueError(f"keyword: expected one digit 0-9, got {keyword!r}")
    return s


def trim(audio: np.ndarray, level: float = 0.02) -> np.ndarray:
    """``audio`` from its first to its last sample whose magnitude reaches ``level`` x its peak."""
    loud = np.flatnonzero(np.abs(audio) >= level * float(np.abs(audio).max()))
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


@dataclass(frozen=True)
class KeywordStream:
    """A long stream: ``audio`` (S,) at 16 kHz; utterance i spans samples
    ``[starts[i], ends[i])`` and says ``labels[i]``; ``keyword`` the wake digit."""

    audio: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    labels: list[str]
    keyword: str

    @property
    def hours(self) -> float:
        return len(self.audio) / SAMPLE_RATE / 3600

    def occurrences(self) -> np.ndarray:
        """(M, 2) the [start, end) samples of each spoken keyword."""
        mask = np.array([s == self.keyword for s in self.labels], dtype=bool)
        return np.stack([self.starts[mask], self.ends[mask]], 1)

    def keyword_spans(self) -> tuple[np.ndarray, np.ndarray]:
        """(M, 2) the [start, end) samples of each utterance holding the keyword, and (M,) how
        many times it does."""
        counts = np.array([s.count(self.keyword) for s in self.labels], dtype=np.int64)
        mask = counts > 0
        return np.stack([self.starts[mask], self.ends[mask]], 1), counts[mask]


def make_stream(
    corpus: SpeechCorpus,
    keyword: str,
    seed: int = 0,
    *,
    gap: tuple[float, float] = (0.5, 3.0),
    noise_db: float | None = None,
    noise_alpha: float = 1.0,
    connected: bool = False,
) -> KeywordStream:
    """Lay ``corpus``'s isolated digits and its strings without ``keyword`` end to end (with
    ``connected``: its digit strings, all of them, and no isolated digits).

    Args:
        corpus: the utterances (e.g. the test split: voices never heard in training).
        keyword: the wake digit.
        seed: the order, the gaps and the noise are drawn from ``default_rng([seed, 19])``.
        gap: silence before each utterance (and after the last), uniform in seconds.
        noise_db: background 1/f^``noise_alpha`` noise this many dB below the speech's mean
            power (over the utterances only), drawn in blocks of :data:`NOISE_BLOCK` samples;
            ``None``: none (exact silence between them).
    """
    keyword = check_keyword(keyword)
    if not 0 <= gap[0] <= gap[1]:
        raise ValueError(f"gap: expected (low, high) seconds with 0 <= low <= high, got {gap}")
    if connected:
        keep = [i for i, s in enumerate(corpus.labels) if len(s) > 1]
    else:
        keep = [i for i, s in enumerate(corpus.labels) if len(s) == 1 or keyword not in s]
    if not any(keyword in corpus.labels[i] for i in keep):
        kind = "digit strings holding" if connected else "isolated utterances of"
        raise ValueError(f"corpus: expected {kind} the keyword {keyword!r}, got none")
    rng = np.random.default_rng([seed, 19])
    order = [keep[i] for i in rng.permutation(len(keep))]
    pieces, starts, ends, at = [], [], [], 0
    for i in order:
        silence = np.zeros(round(rng.uniform(*gap) * SAMPLE_RATE), np.float32)
        speech = trim(np.asarray(corpus.audio[i], np.float32))
        pieces += [silence, speech]
        starts.append(at + len(silence))
        at += len(silence) + len(speech)
        ends.append(at)
    pieces.append(np.zeros(round(rng.uniform(*gap) * SAMPLE_RATE), np.float32))
    audio = np.concatenate(pieces)
    if noise_db is not None:
        power = float(np.mean(np.concatenate(pieces[1::2]).astype(np.float64) ** 2))
        blocks = [
            colored_noise(n, noise_alpha, rng)
            for n in np.diff(np.r_[0 : len(audio) : NOISE_BLOCK, len(audio)])
        ]
        noise = np.concatenate(blocks) * np.sqrt(power / 10 ** (noise_db / 10))
        audio = (audio + noise).astype(np.float32)
    labels = [corpus.labels[i] for i in order]
    return KeywordStream(audio, np.array(starts), np.array(ends), labels, keyword)


def step_end_samples(steps: np.ndarray, subsample: int) -> np.ndarray:
    """The sample count after which each step (index) is complete: step t stacks frames
    ``subsample t .. subsample (t + 1) - 1``, and frame f reads samples [HOP f, HOP f + WINDOW)."""
    return (np.asarray(steps) * subsample + subsample - 1) * HOP + WINDOW


def keyword_scores(logits: Tensor, keyword: str, window: int) -> np.ndarray:
    """(T',) the keyword's CTC posterior averaged over the last ``window`` steps (see the module)."""
    post = torch.softmax(logits.double(), -1)[:, 1 + int(check_keyword(keyword))].numpy()  # (T',)
    total = np.concatenate([[0.0], np.cumsum(post)])
    t = np.arange(len(post))
    return (total[t + 1] - total[np.maximum(t + 1 - window, 0)]) / window


def triggers(
    scores: np.ndarray, threshold: float, refractory: int, after: int = -(10**9), *, rearm: bool = False
) -> np.ndarray:
    """The steps where ``scores`` >= ``threshold`` at least ``refractory`` steps after the
    previous trigger (the first: after step ``after``); with ``rearm``, only once the score has
    been below ``threshold`` since the previous trigger."""
    s = np.asarray(scores)
    above, below = np.flatnonzero(s >= threshold), np.flatnonzero(s < threshold)
    out, last = [], after
    k = int(np.searchsorted(above, last + refractory))
    while k < len(above):
        last = int(above[k])
        out.append(last)
        start = last + refractory
        if rearm:
            b = int(np.searchsorted(below, last, side="right"))
            if b == len(below):
                break
            start = max(start, int(below[b]) + 1)
        k = int(np.searchsorted(above, start, side="left"))
    return np.array(out, dtype=np.int64)


@dataclass(frozen=True)
class Detections:
    """The triggers of one threshold scored against the occurrences: ``hits`` (M,) bool,
    ``latency`` (seconds, one per hit, in occurrence order), ``false_alarms`` a count."""

    hits: np.ndarray
    latency: np.ndarray
    false_alarms: int


def match(trigger_samples: np.ndarray, occurrences: np.ndarray, tolerance: int) -> Detections:
    """Match triggers (sample times, sorted) to occurrences ((M, 2) [start, end), sorted): each
    occurrence takes the first free trigger in [start, end + ``tolerance``]."""
    hits = np.zeros(len(occurrences), dtype=bool)
    latency, used = [], 0
    taken = np.zeros(len(trigger_samples), dtype=bool)
    for m, (a, b) in enumerate(occurrences):
        k = int(np.searchsorted(trigger_samples, a))
        while k < len(trigger_samples) and taken[k]:
            k += 1
        if k < len(trigger_samples) and trigger_samples[k] <= b + tolerance:
            taken[k], hits[m] = True, True
            latency.append((int(trigger_samples[k]) - int(b)) / SAMPLE_RATE)
            used += 1
    return Detections(hits, np.array(latency), len(trigger_samples) - used)


def roc(
    scores: np.ndarray,
    stream: KeywordStream,
    thresholds: Sequence[float],
    *,
    subsample: int,
    refractory: int,
    tolerance: float,
) -> list[dict[str, float]]:
    """Per threshold: the true positive rate, false alarms per hour, and the hits' latency
    (mean, p90; NaN without hits). ``tolerance`` in seconds after the keyword's end."""
    occ = stream.occurrences()
    rows = []
    for th in thresholds:
        found = match(
            step_end_samples(triggers(scores, th, refractory), subsample), occ, round(tolerance * SAMPLE_RATE)
        )
        rows.append(
            {
                "threshold": float(th),
                "tpr": float(found.hits.mean()),
                "false_alarms": float(found.false_alarms),
                "fa_per_hour": found.false_alarms / stream.hours,
                **_latency_stats(found.latency),
            }
        )
    return rows


def _latency_stats(lat: np.ndarray) -> dict[str, float]:
    """The mean and 90th percentile of latencies in seconds (NaN for none)."""
    if not len(lat):
        return {"latency_mean": float("nan"), "latency_p90": float("nan")}
    return {"latency_mean": float(lat.mean()), "latency_p90": float(np.percentile(lat, 90))}


@dataclass(frozen=True)
class SpanCounts:
    """Triggers counted per keyword string (see the module): ``per_span`` (M,) the triggers in
    each span, ``hits`` the sum of min(n, k), ``keywords`` the sum of k, ``excess`` the sum of
    max(n - k, 0), ``outside`` the triggers in no span."""

    per_span: np.ndarray
    hits: int
    keywords: int
    excess: int
    outside: int


def count_in_spans(
    trigger_samples: np.ndarray, spans: np.ndarray, counts: np.ndarray, tolerance: int
) -> SpanCounts:
    """Count triggers (sample times) in each span [start, end + ``tolerance``] of ``spans``
    ((M, 2), sorted, not overlapping) holding the keyword ``counts`` (M,) times; a trigger
    counts for the last span starting at or before it."""
    t = np.asarray(trigger_samples, dtype=np.int64)
    m = np.searchsorted(spans[:, 0], t, side="right") - 1 if len(spans) else np.full(len(t), -1)
    inside = (m >= 0) & (t <= spans[np.maximum(m, 0), 1] + tolerance) if len(spans) else m >= 0
    per_span = np.bincount(m[inside], minlength=len(spans))
    return SpanCounts(
        per_span,
        int(np.minimum(per_span, counts).sum()),
        int(counts.sum()),
        int(np.maximum(per_span - counts, 0).sum()),
        int((~inside).sum()),
    )


def connected_roc(
    scores: np.ndarray,
    stream: KeywordStream,
    thresholds: Sequence[float],
    *,
    subsample: int,
    refractory: int,
    tolerance: float,
    rearm: bool = False,
) -> list[dict[str, float]]:
    """Per threshold, on a connected stream: the keywords found (``tpr``), the false alarms
    outside the keyword strings and the excess triggers inside them, per hour, the strings with
    exactly as many triggers as keywords, and the latency on the strings ending with the
    keyword that drew exactly that many (mean, p90; NaN without any)."""
    spans, counts = stream.keyword_spans()
    ends_with = np.array([s[-1] == stream.keyword for s in stream.labels if stream.keyword in s])
    rows = []
    for th in thresholds:
        fired = step_end_samples(triggers(scores, th, refractory, rearm=rearm), subsample)
        c = count_in_spans(fired, spans, counts, round(tolerance * SAMPLE_RATE))
        exact = c.per_span == counts
        last = [fired[fired <= b + round(tolerance * SAMPLE_RATE)][-1] for b in spans[exact & ends_with, 1]]
        lat = (np.array(last, dtype=np.int64) - spans[exact & ends_with, 1]) / SAMPLE_RATE
        rows.append(
            {
                "threshold": float(th),
                "tpr": c.hits / c.keywords,
                "outside_per_hour": c.outside / stream.hours,
                "excess_per_hour": c.excess / stream.hours,
                "fa_per_hour": (c.outside + c.excess) / stream.hours,
                "strings_exact": float(exact.mean()),
                **_latency_stats(lat),
            }
        )
    return rows


def operating_point(rows: Sequence[dict[str, float]], fa_per_hour: float) -> dict[str, float] | None:
    """The row with the highest true positive rate at most ``fa_per_hour`` false alarms per
    hour (the higher threshold on ties); ``None`` if no threshold is that quiet."""
    ok = [r for r in rows if r["fa_per_hour"] <= fa_per_hour]
    return max(ok, key=lambda r: (r["tpr"], r["threshold"])) if ok else None


class KeywordSpotter:
    """Wake on one digit while audio streams in: a
    :class:`~lstmkit.apps.speech.streaming.StreamingRecognizer`, the windowed keyword
    posterior and the refractory trigger (see the module).

    Args:
        recognizer: a fresh streaming recognizer (from ``DigitRecognizer.stream()``).
        keyword: the wake digit.
        threshold: :math:`\theta`; window: W steps; refractory: R steps.
        rearm: trigger again only after the score fell below the threshold.

    Example::

        >>> spotter = KeywordSpotter(recognizer.stream(), "7", 0.5, 5, 50)  # doctest: +SKIP
        >>> for chunk in np.split(audio, range(160, len(audio), 160)):
        ...     for step in spotter.push(chunk):
        ...         print("wake at step", step)
    """

    def __init__(
        self,
        recognizer: StreamingRecognizer,
        keyword: str,
        threshold: float,
        window: int,
        refractory: int,
        *,
        rearm: bool = False,
    ) -> None:
        for name, n in (("window", window), ("refractory", refractory)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"{name}: expected a number of steps >= 1, got {n!r}")
        self.recognizer = recognizer
        self.keyword = check_keyword(keyword)
        self.threshold, self.window, self.refractory = float(threshold), window, refractory
        self._recent = np.zeros(window)  # the last W posteriors
        self.steps = 0
        self._last = -(10**9)
        self.rearm, self._armed = rearm, True
        self.scores: list[float] = []

    def push(self, samples: np.ndarray | Tensor) -> list[int]:
        """Feed new samples; returns the steps (indices) at which the keyword triggered."""
        logits = self.recognizer.push(samples)  # (t', K)
        if len(logits) == 0:
            return []
        post = torch.softmax(logits.double(), -1)[:, 1 + int(self.keyword)].numpy()
        fired = []
        for p in post:
            self._recent = np.roll(self._recent, -1)
            self._recent[-1] = p
            score = float(self._recent.sum() / self.window)
            self.scores.append(score)
            if score < self.threshold:
                self._armed = True
            elif self.steps >= self._last + self.refractory and (self._armed or not self.rearm):
                self._last, self._armed = self.steps, False
                fired.append(self.steps)
            self.steps += 1
        return fired

"""Wake on a digit in a WAV file or stdin, 10 ms at a time (what ``lstmkit speech wake`` runs):
:class:`~lstmkit.apps.speech.kws.KeywordSpotter` over the streaming recognizer of a saved
unidirectional model, each trigger's time printed as it fires."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmkit.apps.speech import job
from lstmkit.apps.speech.kws import KeywordSpotter, check_keyword, step_end_samples
from lstmkit.apps.speech.wav import SAMPLE_RATE

__all__ = ["WakeResult", "wake", "wake_and_print"]


@dataclass
class WakeResult:
    """``times``: seconds into the audio at which each trigger fired (its step's last sample);
    ``latencies``: the spotter's compute per chunk in seconds; ``scores``: the score per step."""

    times: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    audio_seconds: float = 0.0


def wake(
    model_path: str,
    source: str,
    keyword: str,
    *,
    threshold: float = 0.24,
    window: int = 3,
    refractory: int = 50,
    rearm: bool = False,
    chunk_ms: float = 10.0,
    device: str = "cpu",
    on_trigger: Callable[[float], None] | None = None,
) -> WakeResult:
    """Push ``source`` (a WAV file or ``"-"``) ``chunk_ms`` at a time through a keyword spotter
    for ``keyword`` on the model at ``model_path``; ``on_trigger(seconds)`` at each trigger.
    ``window`` and ``refractory`` are in model steps (20 ms with the default subsampling);
    ``rearm``: see :class:`~lstmkit.apps.speech.kws.KeywordSpotter`."""
    keyword = check_keyword(keyword)
    if not 0 <= threshold <= 1:
        raise ValueError(f"--threshold: expected a posterior in [0, 1], got {threshold}")
    if not 0 < chunk_ms <= 1000:
        raise ValueError(f"--chunk-ms: expected a chunk length in (0, 1000] ms, got {chunk_ms}")
    model = job.load_model(model_path, device)
    spotter = KeywordSpotter(model.stream(), keyword, threshold, window, refractory, rearm=rearm)
    chunk = max(1, round(chunk_ms * SAMPLE_RATE / 1000))
    result, samples = WakeResult(), 0
    for block in job._chunks(source, chunk, sys.stderr):  # pyright: ignore[reportPrivateUsage]
        t0 = time.perf_counter()
        fired = spotter.push(block)
        result.latencies.append(time.perf_counter() - t0)
        samples += len(block)
        for t in step_end_samples(np.array(fired), model.config.subsample) / SAMPLE_RATE:
            result.times.append(float(t))
            if on_trigger is not None:
                on_trigger(float(t))
    if samples == 0:
        raise ValueError(f"{source}: expected audio samples, got none")
    result.scores, result.audio_seconds = spotter.scores, samples / SAMPLE_RATE
    return result


def wake_and_print(model_path: str, source: str, keyword: str, **options: Any) -> WakeResult:
    """:func:`wake` (``options``: its keyword arguments but ``on_trigger``) printing each
    trigger's time (seconds) on stdout as it fires, and the compute per chunk on stderr."""

    def fire(seconds: float) -> None:
        print(f"{seconds:.2f}", flush=True)

    result = wake(model_path, source, keyword, **options, on_trigger=fire)
    ms = np.asarray(result.latencies) * 1000
    print(
        f"{len(result.times)} triggers for {keyword!r} in {result.audio_seconds:.2f} s of audio; "
        f"{len(ms)} chunks: mean {ms.mean():.3f} ms, p99 {np.percentile(ms, 99):.3f} ms per chunk",
        file=sys.stderr,
    )
    return result

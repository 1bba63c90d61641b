"""Streaming inference at batch 1: the time of one new step after ``L`` steps of context, and
the state a stream keeps.

Per architecture (each at its task's matched size, one thread, no autograd):

* LSTM: :meth:`lstmkit.core.layers.LSTM.stream` (the fused step with the state carried);
  its state is (h, c) of every layer, whatever ``L``;
* GRU, RNN: one step of the layer with the carried h;
* Transformer: one step with the :class:`~lstmkit.core.layers.transformer.KVCache` of the
  ``L`` steps before (its keys and values: the state grows with ``L``, and so does the step);
* TCN: the last output over the inputs its receptive field covers, read again (its state is
  that window of inputs).

The time is the median of ``repeats`` timed steps after a few untimed ones.

Example::

    >>> from lstmkit.apps.compare.base import Size
    >>> rows = stream_latency(Size("lstm", 16, 1, 0, 0), 2, (16, 64), repeats=5)
    >>> rows[0]["state_bytes"] == rows[1]["state_bytes"]
    True
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from lstmkit.apps.compare.base import Size
from lstmkit.core.layers.encoder import SequenceEncoder
from lstmkit.core.layers.tcn import TCN

__all__ = ["LENGTHS", "QUICK_LENGTHS", "stream_latency"]

LENGTHS = (16, 64, 256, 1024, 4096)
QUICK_LENGTHS = (16, 64, 256)
WARMUP = 3
PREFILL_CHUNK = 256


def _bytes(tree: Any) -> int:
    if isinstance(tree, Tensor):
        return tree.numel() * tree.element_size()
    if isinstance(tree, (tuple, list)):
        return sum(_bytes(t) for t in tree)
    return 0


def _median_ms(step: Callable[[], Any], repeats: int) -> float:
    for _ in range(WARMUP):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def _prefill(enc: SequenceEncoder, x: Tensor) -> Any:
    """The state after ``x`` (1, L, C), read in chunks (a Transformer's attention stays small)."""
    state = None
    for start in range(0, x.shape[1], PREFILL_CHUNK):
        _, state = enc(x[:, start : start + PREFILL_CHUNK], state)
    return state


def _one(enc: SequenceEncoder, x: Tensor, length: int, repeats: int) -> tuple[float, int]:
    """(median ms of one step, state bytes) after ``length`` steps of ``x`` (1, L + 1, C)."""
    arch, x_t = enc.architecture, x[:, length : length + 1]
    if arch == "lstm":
        layer: Any = enc.layer
        stream = layer.stream(1)
        for t in range(length):
            stream.step(x[:, t])
        return _median_ms(lambda: stream.step(x[:, length]), repeats), _bytes(tuple(stream.state))
    if arch == "tcn":
        layer = enc.layer
        assert isinstance(layer, TCN)
        window = x[:, max(0, length + 1 - layer.receptive_field) : length + 1]
        return _median_ms(lambda: enc(window), repeats), _bytes(window)
    state = _prefill(enc, x[:, :length])
    return _median_ms(lambda: enc(x_t, state), repeats), _bytes(state)


def stream_latency(
    size: Size, input_size: int, lengths: Sequence[int] = LENGTHS, *, repeats: int = 50, seed: int = 0
) -> list[dict[str, Any]]:
    """One row per length ``L``: ``{"length", "median_ms", "state_bytes", "param_bytes"}`` of
    the encoder of ``size`` reading ``input_size`` features (random weights and inputs: the
    time does not depend on them)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        enc = size.encoder().encoder(input_size).eval()
        param_bytes = sum(p.numel() * p.element_size() for p in enc.parameters())
        x = torch.randn(1, max(lengths) + 1, input_size)
        rows = []
        with torch.inference_mode():
            for length in lengths:
                ms, state = _one(enc, x, length, repeats)
                rows.append(
                    {"length": length, "median_ms": ms, "state_bytes": state, "param_bytes": param_bytes}
                )
        return rows
    finally:
        torch.set_num_threads(threads)

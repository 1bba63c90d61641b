r"""Streaming recognition: audio in chunks -> causal features -> :meth:`lstmkit.LSTM.stream`
step by step -> per-step logits and a growing greedy hypothesis.

:class:`StreamingRecognizer` wraps a fitted unidirectional
:class:`~lstmkit.apps.speech.model.CTCAcousticModel` whose features need no future frames
(``"global"`` or ``"running"`` normalization, no deltas). :meth:`StreamingRecognizer.push` takes new samples
(e.g. 160 of them: a 10 ms chunk), completes the feature frames they allow
(:class:`~lstmkit.apps.speech.features.FeatureStream`), stacks them ``subsample`` at a time
and advances the LSTM's streaming runtime one step per stack. After the whole waveform the
logits equal the offline model's on it (same frames, same steps); the hypothesis is the greedy
CTC path so far.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from lstmkit.apps.speech.decode import collapse
from lstmkit.apps.speech.features import FeatureConfig, FeatureStream, running_normalize
from lstmkit.apps.speech.model import CLASSES, CTCAcousticModel

__all__ = ["StreamingRecognizer"]


class StreamingRecognizer:
    """Recognize one audio stream chunk by chunk.

    Args:
        net: a unidirectional :class:`CTCAcousticModel` (put in eval mode here).
        cfg: its feature settings (``"global"`` or ``"running"`` normalization, no deltas).

    Example::

        >>> stream = recognizer.stream()  # doctest: +SKIP
        >>> for chunk in np.split(audio, range(160, len(audio), 160)):
        ...     stream.push(chunk)
        >>> stream.hypothesis()
        '314'
    """

    def __init__(self, net: CTCAcousticModel, cfg: FeatureConfig) -> None:
        if net.lstm.bidirectional:
            raise ValueError("stream: expected a unidirectional model (bidirectional=False), got a biLSTM")
        self.net = net.eval()
        self.features = FeatureStream(cfg)
        self._lstm = net.lstm.stream(batch_size=1)
        self._pending = torch.zeros(0, cfg.size)
        self._mean = net.mean[None]  # (1, F): the running mean's state
        self._path: list[int] = []
        self.steps = 0

    @torch.no_grad()
    def push(self, samples: np.ndarray | Tensor) -> Tensor:
        """Feed new samples; returns the (t', K) logits of the steps they complete (t' >= 0)."""
        new = self.features.push(samples)  # (t, F)
        if self.net.running:
            new, self._mean = running_normalize(new[None], self._mean)
            new = new[0] / self.net.std
        else:
            new = (new - self.net.mean) / self.net.std
        frames = torch.cat([self._pending, new])  # normalized (t, F)
        k = self.net.subsample
        n = len(frames) // k
        self._pending = frames[n * k :]
        if n == 0:
            return torch.zeros(0, CLASSES)
        x = frames[: n * k].reshape(n, -1)  # (n, k F)
        out = torch.cat([self.net.out(self._lstm.step(x[i : i + 1])) for i in range(n)])  # (n, K)
        self._path.extend(out.argmax(-1).tolist())
        self.steps += n
        return out

    def hypothesis(self) -> str:
        """The greedy CTC hypothesis of everything pushed so far."""
        return collapse(self._path)

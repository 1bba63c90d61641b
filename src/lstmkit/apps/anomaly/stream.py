r"""Streaming scores of a fitted forecast-method :class:`~lstmkit.apps.anomaly.estimator.AnomalyDetector`.

A :class:`ScoreStream` reads a signal a few samples at a time and returns the scores of the
samples whose score is settled, so that the scores of all pushes followed by :meth:`ScoreStream.end`
equal ``detector.score(whole)`` (up to float32 rounding of the LSTM). Each (downsampled) sample
costs one LSTM step: the network's state is carried from one push to the next.

What delays a score (the same steps as :meth:`AnomalyDetector.score`, in order):

* a downsampling block is complete only after its ``downsample`` samples;
* sample :math:`t` is scored by its residual :math:`e_t = |\hat x_t - x_t|` (or squared) in units
  of the training residuals, :math:`\hat x_t` predicted from the samples before it; the first
  ``burn = window`` residuals, whose state is cold, take the value of :math:`e_{burn}`;
* the scores are smoothed by a centred moving average of :math:`k` samples
  (``smooth``, default ``window``), so the score of :math:`t` needs the residuals up to
  :math:`t + k - 1 - \lfloor k/2 \rfloor`.

:meth:`ScoreStream.end` settles the rest as a whole call would (edge padding, the last partial
block averaged).

Shapes: T samples, C channels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lstmkit.apps.anomaly.estimator import AnomalyDetector, _as_signal

__all__ = ["ScoreStream"]


class ScoreStream:
    """Scores of a signal read in pieces (see the module docstring).

    Args:
        detector: a fitted detector of ``method="forecast"``.

    Example::

        >>> stream = ScoreStream(detector)
        >>> parts = [stream.push(x[i : i + 10]) for i in range(0, len(x), 10)]
        >>> np.allclose(np.concatenate(parts + [stream.end()]), detector.score(x), atol=1e-5)
        True
    """

    def __init__(self, detector: AnomalyDetector) -> None:
        detector._check_fitted("streaming")
        cfg = detector.config
        if cfg.method != "forecast":
            raise ValueError(
                f"detector: streaming scores need the forecast method, this detector uses {cfg.method!r}"
            )
        assert detector.mean_ is not None and detector.resid_var_ is not None
        self.detector, self.channels = detector, len(detector.mean_)
        self.k = cfg.smooth or cfg.window
        self.burn, self.ahead = cfg.window, self.k - 1 - self.k // 2
        self.block: list[np.ndarray] = []  # raw samples of the downsampling block being filled
        self.state: Any = None
        self.last: np.ndarray | None = None  # the last scaled sample read
        self.pred: np.ndarray | None = None  # the prediction of the next one
        self.errors: list[float] = []  # residuals e_t, t >= first
        self.first = 0  # index (downsampled) of errors[0]
        self.count = 0  # downsampled samples read
        self.settled = 0  # downsampled samples whose smoothed score was returned
        self.samples = 0  # raw samples read
        self.emitted = 0  # raw samples whose score was returned
        self.ended = False

    @torch.no_grad()
    def _step(self, xs: np.ndarray) -> None:
        """Read one scaled, downsampled sample (C,): its residual, then the next prediction."""
        det = self.detector
        if self.pred is not None:
            diff = self.pred - xs
            err = diff**2 if det.config.error == "squared" else np.abs(diff)
            assert det.resid_var_ is not None
            self.errors.append(float((err / det.resid_var_).mean()))
            if self.count == 1:  # sample 0 has no prediction: it takes sample 1's residual
                self.errors.insert(0, self.errors[0])
        net = det._members()[0]
        inp = torch.as_tensor(xs[None, None], dtype=torch.float32, device=det._device())  # (1, 1, C)
        out, self.state = net(inp, self.state)
        self.pred = out[0, 0].double().cpu().numpy()
        self.count += 1

    def _error(self, t: int, total: int) -> float:
        """Residual ``t`` after the burn-in rule, the index clipped to [0, total) (edge padding)."""
        t = min(max(t, 0), total - 1)
        burn = min(self.burn, total - 1)
        return self.errors[max(t, burn) - self.first]

    def _settle(self, upto: int, total: int) -> np.ndarray:
        """Smoothed scores of downsampled samples [settled, upto), then forget what they needed."""
        left = self.k // 2
        out = [
            float(np.mean([self._error(j - left, total) for j in range(t, t + self.k)]))
            for t in range(self.settled, upto)
        ]
        self.settled = max(self.settled, upto)
        # what later scores read: residuals max(t, burn) for t >= settled - k // 2
        drop = min(max(self.settled - left, self.burn), self.count - 1) - self.first
        if drop > 0:
            del self.errors[:drop]
            self.first += drop
        return np.asarray(out)

    def _expand(self, scores: np.ndarray, final: bool) -> np.ndarray:
        """Raw-sample scores of the newly settled downsampled ones (each repeated ``downsample`` times)."""
        raw = np.repeat(scores, self.detector.config.downsample)
        if final:
            raw = raw[: self.samples - self.emitted]
        self.emitted += len(raw)
        return raw

    def push(self, values: Any) -> np.ndarray:
        """Read ``values`` (T, C) or (T,); the scores (T',) settled by them (of the samples after
        those returned before)."""
        if self.ended:
            raise ValueError("values: this stream has ended (end() was called)")
        x = _as_signal("values", values)
        if x.shape[1] != self.channels:
            raise ValueError(
                f"values: expected {self.channels} channels like the training signal, got {x.shape[1]}"
            )
        down = self.detector.config.downsample
        for row in x:
            self.samples += 1
            self.block.append(row)
            if len(self.block) == down:
                self._step(self.detector._scale(np.mean(self.block, 0)[None])[0])
                self.block = []
        if self.count <= self.burn:  # the burn-in value is not known yet
            return np.zeros(0)
        return self._expand(self._settle(self.count - self.ahead, self.count), final=False)

    def end(self) -> np.ndarray:
        """The scores of the samples not yet returned, as a whole call scores a signal's end."""
        if self.block:
            self._step(self.detector._scale(np.mean(self.block, 0)[None])[0])
            self.block = []
        if self.count < 2:
            raise ValueError(
                f"values: the forecast method needs at least 2 (downsampled) samples, got {self.count}"
            )
        self.ended = True
        return self._expand(self._settle(self.count, self.count), final=True)

r"""Motion anomalies from prediction error: :class:`VideoAnomalyDetector`.

A :class:`~lstmkit.apps.video.estimator.VideoPredictor` trained on normal videos predicts the
frames after each video's context (the whole rollout, not one step at a time); a frame's error
is its per-frame squared error, standardized by the mean and deviation of that step's error
on normal videos (errors grow with the steps ahead, so a raw maximum would mostly read the
last step); a video's score is the largest standardized error over its predicted frames.

Why the rollout: the anomalies (a digit that teleports, stops, or turns without a wall)
change where a digit *is* from then on, and a rollout from normal context keeps moving the
digit where it should be, so the error stays high after the onset; a one-step predictor
re-reads the anomalous frames and loses most of the gap after one frame.

Shapes: N videos, L frames, T predicted frames, C channels, H x W pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from lstmkit.apps.video import metrics
from lstmkit.apps.video.estimator import VideoPredictor, as_frames

__all__ = ["VideoAnomalyDetector"]


class VideoAnomalyDetector(VideoPredictor):
    """Score videos for motion anomalies: fit (on normal videos) / score / frame_scores /
    predict / save / load. The arguments are :class:`VideoPredictor`'s.

    Attributes:
        error_mean_, error_std_: (T,) per-step error of normal videos (the calibration).

    Example::

        >>> from lstmkit.apps.video.data import moving_digits, motion_anomalies
        >>> det = VideoAnomalyDetector(max_epochs=5).fit(moving_digits(2000, seed=0).frames)
        >>> test = motion_anomalies(200, split="test", seed=0)
        >>> metrics.roc_auc(test.labels, det.score(test.frames))
    """

    format = "lstmkit.VideoAnomalyDetector"
    error_mean_: tuple[float, ...] = ()
    error_std_: tuple[float, ...] = ()

    def fit(self, frames: Any) -> VideoAnomalyDetector:
        """Train the predictor on normal videos ``frames`` (N, L, C, H, W) and calibrate the
        per-step errors on (up to 512 of) them."""
        super().fit(frames)
        self.calibrate(as_frames("frames", frames)[:512])
        return self

    @classmethod
    def from_predictor(cls, predictor: VideoPredictor, normal: Any) -> VideoAnomalyDetector:
        """A detector with a fitted ``predictor``'s network, calibrated on the normal videos
        ``normal`` (N, L, C, H, W)."""
        det = cls(**predictor.config_dict(), progress=predictor.progress)
        det.nets_, det.meta_, det.history_ = predictor.nets_, dict(predictor.meta_), predictor.history_
        det.fit_seconds_ = predictor.fit_seconds_
        det.calibrate(normal)
        return det

    def _errors(self, frames: Any) -> Tensor:
        """(N, T) per-frame squared errors of the predicted frames."""
        x = as_frames("frames", frames, channels=self.meta_["channels"], size=self.meta_["size"])
        context, horizon = self.config.context, self.meta_["horizon"]
        if x.shape[1] != context + horizon:
            raise ValueError(
                f"frames: expected {context + horizon} frames (context + horizon), got {x.shape[1]}"
            )
        return metrics.frame_mse(self.predict(x), x[:, context:])

    def calibrate(self, normal: Any) -> None:
        """Set the per-step error mean and deviation from normal videos ``normal``."""
        errors = self._errors(normal)
        self.error_mean_ = tuple(errors.mean(0).tolist())
        self.error_std_ = tuple(errors.std(0).clamp_min(1e-6).tolist())

    def frame_scores(self, frames: Any) -> np.ndarray:
        """(N, T) standardized errors of the frames after the context."""
        self._check_fitted("frame_scores()")
        if not self.error_mean_:
            raise RuntimeError("VideoAnomalyDetector: call fit() or calibrate() before scoring")
        errors = self._errors(frames)
        mean, std = torch.tensor(self.error_mean_), torch.tensor(self.error_std_)
        return ((errors - mean) / std).numpy()

    def score(self, frames: Any) -> np.ndarray:
        """(N,) each video's anomaly score: its largest standardized frame error."""
        return self.frame_scores(frames).max(1)

    def predict_anomalous(self, frames: Any, threshold: float = 3.0) -> np.ndarray:
        """(N,) bool: a score above ``threshold`` standard deviations."""
        return self.score(frames) > threshold

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "error_mean": list(self.error_mean_), "error_std": list(self.error_std_)}

    def _set_state(self, payload: Any) -> None:
        super()._set_state(payload)
        self.error_mean_, self.error_std_ = tuple(payload["error_mean"]), tuple(payload["error_std"])

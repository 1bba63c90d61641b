r"""Motion anomalies from prediction error: :class:`VideoAnomalyDetector`.

A :class:`~lstmkit.apps.video.estimator.VideoPredictor` trained on normal videos predicts every
frame after the context, and a video's score is its largest standardized prediction error
there. Two ways to predict (``scoring``):

* ``"one-step"`` (default): each frame from the true frames before it (the network's
  ``one_step``). An anomaly (a digit that teleports, stops, or turns without a wall) breaks the
  motion the frames before it imply, so the frame at its onset is predicted badly, while the
  error of a normal frame stays at the one-step level, the lowest the predictor has. Each
  error is divided by the video's own mean one-step error over its context (frames 3 .. L: a
  thick digit is harder to predict than a thin one everywhere), then standardized per frame by
  the mean and deviation of those ratios on normal videos.
* ``"rollout"``: the frames after the context rolled out from the context alone; the error is
  standardized per step ahead on normal videos (errors grow with the steps ahead). The rollout
  keeps moving the digit where it should be, so an anomaly's error stays high after its
  onset, but a blurred rollout's errors vary so much on normal videos that the gap is lost
  (docs/video.md measures both).

Shapes: N videos, L context frames, T predicted frames, C channels, H x W pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from lstmkit.apps.video import metrics
from lstmkit.apps.video.estimator import VideoPredictor, as_frames

__all__ = ["SCORINGS", "VideoAnomalyDetector"]

#: how :class:`VideoAnomalyDetector` predicts the frames it scores (see the module docstring)
SCORINGS = ("one-step", "rollout")


class VideoAnomalyDetector(VideoPredictor):
    """Score videos for motion anomalies: fit (on normal videos) / score / frame_scores /
    predict / save / load.

    Args:
        scoring: ``"one-step"`` (default) or ``"rollout"`` (see the module docstring).
        (the others as :class:`VideoPredictor`.)

    Attributes:
        error_mean_, error_std_: (T,) per-frame error of normal videos (the calibration).

    Example::

        >>> from lstmkit.apps.video.data import moving_digits, motion_anomalies
        >>> det = VideoAnomalyDetector(max_epochs=5).fit(moving_digits(2000, seed=0).frames)
        >>> test = motion_anomalies(200, split="test", seed=0)
        >>> metrics.roc_auc(test.labels, det.score(test.frames))
    """

    format = "lstmkit.VideoAnomalyDetector"
    error_mean_: tuple[float, ...] = ()
    error_std_: tuple[float, ...] = ()

    def __init__(self, *args: Any, scoring: str = "one-step", **kwargs: Any) -> None:
        if scoring not in SCORINGS:
            raise ValueError(f"scoring: expected one of {SCORINGS}, got {scoring!r}")
        super().__init__(*args, **kwargs)
        if scoring == "one-step" and self.config.context < 3:
            raise ValueError(
                "context: one-step scoring needs at least 3 context frames (a video's own error is "
                f"measured on frames 3 .. context), got {self.config.context}"
            )
        self.scoring = scoring

    def clone(self) -> VideoAnomalyDetector:
        """An unfitted detector with the same settings and scoring."""
        model = type(self)(**self.config_dict(), scoring=self.scoring, progress=self.progress)
        model.trainer_strategy = self.trainer_strategy
        return model

    def fit(self, frames: Any) -> VideoAnomalyDetector:
        """Train the predictor on normal videos ``frames`` (N, L, C, H, W) and calibrate the
        per-frame errors on (up to 512 of) them."""
        super().fit(frames)
        self.calibrate(as_frames("frames", frames)[:512])
        return self

    @classmethod
    def from_predictor(
        cls, predictor: VideoPredictor, normal: Any, scoring: str = "one-step"
    ) -> VideoAnomalyDetector:
        """A detector with a fitted ``predictor``'s network, calibrated on the normal videos
        ``normal`` (N, L, C, H, W)."""
        det = cls(**predictor.config_dict(), scoring=scoring, progress=predictor.progress)
        det.nets_, det.meta_, det.history_ = predictor.nets_, dict(predictor.meta_), predictor.history_
        det.fit_seconds_ = predictor.fit_seconds_
        det.calibrate(normal)
        return det

    def _errors(self, frames: Any) -> Tensor:
        """(N, T) errors of the frames after the context: squared errors of the rollout, or
        one-step squared errors over the video's mean one-step error on its context."""
        x = as_frames("frames", frames, channels=self.meta_["channels"], size=self.meta_["size"])
        context, horizon = self.config.context, self.meta_["horizon"]
        if x.shape[1] != context + horizon:
            raise ValueError(
                f"frames: expected {context + horizon} frames (context + horizon), got {x.shape[1]}"
            )
        if self.scoring == "rollout":
            return metrics.frame_mse(self.predict(x), x[:, context:])
        pred = torch.sigmoid(self._outputs(x[:, :-1], method="one_step"))  # frames 2 .. L
        errors = metrics.frame_mse(pred, x[:, 1:])  # (N, L - 1)
        own = errors[:, 1 : context - 1].mean(1, keepdim=True).clamp_min(1e-6)  # frames 3 .. context
        return errors[:, context - 1 :] / own

    def calibrate(self, normal: Any) -> None:
        """Set the per-frame error mean and deviation from normal videos ``normal``."""
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
        calibration = {"error_mean": list(self.error_mean_), "error_std": list(self.error_std_)}
        return {**super()._state(), **calibration, "scoring": self.scoring}

    def _set_state(self, payload: Any) -> None:
        super()._set_state(payload)
        self.error_mean_, self.error_std_ = tuple(payload["error_mean"]), tuple(payload["error_std"])
        self.scoring = payload.get("scoring", "rollout")  # files saved before scoring= rolled out

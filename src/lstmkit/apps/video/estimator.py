r"""The video task models users hold: :class:`VideoPredictor` (next frames) and
:class:`VideoClassifier` (a class per video), on :class:`lstmkit.fit.estimator.Estimator`
(fit / predict / save / load, seeds, progress bar); the anomaly detector built on the
predictor is :class:`lstmkit.apps.video.anomaly.VideoAnomalyDetector`.

The networks (chosen by ``architecture``) are those of :mod:`lstmkit.apps.video.model`:
``"convlstm"`` (Shi et al.'s encoder-forecaster, or ConvLSTM + pooling for classes),
``"fc-lstm"`` (flattened frames, prediction only) and ``"cnn-lstm"`` (per-frame CNN + LSTM,
classes only). Training: Adam with a cosine schedule down to a tenth of ``lr``, gradients
clipped to norm 1, binary cross-entropy of the predicted pixels (as Shi et al.) or the
cross-entropy of the classes.

Shapes: N videos, L frames (``context`` of them read, the rest predicted), C channels,
H x W pixels, K classes; frames are float values in [0, 1].
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, TensorDataset

from lstmkit.apps.video import metrics
from lstmkit.apps.video.model import CNNLSTMClassifier, ConvLSTMClassifier, ConvLSTMPredictor, FCLSTMPredictor
from lstmkit.fit.config import TrainConfig
from lstmkit.fit.estimator import Estimator, check_int, check_rates, class_indices, finite, settings
from lstmkit.fit.step import StepOutput
from lstmkit.io.progress import ProgressBar

__all__ = ["CLASSIFIERS", "PREDICTORS", "VideoClassifier", "VideoConfig", "VideoPredictor", "as_frames"]

PREDICTORS = ("convlstm", "fc-lstm")
CLASSIFIERS = ("convlstm", "cnn-lstm")
#: hidden size when none is given: ConvLSTM channels, FC-LSTM units, the CNN + LSTM's width
DEFAULT_HIDDEN = {"convlstm": 32, "fc-lstm": 512, "cnn-lstm": 64}


def as_frames(name: str, x: Any, *, channels: int | None = None, size: int | None = None) -> Tensor:
    """``x`` (N, L, C, H, W) (or (N, L, H, W)) as a float32 tensor of finite values in [0, 1];
    a one-line ``ValueError`` naming ``name`` otherwise."""
    t = x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))
    if t.dim() == 4:
        t = t.unsqueeze(2)
    if t.dim() != 5 or t.shape[0] == 0 or t.shape[-1] != t.shape[-2]:
        raise ValueError(
            f"{name}: expected videos (N, L, C, H, W) of square frames, got shape {tuple(t.shape)}"
        )
    if not (t.is_floating_point() or t.dtype == torch.uint8):
        raise ValueError(f"{name}: expected float frames in [0, 1], got dtype {t.dtype}")
    if channels is not None and (t.shape[2], t.shape[-1]) != (channels, size):
        raise ValueError(
            f"{name}: expected frames of {channels} channel(s) and {size} x {size} pixels like the "
            f"training videos, got shape {tuple(t.shape)}"
        )
    t = t.float()
    finite(name, t.flatten(2), axes=("video", "frame", "pixel"))
    low, high = float(t.min()), float(t.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"{name}: expected values in [0, 1], got [{low:g}, {high:g}] (8-bit frames: divide by 255)"
        )
    return t.contiguous()


@dataclass(frozen=True)
class VideoConfig:
    """Settings of a video model (see :class:`VideoPredictor`); saved with it."""

    architecture: str = "convlstm"
    hidden_size: int = 32
    num_layers: int = 2
    kernel_size: int = 3
    patch: int = 4
    context: int = 10
    max_epochs: int = 10
    batch_size: int = 16
    lr: float = 2e-3
    seed: int = 0
    device: str = "cpu"
    variant: str = "classic"
    engine: str | None = None

    def __post_init__(self) -> None:
        for name in (
            "hidden_size",
            "num_layers",
            "kernel_size",
            "patch",
            "context",
            "max_epochs",
            "batch_size",
        ):
            check_int(name, getattr(self, name))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size: expected an odd size ('same' padding), got {self.kernel_size}")
        check_rates(self)


def _predict_step(context: int, model: nn.Module, batch: tuple[Tensor]) -> StepOutput:
    """Binary cross-entropy of frames 2 .. L of a batch of videos: each context frame's
    successor predicted from the true frames before it, then the rollout from the context (the
    network's ``sequence``)."""
    (frames,) = batch
    logits = model.sequence(frames[:, :context])  # type: ignore[operator]
    return StepOutput(
        nn.functional.binary_cross_entropy_with_logits(logits, frames[:, 1:]), weight=float(len(frames))
    )


def _classify_step(model: nn.Module, batch: tuple[Tensor, Tensor]) -> StepOutput:
    frames, labels = batch
    logits = model(frames)
    return StepOutput(
        nn.functional.cross_entropy(logits, labels), output=logits, target=labels, weight=float(len(labels))
    )


class _VideoModel(Estimator):
    """What the predictor and the classifier share: settings, training, batches, state."""

    kinds: tuple[str, ...] = PREDICTORS

    def __init__(
        self,
        architecture: str = "convlstm",
        *,
        hidden_size: int | None = None,
        num_layers: int | None = None,
        kernel_size: int = 3,
        patch: int = 4,
        context: int = 10,
        max_epochs: int = 10,
        batch_size: int = 16,
        lr: float = 2e-3,
        seed: int = 0,
        device: str = "cpu",
        variant: str = "classic",
        engine: str | None = None,
        progress: bool = True,
    ) -> None:
        if architecture not in self.kinds:
            raise ValueError(f"architecture: expected one of {self.kinds}, got {architecture!r}")
        hidden_size = hidden_size if hidden_size is not None else DEFAULT_HIDDEN[architecture]
        num_layers = num_layers if num_layers is not None else self._default_layers(architecture)
        super().__init__(settings(VideoConfig, locals()), progress)
        self.meta_: dict[str, Any] = {}

    @staticmethod
    def _default_layers(architecture: str) -> int:
        return 2 if architecture == "convlstm" else 1

    def _fit_net(self, data: Dataset[Any], step: Any) -> None:
        cfg = self.config
        train = TrainConfig(
            optimizer="adam",
            lr=cfg.lr,
            schedule="cosine",
            min_lr=cfg.lr / 10,
            clip_norm=1.0,
            max_epochs=cfg.max_epochs,
        )

        def member(k: int, bar: ProgressBar) -> tuple[nn.Module, dict[str, list[float]]]:
            net = self._new_net(k)
            history = self._train_member(
                k, net, data, settings=train, step=step, batch_size=cfg.batch_size, bar=bar
            )
            return net, {"train_loss": [float(v) for v in history["train_loss"]]}

        self._fit_ensemble(1, cfg.max_epochs, f"fit {cfg.architecture}", member)

    @torch.no_grad()
    def _outputs(self, frames: Tensor, batch_size: int = 64, method: str = "forward") -> Tensor:
        """The outputs of the network's ``method`` for ``frames`` in batches, on the CPU."""
        (net,) = self._members()
        call, dev = getattr(net, method), self._device()
        return torch.cat(
            [call(frames[i : i + batch_size].to(dev)).cpu() for i in range(0, len(frames), batch_size)]
        )

    def _state(self) -> dict[str, Any]:
        return {"meta": self.meta_, "history": self.history_}

    def _set_state(self, payload: Any) -> None:
        self.meta_ = payload["meta"]
        self.history_ = payload["history"]


class VideoPredictor(_VideoModel):
    """Predict the next frames of videos: fit / predict / evaluate / save / load.

    Args:
        architecture: ``"convlstm"`` (default; encoder-forecaster ConvLSTM on patches) or
            ``"fc-lstm"`` (LSTM encoder-decoder on flattened frames).
        hidden_size: ConvLSTM hidden channels (default 32) or FC-LSTM units (default 512).
        num_layers: layers of the encoder and of the forecaster (default 2 for ConvLSTM, 1 for
            FC-LSTM).
        kernel_size: of the ConvLSTM convolutions (odd). patch: the side of the ConvLSTM's patches.
        context: the frames read; a training video's later frames are the targets.
        max_epochs, batch_size, lr: training (Adam, cosine schedule).
        seed, device, progress: the weights' seed, where to train, a progress bar on stderr.
        variant, engine: of the FC-LSTM's LSTM.

    Example::

        >>> from lstmkit.apps.video.data import moving_digits
        >>> train = moving_digits(2000, split="train", seed=0)
        >>> model = VideoPredictor("convlstm", max_epochs=5).fit(train.frames)
        >>> test = moving_digits(100, split="test", seed=0).frames
        >>> model.predict(test[:, :10]).shape  # the 10 frames after each context
        torch.Size([100, 10, 1, 64, 64])
    """

    format = "lstmkit.VideoPredictor"
    kinds = PREDICTORS

    def _build_net(self) -> nn.Module:
        cfg, meta = self.config, self.meta_
        shape = {"horizon": meta["horizon"], "size": meta["size"], "channels": meta["channels"]}
        if cfg.architecture == "fc-lstm":
            return FCLSTMPredictor(**shape, hidden=cfg.hidden_size, num_layers=cfg.num_layers)
        return ConvLSTMPredictor(
            **shape,
            hidden=cfg.hidden_size,
            num_layers=cfg.num_layers,
            kernel_size=cfg.kernel_size,
            patch=cfg.patch,
        )

    def fit(self, frames: Any) -> VideoPredictor:
        """Train on videos ``frames`` (N, L, C, H, W) in [0, 1]: the first ``context`` frames
        in, the other ``L - context`` out."""
        x = as_frames("frames", frames)
        context = self.config.context
        if x.shape[1] <= context:
            raise ValueError(
                f"frames: expected videos longer than context={context}, got {x.shape[1]} frames"
            )
        if x.shape[-1] % self.config.patch:
            raise ValueError(
                f"patch: expected a divisor of the frame size {x.shape[-1]}, got {self.config.patch}"
            )
        self.meta_ = {
            "horizon": int(x.shape[1] - context),
            "size": int(x.shape[-1]),
            "channels": int(x.shape[2]),
        }
        self._fit_net(TensorDataset(x), functools.partial(_predict_step, context))
        return self

    def predict(self, context: Any) -> Tensor:
        """(N, T, C, H, W) the predicted frames in [0, 1] after each video of ``context``
        (N, context, C, H, W) (longer videos: their first ``context`` frames are read)."""
        self._check_fitted("predict()")
        x = as_frames("context", context, channels=self.meta_["channels"], size=self.meta_["size"])
        if x.shape[1] < self.config.context:
            raise ValueError(f"context: expected at least {self.config.context} frames, got {x.shape[1]}")
        return torch.sigmoid(self._outputs(x[:, : self.config.context]))

    def evaluate(self, frames: Any) -> dict[str, Any]:
        """Scores of the predictions for videos ``frames`` (N, context + T, C, H, W):
        ``mse`` and ``ssim`` per frame (means), ``mse_by_step`` and ``ssim_by_step`` (T,)."""
        self._check_fitted("evaluate()")
        x = as_frames("frames", frames, channels=self.meta_["channels"], size=self.meta_["size"])
        horizon, context = self.meta_["horizon"], self.config.context
        if x.shape[1] != context + horizon:
            raise ValueError(
                f"frames: expected {context + horizon} frames (context + horizon), got {x.shape[1]}"
            )
        return scores(self.predict(x), x[:, context:])


def scores(pred: Tensor, target: Tensor) -> dict[str, Any]:
    """Per-frame MSE and SSIM of predicted frames ``pred`` against ``target`` (N, T, C, H, W):
    means over everything and (T,) lists by step ahead."""
    mse, sim = metrics.frame_mse(pred, target), metrics.ssim(pred, target)
    return {
        "mse": float(mse.mean()),
        "ssim": float(sim.mean()),
        "mse_by_step": mse.mean(0).tolist(),
        "ssim_by_step": sim.mean(0).tolist(),
    }


class VideoClassifier(_VideoModel):
    """Classify videos: fit / predict_proba / predict / score / save / load.

    Args:
        architecture: ``"convlstm"`` (default; ConvLSTM on patches, averaged over space and
            time) or ``"cnn-lstm"`` (a per-frame CNN, an LSTM over the frames).
        hidden_size: ConvLSTM channels (default 32) or the CNN's and LSTM's width (default 64).
        num_layers: ConvLSTM or LSTM layers (default 1).
        (the others as :class:`VideoPredictor`; ``context`` is unused.)

    Example::

        >>> from lstmkit.apps.video.data import motion_classes
        >>> d = motion_classes(1000, split="train", seed=0)
        >>> clf = VideoClassifier("cnn-lstm", max_epochs=5).fit(d.frames, d.labels)
        >>> clf.predict(d.frames[:3]).shape
        (3,)
    """

    format = "lstmkit.VideoClassifier"
    #: 2: the ConvLSTM classifier embeds its patches and pools mean and max over space
    format_version = 2
    kinds = CLASSIFIERS

    def _set_state(self, payload: Any) -> None:
        if self.config.architecture == "convlstm" and payload.get("version", 1) < 2:
            raise ValueError(
                "path: a ConvLSTM video classifier of an earlier network (format 1, before the patch "
                "embedding and max pooling); train it again"
            )
        super()._set_state(payload)

    @staticmethod
    def _default_layers(architecture: str) -> int:
        return 1

    def _build_net(self) -> nn.Module:
        cfg, meta = self.config, self.meta_
        shape = {"num_classes": meta["num_classes"], "size": meta["size"], "channels": meta["channels"]}
        if cfg.architecture == "cnn-lstm":
            return CNNLSTMClassifier(**shape, hidden=cfg.hidden_size, num_layers=cfg.num_layers)
        return ConvLSTMClassifier(
            **shape,
            hidden=cfg.hidden_size,
            num_layers=cfg.num_layers,
            kernel_size=cfg.kernel_size,
            patch=cfg.patch,
        )

    def fit(self, frames: Any, labels: Any) -> VideoClassifier:
        """Train on videos ``frames`` (N, L, C, H, W) in [0, 1] and class indices ``labels`` (N,)."""
        x = as_frames("frames", frames)
        y = torch.from_numpy(class_indices(np.asarray(labels), x.shape[0]))
        if self.config.architecture == "convlstm" and x.shape[-1] % self.config.patch:
            raise ValueError(
                f"patch: expected a divisor of the frame size {x.shape[-1]}, got {self.config.patch}"
            )
        self.meta_ = {"num_classes": int(y.max()) + 1, "size": int(x.shape[-1]), "channels": int(x.shape[2])}
        self._fit_net(TensorDataset(x, y), _classify_step)
        return self

    def predict_proba(self, frames: Any) -> np.ndarray:
        """(N, K) class probabilities of videos ``frames`` (N, L, C, H, W)."""
        self._check_fitted("predict_proba()")
        x = as_frames("frames", frames, channels=self.meta_["channels"], size=self.meta_["size"])
        return torch.softmax(self._outputs(x), -1).double().numpy()

    def predict(self, frames: Any) -> np.ndarray:
        """(N,) predicted class indices."""
        return self.predict_proba(frames).argmax(1)

    def score(self, frames: Any, labels: Any) -> float:
        """Accuracy on ``(frames, labels)``."""
        return metrics.accuracy(np.asarray(labels), self.predict(frames))

r"""The networks of the video tasks (thin ``nn.Module``\ s: ``__init__`` and ``forward``).

* :class:`ConvLSTMPredictor`: Shi et al. 2015's ConvLSTM on patches. Frames are cut into
  ``patch`` x ``patch`` patches (``pixel_unshuffle``: a 64 x 64 x 1 frame becomes 16 x 16 x 16
  with 4 x 4 patches, as Shi et al.) and embedded by a 3 x 3 convolution; a ConvLSTM stack reads
  the context frames (encoding) and continues from its state on its own predictions
  (forecasting); a 3 x 3 and a 1 x 1 convolution map its hidden channels to the patch pixels
  and ``pixel_shuffle`` puts them back. Outputs are logits (a sigmoid gives the frames).
* :class:`FCLSTMPredictor`: Srivastava et al. 2015's fully connected LSTM on flattened frames
  (the baseline of Shi et al.), run the same way.
* :class:`ConvLSTMClassifier`: a ConvLSTM over embedded patches, its outputs pooled over space
  (mean and max) and averaged over time, a linear layer.
* :class:`CNNLSTMClassifier`: a small CNN applied to every frame (all N * L frames in one
  call), an LSTM over the frame features, a linear layer on its last output.

Shapes: N sequences, L context frames, T future frames, C channels, H x W pixels, K classes.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from lstmkit.core.cells import LSTMState
from lstmkit.core.layers.convlstm import ConvLSTM
from lstmkit.core.layers.lstm import LSTM

__all__ = [
    "CNNLSTMClassifier",
    "ConvLSTMClassifier",
    "ConvLSTMPredictor",
    "FCLSTMPredictor",
    "count_parameters",
]


def _check_frames(x: Tensor, channels: int, size: int) -> None:
    if x.dim() != 5 or x.shape[2] != channels or x.shape[-1] != size or x.shape[-2] != size:
        raise ValueError(f"x: expected frames (N, L, {channels}, {size}, {size}), got shape {tuple(x.shape)}")


def _patch_stem(channels: int, patch: int, hidden: int) -> nn.Sequential:
    """The patch embedding: a 3 x 3 convolution (ReLU) of the C * p * p channels of a patch grid."""
    return nn.Sequential(nn.Conv2d(channels * patch * patch, hidden, 3, padding=1), nn.ReLU())


def _embed_patches(stem: nn.Module, x: Tensor, patch: int) -> Tensor:
    """(N, L, C, H, W) frames -> (N, L, F, H/p, W/p) patch embeddings by ``stem``."""
    cells = nn.functional.pixel_unshuffle(x.flatten(0, 1), patch)  # (N*L, C*p*p, H/p, W/p)
    return stem(cells).unflatten(0, x.shape[:2])


class ConvLSTMPredictor(nn.Module):
    """ConvLSTM next-frame predictor on patches (Shi et al. 2015's network, one stack).

    The stack reads the context frames (the encoder) and then continues from its own state,
    reading at each step the frame it has just predicted (the forecaster: the same layers).
    :meth:`sequence` also gives the prediction of each context frame's successor from the true
    frames before it; training scores all of them (dense one-step targets on the context, the
    free-running rollout on the future; the fed-back frames are not differentiated through).

    Args:
        horizon: T, the frames predicted.
        size: frame height and width (a multiple of ``patch``).
        channels: C, the frames' channels.
        hidden: the ConvLSTM's hidden channels F (and the patch embedding's).
        num_layers: ConvLSTM layers.
        kernel_size: of every ConvLSTM convolution.
        patch: the side of a patch.

    Shape:
        - x: (N, L, C, H, W) context frames in [0, 1].
        - output: (N, T, C, H, W) logits of the future frames.

    Example::

        >>> net = ConvLSTMPredictor(horizon=10, size=64)
        >>> net(torch.rand(2, 10, 1, 64, 64)).shape
        torch.Size([2, 10, 1, 64, 64])
    """

    def __init__(
        self,
        horizon: int,
        size: int = 64,
        channels: int = 1,
        hidden: int = 32,
        num_layers: int = 2,
        kernel_size: int = 3,
        patch: int = 4,
    ) -> None:
        super().__init__()
        if size % patch:
            raise ValueError(f"patch: expected a divisor of the frame size {size}, got {patch}")
        self.horizon, self.size, self.channels, self.patch = horizon, size, channels, patch
        inner = channels * patch * patch
        self.stem = _patch_stem(channels, patch, hidden)
        self.conv = ConvLSTM(hidden, hidden, kernel_size, num_layers)
        self.head = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, inner, 1)
        )

    def _embed(self, x: Tensor) -> Tensor:
        """(N, L, C, H, W) frames -> (N, L, F, H/p, W/p) patch embeddings."""
        return _embed_patches(self.stem, x, self.patch)

    def _frames(self, y: Tensor) -> Tensor:
        """(N, L, F, H/p, W/p) hidden states -> (N, L, C, H, W) logits."""
        logits = self.head(y.flatten(0, 1))  # (N*L, C*p*p, H/p, W/p)
        return nn.functional.pixel_shuffle(logits, self.patch).unflatten(0, y.shape[:2])

    def _encode(self, x: Tensor) -> tuple[Tensor, LSTMState]:
        """(N, L, C, H, W) -> logits of frames 2 .. L + 1 (N, L, C, H, W) and the state."""
        _check_frames(x, self.channels, self.size)
        out, state = self.conv(self._embed(x))  # (N, L, F, H/p, W/p)
        return self._frames(out), state

    def one_step(self, x: Tensor) -> Tensor:
        """(N, L, C, H, W) -> (N, L, C, H, W) logits of frames 2 .. L + 1, each predicted from
        the true frames before it (no rollout)."""
        return self._encode(x)[0]

    def sequence(self, x: Tensor) -> Tensor:
        """(N, L, C, H, W) -> (N, L - 1 + T, C, H, W) logits of frames 2 .. L + T: each context
        frame's successor predicted from the true frames before it, then the rollout."""
        first, state = self._encode(x)
        steps = [first]  # frames 2 .. L + 1
        for _ in range(self.horizon - 1):
            frame = torch.sigmoid(steps[-1][:, -1:]).detach()  # fed back as data, not differentiated
            y, state = self.conv.step(self._embed(frame)[:, 0], state)
            steps.append(self._frames(y[:, None]))
        return torch.cat(steps, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.sequence(x)[:, -self.horizon :]


class FCLSTMPredictor(nn.Module):
    """Fully connected LSTM on flattened frames (Srivastava et al. 2015), run as
    :class:`ConvLSTMPredictor`: it reads the context, then its own predicted frames.

    Args:
        horizon: T, the frames predicted.
        size: frame height and width.
        channels: C, the frames' channels.
        hidden: LSTM units.
        num_layers: LSTM layers.

    Shape:
        - x: (N, L, C, H, W) context frames in [0, 1].
        - output: (N, T, C, H, W) logits of the future frames.
    """

    def __init__(
        self, horizon: int, size: int = 64, channels: int = 1, hidden: int = 512, num_layers: int = 1
    ) -> None:
        super().__init__()
        self.horizon, self.size, self.channels = horizon, size, channels
        pixels = channels * size * size
        self.lstm = LSTM(pixels, hidden, num_layers, batch_first=True)
        self.head = nn.Linear(hidden, pixels)

    def _encode(self, x: Tensor) -> tuple[Tensor, LSTMState]:
        """(N, L, C, H, W) -> logits of frames 2 .. L + 1 (N, L, C*H*W) and the state."""
        _check_frames(x, self.channels, self.size)
        out, state = self.lstm(x.flatten(2))  # (N, L, hidden)
        return self.head(out), state

    def one_step(self, x: Tensor) -> Tensor:
        """(N, L, C, H, W) -> (N, L, C, H, W) logits of frames 2 .. L + 1 (as
        :meth:`ConvLSTMPredictor.one_step`)."""
        return self._encode(x)[0].unflatten(2, x.shape[2:])

    def sequence(self, x: Tensor) -> Tensor:
        """(N, L, C, H, W) -> (N, L - 1 + T, C, H, W) logits of frames 2 .. L + T (as
        :meth:`ConvLSTMPredictor.sequence`)."""
        first, state = self._encode(x)
        steps = [first]  # (N, L, C*H*W): frames 2 .. L + 1
        for _ in range(self.horizon - 1):
            y, state = self.lstm(torch.sigmoid(steps[-1][:, -1:]).detach(), state)
            steps.append(self.head(y))
        return torch.cat(steps, 1).unflatten(2, x.shape[2:])

    def forward(self, x: Tensor) -> Tensor:
        return self.sequence(x)[:, -self.horizon :]


class ConvLSTMClassifier(nn.Module):
    """ConvLSTM over embedded patches, pooled over space (mean and max) and averaged over time,
    a linear layer.

    The patches are embedded by a 3 x 3 convolution (as :class:`ConvLSTMPredictor`); the max
    over space keeps what happens where the digit is (a mean over the whole frame dilutes it by
    the empty background).

    Args:
        num_classes: K.
        size, channels, hidden, num_layers, kernel_size, patch: as :class:`ConvLSTMPredictor`.

    Shape:
        - x: (N, L, C, H, W) frames in [0, 1].
        - output: (N, K) logits.
    """

    def __init__(
        self,
        num_classes: int,
        size: int = 64,
        channels: int = 1,
        hidden: int = 32,
        num_layers: int = 1,
        kernel_size: int = 3,
        patch: int = 4,
    ) -> None:
        super().__init__()
        self.size, self.channels, self.patch = size, channels, patch
        self.stem = _patch_stem(channels, patch, hidden)
        self.conv = ConvLSTM(hidden, hidden, kernel_size, num_layers)
        self.head = nn.Linear(2 * hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        _check_frames(x, self.channels, self.size)
        out, _ = self.conv(_embed_patches(self.stem, x, self.patch))  # (N, L, F, H/p, W/p)
        pooled = torch.cat([out.mean(dim=(3, 4)), out.amax(dim=(3, 4))], -1)  # (N, L, 2F)
        return self.head(pooled.mean(1))


class CNNLSTMClassifier(nn.Module):
    """A per-frame CNN (three stride-2 convolutions, global average pooling), an LSTM over the
    frame features, a linear layer on the last output.

    Args:
        num_classes: K.
        size, channels: of the frames.
        hidden: the CNN's last channels and the LSTM's units.
        num_layers: LSTM layers.

    Shape:
        - x: (N, L, C, H, W) frames in [0, 1].
        - output: (N, K) logits.
    """

    def __init__(
        self, num_classes: int, size: int = 64, channels: int = 1, hidden: int = 64, num_layers: int = 1
    ) -> None:
        super().__init__()
        self.size, self.channels = size, channels
        widths = (channels, 16, 32, hidden)
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.ReLU()]
        self.cnn = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.lstm = LSTM(hidden * 16, hidden, num_layers, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        _check_frames(x, self.channels, self.size)
        n, length = x.shape[:2]
        feats = self.cnn(x.flatten(0, 1)).unflatten(0, (n, length))  # (N, L, 16*hidden)
        out, _ = self.lstm(feats)  # (N, L, hidden)
        return self.head(out[:, -1])


def count_parameters(net: nn.Module) -> int:
    """The trainable parameters of ``net``."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)

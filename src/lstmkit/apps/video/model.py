r"""The networks of the video tasks (thin ``nn.Module``\ s: ``__init__`` and ``forward``).

* :class:`ConvLSTMPredictor`: Shi et al. 2015's encoder-forecaster. Frames are cut into
  ``patch`` x ``patch`` patches (``pixel_unshuffle``: a 64 x 64 x 1 frame becomes 16 x 16 x 16
  with 4 x 4 patches, as Shi et al.), an encoder ConvLSTM stack reads the context frames, a
  forecaster ConvLSTM stack started from the encoder's states unrolls the future without input,
  a 1 x 1 convolution maps its hidden channels to the patch channels and ``pixel_shuffle``
  puts the pixels back. Outputs are logits (a sigmoid gives the frames).
* :class:`FCLSTMPredictor`: Srivastava et al. 2015's fully connected LSTM encoder-decoder on
  flattened frames (the baseline of Shi et al.).
* :class:`ConvLSTMClassifier`: a ConvLSTM over patches, its outputs averaged over space and
  time, a linear layer.
* :class:`CNNLSTMClassifier`: a small CNN applied to every frame (all N * L frames in one
  call), an LSTM over the frame features, a linear layer on its last output.

Shapes: N sequences, L context frames, T future frames, C channels, H x W pixels, K classes.
"""

from __future__ import annotations

import itertools

from torch import Tensor, nn

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


class ConvLSTMPredictor(nn.Module):
    """Encoder-forecaster ConvLSTM on patches (Shi et al. 2015).

    Args:
        horizon: T, the frames predicted.
        size: frame height and width (a multiple of ``patch``).
        channels: C, the frames' channels.
        hidden: the ConvLSTM's hidden channels F.
        num_layers: layers of the encoder and of the forecaster.
        kernel_size: of every ConvLSTM convolution.
        patch: the side of a patch (pixels per patch channel group).

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
        self.encoder = ConvLSTM(inner, hidden, kernel_size, num_layers)
        self.forecaster = ConvLSTM(1, hidden, kernel_size, num_layers)
        self.head = nn.Conv2d(hidden, inner, 1)

    def forward(self, x: Tensor) -> Tensor:
        _check_frames(x, self.channels, self.size)
        n, length = x.shape[:2]
        cells = nn.functional.pixel_unshuffle(x.flatten(0, 1), self.patch)  # (N*L, C*p*p, H/p, W/p)
        _, state = self.encoder(cells.unflatten(0, (n, length)))
        side = self.size // self.patch
        blank = x.new_zeros(n, self.horizon, 1, side, side)  # the forecaster reads no input
        out, _ = self.forecaster(blank, state)  # (N, T, F, H/p, W/p)
        logits = self.head(out.flatten(0, 1))  # (N*T, C*p*p, H/p, W/p)
        frames = nn.functional.pixel_shuffle(logits, self.patch)  # (N*T, C, H, W)
        return frames.unflatten(0, (n, self.horizon))


class FCLSTMPredictor(nn.Module):
    """Fully connected LSTM encoder-decoder on flattened frames (Srivastava et al. 2015).

    Args:
        horizon: T, the frames predicted.
        size: frame height and width.
        channels: C, the frames' channels.
        hidden: LSTM units.
        num_layers: layers of the encoder and of the decoder.

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
        self.encoder = LSTM(pixels, hidden, num_layers, batch_first=True)
        self.decoder = LSTM(1, hidden, num_layers, batch_first=True)
        self.head = nn.Linear(hidden, pixels)

    def forward(self, x: Tensor) -> Tensor:
        _check_frames(x, self.channels, self.size)
        n = x.shape[0]
        _, state = self.encoder(x.flatten(2))  # (N, L, C*H*W) in
        out, _ = self.decoder(x.new_zeros(n, self.horizon, 1), state)  # (N, T, hidden)
        return self.head(out).unflatten(2, (self.channels, self.size, self.size))


class ConvLSTMClassifier(nn.Module):
    """ConvLSTM over patches, global average pooling over space and time, linear layer.

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
        self.conv = ConvLSTM(channels * patch * patch, hidden, kernel_size, num_layers)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        _check_frames(x, self.channels, self.size)
        n, length = x.shape[:2]
        cells = nn.functional.pixel_unshuffle(x.flatten(0, 1), self.patch).unflatten(0, (n, length))
        out, _ = self.conv(cells)  # (N, L, F, H/p, W/p)
        return self.head(out.mean(dim=(1, 3, 4)))


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

r"""The acoustic model of the digit recognizer (a thin ``nn.Module``: ``__init__`` and
``forward``).

:class:`CTCAcousticModel`: features are normalized (by the buffers ``mean`` and ``std``: the
training set's for ``"global"`` and ``"running"`` normalization, 0 and 1 otherwise; with
``running`` the mean subtracted is a causal running mean started at ``mean``), ``subsample`` consecutive
frames are stacked into one step (frame rate / ``subsample``; the frames left over at the end
are dropped), an :class:`lstmkit.LSTM` stack (bidirectional, or unidirectional for
streaming) reads the steps and a linear layer gives per-step logits of the CTC classes:
0 the blank, 1 + d the digit d.

Shapes: N utterances, T frames, F features, T' = T // subsample steps, K = 11 classes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lstmkit.apps.speech.features import running_normalize
from lstmkit.core.layers.lstm import LSTM

__all__ = ["BLANK", "CLASSES", "CTCAcousticModel"]

BLANK = 0
#: the blank and the ten digits
CLASSES = 11


class CTCAcousticModel(nn.Module):
    """LSTM acoustic model with CTC outputs.

    Args:
        n_features: F, features per frame.
        hidden_size: LSTM units per direction.
        num_layers: LSTM layers.
        bidirectional: a biLSTM (offline) or a unidirectional LSTM (streamable).
        subsample: frames stacked per step (1: none).
        running: normalize by a causal running mean started at ``mean`` (see
            :func:`~lstmkit.apps.speech.features.running_normalize`) instead of ``mean``.
        variant, engine: of the :class:`lstmkit.LSTM`.

    Shape:
        - x: (N, T, F) features; lengths: (N,) real frames.
        - output: (N, T', K) logits and (N,) real steps T_i // subsample.

    Example::

        >>> net = CTCAcousticModel(40, 32, bidirectional=False)
        >>> logits, steps = net(torch.randn(2, 50, 40), torch.tensor([50, 30]))
        >>> logits.shape, steps.tolist()
        (torch.Size([2, 25, 11]), [25, 15])
    """

    mean: Tensor
    std: Tensor

    def __init__(
        self,
        n_features: int,
        hidden_size: int = 128,
        num_layers: int = 2,
        *,
        bidirectional: bool = True,
        subsample: int = 2,
        running: bool = False,
        variant: str = "classic",
        engine: str | None = None,
    ) -> None:
        super().__init__()
        self.subsample = subsample
        self.running = running
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.lstm = LSTM(
            n_features * subsample,
            hidden_size,
            num_layers,
            bidirectional=bidirectional,
            batch_first=True,
            variant=variant,
            engine=engine or "auto",
        )
        self.out = nn.Linear(hidden_size * (2 if bidirectional else 1), CLASSES)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        k = self.subsample
        centred = running_normalize(x, self.mean)[0] if self.running else x - self.mean
        x = centred / self.std  # (N, T, F)
        steps = x.shape[1] // k
        x = x[:, : steps * k].reshape(x.shape[0], steps, k * x.shape[2])  # (N, T', k F)
        real = torch.div(lengths, k, rounding_mode="floor").clamp(min=1, max=max(steps, 1))
        h, _ = self.lstm(x, lengths=real.cpu())  # (N, T', D H)
        return self.out(h), real

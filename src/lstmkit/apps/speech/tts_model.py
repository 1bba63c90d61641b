r"""The acoustic model of digit synthesis (a thin ``nn.Module``: ``__init__`` and ``forward``).

:class:`MelAcousticModel`: per-frame inputs (a one-hot phoneme and the position in it, see
:func:`lstmkit.apps.speech.synthesis.frame_inputs`) -> an :class:`lstmkit.LSTM` stack
(bidirectional: synthesis sees the whole string) -> a linear layer -> log-mel frames,
de-normalized by the buffers ``mean`` and ``std`` (the training frames' statistics).

Shapes: N utterances, T frames, I inputs, B mel bands.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lstmkit.core.layers.lstm import LSTM

__all__ = ["MelAcousticModel"]


class MelAcousticModel(nn.Module):
    """Phoneme frames to log-mel frames with a biLSTM.

    Args:
        n_inputs: I, inputs per frame.
        n_mels: B, mel bands out.
        hidden_size: LSTM units per direction.
        num_layers: LSTM layers.
        variant, engine: of the :class:`lstmkit.LSTM`.

    Shape:
        - x: (N, T, I) inputs; lengths: (N,) real frames.
        - output: (N, T, B) log-mel energies (frames past a length are padding).

    Example::

        >>> net = MelAcousticModel(10, 40, 16)
        >>> net(torch.randn(2, 30, 10), torch.tensor([30, 20])).shape
        torch.Size([2, 30, 40])
    """

    mean: Tensor
    std: Tensor

    def __init__(
        self,
        n_inputs: int,
        n_mels: int,
        hidden_size: int = 128,
        num_layers: int = 2,
        *,
        variant: str = "classic",
        engine: str | None = None,
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_mels))
        self.register_buffer("std", torch.ones(n_mels))
        self.lstm = LSTM(
            n_inputs,
            hidden_size,
            num_layers,
            bidirectional=True,
            batch_first=True,
            variant=variant,
            engine=engine or "auto",
        )
        self.out = nn.Linear(2 * hidden_size, n_mels)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        h, _ = self.lstm(x, lengths=lengths.cpu())  # (N, T, 2H)
        return self.out(h) * self.std + self.mean  # (N, T, B)

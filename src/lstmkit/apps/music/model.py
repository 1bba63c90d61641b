r"""The polyphonic network (a thin ``nn.Module``): an LSTM over piano-roll frames with an
independent sigmoid output per pitch, the "RNN" model of Boulanger-Lewandowski et al. 2012.

Frame t's pitches are predicted from the frames before it; given the state the pitches are
independent Bernoulli variables:

.. math::

    h_t = \mathrm{LSTM}(x_{t-1}, h_{t-1}), \qquad
    P(x_t[p] = 1 \mid x_{<t}) = \sigma(W h_t + b)[p],

with :math:`x_{-1} = 0` (silence) so the first frame is predicted too.

Shapes: N chorales, L frames, P pitches, H hidden units.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lstmkit.core.layers.lstm import LSTM

__all__ = ["PolyphonicLSTM", "shift_frames"]


def shift_frames(rolls: Tensor) -> Tensor:
    """The network's input for ``rolls`` (N, L, P): the frames moved one step later, a silent
    frame first, so that output t sees frames 0 .. t - 1."""
    return torch.cat([torch.zeros_like(rolls[:, :1]), rolls[:, :-1]], 1)


class PolyphonicLSTM(nn.Module):
    """An LSTM (:class:`lstmkit.LSTM`, batch first) and a linear layer to one logit per pitch.

    Args:
        pitches: P, the columns of the piano roll.
        hidden_size: H.
        num_layers: stacked LSTM layers.
        dropout: dropout between layers and before the output layer.
        variant: the LSTM variant (a name of :data:`lstmkit.core.cells.VARIANTS`).
        engine: the LSTM engine (``None``: ``"auto"``).

    Shape:
        - x: (N, L, P) the previous frames (:func:`shift_frames` of the rolls), 0/1 floats.
        - lengths: optional (N,) real lengths of a padded batch.
        - output: (N, L, P) logits; zero-state outputs past a sequence's length are padding.

    Example::

        >>> net = PolyphonicLSTM(pitches=52, hidden_size=64)
        >>> net(torch.zeros(2, 16, 52)).shape
        torch.Size([2, 16, 52])
    """

    def __init__(
        self,
        pitches: int,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        variant: str = "classic",
        engine: str | None = None,
    ) -> None:
        super().__init__()
        self.pitches = pitches
        self.lstm = LSTM(
            pitches,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            variant=variant,
            engine=engine or "auto",
        )
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, pitches)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        if x.dim() != 3 or x.shape[-1] != self.pitches:
            raise ValueError(f"x: expected frames (N, L, {self.pitches}), got shape {tuple(x.shape)}")
        h, _ = self.lstm(x, lengths=lengths)  # (N, L, H)
        return self.out(self.drop(h))  # (N, L, P)

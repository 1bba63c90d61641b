r"""The polyphonic network (a thin ``nn.Module``): a sequence encoder over piano-roll frames
with an independent sigmoid output per pitch, the "RNN" model of Boulanger-Lewandowski et al.
2012 (an LSTM by default; a GRU, an Elman RNN, a causal Transformer or a TCN to compare).

Frame t's pitches are predicted from the frames before it; given the encoder's output the
pitches are independent Bernoulli variables:

.. math::

    h_t = \mathrm{Enc}(x_{t-1}, x_{t-2}, \ldots, x_0), \qquad
    P(x_t[p] = 1 \mid x_{<t}) = \sigma(W h_t + b)[p],

with :math:`x_{-1} = 0` (silence) so the first frame is predicted too. Every encoder is causal
(:mod:`lstmkit.core.layers.encoder`: the Transformer masks later steps, the TCN pads on the
left), so output t never reads frame t or later.

Shapes: N chorales, L frames, P pitches, H hidden units.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.core.layers.encoder import ARCHITECTURES, EncoderSettings

__all__ = ["ARCHITECTURES", "MelodyNet", "PolyphonicLSTM", "PolyphonicNet", "shift_frames"]


def shift_frames(rolls: Tensor) -> Tensor:
    """The network's input for ``rolls`` (N, L, P): the frames moved one step later, a silent
    frame first, so that output t sees frames 0 .. t - 1."""
    return torch.cat([torch.zeros_like(rolls[:, :1]), rolls[:, :-1]], 1)


def _old_lstm_keys(module: nn.Module, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """Load a state dict saved when the network held its LSTM as ``lstm.`` (before
    ``architecture=``)."""
    old = prefix + "lstm."
    for key in [k for k in state_dict if k.startswith(old)]:
        state_dict[prefix + "encoder.layer." + key[len(old) :]] = state_dict.pop(key)


class PolyphonicNet(nn.Module):
    """A causal sequence encoder (batch first) and a linear layer to one logit per pitch.

    Args:
        pitches: P, the columns of the piano roll.
        hidden_size: H (a Transformer's width, a TCN's channels).
        num_layers: stacked layers (Transformer blocks, TCN residual blocks).
        dropout: between recurrent layers (inside Transformer and TCN blocks) and before the
            output layer.
        variant: the LSTM variant (a name of :data:`lstmkit.core.cells.VARIANTS`).
        engine: the LSTM engine (``None``: ``"auto"``).
        architecture: one of :data:`~lstmkit.core.layers.encoder.ARCHITECTURES`.
        num_heads: the Transformer's heads (dividing ``hidden_size``); its positions are
            sinusoidal (no parameters, any length).

    Shape:
        - x: (N, L, P) the previous frames (:func:`shift_frames` of the rolls), 0/1 floats.
        - lengths: optional (N,) real lengths of a padded batch.
        - output: (N, L, P) logits; outputs past a sequence's length are padding.

    Example::

        >>> net = PolyphonicNet(pitches=52, hidden_size=64, architecture="gru")
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
        architecture: str = "lstm",
        num_heads: int = 4,
    ) -> None:
        super().__init__()
        self.pitches = pitches
        settings = EncoderSettings(
            architecture, hidden_size, num_layers, variant, engine, num_heads, positions="sinusoidal"
        )
        self.encoder = settings.encoder(pitches, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, pitches)
        self.register_load_state_dict_pre_hook(_old_lstm_keys)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        if x.dim() != 3 or x.shape[-1] != self.pitches:
            raise ValueError(f"x: expected frames (N, L, {self.pitches}), got shape {tuple(x.shape)}")
        h, _ = self.encoder(x, lengths=lengths)  # (N, L, H)
        return self.out(self.drop(h))  # (N, L, P)


#: the name the network had when it was an LSTM only
PolyphonicLSTM = PolyphonicNet


class MelodyNet(nn.Module):
    r"""A melody language model: token embeddings, a causal sequence encoder and a softmax over
    the next token,

    .. math::

        h_t = \mathrm{Enc}(E[y_0], \ldots, E[y_t]), \qquad
        P(y_{t+1} \mid y_{\le t}) = \mathrm{softmax}(W h_t + b).

    Args:
        vocab_size: V, the tokens (notes, rests, the end and unknown tokens, padding).
        embedding_size: the width of :math:`E`.
        hidden_size: H.
        num_layers: stacked layers.
        dropout: on the embeddings, between layers and before the output layer.
        architecture: one of :data:`~lstmkit.core.layers.encoder.ARCHITECTURES`.

    Shape:
        - tokens: (N, L) int64 ids, the tune so far (its first token the start token).
        - lengths: optional (N,) real lengths of a padded batch.
        - output: (N, L, V) logits of the next token after each position.

    Example::

        >>> net = MelodyNet(vocab_size=50, hidden_size=32)
        >>> net(torch.zeros(2, 7, dtype=torch.long)).shape
        torch.Size([2, 7, 50])
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int = 64,
        hidden_size: int = 256,
        num_layers: int = 1,
        dropout: float = 0.0,
        architecture: str = "lstm",
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, embedding_size)
        settings = EncoderSettings(architecture, hidden_size, num_layers, positions="sinusoidal")
        self.encoder = settings.encoder(embedding_size, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens: Tensor, lengths: Tensor | None = None, state: Any = None) -> tuple[Tensor, Any]:
        if tokens.dim() != 2:
            raise ValueError(f"tokens: expected ids (N, L), got shape {tuple(tokens.shape)}")
        h, state = self.encoder(self.drop(self.embed(tokens)), state, lengths)  # (N, L, H)
        return self.out(self.drop(h)), state  # (N, L, V)

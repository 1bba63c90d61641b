"""One sequence encoder, any architecture: the layer an app network reads its input with, so
that an LSTM, a GRU, an Elman RNN, a Transformer or a TCN sits in the same place.

:class:`EncoderSettings` is the value an app takes (``architecture=``, ``hidden_size=``, ...);
``settings.encoder(C_in)`` builds a :class:`SequenceEncoder`, whose ``forward(x, state, lengths)``
returns the outputs at every step and a state:

==============  ==============================================  ==========================
architecture    layer                                           state
==============  ==============================================  ==========================
``"lstm"``      :class:`~lstmkit.core.layers.LSTM` (``variant``)  ``LSTMState`` (h, c)
``"gru"``       :class:`~lstmkit.core.layers.GRU`                 h
``"rnn"``       :class:`~lstmkit.core.layers.RNN` (tanh)          h
``"transformer"`` :class:`~lstmkit.core.layers.transformer.Transformer`  its ``KVCache``
``"tcn"``       :class:`~lstmkit.core.layers.tcn.TCN`             ``None``
==============  ==============================================  ==========================

Shapes (batch first): x (N, L, C_in) -> outputs (N, L, H_out), H_out = ``output_size``
(2 H for a bidirectional recurrent encoder). :func:`last_step` picks each sequence's last real
output (N, H_out): the summary a head reads.

Example::

    >>> enc = EncoderSettings("transformer", hidden_size=32, num_layers=2).encoder(3)
    >>> out, _ = enc(torch.randn(4, 10, 3))
    >>> last_step(out, torch.tensor([10, 7, 3, 1])).shape
    torch.Size([4, 32])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.core.layers.gru import GRU
from lstmkit.core.layers.lstm import LSTM
from lstmkit.core.layers.rnn import RNN
from lstmkit.core.layers.tcn import TCN
from lstmkit.core.layers.transformer import Transformer

__all__ = [
    "ARCHITECTURES",
    "RECURRENT",
    "EncoderSettings",
    "SequenceEncoder",
    "count_parameters",
    "last_step",
]

#: every architecture an encoder can have; the first three carry a recurrent state
ARCHITECTURES = ("lstm", "gru", "rnn", "transformer", "tcn")
RECURRENT = ("lstm", "gru", "rnn")


def count_parameters(module: nn.Module) -> int:
    """The number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def last_step(outputs: Tensor, lengths: Tensor | None = None) -> Tensor:
    """Each sequence's last real output: (N, L, H) and lengths (N,) -> (N, H)."""
    if lengths is None:
        return outputs[:, -1]
    index = (lengths.to(outputs.device).long() - 1).clamp(min=0)  # (N,)
    return outputs[torch.arange(outputs.shape[0], device=outputs.device), index]


@dataclass(frozen=True)
class EncoderSettings:
    """The encoder of a task network.

    Args:
        architecture: one of :data:`ARCHITECTURES`.
        hidden_size: H, the state width (the Transformer's ``d_model``, the TCN's channels).
        num_layers: stacked layers (Transformer blocks, TCN residual blocks).
        variant: the LSTM variant (a name of :data:`lstmkit.core.cells.VARIANTS`).
        engine: the LSTM's engine; ``None``: ``"auto"``.
        num_heads: the Transformer's attention heads (dividing ``hidden_size``).
        positions: the Transformer's positions, ``"learned"`` or ``"sinusoidal"``.
        kernel_size: the TCN's kernel.
    """

    architecture: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    variant: str = "classic"
    engine: str | None = None
    num_heads: int = 4
    positions: str = "learned"
    kernel_size: int = 3

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture: expected one of {ARCHITECTURES}, got {self.architecture!r}")

    @property
    def recurrent(self) -> bool:
        return self.architecture in RECURRENT

    def encoder(
        self,
        input_size: int,
        *,
        bidirectional: bool = False,
        dropout: float = 0.0,
        causal: bool = True,
        max_len: int = 4096,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
    ) -> SequenceEncoder:
        """A batch-first encoder reading ``input_size`` features. ``dropout`` acts between
        stacked recurrent layers and inside Transformer and TCN blocks; ``bidirectional`` doubles
        a recurrent encoder; ``causal=False`` lets a Transformer see the whole sequence (a
        classifier's encoder); a TCN is always causal. ``max_len``: the steps a Transformer's
        learned positions cover; ``input_dropout``, ``recurrent_dropout``: a recurrent encoder's
        variational dropouts."""
        if bidirectional and not self.recurrent:
            raise ValueError(
                f"bidirectional: only for {RECURRENT} (a {self.architecture} encoder; "
                "use causal=False for a Transformer that sees the whole sequence)"
            )
        for name, value in (("input_dropout", input_dropout), ("recurrent_dropout", recurrent_dropout)):
            if value and not self.recurrent:
                raise ValueError(
                    f"{name}: only for {RECURRENT}, got {value!r} with a {self.architecture} encoder"
                )
        recurrent = {
            "bidirectional": bidirectional,
            "input_dropout": input_dropout,
            "recurrent_dropout": recurrent_dropout,
        }
        return SequenceEncoder(self, _layer(self, input_size, dropout, causal, max_len, recurrent))


def _layer(
    s: EncoderSettings, input_size: int, dropout: float, causal: bool, max_len: int, recurrent: dict[str, Any]
) -> nn.Module:
    """The layer of ``s``; ``recurrent``: a recurrent layer's own options (``bidirectional``,
    its variational dropouts)."""
    if s.architecture == "transformer":
        return Transformer(
            input_size,
            s.hidden_size,
            s.num_layers,
            s.num_heads,
            dropout=dropout,
            positions=s.positions,
            max_len=max_len,
            causal=causal,
        )
    if s.architecture == "tcn":
        return TCN(input_size, s.hidden_size, s.num_layers, kernel_size=s.kernel_size, dropout=dropout)
    options: dict[str, Any] = {
        "batch_first": True,
        "dropout": dropout if s.num_layers > 1 else 0.0,
    } | recurrent
    if s.architecture == "lstm":
        options |= {"variant": s.variant, "forget_bias": 1.0, "engine": s.engine or "auto"}
        return LSTM(input_size, s.hidden_size, s.num_layers, **options)
    return (GRU if s.architecture == "gru" else RNN)(input_size, s.hidden_size, s.num_layers, **options)


def _bare_layer_keys(module: nn.Module, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """Load a state dict of the bare layer too (keys without ``layer.``): what a network saved
    when it held the layer (an app's LSTM) itself."""
    inner = prefix + "layer."
    for key in [k for k in state_dict if k.startswith(prefix) and not k.startswith(inner)]:
        state_dict[inner + key[len(prefix) :]] = state_dict.pop(key)


class SequenceEncoder(nn.Module):
    """An encoder of :class:`EncoderSettings`: ``forward(x, state=None, lengths=None) ->
    (outputs (N, L, H_out), state)``; the state continues a stream (recurrent state, the
    Transformer's ``KVCache``; ``None`` for a TCN, which sees only its input).

    Its state dict holds the layer's under ``layer.``; a state dict of the bare layer (written
    by a network that held the layer itself) loads too."""

    def __init__(self, settings: EncoderSettings, layer: nn.Module) -> None:
        super().__init__()
        self.settings, self.layer = settings, layer
        directions = 2 if getattr(layer, "bidirectional", False) else 1
        self.output_size: int = settings.hidden_size * directions
        self.register_load_state_dict_pre_hook(_bare_layer_keys)

    @property
    def architecture(self) -> str:
        return self.settings.architecture

    def forward(self, x: Tensor, state: Any = None, lengths: Tensor | None = None) -> tuple[Tensor, Any]:
        if self.settings.architecture == "tcn":
            if state is not None:
                raise ValueError("state: a TCN encoder carries no state (got one)")
            return self.layer(x, lengths), None
        if self.settings.architecture == "transformer":
            return self.layer(x, lengths, cache=state)
        return self.layer(x, state, lengths)

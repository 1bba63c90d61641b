"""The sequence layer a language network reads its tokens with, when it is not an LSTM.

The language networks (:class:`~lstmkit.apps.language.lm.LanguageModel`, the text classifier,
the encoder-decoder) take ``architecture=`` (one of
:data:`~lstmkit.core.layers.encoder.ARCHITECTURES`). Their LSTM stays the attribute ``lstm``
it always was (its AWD-LSTM regularizers and checkpoints unchanged); every other architecture
is a :class:`~lstmkit.core.layers.encoder.SequenceEncoder` that :func:`sequence_body` asks
:meth:`EncoderSettings.encoder <lstmkit.core.layers.encoder.EncoderSettings.encoder>` for: a GRU
or Elman RNN with the recurrent regularizers the LSTM shares with them, a Transformer (causal or
not) whose learned positions cover ``max_len`` steps, or a TCN.

:func:`check_options` refuses an option the architecture lacks (``weight_drop`` for a GRU,
``input_dropout`` for a Transformer) when it is set, in one line.

Example::

    >>> settings = EncoderSettings("gru", hidden_size=32, num_layers=2)
    >>> body = sequence_body(settings, 16, recurrent_dropout=0.2)
    >>> body(torch.randn(4, 10, 16))[0].shape
    torch.Size([4, 10, 32])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lstmkit.core.layers.encoder import ARCHITECTURES, RECURRENT, EncoderSettings, SequenceEncoder

__all__ = [
    "ARCHITECTURE_NAMES",
    "LSTM_ONLY",
    "RECURRENT_ONLY",
    "body_config",
    "check_architecture",
    "check_options",
    "sequence_body",
]

#: how a table names each architecture
ARCHITECTURE_NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN", "transformer": "Transformer", "tcn": "TCN"}

#: options only an LSTM has (its variant and AWD-LSTM's DropConnect)
LSTM_ONLY = ("variant", "weight_drop", "layer_norm")
#: options of the recurrent architectures (LSTM, GRU, RNN): variational dropouts
RECURRENT_ONLY = ("input_dropout", "recurrent_dropout", "bidirectional")


def check_architecture(architecture: str, choices: tuple[str, ...] = ARCHITECTURES) -> str:
    """``architecture`` if it is one of ``choices``; a one-line ``ValueError`` if not."""
    if architecture not in choices:
        raise ValueError(f"architecture: expected one of {choices}, got {architecture!r}")
    return architecture


def _unset(value: Any) -> bool:
    """Whether an option holds its neutral value (no regularizer, the classic variant)."""
    return value is None or value is False or value == 0 or (isinstance(value, str) and value == "classic")


def check_options(architecture: str, options: Mapping[str, Any]) -> None:
    """Refuse any of ``options`` (name -> value) that ``architecture`` does not have and that
    is set (not 0, ``False``, ``None`` or ``"classic"``).

    Example::

        >>> check_options("gru", {"recurrent_dropout": 0.2, "weight_drop": 0.0})  # fine
        >>> check_options("gru", {"weight_drop": 0.5})
        Traceback (most recent call last):
        ValueError: weight_drop: an option of 'lstm' only, got 0.5 with architecture='gru'
    """
    for name, value in options.items():
        owners = ("lstm",) if name in LSTM_ONLY else RECURRENT if name in RECURRENT_ONLY else ARCHITECTURES
        if architecture not in owners and not _unset(value):
            raise ValueError(
                f"{name}: an option of {owners if len(owners) > 1 else owners[0]!r} only, "
                f"got {value!r} with architecture={architecture!r}"
            )


def sequence_body(
    settings: EncoderSettings,
    input_size: int,
    *,
    bidirectional: bool = False,
    dropout: float = 0.0,
    causal: bool = True,
    max_len: int = 4096,
    input_dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
) -> SequenceEncoder:
    """A batch-first :class:`SequenceEncoder` of ``settings`` (any architecture but the LSTM)
    reading ``input_size`` features.

    Args:
        settings: the architecture and its sizes.
        input_size: C_in.
        bidirectional: a GRU or RNN reads both ways (H_out = 2 H).
        dropout: between stacked GRU/RNN layers; inside the Transformer's and TCN's blocks.
        causal: a Transformer sees the past only (``False``: the whole sequence).
        max_len: the steps a Transformer's learned positions cover.
        input_dropout, recurrent_dropout: a GRU's or RNN's variational dropouts.
    """
    if settings.architecture == "lstm":
        raise ValueError("settings: an LSTM body is the network's own LSTM, got architecture='lstm'")
    return settings.encoder(
        input_size,
        bidirectional=bidirectional,
        dropout=dropout,
        causal=causal,
        max_len=max_len,
        input_dropout=input_dropout,
        recurrent_dropout=recurrent_dropout,
    )


def body_config(
    settings: EncoderSettings,
    *,
    input_dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    bidirectional: bool | None = None,
    context: int | None = None,
) -> dict[str, Any]:
    """The constructor arguments of a :func:`sequence_body` that a network's ``config()``
    records: the sizes and the architecture's own options (a Transformer's heads, positions and
    ``context`` if given, a TCN's kernel, a GRU's or RNN's dropouts and ``bidirectional`` if given)."""
    own: dict[str, Any] = {"hidden_size": settings.hidden_size, "num_layers": settings.num_layers}
    if settings.architecture == "transformer":
        own |= {"num_heads": settings.num_heads, "positions": settings.positions}
        return own | ({} if context is None else {"context": context})
    if settings.architecture == "tcn":
        return own | {"kernel_size": settings.kernel_size}
    own |= {} if bidirectional is None else {"bidirectional": bidirectional}
    return own | {"input_dropout": input_dropout, "recurrent_dropout": recurrent_dropout}

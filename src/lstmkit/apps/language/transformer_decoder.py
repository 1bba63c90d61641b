"""Deprecated: the Transformer decoder lives in :mod:`lstmkit.core.layers.transformer`, next to
the encoder whose pieces it shares; this module re-exports it for one release."""

from __future__ import annotations

import warnings

from lstmkit.core.layers.transformer import DecoderState, TransformerDecoder

__all__ = ["DecoderState", "TransformerDecoder"]

warnings.warn(
    "lstmkit.apps.language.transformer_decoder is deprecated and will be removed in the next release: "
    "use lstmkit.core.layers.transformer",
    DeprecationWarning,
    stacklevel=2,
)

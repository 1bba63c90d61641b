r"""Text classifier: embeddings, a (bi)LSTM and attention pooling (Yang et al. 2016; Lin et al. 2017).

.. math::

    h_{1..L} = \mathrm{BiLSTM}(E[x_1], \dots, E[x_L]), \qquad
    a = \mathrm{softmax}_s\big(v^\top \tanh(W h_s + b)\big), \qquad
    y = W_y \textstyle\sum_s a_s h_s + b_y

over the real tokens of each text only (padding gets zero weight). Pooling may also be the
last state (both directions' final h), the mean or the max over the real steps.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.apps.language.lm import _variant_name, check_token_ids, embedding_dropout, lstm_arguments
from lstmkit.core.cells.lstm import LSTMSpec
from lstmkit.core.layers.attention import AttentionPooling
from lstmkit.core.layers.lstm import LSTM
from lstmkit.core.layers.regularizers import check_probability
from lstmkit.core.scan import lengths_to_mask

__all__ = ["POOLINGS", "TextClassifier"]

POOLINGS = ("attention", "last", "mean", "max")


class TextClassifier(nn.Module):
    r"""(Bi)LSTM text classifier with attention pooling.

    Args:
        vocab_size: V.
        num_classes: C.
        embed_dim: E.
        hidden_size: H per direction.
        num_layers: stacked LSTM layers.
        bidirectional: read the text both ways (features 2H).
        pooling: ``"attention"`` (default), ``"last"``, ``"mean"`` or ``"max"``.
        attention_size: width of the attention's tanh layer (default 2H or H).
        dropout: dropout on the pooled vector.
        embed_dropout: drop whole token types from the embedding (AWD-style).
        input_dropout, recurrent_dropout, weight_drop: the LSTM's regularizers.
        variant: the LSTM variant.
        pad_id: id of padding; lengths are inferred from it when not given.

    Inputs: ``tokens`` (N, L) int64 and optional ``lengths`` (N,) (default: non-pad count).

    Outputs: ``logits`` (N, C); with ``return_attention=True`` also the pooling weights (N, L)
    (zero at padding; for non-attention pooling, ``None``).

    Example::

        >>> clf = TextClassifier(vocab_size=5000, num_classes=2)
        >>> logits, att = clf(torch.randint(4, 5000, (8, 20)), return_attention=True)
        >>> logits.shape, att.shape
        (torch.Size([8, 2]), torch.Size([8, 20]))
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        *,
        bidirectional: bool = True,
        pooling: str = "attention",
        attention_size: int | None = None,
        dropout: float = 0.0,
        embed_dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        weight_drop: float = 0.0,
        variant: str | LSTMSpec = "classic",
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes: expected an int >= 2, got {num_classes!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling: expected one of {POOLINGS}, got {pooling!r}")
        self.vocab_size, self.num_classes, self.pad_id, self.pooling = (
            vocab_size,
            num_classes,
            pad_id,
            pooling,
        )
        self.embed_dropout = check_probability("embed_dropout", embed_dropout)
        self.dropout = check_probability("dropout", dropout)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.lstm = LSTM(embed_dim, hidden_size, num_layers, batch_first=True, **lstm_arguments(locals()))
        feat = hidden_size * (2 if bidirectional else 1)
        self.attention = AttentionPooling(feat, attention_size) if pooling == "attention" else None
        self.head = nn.Linear(feat, num_classes)
        self._attention_size = attention_size

    def config(self) -> dict[str, Any]:
        """Constructor arguments, for checkpoints."""
        lstm = self.lstm
        return {
            "vocab_size": self.vocab_size,
            "num_classes": self.num_classes,
            "embed_dim": self.embedding.embedding_dim,
            "hidden_size": lstm.hidden_size,
            "num_layers": lstm.num_layers,
            "bidirectional": lstm.bidirectional,
            "pooling": self.pooling,
            "attention_size": self._attention_size,
            "dropout": self.dropout,
            "embed_dropout": self.embed_dropout,
            "input_dropout": lstm.input_dropout,
            "recurrent_dropout": lstm.recurrent_dropout,
            "weight_drop": lstm.weight_drop,
            "variant": _variant_name(lstm.spec),
            "pad_id": self.pad_id,
        }

    def forward(
        self, tokens: Tensor, lengths: Tensor | None = None, *, return_attention: bool = False
    ) -> Any:
        check_token_ids("tokens", tokens, self.vocab_size)
        if lengths is None:
            lengths = (tokens != self.pad_id).sum(1)
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        if bool((lengths < 1).any()):
            raise ValueError("lengths: every text needs at least one token (got an empty text)")
        x = embedding_dropout(self.embedding, tokens, self.embed_dropout, self.training)  # (N, L, E)
        out, state = self.lstm(x, lengths=lengths)  # (N, L, D*H)
        mask = lengths_to_mask(lengths, tokens.shape[1], tokens.device).t()  # (N, L)
        weights = None
        if self.attention is not None:
            pooled, weights = self.attention(out, mask)  # (N, D*H), (N, L)
        elif self.pooling == "last":
            d = 2 if self.lstm.bidirectional else 1
            pooled = torch.cat([state.h[-d + k] for k in range(d)], -1)  # (N, D*H)
        elif self.pooling == "mean":
            pooled = out.sum(1) / lengths.unsqueeze(1).to(out.dtype)
        else:
            pooled = out.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
        pooled = nn.functional.dropout(pooled, self.dropout, self.training)
        logits = self.head(pooled)  # (N, C)
        return (logits, weights) if return_attention else logits

r"""Text classifier: embeddings, a (bi)LSTM and attention pooling (Yang et al. 2016; Lin et al. 2017),
or a GRU, an Elman RNN, a Transformer or a TCN in the LSTM's place.

.. math::

    h_{1..L} = \mathrm{BiLSTM}(E[x_1], \dots, E[x_L]), \qquad
    a = \mathrm{softmax}_s\big(v^\top \tanh(W h_s + b)\big), \qquad
    y = W_y \textstyle\sum_s a_s h_s + b_y

over the real tokens of each text only (padding gets zero weight). Pooling may also be the
last state (both directions' final h), the mean or the max over the real steps. A Transformer
reads the whole text at every step (not causal; padding masked), a TCN its receptive field
before each step; both are pooled by their mean unless told otherwise.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.apps.language.architectures import body_config, check_architecture, check_options, sequence_body
from lstmkit.apps.language.lm import check_token_ids, embedding_dropout, lstm_arguments, lstm_config
from lstmkit.core.cells.lstm import LSTMSpec, LSTMState
from lstmkit.core.layers.attention import AttentionPooling
from lstmkit.core.layers.encoder import RECURRENT, EncoderSettings, last_step
from lstmkit.core.layers.lstm import LSTM
from lstmkit.core.layers.regularizers import check_probability
from lstmkit.core.scan import lengths_to_mask

__all__ = ["POOLINGS", "TextClassifier"]

POOLINGS = ("attention", "last", "mean", "max")


class TextClassifier(nn.Module):
    r"""(Bi)LSTM text classifier with attention pooling, or another architecture in its place.

    Args:
        vocab_size: V.
        num_classes: C.
        embed_dim: E.
        hidden_size: H per direction (the Transformer's ``d_model``, the TCN's channels).
        num_layers: stacked layers (Transformer blocks, TCN residual blocks).
        architecture: ``"lstm"`` (default), ``"gru"``, ``"rnn"``, ``"transformer"`` or ``"tcn"``.
        bidirectional: read the text both ways (features 2H); ``None``: a recurrent network
            does, a Transformer or TCN does not (they cannot).
        pooling: ``"attention"``, ``"last"``, ``"mean"`` or ``"max"``; ``None``: ``"attention"``
            for a recurrent network, ``"mean"`` for a Transformer or a TCN.
        attention_size: width of the attention's tanh layer (default 2H or H).
        dropout: dropout on the pooled vector; inside a Transformer's or TCN's blocks too.
        embed_dropout: drop whole token types from the embedding (AWD-style).
        input_dropout, recurrent_dropout: variational dropouts of a recurrent network.
        weight_drop: the LSTM's DropConnect.
        variant: the LSTM variant.
        num_heads, positions: the Transformer's heads and positions (``"sinusoidal"`` or
            ``"learned"``).
        kernel_size: the TCN's kernel.
        pad_id: id of padding; lengths are inferred from it when not given.

    An option the architecture lacks (``weight_drop`` of a GRU) is refused when set.

    Inputs: ``tokens`` (N, L) int64 and optional ``lengths`` (N,) (default: non-pad count).

    Outputs: ``logits`` (N, C); with ``return_attention=True`` also the pooling weights (N, L)
    (zero at padding; for non-attention pooling, ``None``).

    Example::

        >>> clf = TextClassifier(vocab_size=5000, num_classes=2)
        >>> logits, att = clf(torch.randint(4, 5000, (8, 20)), return_attention=True)
        >>> logits.shape, att.shape
        (torch.Size([8, 2]), torch.Size([8, 20]))
        >>> bert_like = TextClassifier(5000, 2, architecture="transformer", num_layers=2)
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        *,
        architecture: str = "lstm",
        bidirectional: bool | None = None,
        pooling: str | None = None,
        attention_size: int | None = None,
        dropout: float = 0.0,
        embed_dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        weight_drop: float = 0.0,
        variant: str | LSTMSpec = "classic",
        num_heads: int = 4,
        positions: str = "sinusoidal",
        kernel_size: int = 3,
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes: expected an int >= 2, got {num_classes!r}")
        self.architecture = check_architecture(architecture)
        if bidirectional is None:
            bidirectional = architecture in RECURRENT
        if pooling is None:
            pooling = "attention" if architecture in RECURRENT else "mean"
        if pooling not in POOLINGS:
            raise ValueError(f"pooling: expected one of {POOLINGS}, got {pooling!r}")
        self.vocab_size, self.num_classes, self.pad_id = vocab_size, num_classes, pad_id
        self.pooling, self.bidirectional = pooling, bool(bidirectional)
        self.embed_dropout = check_probability("embed_dropout", embed_dropout)
        self.dropout = check_probability("dropout", dropout)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        if architecture == "lstm":
            self.lstm = LSTM(embed_dim, hidden_size, num_layers, batch_first=True, **lstm_arguments(locals()))
        else:
            check_options(architecture, lstm_arguments(locals()))
            settings = EncoderSettings(architecture, hidden_size, num_layers, num_heads=num_heads,
                                       positions=positions, kernel_size=kernel_size)  # fmt: skip
            self.encoder = sequence_body(settings, embed_dim, bidirectional=bidirectional, dropout=dropout,
                                         causal=False, input_dropout=input_dropout,
                                         recurrent_dropout=recurrent_dropout)  # fmt: skip
            self._own = body_config(settings, bidirectional=bidirectional, input_dropout=input_dropout,
                                    recurrent_dropout=recurrent_dropout)  # fmt: skip
        feat = hidden_size * (2 if bidirectional else 1)
        self.attention = AttentionPooling(feat, attention_size) if pooling == "attention" else None
        self.head = nn.Linear(feat, num_classes)
        self._attention_size = attention_size

    @property
    def body(self) -> nn.Module:
        """The sequence layer: ``lstm`` (an LSTM) or ``encoder`` (a :class:`SequenceEncoder`)."""
        return self.lstm if self.architecture == "lstm" else self.encoder

    def config(self) -> dict[str, Any]:
        """Constructor arguments, for checkpoints (a config without ``architecture``, saved
        before there were others, is an LSTM's)."""
        common = {
            "vocab_size": self.vocab_size,
            "num_classes": self.num_classes,
            "embed_dim": self.embedding.embedding_dim,
            "architecture": self.architecture,
            "pooling": self.pooling,
            "attention_size": self._attention_size,
            "dropout": self.dropout,
            "embed_dropout": self.embed_dropout,
            "pad_id": self.pad_id,
        }
        if self.architecture != "lstm":
            return common | self._own
        return common | lstm_config(self.lstm) | {"bidirectional": self.lstm.bidirectional}

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
        out, state = self.body(x, None, lengths)  # (N, L, D*H)
        mask = lengths_to_mask(lengths, tokens.shape[1], tokens.device).t()  # (N, L)
        weights = None
        if self.attention is not None:
            pooled, weights = self.attention(out, mask)  # (N, D*H), (N, L)
        elif self.pooling == "last":
            pooled = self._last(out, state, lengths)  # (N, D*H)
        elif self.pooling == "mean":
            pooled = out.sum(1) / lengths.unsqueeze(1).to(out.dtype)
        else:
            pooled = out.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
        pooled = nn.functional.dropout(pooled, self.dropout, self.training)
        logits = self.head(pooled)  # (N, C)
        return (logits, weights) if return_attention else logits

    def _last(self, out: Tensor, state: Any, lengths: Tensor) -> Tensor:
        """The last state (N, D*H): a recurrent network's final h of each direction (the
        backward one read the whole text too), else the output at each text's last token."""
        if self.architecture not in RECURRENT:
            return last_step(out, lengths)
        h = state.h if isinstance(state, LSTMState) else state  # (L*D, N, H)
        d = 2 if self.bidirectional else 1
        return torch.cat([h[-d + k] for k in range(d)], -1)

r"""Language model (characters, words or subwords): an LSTM with AWD-LSTM regularization, or a
GRU, an Elman RNN, a causal Transformer or a TCN in its place.

.. math::

    e_t = E[x_t], \qquad h_t = \mathrm{LSTM}(e_t, h_{t-1}), \qquad
    P(x_{t+1} \mid x_{\le t}) = \mathrm{softmax}(W_o\, \tilde h_t + b_o)

with :math:`\tilde h_t = h_t` (or :math:`P h_t` when the tied embedding width differs from
the hidden size) and, with tied weights (Press & Wolf 2017; Inan et al. 2017), :math:`W_o = E`.

Regularizers of AWD-LSTM (Merity, Keskar & Socher 2018), all training-only: embedding
dropout (whole rows of :math:`E`, so a word is dropped everywhere in the batch),
variational dropout on every layer's input and on the LSTM output (one mask per sequence),
variational recurrent dropout, DropConnect on the hidden-to-hidden weights.

The other architectures (``architecture=``, :data:`~lstmkit.core.layers.encoder.ARCHITECTURES`)
replace the LSTM by a :class:`~lstmkit.core.layers.encoder.SequenceEncoder`: a GRU or an RNN
(which share the LSTM's variational dropouts), a causal Transformer that reads at most
``context`` tokens, or a TCN that sees its receptive field. Only a recurrent network carries
its state from one window of a stream to the next (:attr:`LanguageModel.carries_state`); the
Transformer and the TCN read each training window afresh, and evaluation
(:func:`stream_nll`) and generation give them the tokens before (their :attr:`~LanguageModel.window`).

Generation streams one token at a time (:meth:`LanguageModel.generate` is a generator) with
temperature, top-k and nucleus (top-p, Holtzman et al. 2020) sampling.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.apps.language.architectures import body_config, check_architecture, check_options, sequence_body
from lstmkit.core.cells.lstm import LSTMSpec
from lstmkit.core.layers.encoder import RECURRENT, EncoderSettings
from lstmkit.core.layers.lstm import LSTM
from lstmkit.core.layers.options import check_int
from lstmkit.core.layers.regularizers import check_probability, variational_mask
from lstmkit.core.layers.tcn import TCN
from lstmkit.core.scan import detach_state

__all__ = [
    "LSTM_ARGUMENTS",
    "LanguageModel",
    "bits_per_token",
    "check_token_ids",
    "embedding_dropout",
    "filter_logits",
    "lstm_arguments",
    "lstm_config",
    "perplexity",
    "stream_nll",
]

#: The arguments of the language models (:class:`LanguageModel`, the text classifier, the
#: encoder-decoder) that their LSTMs take under the same name, as they are.
LSTM_ARGUMENTS = (
    "variant",
    "bidirectional",
    "input_dropout",
    "recurrent_dropout",
    "weight_drop",
    "layer_norm",
)


def lstm_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor ``arguments`` of a language model (its ``locals()``) that are
    :data:`LSTM_ARGUMENTS`: what its :class:`~lstmkit.core.layers.LSTM` takes as they are.

    Example::

        >>> lstm_arguments({"self": None, "dropout": 0.5, "weight_drop": 0.2, "variant": "classic"})
        {'variant': 'classic', 'weight_drop': 0.2}
    """
    return {name: arguments[name] for name in LSTM_ARGUMENTS if name in arguments}


def check_token_ids(name: str, ids: Tensor, vocab_size: int) -> None:
    """Refuse ``ids`` unless it is an int64 (N, L) tensor of ids in ``[0, vocab_size)``; the error
    names the argument ``name``."""
    if not isinstance(ids, Tensor) or ids.dtype != torch.long or ids.dim() != 2:
        got = f"{ids.dtype} {tuple(ids.shape)}" if isinstance(ids, Tensor) else type(ids).__name__
        raise ValueError(f"{name}: expected an int64 tensor (N, L), got {got}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(
            f"{name}: expected ids in [0, {vocab_size}), got range [{int(ids.min())}, {int(ids.max())}]"
        )


def module_device(module: nn.Module) -> torch.device:
    """Where ``module``'s tensors live (its first parameter or buffer; the CPU without any, as
    an int8 model of :func:`lstmkit.compress.quantize_dynamic` may be)."""
    for t in (*module.parameters(), *module.buffers()):
        return t.device
    return torch.device("cpu")


def embedding_dropout(embedding: nn.Module, ids: Tensor, p: float, training: bool) -> Tensor:
    """Look up ``ids`` in the ``embedding`` after dropping whole rows with probability ``p`` (Gal
    & Ghahramani 2016): a dropped token is zero at every position of the batch; the kept rows
    are scaled by 1 / (1 - p). Without dropout it calls the module itself (so an int8
    embedding of :func:`lstmkit.compress.quantize_dynamic` works too)."""
    if not training or p == 0.0:
        return embedding(ids.contiguous())  # (torch's int8 table reads contiguous ids only)
    assert isinstance(embedding, nn.Embedding)  # training: a float table
    weight = embedding.weight
    mask = variational_mask((weight.shape[0], 1), p, weight.dtype, weight.device)  # (V, 1)
    return F.embedding(ids, weight * mask, embedding.padding_idx)


def filter_logits(
    logits: Tensor, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> Tensor:
    """Logits for sampling: divided by ``temperature``, then everything outside the ``top_k``
    largest and outside the smallest set whose probability reaches ``top_p`` set to -inf.

    Args:
        logits: (..., V).
        temperature: finite and > 0; below 1 sharpens, above 1 flattens.
        top_k: keep the k most likely tokens (None: all).
        top_p: nucleus: keep the most likely tokens until their total probability reaches p
            (the token that crosses p is kept, so at least one always is).

    Returns:
        (..., V) filtered logits.
    """
    if isinstance(temperature, bool) or not (
        isinstance(temperature, (int, float)) and 0 < temperature < math.inf
    ):
        raise ValueError(f"temperature: expected a finite float > 0, got {temperature!r}")
    out = logits / temperature
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k: expected an int >= 1 or None, got {top_k!r}")
        if top_k < out.shape[-1]:
            kth = torch.topk(out, top_k, dim=-1).values[..., -1:]  # (..., 1)
            out = out.masked_fill(out < kth, float("-inf"))
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0.0 < top_p <= 1.0):
        raise ValueError(f"top_p: expected a float in (0, 1], got {top_p!r}")
    if top_p is not None and top_p < 1.0:  # 1 keeps everything (a float cumsum can reach 1 early)
        sorted_logits, order = torch.sort(out, dim=-1, descending=True)
        cum = torch.softmax(sorted_logits, -1).cumsum(-1)
        drop_sorted = (cum - torch.softmax(sorted_logits, -1)) >= top_p  # mass before this token already >= p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        out = out.masked_fill(drop, float("-inf"))
    return out


class LanguageModel(nn.Module):
    r"""Language model with tied embeddings: a stacked LSTM with AWD-LSTM regularization, or
    another architecture in its place.

    Args:
        vocab_size: V, number of token ids.
        embed_dim: E, embedding width.
        hidden_size: H, the body's width (the LSTM's, GRU's or RNN's state; the Transformer's
            ``d_model``; the TCN's channels).
        num_layers: stacked layers (Transformer blocks, TCN residual blocks).
        architecture: ``"lstm"`` (default), ``"gru"``, ``"rnn"``, ``"transformer"`` (causal) or
            ``"tcn"``.
        tie_weights: share the embedding matrix with the output layer; if E != H, a linear
            projection H -> E sits before the output.
        variant: the LSTM variant (see :data:`lstmkit.core.cells.VARIANTS`); LSTM only.
        dropout: variational dropout on the body's output (AWD ``dropout``); a GRU or RNN also
            drops between its layers, a Transformer or TCN inside its blocks.
        embed_dropout: probability of dropping a whole token type (AWD ``dropoute``).
        input_dropout: variational dropout on every recurrent layer's input (AWD
            ``dropouti``/``dropouth``); LSTM, GRU, RNN.
        recurrent_dropout: variational dropout on h_{t-1}; LSTM, GRU, RNN.
        weight_drop: DropConnect on the recurrent weights (AWD ``wdrop``); LSTM only.
        layer_norm: layer-normalized LSTM cells; LSTM only.
        num_heads: the Transformer's attention heads (dividing H).
        positions: the Transformer's positions, ``"learned"`` or ``"sinusoidal"``.
        kernel_size: the TCN's kernel.
        context: the most tokens the Transformer attends to (its learned positions; what
            evaluation and generation keep).

    An option the architecture lacks (``weight_drop`` of a GRU) is refused when set.

    Inputs: ``tokens`` (N, L) int64, optional ``state`` (the body's: an LSTM's ``LSTMState``, a
    GRU's or RNN's h, the Transformer's ``KVCache``; ``None`` for a TCN), optional
    ``lengths`` (N,).

    Outputs: ``logits`` (N, L, V) for the next token at every position, and the final state.

    Example::

        >>> lm = LanguageModel(vocab_size=80, embed_dim=64, hidden_size=64, num_layers=2)
        >>> logits, state = lm(torch.randint(0, 80, (8, 35)))
        >>> logits.shape
        torch.Size([8, 35, 80])
        >>> text_ids = list(lm.generate([5, 6, 7], max_new_tokens=20, top_p=0.9))
        >>> gpt = LanguageModel(80, 64, 64, 2, architecture="transformer", context=128)
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 256,
        hidden_size: int = 512,
        num_layers: int = 2,
        *,
        architecture: str = "lstm",
        tie_weights: bool = True,
        variant: str | LSTMSpec = "classic",
        dropout: float = 0.0,
        embed_dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        weight_drop: float = 0.0,
        layer_norm: bool = False,
        num_heads: int = 4,
        positions: str = "learned",
        kernel_size: int = 3,
        context: int = 256,
    ) -> None:
        super().__init__()
        for name, v in (("vocab_size", vocab_size), ("embed_dim", embed_dim), ("context", context)):
            check_int(name, v)
        self.architecture = check_architecture(architecture)
        self.vocab_size, self.embed_dim = vocab_size, embed_dim
        self.dropout = check_probability("dropout", dropout)
        self.embed_dropout = check_probability("embed_dropout", embed_dropout)
        self.tie_weights = bool(tie_weights)
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        if architecture == "lstm":
            self.lstm = LSTM(embed_dim, hidden_size, num_layers, batch_first=True, **lstm_arguments(locals()))
        else:
            check_options(architecture, lstm_arguments(locals()))
            settings = EncoderSettings(
                architecture, hidden_size, num_layers, num_heads=num_heads, positions=positions,
                kernel_size=kernel_size,
            )  # fmt: skip
            self.encoder = sequence_body(
                settings, embed_dim, dropout=self.dropout, max_len=context,
                input_dropout=input_dropout, recurrent_dropout=recurrent_dropout,
            )  # fmt: skip
            self._own = body_config(
                settings, input_dropout=input_dropout, recurrent_dropout=recurrent_dropout, context=context
            )
        out_dim = hidden_size
        self.project: nn.Linear | None = None
        if self.tie_weights and hidden_size != embed_dim:
            self.project = nn.Linear(hidden_size, embed_dim)
            out_dim = embed_dim
        self.decoder = nn.Linear(out_dim, vocab_size)
        if self.tie_weights:
            self.decoder.weight = self.embedding.weight
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    @property
    def body(self) -> nn.Module:
        """The sequence layer: ``lstm`` (an LSTM) or ``encoder`` (a :class:`SequenceEncoder`)."""
        return self.lstm if self.architecture == "lstm" else self.encoder

    @property
    def carries_state(self) -> bool:
        """Whether the state continues a stream across windows (a recurrent body)."""
        return self.architecture in RECURRENT

    @property
    def window(self) -> int | None:
        """The most recent tokens a prediction depends on: the Transformer's ``context``, the
        TCN's receptive field; ``None`` for a recurrent body (all of them, through its state)."""
        if self.architecture == "transformer":
            return int(self._own["context"])
        if self.architecture == "tcn":
            assert isinstance(self.encoder.layer, TCN)
            return self.encoder.layer.receptive_field
        return None

    def config(self) -> dict[str, Any]:
        """Constructor arguments, for checkpoints (``LanguageModel(**config)`` rebuilds it; a
        config without ``architecture``, saved before there were others, is an LSTM's)."""
        common = {"vocab_size": self.vocab_size, "embed_dim": self.embed_dim}
        common |= {"architecture": self.architecture, "tie_weights": self.tie_weights}
        common |= {"dropout": self.dropout, "embed_dropout": self.embed_dropout}
        if self.architecture != "lstm":
            return common | self._own
        return common | lstm_config(self.lstm) | {"layer_norm": self.lstm.spec.layer_norm}

    def forward(self, tokens: Tensor, state: Any = None, lengths: Tensor | None = None) -> tuple[Tensor, Any]:
        check_token_ids("tokens", tokens, self.vocab_size)
        x = embedding_dropout(self.embedding, tokens, self.embed_dropout, self.training)  # (N, L, E)
        out, state = self.body(x, state, lengths)  # (N, L, H)
        if self.training and self.dropout:
            out = out * variational_mask((out.shape[0], 1, out.shape[2]), self.dropout, out.dtype, out.device)
        if self.project is not None:
            out = self.project(out)  # (N, L, E)
        return self.decoder(out), state  # (N, L, V)

    @torch.no_grad()
    def generate(
        self,
        prime: Sequence[int],
        max_new_tokens: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        stop_ids: Sequence[int] = (),
        suppress_ids: Sequence[int] = (),
        start_id: int = 2,
        generator: torch.Generator | None = None,
    ) -> Iterator[int]:
        """Sample a continuation of ``prime``, yielding each new token id as soon as it exists.

        A recurrent body carries its state; a Transformer its ``KVCache`` up to ``context`` tokens,
        then reads the last ``context // 2`` afresh; a TCN reads its receptive field for each token.

        Args:
            prime: ids to condition on; empty starts from ``start_id`` (``<bos>``).
            max_new_tokens: stop after this many new tokens.
            temperature, top_k, top_p: see :func:`filter_logits`; ``temperature=0`` is greedy
                (a temperature that is negative, infinite or NaN is refused).
            stop_ids: stop after yielding one of these (e.g. ``<eos>``).
            suppress_ids: never produce these (e.g. ``<pad>``, ``<bos>``).
            generator: a seeded ``torch.Generator`` for repeatable samples.
        """
        _check_sampling(max_new_tokens, temperature, top_k, top_p)
        ids = self._primed(prime, start_id)
        was_training = self.training
        self.eval()
        try:
            device = module_device(self)
            last, state = self._advance(ids, None, len(ids), device)
            banned = self._banned(suppress_ids, device)
            stops = set(stop_ids)
            for _ in range(max_new_tokens):
                if banned.numel():
                    last = last.index_fill(0, banned, float("-inf"))
                nxt = _draw(last, temperature, top_k, top_p, generator)
                yield nxt
                if nxt in stops:
                    return
                ids.append(nxt)
                last, state = self._advance(ids, state, 1, device)
        finally:
            self.train(was_training)

    def _advance(self, ids: list[int], state: Any, fresh: int, device: torch.device) -> tuple[Tensor, Any]:
        """The logits (V,) of the token after ``ids`` and the new state, ``state`` having seen
        all of ``ids`` but the last ``fresh``."""
        window = self.window
        if window is None:
            feed = ids[-fresh:]
        elif self.architecture == "tcn":
            feed, state = ids[-window:], None
        elif state is None or state.length + fresh > window:  # a Transformer starts (again)
            feed, state = ids[-(window if state is None else max(1, window // 2)) :], None
        else:
            feed = ids[-fresh:]
        logits, state = self(torch.tensor([feed], dtype=torch.long, device=device), state)  # (1, L, V)
        return logits[0, -1], state

    def _reading(self, bptt: int) -> tuple[int, int]:
        """How :func:`stream_nll` reads a stream in steps of at most ``bptt`` tokens: (the
        tokens before each step it reads again, the step)."""
        window = self.window
        if window is None:
            return 0, bptt
        if self.architecture == "tcn":
            return window - 1, bptt
        step = max(1, min(bptt, window // 2))
        return window - step, step

    def _primed(self, prime: Sequence[int], start_id: int) -> list[int]:
        """The ids that condition the sample: ``prime``, or ``[start_id]``; each in the vocabulary."""
        ids = list(prime) or [start_id]
        bad = [i for i in ids if not 0 <= _token_id(i) < self.vocab_size]
        if bad:
            what = "prime" if prime else "start_id"
            raise ValueError(f"{what}: expected token ids in [0, {self.vocab_size}), got {bad[0]!r}")
        return ids

    def _banned(self, suppress_ids: Sequence[int], device: torch.device) -> Tensor:
        """``suppress_ids`` as a tensor of ids in the vocabulary."""
        banned = torch.tensor(sorted(set(suppress_ids)), dtype=torch.long, device=device)
        if banned.numel() and (int(banned.min()) < 0 or int(banned.max()) >= self.vocab_size):
            raise ValueError(
                f"suppress_ids: expected ids in [0, {self.vocab_size}), got {sorted(set(suppress_ids))}"
            )
        return banned


def _check_sampling(max_new_tokens: int, temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Refuse a bad length or temperature, and (sampling) a bad ``top_k`` / ``top_p``, before the
    model runs rather than at the first sample."""
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens: expected an int >= 0, got {max_new_tokens!r}")
    if isinstance(temperature, bool) or not (
        isinstance(temperature, (int, float)) and 0 <= temperature < math.inf
    ):
        raise ValueError(f"temperature: expected a finite float >= 0 (0: greedy), got {temperature!r}")
    if temperature != 0:
        filter_logits(torch.zeros(1), temperature=temperature, top_k=top_k, top_p=top_p)


def _draw(
    last: Tensor,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    generator: torch.Generator | None,
) -> int:
    """The next token from the logits ``last`` (V,): the most likely one (``temperature=0``) or a
    sample of the filtered distribution."""
    if temperature == 0:
        return int(last.argmax())
    probs = torch.softmax(filter_logits(last, temperature=temperature, top_k=top_k, top_p=top_p), -1)
    return int(torch.multinomial(probs, 1, generator=generator))


def _token_id(value: object) -> int:
    """``value`` as a token id (an int, a NumPy or 0-d tensor integer); -1 if it is none."""
    if isinstance(value, (bool, float)):
        return -1
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return -1


def lstm_config(lstm: LSTM) -> dict[str, Any]:
    """What a language network's ``config()`` records of its LSTM: the sizes, the variant's name
    and the AWD-LSTM regularizers."""
    return {
        "hidden_size": lstm.hidden_size,
        "num_layers": lstm.num_layers,
        "variant": _variant_name(lstm.spec),
        "input_dropout": lstm.input_dropout,
        "recurrent_dropout": lstm.recurrent_dropout,
        "weight_drop": lstm.weight_drop,
    }


def _variant_name(spec: LSTMSpec) -> str | LSTMSpec:
    from lstmkit.core.cells import VARIANTS

    base = spec.with_options(layer_norm=False) if spec.layer_norm else spec
    return next((k for k, v in VARIANTS.items() if v == base), spec)


@torch.no_grad()
def stream_nll(
    model: LanguageModel, ids: Sequence[int] | Tensor, *, batch_size: int = 16, bptt: int = 256
) -> float:
    """Mean negative log-likelihood (nats per token) of a token stream.

    The stream is cut into ``batch_size`` contiguous rows (the tail is dropped) and read in
    chunks of ``bptt`` steps; each row's first token is the only one not predicted. A
    recurrent model carries its state across chunks; a TCN reads its receptive field before
    each chunk again (the same values as one pass); a Transformer reads chunks of at most
    ``context // 2`` tokens, each after the tokens before it that fill its ``context``.
    """
    from lstmkit.apps.language.batching import batchify

    was_training = model.training
    model.eval()
    try:
        rows = batchify(ids, batch_size).to(module_device(model))  # (N, T)
        history, step = model._reading(bptt)
        state = None
        total, count = 0.0, 0
        for start in range(0, rows.shape[1] - 1, step):
            stop = min(start + step, rows.shape[1] - 1)
            begin = max(0, start - history)
            logits, state = model(rows[:, begin:stop], state)  # (N, stop - begin, V)
            state = detach_state(state) if model.carries_state else None
            logits, tgt = logits[:, start - begin :], rows[:, start + 1 : stop + 1]
            total += float(
                F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="sum")
            )
            count += tgt.numel()
        return total / count
    finally:
        model.train(was_training)


def bits_per_token(nll_nats: float) -> float:
    """Cross-entropy in bits: nats / ln 2 (bits per character for a character model)."""
    return nll_nats / math.log(2)


def perplexity(nll_nats: float) -> float:
    """exp(mean negative log-likelihood in nats)."""
    return math.exp(nll_nats)

r"""Sequence-to-sequence translation: an LSTM encoder-decoder with attention, or a Transformer
encoder-decoder.

Encoder: a (bi)LSTM over the source embeddings gives the memory :math:`m_{1..S}` and a final
state that a learned bridge maps to the decoder's initial state
(:math:`h_0 = \tanh(W_h [\overrightarrow{h}; \overleftarrow{h}])`, :math:`c_0 = W_c [\ldots]`).

Decoder, two attention styles:

* ``"luong"`` (Luong, Pham & Manning 2015, global attention): the decoder LSTM reads the
  previous target token, then attends with its new state:
  :math:`h_t = \mathrm{LSTM}(E[y_{t-1}], h_{t-1})`, :math:`c_t = \sum_s a_{ts} m_s` with
  :math:`a_t = \mathrm{softmax}(h_t^\top W m)`, :math:`\tilde h_t = \tanh(W_c [c_t; h_t])`.
  Teacher forcing runs the decoder over the whole target at once.
* ``"bahdanau"`` (Bahdanau, Cho & Bengio 2015): the previous state attends first
  (:math:`a_t = \mathrm{softmax}(v^\top \tanh(W_q h_{t-1} + W_k m))`) and the context is
  part of the LSTM input: :math:`h_t = \mathrm{LSTM}([E[y_{t-1}]; c_t], h_{t-1})`,
  :math:`\tilde h_t = \tanh(W_c [h_t; c_t; E[y_{t-1}]])`. Teacher forcing steps through time.

Both predict :math:`P(y_t \mid y_{<t}, x) = \mathrm{softmax}(W_o \tilde h_t + b_o)` and
return the attention weights :math:`a_{ts}` for plotting. Decoding: greedy (batched) and beam
search with the GNMT length penalty :math:`((5 + |y|) / 6)^\alpha` (Wu et al. 2016).

``architecture="transformer"`` (Vaswani et al. 2017) reads the source with a non-causal
Transformer (:class:`~lstmkit.core.layers.transformer.Transformer`, padding masked) and decodes
with a :class:`~lstmkit.core.layers.transformer.TransformerDecoder` (causal
self-attention, cross-attention to the memory); its state is the decoder's KV cache, and the
weights it returns are the last block's cross-attention, averaged over heads.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.apps.language.architectures import body_config, check_architecture, check_options
from lstmkit.apps.language.beam import Beam, Hypothesis, normalized_score, ranked, search_done
from lstmkit.apps.language.lm import _variant_name, check_token_ids, lstm_arguments
from lstmkit.core.cells.lstm import LSTMSpec, LSTMState
from lstmkit.core.layers.attention import AdditiveAttention, MultiplicativeAttention
from lstmkit.core.layers.encoder import EncoderSettings
from lstmkit.core.layers.lstm import LSTM
from lstmkit.core.layers.regularizers import check_probability
from lstmkit.core.layers.transformer import DecoderState, TransformerDecoder
from lstmkit.core.scan import lengths_to_mask

__all__ = ["ARCHITECTURES", "ATTENTIONS", "Encoded", "Hypothesis", "Seq2Seq"]

ATTENTIONS = ("luong", "bahdanau")
#: the encoder-decoders: LSTMs with attention, or Transformers
ARCHITECTURES = ("lstm", "transformer")


class Encoded(NamedTuple):
    """The encoder's result: ``memory`` (N, S, M), ``mask`` (N, S) of real source steps and the
    decoder's initial ``state`` (an LSTM's: each field (num_layers, N, H); a Transformer's:
    ``None``, its cache of the memory is made at the first step)."""

    memory: Tensor
    mask: Tensor
    state: LSTMState | DecoderState | None


def _select(state: LSTMState | DecoderState | None, index: Tensor | slice) -> Any:
    """The decoder state of the sequences ``index`` of the batch."""
    if isinstance(state, LSTMState):
        return LSTMState(state.h[:, index], state.c[:, index])
    return None if state is None else state.select(index)


class Seq2Seq(nn.Module):
    r"""LSTM encoder-decoder with Luong or Bahdanau attention, or a Transformer encoder-decoder.

    Args:
        src_vocab_size, tgt_vocab_size: vocabulary sizes.
        embed_dim: E, both embeddings.
        hidden_size: H of the decoder and of each encoder direction (a Transformer's ``d_model``).
        num_layers: layers of the encoder and of the decoder (Transformer blocks of each).
        architecture: ``"lstm"`` (default) or ``"transformer"``.
        attention: an LSTM's, ``"luong"`` (``None``: the default) or ``"bahdanau"``.
        score: Luong's score, ``"general"`` or ``"dot"`` (``"dot"`` needs an unidirectional encoder).
        bidirectional_encoder: an LSTM encoder reads the source both ways (memory width M = 2H;
            ``None``: it does).
        dropout: dropout on embeddings and on the attentional output :math:`\tilde h_t` (a
            Transformer's: inside its blocks).
        recurrent_dropout, weight_drop: the LSTMs' regularizers.
        variant: the LSTM variant.
        tie_embeddings: share the decoder's input embedding with the output layer (needs E == H).
        num_heads, positions: a Transformer's attention heads and positions (``"sinusoidal"``
            or ``"learned"``).
        pad_id, bos_id, eos_id: the special ids (as :class:`lstmkit.apps.language.text.Vocab`).

    An LSTM's option (``attention``, ``weight_drop``...) set for a Transformer is refused.

    Inputs (forward, teacher forcing): ``src`` (N, S) int64, ``src_lengths`` (N,), ``tgt_in``
    (N, T) int64 = ``<bos>`` followed by the target without its last token.

    Outputs: ``logits`` (N, T, V_tgt); with ``return_attention=True`` also (N, T, S) weights.

    Example::

        >>> model = Seq2Seq(5000, 6000, embed_dim=128, hidden_size=128)
        >>> logits = model(src, src_lengths, tgt_in)            # teacher forcing
        >>> hyps = model.beam_search(src[:1], src_lengths[:1], beam_size=5)
        >>> hyps[0].tokens, hyps[0].attention.shape
        >>> transformer = Seq2Seq(5000, 6000, 128, 128, 3, architecture="transformer", num_heads=4)
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        embed_dim: int = 256,
        hidden_size: int = 256,
        num_layers: int = 1,
        *,
        architecture: str = "lstm",
        attention: str | None = None,
        score: str = "general",
        bidirectional_encoder: bool | None = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        weight_drop: float = 0.0,
        variant: str | LSTMSpec = "classic",
        tie_embeddings: bool = False,
        num_heads: int = 4,
        positions: str = "sinusoidal",
        pad_id: int = 0,
        bos_id: int = 2,
        eos_id: int = 3,
    ) -> None:
        super().__init__()
        self.architecture = check_architecture(architecture, ARCHITECTURES)
        if architecture == "lstm" and attention is not None and attention not in ATTENTIONS:
            hint = " (a Transformer encoder-decoder is architecture='transformer')" * (
                attention == "transformer"
            )
            raise ValueError(f"attention: expected one of {ATTENTIONS}, got {attention!r}{hint}")
        if tie_embeddings and embed_dim != hidden_size:
            raise ValueError(
                f"tie_embeddings: needs embed_dim == hidden_size, got {embed_dim} and {hidden_size}"
            )
        self.src_vocab_size, self.tgt_vocab_size = src_vocab_size, tgt_vocab_size
        self.attention_kind, self.score = attention or "luong", score
        self.dropout = check_probability("dropout", dropout)
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.tie_embeddings = bool(tie_embeddings)
        self.src_embed = nn.Embedding(src_vocab_size, embed_dim, padding_idx=pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, embed_dim, padding_idx=pad_id)
        reg = lstm_arguments(locals())  # variant, recurrent_dropout, weight_drop
        if architecture == "transformer":
            check_options(architecture, reg | {"bidirectional": bidirectional_encoder})
            if attention is not None or score != "general":
                raise ValueError(
                    f"attention: an LSTM decoder's (with score), got attention={attention!r}, "
                    f"score={score!r} with architecture='transformer'"
                )
            self._transformer(embed_dim, hidden_size, num_layers, num_heads, positions)
        else:
            bidirectional = True if bidirectional_encoder is None else bidirectional_encoder
            self._lstm(embed_dim, hidden_size, num_layers, bidirectional, reg)
        self.out = nn.Linear(hidden_size, tgt_vocab_size)
        if self.tie_embeddings:
            self.out.weight = self.tgt_embed.weight

    def _lstm(self, embed_dim: int, hidden_size: int, num_layers: int, bidirectional: bool, reg: Any) -> None:
        """The LSTM encoder, the bridge of its final state, the decoder and its attention."""
        self.encoder = LSTM(
            embed_dim, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional, **reg
        )
        mem = hidden_size * (2 if bidirectional else 1)
        self.memory_size = mem
        self.bridge_h = nn.Linear(mem, hidden_size)
        self.bridge_c = nn.Linear(mem, hidden_size)
        if self.attention_kind == "luong":
            self.decoder = LSTM(embed_dim, hidden_size, num_layers, batch_first=True, **reg)
            self.attn: nn.Module = MultiplicativeAttention(hidden_size, mem, self.score)
            self.combine = nn.Linear(mem + hidden_size, hidden_size)
        else:
            self.decoder = LSTM(embed_dim + mem, hidden_size, num_layers, batch_first=True, **reg)
            self.attn = AdditiveAttention(hidden_size, mem, hidden_size)
            self.combine = nn.Linear(hidden_size + mem + embed_dim, hidden_size)

    def _transformer(
        self, embed_dim: int, hidden_size: int, num_layers: int, num_heads: int, positions: str
    ) -> None:
        """The non-causal Transformer encoder and the Transformer decoder."""
        settings = EncoderSettings(
            "transformer", hidden_size, num_layers, num_heads=num_heads, positions=positions
        )
        self.encoder = settings.encoder(embed_dim, dropout=self.dropout, causal=False)
        self.memory_size = hidden_size
        self.decoder = TransformerDecoder(
            embed_dim, hidden_size, num_layers, num_heads, dropout=self.dropout, positions=positions
        )
        self._own = body_config(settings)

    def config(self) -> dict[str, Any]:
        """Constructor arguments, for checkpoints (a config without ``architecture``, saved
        before there were others, is an LSTM's)."""
        common = {
            "src_vocab_size": self.src_vocab_size,
            "tgt_vocab_size": self.tgt_vocab_size,
            "embed_dim": self.src_embed.embedding_dim,
            "architecture": self.architecture,
            "dropout": self.dropout,
            "tie_embeddings": self.tie_embeddings,
            "pad_id": self.pad_id,
            "bos_id": self.bos_id,
            "eos_id": self.eos_id,
        }
        if self.architecture == "transformer":
            return common | self._own
        encoder, decoder = self._lstms()
        return common | {
            "hidden_size": decoder.hidden_size,
            "num_layers": decoder.num_layers,
            "attention": self.attention_kind,
            "score": self.score,
            "bidirectional_encoder": encoder.bidirectional,
            "recurrent_dropout": decoder.recurrent_dropout,
            "weight_drop": decoder.weight_drop,
            "variant": _variant_name(decoder.spec),
        }

    def _lstms(self) -> tuple[LSTM, LSTM]:
        """The encoder and the decoder of an LSTM encoder-decoder."""
        assert isinstance(self.encoder, LSTM) and isinstance(self.decoder, LSTM)
        return self.encoder, self.decoder

    # ------------------------------------------------------------------ encoder
    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> Encoded:
        """Run the encoder: memory (N, S, M), mask (N, S) and the decoder's initial state."""
        check_token_ids("src", src, self.src_vocab_size)
        if src_lengths is None:
            src_lengths = (src != self.pad_id).sum(1)
        src_lengths = torch.as_tensor(src_lengths, dtype=torch.long)
        if bool((src_lengths < 1).any()):
            raise ValueError(
                "src_lengths: every source needs at least one token (append <eos> to empty input)"
            )
        mask = lengths_to_mask(src_lengths, src.shape[1], src.device).t()  # (N, S)
        if self.architecture == "transformer":
            memory, _ = self.encoder(self.src_embed(src), None, src_lengths)  # (N, S, D)
            return Encoded(memory, mask, None)
        encoder, _ = self._lstms()
        x = F.dropout(self.src_embed(src), self.dropout, self.training)  # (N, S, E)
        memory, (h, c) = encoder(x, lengths=src_lengths)  # (N, S, M), (L*D, N, H)
        layers, d = encoder.num_layers, encoder.num_directions
        n = src.shape[0]

        def merge(s: Tensor) -> Tensor:  # (L*D, N, H) -> (L, N, D*H)
            return s.view(layers, d, n, -1).permute(0, 2, 1, 3).reshape(layers, n, -1)

        state = LSTMState(torch.tanh(self.bridge_h(merge(h))), self.bridge_c(merge(c)))  # (L, N, H) each
        return Encoded(memory, mask, state)

    # ------------------------------------------------------------------ decoder
    def decode_step(self, prev: Tensor, state: Any, enc: Encoded) -> tuple[Tensor, Any, Tensor]:
        """One decoder step: ``prev`` (B,) previous target ids -> logits (B, V), new state,
        attention weights (B, S)."""
        if self.architecture == "transformer":
            h, w, state = self.decoder(
                self.tgt_embed(prev)[:, None], enc.memory, enc.mask, state
            )  # (B, 1, D)
            return self.out(h[:, 0]), state, w[:, 0]
        _, decoder = self._lstms()
        e = F.dropout(self.tgt_embed(prev), self.dropout, self.training)  # (B, E)
        if self.attention_kind == "luong":
            h, state = decoder.step(e, state)  # (B, H)
            ctx, w = self.attn(h, enc.memory, enc.mask)  # (B, M), (B, S)
            combined = torch.tanh(self.combine(torch.cat([ctx, h], -1)))  # (B, H)
        else:
            ctx, w = self.attn(state.h[-1], enc.memory, enc.mask)  # (B, M), (B, S)
            h, state = decoder.step(torch.cat([e, ctx], -1), state)  # (B, H)
            combined = torch.tanh(self.combine(torch.cat([h, ctx, e], -1)))  # (B, H)
        logits = self.out(F.dropout(combined, self.dropout, self.training))  # (B, V)
        return logits, state, w

    def forward(
        self,
        src: Tensor,
        src_lengths: Tensor | None,
        tgt_in: Tensor,
        *,
        return_attention: bool = False,
    ) -> Any:
        check_token_ids("tgt_in", tgt_in, self.tgt_vocab_size)
        if tgt_in.shape[0] != src.shape[0]:
            raise ValueError(
                f"tgt_in: expected batch size {src.shape[0]} (the source's), got {tgt_in.shape[0]}"
            )
        enc = self.encode(src, src_lengths)
        if self.architecture == "transformer":
            h, w, _ = self.decoder(self.tgt_embed(tgt_in), enc.memory, enc.mask)  # (N, T, D), (N, T, S)
            logits = self.out(h)  # (N, T, V)
        elif self.attention_kind == "luong":
            e = F.dropout(self.tgt_embed(tgt_in), self.dropout, self.training)  # (N, T, E)
            h, _ = self.decoder(e, enc.state)  # (N, T, H)
            ctx, w = self.attn(h, enc.memory, enc.mask)  # (N, T, M), (N, T, S)
            combined = torch.tanh(self.combine(torch.cat([ctx, h], -1)))  # (N, T, H)
            logits = self.out(F.dropout(combined, self.dropout, self.training))  # (N, T, V)
        else:
            state, outs, ws = enc.state, [], []
            for t in range(tgt_in.shape[1]):
                lg, state, wt = self.decode_step(tgt_in[:, t], state, enc)
                outs.append(lg)
                ws.append(wt)
            logits, w = torch.stack(outs, 1), torch.stack(ws, 1)  # (N, T, V), (N, T, S)
        return (logits, w) if return_attention else logits

    # ------------------------------------------------------------------ decoding
    def _max_len(self, src_lengths: Tensor, max_len: int | None) -> int:
        if max_len is not None:
            if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
                raise ValueError(f"max_len: expected an int >= 1 or None, got {max_len!r}")
            return max_len
        return int(src_lengths.max()) * 2 + 10

    def _check_min_len(self, min_len: int) -> int:
        if isinstance(min_len, bool) or not isinstance(min_len, int) or min_len < 0:
            raise ValueError(f"min_len: expected an int >= 0, got {min_len!r}")
        return min_len

    def _allowed_logp(self, logits: Tensor, step: int, min_len: int) -> Tensor:
        """Log-probabilities (B, V) of the next token with the tokens a translation never
        holds set to -inf: ``<pad>`` and ``<bos>`` always, ``<eos>`` before ``min_len`` tokens.
        The others keep their probability under the model (the scores stay comparable)."""
        logp = torch.log_softmax(logits, -1)  # (B, V)
        banned = [self.pad_id, self.bos_id] + ([self.eos_id] if step < min_len else [])
        banned = [b for b in banned if 0 <= b < logp.shape[-1]]
        return logp.index_fill(-1, torch.tensor(banned, device=logp.device), float("-inf"))

    @torch.no_grad()
    def greedy(
        self,
        src: Tensor,
        src_lengths: Tensor | None = None,
        *,
        max_len: int | None = None,
        min_len: int = 1,
    ) -> list[Hypothesis]:
        """Greedy decoding of a batch: the most likely token at every step, until ``<eos>``
        (``<pad>`` and ``<bos>`` never; ``<eos>`` not before ``min_len`` tokens, so by default
        no translation is empty)."""
        min_len = self._check_min_len(min_len)
        was = self.training
        self.eval()
        try:
            enc = self.encode(src, src_lengths)
            n = src.shape[0]
            limit = self._max_len(enc.mask.sum(1), max_len)
            prev = torch.full((n,), self.bos_id, dtype=torch.long, device=src.device)
            state = enc.state
            toks, ws, scores = [], [], torch.zeros(n)
            done = torch.zeros(n, dtype=torch.bool)
            for step in range(limit):
                logits, state, w = self.decode_step(prev, state, enc)
                logp = self._allowed_logp(logits, step, min_len)  # (N, V)
                prev = logp.argmax(-1)
                scores += torch.where(done, torch.zeros(n), logp.gather(1, prev[:, None]).squeeze(1).cpu())
                toks.append(prev)
                ws.append(w)
                done |= (prev == self.eos_id).cpu()
                if bool(done.all()):
                    break
            tok_mat = torch.stack(toks, 1).tolist()  # (N, T)
            w_mat = torch.stack(ws, 1)  # (N, T, S)
            out = []
            for i in range(n):
                seq = tok_mat[i]
                end = seq.index(self.eos_id) if self.eos_id in seq else len(seq)
                steps = min(end + 1, len(seq))
                s_len = int(enc.mask[i].sum())
                out.append(Hypothesis(seq[:end], w_mat[i, :steps, :s_len].cpu(), float(scores[i])))
            return out
        finally:
            self.train(was)

    @torch.no_grad()
    def beam_search(
        self,
        src: Tensor,
        src_lengths: Tensor | None = None,
        *,
        beam_size: int = 5,
        max_len: int | None = None,
        length_penalty: float = 0.6,
        min_len: int = 1,
    ) -> list[Hypothesis]:
        """Beam search, one source at a time; returns the best hypothesis for each source.

        Finished hypotheses (ending in ``<eos>``) are ranked by
        ``score / ((5 + length) / 6) ** length_penalty``; the search stops when ``beam_size``
        of them are found and no live hypothesis ranks above the best of them as it stands,
        when no live hypothesis can beat the best finished one, or at ``max_len`` (default
        2 S + 10), where the live hypotheses (without ``<eos>``) are ranked with the finished
        ones. As in :meth:`greedy`, ``<pad>`` and ``<bos>`` are never
        produced and ``<eos>`` not before ``min_len`` tokens (an empty translation is often
        the likeliest single hypothesis of a weakly trained model, which a wide beam finds).
        """
        if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
            raise ValueError(f"beam_size: expected an int >= 1, got {beam_size!r}")
        min_len = self._check_min_len(min_len)
        if not length_penalty >= 0:  # the search's stopping bound assumes it (NaN fails too)
            raise ValueError(f"length_penalty: expected a value >= 0, got {length_penalty!r}")
        was = self.training
        self.eval()
        try:
            enc_all = self.encode(src, src_lengths)
            results = []
            for i in range(src.shape[0]):
                s_len = int(enc_all.mask[i].sum())
                enc = Encoded(
                    enc_all.memory[i : i + 1, :s_len],
                    enc_all.mask[i : i + 1, :s_len],
                    _select(enc_all.state, slice(i, i + 1)),
                )
                limit = self._max_len(torch.tensor([s_len]), max_len)
                results.append(self._beam_one(enc, beam_size, limit, length_penalty, min_len))
            return results
        finally:
            self.train(was)

    def _beam_one(self, enc: Encoded, k: int, limit: int, alpha: float, min_len: int) -> Hypothesis:
        beam = Beam.start(enc.memory, enc.state, self.bos_id)
        finished: list[tuple[float, Hypothesis]] = []
        for step in range(limit):
            kept = self._beam_step(enc, beam, step, k, alpha, min_len, finished)
            if kept is None:
                break
            beam = kept
            if search_done(finished, beam, k, alpha, limit):
                break
        else:  # max_len reached: the hypotheses still alive compete with the finished ones
            finished += ranked(beam.hypotheses(), alpha)
        if not finished:  # every allowed continuation was exhausted before any <eos>
            finished = ranked(beam.hypotheses(), alpha)
        return max(finished, key=lambda f: f[0])[1]

    def _beam_step(
        self,
        enc: Encoded,
        beam: Beam,
        step: int,
        k: int,
        alpha: float,
        min_len: int,
        finished: list[tuple[float, Hypothesis]],
    ) -> Beam | None:
        """Extend the beam by one token: the best ``k`` continuations without ``<eos>`` (those with
        it go to ``finished``); ``None`` when none is left."""
        b = beam.prev.shape[0]
        enc_b = Encoded(enc.memory.expand(b, -1, -1), enc.mask.expand(b, -1), beam.state)
        logits, state, w = self.decode_step(beam.prev, beam.state, enc_b)
        logp = self._allowed_logp(logits, step, min_len)  # (B, V)
        cand = (beam.scores[:, None] + logp).view(-1)  # (B*V,)
        top = torch.topk(cand, min(2 * k, cand.numel()))
        vocab = self.tgt_vocab_size
        beam_idx, tok_idx = top.indices // vocab, top.indices % vocab
        keep_b, keep_t, keep_s = [], [], []
        for sc, bi, ti in zip(top.values.tolist(), beam_idx.tolist(), tok_idx.tolist()):
            if sc == float("-inf"):  # a banned token: the beam is wider than what is allowed
                break
            if ti == self.eos_id:
                hyp = Hypothesis(
                    beam.seqs[bi].tolist(), torch.cat([beam.atts[bi], w[bi : bi + 1]], 0).cpu(), sc
                )
                finished.append((normalized_score(sc, len(hyp.tokens) + 1, alpha), hyp))
            else:
                keep_b.append(bi)
                keep_t.append(ti)
                keep_s.append(sc)
            if len(keep_b) == k:
                break
        if not keep_b:
            return None
        device = enc.memory.device
        sel = torch.tensor(keep_b, device=device)
        new_tok = torch.tensor(keep_t, device=device)
        return Beam(
            torch.cat([beam.seqs[sel], new_tok[:, None]], 1),
            torch.cat([beam.atts[sel], w[sel].unsqueeze(1)], 1),
            torch.tensor(keep_s, device=device),
            _select(state, sel),
            new_tok,
        )

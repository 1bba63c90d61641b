r"""A Transformer over a sequence, causal by default: the comparison model of the LSTM.

Pre-LN blocks (Xiong et al. 2020), multi-head self-attention through
:func:`torch.nn.functional.scaled_dot_product_attention` with a causal mask, a GELU
feed-forward, and learned or sinusoidal positions (Vaswani et al. 2017):

.. math::

    z_0 = W_{in} x + p, \qquad
    z' = z + \mathrm{MHA}(\mathrm{LN}(z)), \qquad
    z_{k+1} = z' + W_2\,\mathrm{GELU}(W_1\,\mathrm{LN}(z')), \qquad
    y = \mathrm{LN}(z_K)

Causal (the default): step t sees steps 1..t only, so a right-padded batch needs no mask: a
real step never sees the padding after it. ``causal=False`` (a classifier's encoder, as BERT)
lets every step see every real step of its sequence (``lengths`` mask the padding). Padded
outputs are set to zero, as the recurrent layers do.

Streaming: a :class:`KVCache` carries every layer's keys and values; ``model(x, cache=c)``
continues after the ``c.length`` steps already seen (the Transformer's counterpart of an LSTM's
state; its size grows with the steps seen).

Shapes (batch first): x (N, L, C_in) -> y (N, L, D).

:class:`TransformerDecoder`, the decoder of an encoder-decoder (Vaswani et al. 2017), is built
of the same pieces: each block adds cross-attention to the encoder's memory m between its
causal self-attention and its feed-forward,

.. math::

    z' = z + \mathrm{MHA}(\mathrm{LN}(z)), \qquad
    z'' = z' + \mathrm{MHA}(\mathrm{LN}(z'), m), \qquad
    z_{k+1} = z'' + W_2\,\mathrm{GELU}(W_1\,\mathrm{LN}(z''))

and returns the last block's cross-attention weights, averaged over heads (the alignment a
report draws). Its :class:`DecoderState` carries every block's keys and values of the target
steps decoded so far and of the memory (a KV cache); :meth:`DecoderState.select` reorders it
for a beam. Shapes: y (N, T, C_in), memory (N, S, D), memory mask (N, S) -> out (N, T, D),
weights (N, T, S).

Example::

    >>> model = Transformer(3, d_model=32, num_layers=2, num_heads=4)
    >>> x = torch.randn(2, 10, 3)
    >>> y, cache = model(x)
    >>> y2, _ = model(x[:, 6:], cache=model(x[:, :6])[1])  # streaming == whole sequence
    >>> torch.allclose(y[:, 6:], y2, atol=1e-5)
    True
    >>> dec = TransformerDecoder(16, d_model=32, num_layers=2, num_heads=4)
    >>> memory, mask = torch.randn(2, 7, 32), torch.ones(2, 7, dtype=torch.bool)
    >>> out, weights, state = dec(torch.randn(2, 5, 16), memory, mask)
    >>> out.shape, weights.shape, state.length
    (torch.Size([2, 5, 32]), torch.Size([2, 5, 7]), 5)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.core.layers.options import check_int
from lstmkit.core.scan import lengths_to_mask

__all__ = [
    "POSITIONS",
    "DecoderState",
    "KVCache",
    "Transformer",
    "TransformerDecoder",
    "sinusoidal_positions",
]

POSITIONS = ("learned", "sinusoidal")


class KVCache(NamedTuple):
    """Keys and values of the steps seen so far: one (N, heads, S, D/heads) pair per layer."""

    keys: tuple[Tensor, ...]
    values: tuple[Tensor, ...]

    @property
    def length(self) -> int:
        """S, the steps seen."""
        return int(self.keys[0].shape[2]) if self.keys else 0


class DecoderState(NamedTuple):
    """The decoder's cache: per block, the self-attention keys and values of the T target steps
    decoded (N, heads, T, D/heads) and the cross-attention keys and values of the memory
    (N, heads, S, D/heads)."""

    keys: tuple[Tensor, ...]
    values: tuple[Tensor, ...]
    memory_keys: tuple[Tensor, ...]
    memory_values: tuple[Tensor, ...]

    @property
    def length(self) -> int:
        """T, the target steps decoded."""
        return int(self.keys[0].shape[2]) if self.keys else 0

    def select(self, index: Tensor | slice) -> DecoderState:
        """The state of the sequences ``index`` of the batch (a beam's reordering)."""
        return DecoderState(*(tuple(t[index] for t in part) for part in self))


def sinusoidal_positions(start: int, length: int, dim: int, device: torch.device | None = None) -> Tensor:
    """(length, dim) sinusoidal encodings of positions ``start .. start + length - 1``."""
    pos = torch.arange(start, start + length, device=device, dtype=torch.float32)[:, None]  # (L, 1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim, device=device)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return out


def _check_sizes(
    input_size: int, d_model: int, num_layers: int, num_heads: int, positions: str, dropout: float
) -> None:
    """One-line ``ValueError`` naming the first bad argument of a Transformer or its decoder."""
    for name, value in (("input_size", input_size), ("d_model", d_model), ("num_layers", num_layers)):
        check_int(name, value)
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1 or d_model % num_heads:
        raise ValueError(f"num_heads: expected an int >= 1 dividing d_model={d_model}, got {num_heads!r}")
    if positions not in POSITIONS:
        raise ValueError(f"positions: expected one of {POSITIONS}, got {positions!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout: expected a float in [0, 1), got {dropout!r}")


def _heads(x: Tensor, heads: int) -> Tensor:
    """(N, L, D) -> (N, heads, L, D/heads)."""
    n, length, d = x.shape
    return x.view(n, length, heads, d // heads).transpose(1, 2)


def _feed_forward(d_model: int, width: int, dropout: float) -> nn.Sequential:
    """The GELU feed-forward of a block: D -> ``width`` -> D."""
    return nn.Sequential(nn.Linear(d_model, width), nn.GELU(), nn.Dropout(dropout), nn.Linear(width, d_model))


def _renamed_keys(renames: dict[str, str]) -> Callable[..., None]:
    """A load-state-dict pre-hook reading a block's older keys (``old.`` -> ``new.``)."""

    def hook(module: nn.Module, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
        for old, new in renames.items():
            for key in [k for k in state_dict if k.startswith(prefix + old)]:
                state_dict[prefix + new + key[len(prefix + old) :]] = state_dict.pop(key)

    return hook


class _SelfAttention(nn.Module):
    """Multi-head self-attention continuing after the keys and values of earlier steps (a KV
    cache): z (N, L, D), past (N, heads, S, D/heads) pairs -> (N, L, D) and the keys and values
    of all S + L steps."""

    def __init__(self, d_model: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(
        self, z: Tensor, past: tuple[Tensor, Tensor] | None, mask: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        n, length, d = z.shape
        q, k, v = (_heads(t, self.num_heads) for t in self.qkv(z).chunk(3, -1))  # (N, heads, L, D/heads)
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)  # (N, heads, S + L, D/heads)
        attn = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )  # (N, heads, L, D/heads)
        return self.out(attn.transpose(1, 2).reshape(n, length, d)), (k, v)


class _Block(nn.Module):
    """One pre-LN block: self-attention, then the feed-forward, each with a residual."""

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = _SelfAttention(d_model, num_heads, dropout)
        self.ff = _feed_forward(d_model, dim_feedforward, dropout)
        self.drop = nn.Dropout(dropout)
        self.register_load_state_dict_pre_hook(_renamed_keys({"qkv.": "attn.qkv.", "out.": "attn.out."}))

    def forward(
        self, z: Tensor, past: tuple[Tensor, Tensor] | None, mask: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        attn, kv = self.attn(self.norm1(z), past, mask)
        z = z + self.drop(attn)
        return z + self.drop(self.ff(self.norm2(z))), kv


class _DecoderBlock(nn.Module):
    """A decoder block: causal self-attention, cross-attention to the memory, the feed-forward."""

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int, dropout: float) -> None:
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.attn = _SelfAttention(d_model, num_heads, dropout)
        self.query = nn.Linear(d_model, d_model)
        self.memory_kv = nn.Linear(d_model, 2 * d_model)
        self.cross_out = nn.Linear(d_model, d_model)
        self.ff = _feed_forward(d_model, dim_feedforward, dropout)
        self.drop = nn.Dropout(dropout)
        self.register_load_state_dict_pre_hook(_renamed_keys({"qkv.": "attn.qkv.", "self_out.": "attn.out."}))

    def memory(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """The cross-attention keys and values of ``memory`` (N, S, D), each (N, heads, S, D/heads)."""
        k, v = self.memory_kv(memory).chunk(2, -1)
        return _heads(k, self.num_heads), _heads(v, self.num_heads)

    def forward(
        self,
        z: Tensor,
        past: tuple[Tensor, Tensor] | None,
        mask: Tensor | None,
        memory: tuple[Tensor, Tensor],
        memory_mask: Tensor,
    ) -> tuple[Tensor, tuple[Tensor, Tensor], Tensor]:
        """z (N, T, D) after ``past`` steps -> z, the self-attention keys and values with
        these steps, the cross-attention weights (N, heads, T, S)."""
        attn, kv = self.attn(self.norm1(z), past, mask)
        z = z + self.drop(attn)
        q = _heads(self.query(self.norm2(z)), self.num_heads)  # (N, heads, T, D/heads)
        scores = q @ memory[0].transpose(-1, -2) / math.sqrt(q.shape[-1])  # (N, heads, T, S)
        weights = scores.masked_fill(~memory_mask[:, None, None, :], float("-inf")).softmax(-1)
        ctx = F.dropout(weights, self.dropout if self.training else 0.0, self.training) @ memory[1]
        z = z + self.drop(self.cross_out(ctx.transpose(1, 2).flatten(2)))  # (N, T, D)
        return z + self.drop(self.ff(self.norm3(z))), kv, weights


def _padding_mask(x: Tensor, lengths: Tensor | None) -> Tensor | None:
    """(N, 1, 1, L) True at the real steps of each sequence; None without ``lengths``."""
    if lengths is None:
        return None
    return lengths_to_mask(lengths, x.shape[1], x.device).T[:, None, None, :]


def _causal_mask(queries: int, keys: int, device: torch.device) -> Tensor | None:
    """(L, S) True where query i (the last L of S steps) may see key j; None when all may."""
    if queries == 1:
        return None
    offset = keys - queries
    i = torch.arange(queries, device=device)[:, None]
    j = torch.arange(keys, device=device)[None, :]
    return j <= i + offset


class _Stack(nn.Module):
    """What a Transformer and its decoder share: the checks, the input projection, the
    positions, K blocks of ``block``, the final norm."""

    def __init__(
        self,
        input_size: int,
        d_model: int,
        num_layers: int,
        num_heads: int,
        block: type[_Block | _DecoderBlock],
        *,
        dim_feedforward: int | None,
        dropout: float,
        positions: str,
        max_len: int,
    ) -> None:
        super().__init__()
        _check_sizes(input_size, d_model, num_layers, num_heads, positions, dropout)
        self.input_size, self.d_model, self.num_layers, self.num_heads = (
            input_size,
            d_model,
            num_layers,
            num_heads,
        )
        self.positions, self.max_len = positions, max_len
        self.project = nn.Linear(input_size, d_model)
        self.position = nn.Embedding(max_len, d_model) if positions == "learned" else None
        if self.position is not None:
            nn.init.normal_(self.position.weight, std=0.02)
        width = dim_feedforward or 4 * d_model
        self.blocks = nn.ModuleList(block(d_model, num_heads, width, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    @property
    def output_size(self) -> int:
        return self.d_model

    def _embed(self, x: Tensor, start: int, name: str) -> Tensor:
        """The projected input ``x`` (N, L, C_in) of steps ``start ..`` with its positions (N, L, D)."""
        length = x.shape[1]
        if self.position is None:
            p = sinusoidal_positions(start, length, self.d_model, x.device)  # (L, D)
        elif start + length > self.max_len:
            raise ValueError(
                f"{name}: learned positions cover max_len={self.max_len} steps, got {start + length} "
                "(use positions='sinusoidal' or a larger max_len)"
            )
        else:
            p = self.position.weight[start : start + length]  # (L, D)
        return self.drop(self.project(x) + p)


class Transformer(_Stack):
    r"""A causal pre-LN Transformer encoder over (N, L, C_in) -> (N, L, D).

    Args:
        input_size: C_in, features per step.
        d_model: D, the model width (divisible by ``num_heads``).
        num_layers: K blocks.
        num_heads: attention heads.
        dim_feedforward: the feed-forward width; ``None``: 4 D.
        dropout: on attention weights, the feed-forward and the residual branches.
        positions: ``"learned"`` (an embedding of at most ``max_len`` positions) or
            ``"sinusoidal"`` (any length).
        max_len: the longest sequence (counting cached steps) learned positions cover.
        causal: step t sees steps up to t only (streaming with a :class:`KVCache` needs it);
            ``False``: every real step of the sequence.

    Inputs: ``x`` (N, L, C_in), optional ``lengths`` (N,) (padded outputs are zero), optional
    ``cache`` (:class:`KVCache` of the steps before ``x``).

    Outputs: ``y`` (N, L, D) and the :class:`KVCache` including ``x``'s steps.
    """

    def __init__(
        self,
        input_size: int,
        d_model: int = 64,
        num_layers: int = 2,
        num_heads: int = 4,
        *,
        dim_feedforward: int | None = None,
        dropout: float = 0.0,
        positions: str = "learned",
        max_len: int = 4096,
        causal: bool = True,
    ) -> None:
        super().__init__(
            input_size, d_model, num_layers, num_heads, _Block,
            dim_feedforward=dim_feedforward, dropout=dropout, positions=positions, max_len=max_len,
        )  # fmt: skip
        self.causal = bool(causal)

    def forward(
        self, x: Tensor, lengths: Tensor | None = None, cache: KVCache | None = None
    ) -> tuple[Tensor, KVCache]:
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x: expected (N, L, {self.input_size}), got {tuple(x.shape)}")
        if cache is not None and (len(cache.keys) != self.num_layers or cache.keys[0].shape[0] != x.shape[0]):
            raise ValueError(
                f"cache: expected a KVCache of {self.num_layers} layers for batch {x.shape[0]}, "
                f"got {len(cache.keys)} layers"
            )
        if cache is not None and not self.causal:
            raise ValueError("cache: only a causal Transformer continues from a KVCache (got causal=False)")
        start = cache.length if cache is not None else 0
        z = self._embed(x, start, "x")  # (N, L, D)
        mask = (
            _causal_mask(x.shape[1], start + x.shape[1], x.device)
            if self.causal
            else _padding_mask(x, lengths)
        )
        keys, values = [], []
        for k, block in enumerate(self.blocks):
            past = (cache.keys[k], cache.values[k]) if cache is not None else None
            z, (key, value) = block(z, past, mask)
            keys.append(key)
            values.append(value)
        y = self.norm(z)  # (N, L, D)
        if lengths is not None:
            y = y * lengths_to_mask(lengths, x.shape[1], x.device).T.unsqueeze(-1).to(y.dtype)
        return y, KVCache(tuple(keys), tuple(values))


class TransformerDecoder(_Stack):
    r"""A pre-LN Transformer decoder over the target (N, T, C_in), attending to a memory.

    Args:
        input_size: C_in, the target embedding width.
        d_model: D, the model width (the memory's too; divisible by ``num_heads``).
        num_layers: K blocks.
        num_heads: attention heads.
        dim_feedforward: the feed-forward width; ``None``: 4 D.
        dropout: on attention weights, the feed-forward and the residual branches.
        positions: ``"sinusoidal"`` (any length) or ``"learned"`` (at most ``max_len`` steps).
        max_len: the longest target learned positions cover.

    Inputs: ``y`` (N, T, C_in) the target steps after those of ``state``, ``memory`` (N, S, D),
    ``memory_mask`` (N, S) True at real source steps, optional ``state`` (:class:`DecoderState`).

    Outputs: ``out`` (N, T, D), the last block's cross-attention weights (N, T, S) averaged over
    heads, and the :class:`DecoderState` including ``y``'s steps.
    """

    def __init__(
        self,
        input_size: int,
        d_model: int = 64,
        num_layers: int = 2,
        num_heads: int = 4,
        *,
        dim_feedforward: int | None = None,
        dropout: float = 0.0,
        positions: str = "sinusoidal",
        max_len: int = 4096,
    ) -> None:
        super().__init__(
            input_size, d_model, num_layers, num_heads, _DecoderBlock,
            dim_feedforward=dim_feedforward, dropout=dropout, positions=positions, max_len=max_len,
        )  # fmt: skip

    def forward(
        self, y: Tensor, memory: Tensor, memory_mask: Tensor, state: DecoderState | None = None
    ) -> tuple[Tensor, Tensor, DecoderState]:
        if memory.dim() != 3 or memory.shape[2] != self.d_model:
            raise ValueError(f"memory: expected (N, S, {self.d_model}), got {tuple(memory.shape)}")
        if state is None:
            cross = [cast(_DecoderBlock, block).memory(memory) for block in self.blocks]
            state = DecoderState((), (), tuple(k for k, _ in cross), tuple(v for _, v in cross))
        start = state.length
        z = self._embed(y, start, "y")  # (N, T, D)
        mask = _causal_mask(y.shape[1], start + y.shape[1], y.device)  # (T, start + T)
        keys, values, weights = [], [], None
        for i, block in enumerate(self.blocks):
            past = (state.keys[i], state.values[i]) if start else None
            memory_kv = (state.memory_keys[i], state.memory_values[i])
            z, (k, v), weights = block(z, past, mask, memory_kv, memory_mask)
            keys.append(k)
            values.append(v)
        assert weights is not None
        new = DecoderState(tuple(keys), tuple(values), state.memory_keys, state.memory_values)
        return self.norm(z), weights.mean(1), new  # (N, T, D), (N, T, S)

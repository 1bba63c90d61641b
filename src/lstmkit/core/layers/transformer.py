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

Example::

    >>> model = Transformer(3, d_model=32, num_layers=2, num_heads=4)
    >>> x = torch.randn(2, 10, 3)
    >>> y, cache = model(x)
    >>> y2, _ = model(x[:, 6:], cache=model(x[:, :6])[1])  # streaming == whole sequence
    >>> torch.allclose(y[:, 6:], y2, atol=1e-5)
    True
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["POSITIONS", "KVCache", "Transformer", "sinusoidal_positions"]

POSITIONS = ("learned", "sinusoidal")


class KVCache(NamedTuple):
    """Keys and values of the steps seen so far: one (N, heads, S, D/heads) pair per layer."""

    keys: tuple[Tensor, ...]
    values: tuple[Tensor, ...]

    @property
    def length(self) -> int:
        """S, the steps seen."""
        return int(self.keys[0].shape[2]) if self.keys else 0


def sinusoidal_positions(start: int, length: int, dim: int, device: torch.device | None = None) -> Tensor:
    """(length, dim) sinusoidal encodings of positions ``start .. start + length - 1``."""
    pos = torch.arange(start, start + length, device=device, dtype=torch.float32)[:, None]  # (L, 1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim, device=device)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return out


class _Block(nn.Module):
    """One pre-LN block: causal self-attention, then the feed-forward, each with a residual."""

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int, dropout: float) -> None:
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.ff = nn.Sequential(
            nn.Linear(d_model, dim_feedforward),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(dim_feedforward, d_model),
        )
        self.drop = nn.Dropout(dropout)

    def forward(
        self, z: Tensor, past: tuple[Tensor, Tensor] | None, mask: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        n, length, d = z.shape
        q, k, v = self.qkv(self.norm1(z)).view(n, length, 3, self.num_heads, d // self.num_heads).unbind(2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (N, heads, L, D/heads)
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)  # (N, heads, S + L, D/heads)
        attn = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )  # (N, heads, L, D/heads)
        z = z + self.drop(self.out(attn.transpose(1, 2).reshape(n, length, d)))
        return z + self.drop(self.ff(self.norm2(z))), (k, v)


def _padding_mask(x: Tensor, lengths: Tensor | None) -> Tensor | None:
    """(N, 1, 1, L) True at the real steps of each sequence; None without ``lengths``."""
    if lengths is None:
        return None
    steps = torch.arange(x.shape[1], device=x.device)
    return (steps[None, :] < lengths.to(x.device)[:, None])[:, None, None, :]


def _causal_mask(queries: int, keys: int, device: torch.device) -> Tensor | None:
    """(L, S) True where query i (the last L of S steps) may see key j; None when all may."""
    if queries == 1:
        return None
    offset = keys - queries
    i = torch.arange(queries, device=device)[:, None]
    j = torch.arange(keys, device=device)[None, :]
    return j <= i + offset


class Transformer(nn.Module):
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
        super().__init__()
        for name, value in (("input_size", input_size), ("d_model", d_model), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
        if (
            isinstance(num_heads, bool)
            or not isinstance(num_heads, int)
            or num_heads < 1
            or d_model % num_heads
        ):
            raise ValueError(f"num_heads: expected an int >= 1 dividing d_model={d_model}, got {num_heads!r}")
        if positions not in POSITIONS:
            raise ValueError(f"positions: expected one of {POSITIONS}, got {positions!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a float in [0, 1), got {dropout!r}")
        self.input_size, self.d_model, self.num_layers, self.num_heads = (
            input_size,
            d_model,
            num_layers,
            num_heads,
        )
        self.positions, self.max_len, self.causal = positions, max_len, bool(causal)
        self.project = nn.Linear(input_size, d_model)
        self.position = nn.Embedding(max_len, d_model) if positions == "learned" else None
        if self.position is not None:
            nn.init.normal_(self.position.weight, std=0.02)
        width = dim_feedforward or 4 * d_model
        self.blocks = nn.ModuleList(_Block(d_model, num_heads, width, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    @property
    def output_size(self) -> int:
        return self.d_model

    def _positions(self, start: int, length: int, device: torch.device) -> Tensor:
        if self.position is None:
            return sinusoidal_positions(start, length, self.d_model, device)  # (L, D)
        if start + length > self.max_len:
            raise ValueError(
                f"x: learned positions cover max_len={self.max_len} steps, got {start + length} "
                "(use positions='sinusoidal' or a larger max_len)"
            )
        return self.position.weight[start : start + length]  # (L, D)

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
        z = self.drop(self.project(x) + self._positions(start, x.shape[1], x.device))  # (N, L, D)
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
            steps = torch.arange(x.shape[1], device=x.device)
            y = y * (steps[None, :] < lengths.to(x.device)[:, None]).unsqueeze(-1).to(y.dtype)
        return y, KVCache(tuple(keys), tuple(values))

r"""The decoder of a Transformer encoder-decoder (Vaswani et al. 2017), in pre-LN blocks (Xiong et
al. 2020): causal self-attention over the target so far, cross-attention to the encoder's
memory, then a GELU feed-forward, each with a residual:

.. math::

    z' = z + \mathrm{MHA}(\mathrm{LN}(z)), \qquad
    z'' = z' + \mathrm{MHA}(\mathrm{LN}(z'), m), \qquad
    z_{k+1} = z'' + W_2\,\mathrm{GELU}(W_1\,\mathrm{LN}(z'')), \qquad
    y = \mathrm{LN}(z_K)

with :math:`z_0 = W_{in} e + p` (the target embeddings and their positions). The
cross-attention weights of the last block, averaged over heads, are returned (the alignment a
report draws). A :class:`DecoderState` carries every block's keys and values of the target
steps decoded so far and of the memory, so decoding one token at a time reads each step once
(a KV cache), and :meth:`DecoderState.select` reorders it for a beam.

Shapes: y (N, T, C_in), memory (N, S, D), memory mask (N, S) -> out (N, T, D), weights (N, T, S).

Example::

    >>> dec = TransformerDecoder(16, d_model=32, num_layers=2, num_heads=4)
    >>> memory, mask = torch.randn(2, 7, 32), torch.ones(2, 7, dtype=torch.bool)
    >>> out, weights, state = dec(torch.randn(2, 5, 16), memory, mask)
    >>> out.shape, weights.shape, state.length
    (torch.Size([2, 5, 32]), torch.Size([2, 5, 7]), 5)
"""

from __future__ import annotations

import math
from typing import NamedTuple, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.core.layers.transformer import POSITIONS, sinusoidal_positions

__all__ = ["DecoderState", "TransformerDecoder"]


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


def _heads(x: Tensor, heads: int) -> Tensor:
    """(N, L, D) -> (N, heads, L, D/heads)."""
    n, length, d = x.shape
    return x.view(n, length, heads, d // heads).transpose(1, 2)


class _DecoderBlock(nn.Module):
    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int, dropout: float) -> None:
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.self_out = nn.Linear(d_model, d_model)
        self.query = nn.Linear(d_model, d_model)
        self.memory_kv = nn.Linear(d_model, 2 * d_model)
        self.cross_out = nn.Linear(d_model, d_model)
        self.ff = nn.Sequential(
            nn.Linear(d_model, dim_feedforward),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(dim_feedforward, d_model),
        )
        self.drop = nn.Dropout(dropout)

    def memory(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """The cross-attention keys and values of ``memory`` (N, S, D), each (N, heads, S, D/heads)."""
        k, v = self.memory_kv(memory).chunk(2, -1)
        return _heads(k, self.num_heads), _heads(v, self.num_heads)

    def forward(
        self,
        z: Tensor,
        past: tuple[Tensor, Tensor] | None,
        memory: tuple[Tensor, Tensor],
        memory_mask: Tensor,
    ) -> tuple[Tensor, tuple[Tensor, Tensor], Tensor]:
        """z (N, T, D) after ``past`` steps -> z, the self-attention keys and values with
        these steps, the cross-attention weights (N, heads, T, S)."""
        n, length, d = z.shape
        q, k, v = (_heads(t, self.num_heads) for t in self.qkv(self.norm1(z)).chunk(3, -1))
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)  # (N, heads, S_past + T, D/heads)
        steps = k.shape[2]
        causal = torch.ones(length, steps, dtype=torch.bool, device=z.device).tril(steps - length)  # (T, S)
        p = self.dropout if self.training else 0.0
        attn = F.scaled_dot_product_attention(
            q, k, v, attn_mask=causal, dropout_p=p
        )  # (N, heads, T, D/heads)
        z = z + self.drop(self.self_out(attn.transpose(1, 2).reshape(n, length, d)))
        q = _heads(self.query(self.norm2(z)), self.num_heads)  # (N, heads, T, D/heads)
        scores = q @ memory[0].transpose(-1, -2) / math.sqrt(q.shape[-1])  # (N, heads, T, S)
        weights = scores.masked_fill(~memory_mask[:, None, None, :], float("-inf")).softmax(-1)
        ctx = F.dropout(weights, p, self.training) @ memory[1]  # (N, heads, T, D/heads)
        z = z + self.drop(self.cross_out(ctx.transpose(1, 2).reshape(n, length, d)))
        return z + self.drop(self.ff(self.norm3(z))), (k, v), weights


class TransformerDecoder(nn.Module):
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
        super().__init__()
        if (
            isinstance(num_heads, bool)
            or not isinstance(num_heads, int)
            or num_heads < 1
            or d_model % num_heads
        ):
            raise ValueError(f"num_heads: expected an int >= 1 dividing d_model={d_model}, got {num_heads!r}")
        if positions not in POSITIONS:
            raise ValueError(f"positions: expected one of {POSITIONS}, got {positions!r}")
        self.d_model, self.num_layers, self.max_len = d_model, num_layers, max_len
        self.project = nn.Linear(input_size, d_model)
        self.position = nn.Embedding(max_len, d_model) if positions == "learned" else None
        if self.position is not None:
            nn.init.normal_(self.position.weight, std=0.02)
        width = dim_feedforward or 4 * d_model
        self.blocks = nn.ModuleList(
            _DecoderBlock(d_model, num_heads, width, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def _positions(self, start: int, length: int, device: torch.device) -> Tensor:
        if self.position is None:
            return sinusoidal_positions(start, length, self.d_model, device)  # (T, D)
        if start + length > self.max_len:
            raise ValueError(f"y: learned positions cover max_len={self.max_len} steps, got {start + length}")
        return self.position.weight[start : start + length]  # (T, D)

    def forward(
        self, y: Tensor, memory: Tensor, memory_mask: Tensor, state: DecoderState | None = None
    ) -> tuple[Tensor, Tensor, DecoderState]:
        if memory.dim() != 3 or memory.shape[2] != self.d_model:
            raise ValueError(f"memory: expected (N, S, {self.d_model}), got {tuple(memory.shape)}")
        if state is None:
            cross = [cast(_DecoderBlock, block).memory(memory) for block in self.blocks]
            state = DecoderState((), (), tuple(k for k, _ in cross), tuple(v for _, v in cross))
        start = state.length
        z = self.drop(self.project(y) + self._positions(start, y.shape[1], y.device))  # (N, T, D)
        keys, values, weights = [], [], None
        for i, block in enumerate(self.blocks):
            past = (state.keys[i], state.values[i]) if start else None
            memory_kv = (state.memory_keys[i], state.memory_values[i])
            z, (k, v), weights = block(z, past, memory_kv, memory_mask)
            keys.append(k)
            values.append(v)
        assert weights is not None
        new = DecoderState(tuple(keys), tuple(values), state.memory_keys, state.memory_values)
        return self.norm(z), weights.mean(1), new  # (N, T, D), (N, T, S)

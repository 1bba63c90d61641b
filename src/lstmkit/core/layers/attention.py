r"""Attention over the steps of a recurrent layer's output.

* :class:`AdditiveAttention` (Bahdanau, Cho & Bengio 2015):
  :math:`e_{ts} = v^\top \tanh(W_q q_t + W_k k_s)`.
* :class:`MultiplicativeAttention` (Luong, Pham & Manning 2015): ``"dot"``
  :math:`e_{ts} = q_t^\top k_s` or ``"general"`` :math:`e_{ts} = q_t^\top W k_s`.
* :class:`AttentionPooling` (Yang et al. 2016; Lin et al. 2017): one learned query pools a
  sequence into a vector, :math:`e_s = v^\top \tanh(W h_s + b)`.

All take a key ``mask`` (True at real steps) and give padded steps exactly zero weight:
:math:`a_{ts} = \mathrm{softmax}_s(e_{ts})` over the real steps only, and the context is
:math:`c_t = \sum_s a_{ts} k_s`.

Shapes: N batch, T query steps, S key steps, H_q / H_k query / key features.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["AdditiveAttention", "AttentionPooling", "MultiplicativeAttention", "masked_softmax"]


def masked_softmax(scores: Tensor, mask: Tensor | None, dim: int = -1) -> Tensor:
    """Softmax over ``dim`` where ``mask`` is True; masked entries get exactly 0.

    A row with no True entry raises ``ValueError`` (there is nothing to attend to).
    """
    if mask is None:
        return torch.softmax(scores, dim)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask: expected a bool tensor, got {mask.dtype}")
    mask = mask.expand_as(scores)
    if not bool(mask.any(dim).all()):
        raise ValueError("mask: every query needs at least one real key step (got an all-False row)")
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim)
    return weights.masked_fill(~mask, 0.0)


def _check_qk(query: Tensor, keys: Tensor, mask: Tensor | None, hq: int, hk: int) -> tuple[Tensor, bool]:
    if keys.dim() != 3 or keys.shape[-1] != hk:
        raise ValueError(f"keys: expected (N, S, {hk}), got shape {tuple(keys.shape)}")
    single = query.dim() == 2
    q = query.unsqueeze(1) if single else query  # (N, T, H_q)
    if q.dim() != 3 or q.shape[-1] != hq or q.shape[0] != keys.shape[0]:
        raise ValueError(
            f"query: expected (N, T, {hq}) or (N, {hq}) with N={keys.shape[0]}, "
            f"got shape {tuple(query.shape)}"
        )
    if mask is not None and tuple(mask.shape) != tuple(keys.shape[:2]):
        raise ValueError(f"mask: expected shape {tuple(keys.shape[:2])} (N, S), got {tuple(mask.shape)}")
    return q, single


class AdditiveAttention(nn.Module):
    r"""Bahdanau (additive) attention: :math:`e_{ts} = v^\top \tanh(W_q q_t + W_k k_s)`.

    Args:
        query_size: H_q.
        key_size: H_k.
        attention_size: width of the hidden tanh layer (default H_q).

    Inputs: ``query`` (N, T, H_q) or (N, H_q); ``keys`` (N, S, H_k); ``mask`` (N, S) bool or None.

    Outputs: ``context`` (N, T, H_k) (or (N, H_k)) and ``weights`` (N, T, S) (or (N, S)), each row
    summing to 1 over the real steps.

    Example::

        >>> att = AdditiveAttention(32, 64)
        >>> ctx, w = att(torch.randn(4, 32), torch.randn(4, 9, 64))
        >>> ctx.shape, w.shape
        (torch.Size([4, 64]), torch.Size([4, 9]))
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        a = attention_size or query_size
        self.query_size, self.key_size = query_size, key_size
        self.query_proj = nn.Linear(query_size, a, bias=False)
        self.key_proj = nn.Linear(key_size, a, bias=True)
        self.v = nn.Linear(a, 1, bias=False)

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        q, single = _check_qk(query, keys, mask, self.query_size, self.key_size)
        hidden = torch.tanh(
            self.query_proj(q).unsqueeze(2) + self.key_proj(keys).unsqueeze(1)
        )  # (N, T, S, A)
        scores = self.v(hidden).squeeze(-1)  # (N, T, S)
        weights = masked_softmax(scores, None if mask is None else mask.unsqueeze(1))  # (N, T, S)
        context = weights @ keys  # (N, T, H_k)
        return (context.squeeze(1), weights.squeeze(1)) if single else (context, weights)


class MultiplicativeAttention(nn.Module):
    r"""Luong attention: ``"dot"`` :math:`q_t^\top k_s` or ``"general"`` :math:`q_t^\top W k_s`.

    Args:
        query_size: H_q.
        key_size: H_k (must equal H_q for ``"dot"``).
        score: ``"general"`` (default) or ``"dot"``.

    Inputs and outputs as :class:`AdditiveAttention`.
    """

    def __init__(self, query_size: int, key_size: int, score: str = "general") -> None:
        super().__init__()
        if score not in ("dot", "general"):
            raise ValueError(f"score: expected 'dot' or 'general', got {score!r}")
        if score == "dot" and query_size != key_size:
            raise ValueError(f"score='dot': query_size ({query_size}) must equal key_size ({key_size})")
        self.query_size, self.key_size, self.score = query_size, key_size, score
        self.weight = nn.Linear(key_size, query_size, bias=False) if score == "general" else None

    def forward(self, query: Tensor, keys: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        q, single = _check_qk(query, keys, mask, self.query_size, self.key_size)
        k = self.weight(keys) if self.weight is not None else keys  # (N, S, H_q)
        scores = q @ k.transpose(1, 2)  # (N, T, S)
        weights = masked_softmax(scores, None if mask is None else mask.unsqueeze(1))  # (N, T, S)
        context = weights @ keys  # (N, T, H_k)
        return (context.squeeze(1), weights.squeeze(1)) if single else (context, weights)


class AttentionPooling(nn.Module):
    r"""Pool a sequence into one vector with a learned query (Yang et al. 2016):
    :math:`e_s = v^\top \tanh(W h_s + b)`, :math:`a = \mathrm{softmax}(e)`, :math:`\sum_s a_s h_s`.

    Args:
        input_size: H, features of each step.
        attention_size: width of the tanh layer (default H).

    Inputs: ``x`` (N, L, H), ``mask`` (N, L) bool or None.
    Outputs: ``pooled`` (N, H) and ``weights`` (N, L).
    """

    def __init__(self, input_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        a = attention_size or input_size
        self.input_size = input_size
        self.proj = nn.Linear(input_size, a)
        self.v = nn.Linear(a, 1, bias=False)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"x: expected (N, L, {self.input_size}), got shape {tuple(x.shape)}")
        if mask is not None and tuple(mask.shape) != tuple(x.shape[:2]):
            raise ValueError(f"mask: expected shape {tuple(x.shape[:2])} (N, L), got {tuple(mask.shape)}")
        scores = self.v(torch.tanh(self.proj(x))).squeeze(-1)  # (N, L)
        weights = masked_softmax(scores, mask)  # (N, L)
        return (weights.unsqueeze(1) @ x).squeeze(1), weights  # (N, H), (N, L)

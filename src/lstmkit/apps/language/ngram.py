r"""Interpolated Kneser-Ney n-gram language model: the classic baseline for a character LM.

For the highest order, with a context :math:`h` of :math:`n-1` symbols and a discount
:math:`D \in (0, 1)`:

.. math::

    P(w \mid h) = \frac{\max(c(hw) - D, 0)}{c(h\,\cdot)}
                  + \frac{D\, N_{1+}(h\,\cdot)}{c(h\,\cdot)}\, P_{\mathrm{KN}}(w \mid h')

where :math:`h'` drops the oldest symbol, :math:`N_{1+}(h\,\cdot)` is the number of distinct
symbols seen after :math:`h`, and the lower orders use *continuation counts*
:math:`N_{1+}(\cdot\, h w)` (in how many distinct contexts the n-gram appears) in place of
:math:`c`. The recursion ends in a uniform distribution over the vocabulary (plus one unknown
symbol), so every probability is positive. A context never seen falls straight through to
the lower order (Chen & Goodman 1999, "interpolated Kneser-Ney").

Works on any sequence of hashable symbols: a string (characters) or a list of words.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lstmkit.apps.language.tokenizers import Tokenizer

__all__ = ["KneserNeyLM", "ngram_baseline", "ngram_orders"]


class KneserNeyLM:
    """Interpolated Kneser-Ney n-gram model.

    Args:
        order: n (e.g. 5 for a character 5-gram).
        discount: D, the absolute discount, same for every order (0.75 is the usual choice;
            :meth:`tune_discount` picks it on validation text).

    Example::

        >>> lm = KneserNeyLM(order=5).fit("the cat sat on the mat. " * 50)
        >>> round(lm.bits_per_symbol("the cat sat on the mat. "), 2) < 1.0
        True
    """

    def __init__(self, order: int = 5, discount: float = 0.75) -> None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"order: expected an int >= 1, got {order!r}")
        if not 0.0 < float(discount) < 1.0:
            raise ValueError(f"discount: expected a float in (0, 1), got {discount!r}")
        self.order = order
        self.discount = float(discount)
        self.vocab: set[Any] = set()
        # per order k (1..n): counts[k][context][symbol] -- raw counts for k == n, continuation
        # counts for k < n; totals[k][context] = sum over symbols; types[k][context] = distinct symbols
        self._counts: list[dict[tuple, dict[Any, int]]] = []
        self._totals: list[dict[tuple, int]] = []
        self._types: list[dict[tuple, int]] = []

    def fit(self, seq: Sequence[Any]) -> KneserNeyLM:
        """Count the n-grams of ``seq`` (a string or a list of symbols); returns ``self``."""
        if len(seq) < self.order:
            raise ValueError(f"seq: expected at least order={self.order} symbols, got {len(seq)}")
        n = self.order
        self.vocab = set(seq)
        raw: dict[tuple, int] = defaultdict(int)
        for i in range(len(seq) - n + 1):
            raw[tuple(seq[i : i + n])] += 1
        # the first n-1 positions also give lower-order raw events; count them as n-grams with
        # a shorter history so short prefixes are covered
        grams_by_order: list[dict[tuple, int]] = [dict() for _ in range(n + 1)]
        grams_by_order[n] = dict(raw)
        for k in range(n - 1, 0, -1):  # continuation counts: distinct left extensions
            cont: dict[tuple, int] = defaultdict(int)
            for gram in grams_by_order[k + 1]:
                cont[gram[1:]] += 1
            grams_by_order[k] = dict(cont)
        self._counts, self._totals, self._types = [{}], [{}], [{}]
        for k in range(1, n + 1):
            counts: dict[tuple, dict[Any, int]] = defaultdict(dict)
            totals: dict[tuple, int] = defaultdict(int)
            for gram, c in grams_by_order[k].items():
                counts[gram[:-1]][gram[-1]] = c
                totals[gram[:-1]] += c
            self._counts.append(dict(counts))
            self._totals.append(dict(totals))
            self._types.append({h: len(v) for h, v in counts.items()})
        return self

    def prob(self, context: Sequence[Any], symbol: Any) -> float:
        """P(symbol | the last order-1 symbols of context)."""
        if not self._counts:
            raise ValueError("KneserNeyLM: not fitted; call fit(seq) first")
        ctx = tuple(context[len(context) - (self.order - 1) :]) if self.order > 1 else ()
        return self._prob(ctx, symbol)

    def _prob(self, ctx: tuple, symbol: Any) -> float:
        p = 1.0 / (len(self.vocab) + 1)  # uniform over the vocabulary and one unknown symbol
        d = self.discount
        # lowest order first, each interpolating with the one below it
        for k in range(1, self.order + 1):
            h = ctx[len(ctx) - (k - 1) :] if k > 1 else ()
            if len(h) != k - 1:
                continue
            total = self._totals[k].get(h)
            if not total:
                continue
            c = self._counts[k][h].get(symbol, 0)
            p = max(c - d, 0.0) / total + d * self._types[k][h] / total * p
        return p

    def log2_probs(self, seq: Sequence[Any], history: Sequence[Any] = ()) -> list[float]:
        """log2 P of every symbol of ``seq`` given the preceding ones (and ``history`` before them)."""
        full = list(history) + list(seq)
        start = len(history)
        m = self.order - 1
        return [
            math.log2(self._prob(tuple(full[max(0, i - m) : i]), full[i])) for i in range(start, len(full))
        ]

    def bits_per_symbol(self, seq: Sequence[Any], history: Sequence[Any] = ()) -> float:
        """Cross-entropy of ``seq`` in bits per symbol (bits per character for a string)."""
        if len(seq) == 0:
            raise ValueError("seq: expected at least one symbol to evaluate, got none")
        lp = self.log2_probs(seq, history)
        return -sum(lp) / len(lp)

    def tune_discount(self, valid: Sequence[Any], grid: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9)) -> float:
        """Set ``discount`` to the grid value with the lowest bits per symbol on ``valid``."""
        best = min(grid, key=lambda d: self._with_discount(d).bits_per_symbol(valid))
        self.discount = float(best)
        return self.discount

    def _with_discount(self, d: float) -> KneserNeyLM:
        self.discount = float(d)
        return self


def ngram_baseline(
    tokenizer: Tokenizer, train: str, valid: str, test: str | None, order: int
) -> dict[str, float]:
    """Fit an interpolated Kneser-Ney model of ``order`` on the training tokens (the same
    tokenization as the LSTM's), tune its discount on the first 50,000 validation tokens and
    measure bits per token on valid and test. The "params" column reports its n-grams (distinct,
    of every order up to ``order``)."""
    start = time.perf_counter()

    def toks(text: str) -> list[int] | str:
        return text if tokenizer.kind == "char" else tokenizer.encode(text)

    lm = KneserNeyLM(order=order).fit(toks(train))
    valid_t = toks(valid)
    lm.tune_discount(valid_t[:50_000], grid=(0.6, 0.7, 0.8, 0.9, 0.95))
    row = {
        "d": lm.discount,
        "valid_bits": lm.bits_per_symbol(valid_t),
        "test_bits": lm.bits_per_symbol(toks(test)) if test else float("nan"),
        "ngrams": float(sum(len(nexts) for c in lm._counts[1:] for nexts in c.values())),
    }
    row["seconds"] = time.perf_counter() - start
    return row


def ngram_orders(text: str | None) -> list[int]:
    """Comma-separated n-gram orders (``"3,5"``) as ints >= 1, naming ``--ngram-orders``."""
    try:
        orders = [int(o) for o in text.split(",") if o.strip()] if text else []
    except ValueError:
        orders = [0]
    if any(o < 1 for o in orders):
        raise ValueError(f"--ngram-orders: expected comma-separated ints >= 1, got {text!r}")
    return orders

"""The vocabulary of the text models: tokens to ids and back, with four fixed specials
(``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2, ``<eos>`` = 3), a size limit and a minimum frequency.

Example::

    >>> vocab = Vocab.build([["a", "b", "a"]], max_size=10)
    >>> vocab.lookup(["a", "z"])
    [4, 1]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import ClassVar

__all__ = ["BOS", "EOS", "PAD", "SPECIALS", "UNK", "Vocab"]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocab:
    """A token <-> id map whose first four ids are ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``.

    Args:
        tokens: the non-special tokens in id order (ids start at 4). Duplicates and specials
            are refused.

    Example::

        >>> v = Vocab.build([["a", "b", "a"], ["c"]], max_size=6)
        >>> v.lookup(["a", "zzz"]), len(v)
        ([4, 1], 6)
    """

    pad_id: ClassVar[int] = 0
    unk_id: ClassVar[int] = 1
    bos_id: ClassVar[int] = 2
    eos_id: ClassVar[int] = 3

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        self.itos: list[str] = list(SPECIALS)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(SPECIALS)}
        self.counts: dict[str, int] = {}  # training counts, filled by build()
        for tok in tokens:
            if not isinstance(tok, str) or not tok:
                raise ValueError(f"tokens: expected non-empty strings, got {tok!r}")
            if tok in self.stoi:
                raise ValueError(f"tokens: duplicate or reserved token {tok!r}")
            self.stoi[tok] = len(self.itos)
            self.itos.append(tok)

    @classmethod
    def build(
        cls, sequences: Iterable[Iterable[str]], *, max_size: int | None = None, min_freq: int = 1
    ) -> Vocab:
        """The most frequent tokens of ``sequences`` (ties broken by first appearance).

        Args:
            sequences: token sequences to count.
            max_size: at most this many ids in total, the 4 specials included (``None``: all).
            min_freq: drop tokens seen fewer times.
        """
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 5
        ):
            raise ValueError(
                f"max_size: expected an int >= 5 (4 specials + 1 token) or None, got {max_size!r}"
            )
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq: expected an int >= 1, got {min_freq!r}")
        counts: Counter[str] = Counter()
        for seq in sequences:
            counts.update(seq)
        for s in SPECIALS:
            counts.pop(s, None)
        ranked = [t for t, c in counts.most_common() if c >= min_freq]  # stable: first seen first on ties
        if max_size is not None:
            ranked = ranked[: max_size - len(SPECIALS)]
        vocab = cls(ranked)
        vocab.counts = {t: counts[t] for t in ranked}
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def lookup(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``; unknown tokens get ``unk_id``."""
        get, unk = self.stoi.get, self.unk_id
        return [get(t, unk) for t in tokens]

    def tokens(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids``; an id outside the vocabulary raises ``ValueError``."""
        out = []
        n = len(self.itos)
        for i in ids:
            i = int(i)
            if not 0 <= i < n:
                raise ValueError(f"ids: expected ids in [0, {n}), got {i}")
            out.append(self.itos[i])
        return out

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    __hash__ = None  # type: ignore[assignment]

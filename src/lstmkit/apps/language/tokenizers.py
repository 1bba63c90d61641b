"""Character, word and subword (byte-pair encoding) tokenizers.

:class:`CharTokenizer`, :class:`WordTokenizer` and :class:`BPETokenizer` (Sennrich et al. 2016)
split text, learn a :class:`~lstmkit.apps.language.vocab.Vocab` with ``fit``, ``encode`` text to
ids (unknown tokens become ``<unk>``, never an error; over-long input is truncated with a warning
or refused, as chosen) and ``decode`` ids back to text. Their ``state_dict`` is plain JSON so a
checkpoint can carry the tokenizer (:func:`tokenizer_from_state` rebuilds it).

Example::

    >>> tok = WordTokenizer(lowercase=True).fit(["The cat sat.", "The dog sat!"])
    >>> tok.decode(tok.encode("a zebra sat"))
    '<unk> <unk> sat'
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from torch import Tensor

from lstmkit.apps.language.vocab import BOS, EOS, PAD, SPECIALS, UNK, Vocab
from lstmkit.io.text import read_text

__all__ = [
    "OVERFLOW_MODES",
    "BPETokenizer",
    "CharTokenizer",
    "Tokenizer",
    "WordTokenizer",
    "tokenizer_from_state",
]

OVERFLOW_MODES = ("truncate", "error")


def _check_text(name: str, text: object) -> str:
    if isinstance(text, (bytes, bytearray)):
        raise TypeError(
            f"{name}: expected str, got bytes; decode it first "
            "(e.g. with lstmkit.apps.language.text.read_text)"
        )
    if not isinstance(text, str):
        raise TypeError(f"{name}: expected str, got {type(text).__name__}")
    return text


class Tokenizer:
    """Base of the tokenizers: subclasses define :meth:`split` (text -> tokens) and
    :meth:`join` (tokens -> text); fitting, encoding, decoding, truncation and the JSON
    state are shared.

    Args:
        lowercase: lowercase the text before splitting it (``split`` does).
        max_length: default cap on the ids ``encode`` returns (specials included), or ``None``.
        overflow: what ``encode`` does with a longer input: ``"truncate"`` (keep the first
            ``max_length`` ids, ``<eos>`` kept last if asked for, and warn) or ``"error"``
            (raise ``ValueError``).
    """

    kind: ClassVar[str] = ""

    def __init__(
        self, *, lowercase: bool = False, max_length: int | None = None, overflow: str = "truncate"
    ) -> None:
        self.lowercase = bool(lowercase)
        self.vocab = Vocab()
        self.max_length = _check_max_length("max_length", max_length)
        if overflow not in OVERFLOW_MODES:
            raise ValueError(f"overflow: expected one of {OVERFLOW_MODES}, got {overflow!r}")
        self.overflow = overflow

    # -- to define in subclasses
    def split(self, text: str) -> list[str]:
        raise NotImplementedError

    def join(self, tokens: Sequence[str]) -> str:
        raise NotImplementedError

    def _options(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase}

    # -- shared
    @property
    def fitted(self) -> bool:
        return len(self.vocab) > len(SPECIALS)

    def fit(self, texts: Iterable[str], *, max_size: int | None = None, min_freq: int = 1) -> Tokenizer:
        """Learn the vocabulary from ``texts`` (see :meth:`Vocab.build`); returns ``self``."""
        seqs = [self.split(_check_text("texts[i]", t)) for t in texts]
        if not any(seqs):
            raise ValueError("texts: expected at least one non-empty text to learn a vocabulary from")
        self.vocab = Vocab.build(seqs, max_size=max_size, min_freq=min_freq)
        return self

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise ValueError(f"{type(self).__name__}: no vocabulary yet; call fit(texts) first")

    def encode(
        self,
        text: str,
        *,
        add_bos: bool = False,
        add_eos: bool = False,
        max_length: int | None = None,
        overflow: str | None = None,
    ) -> list[int]:
        """Ids of ``text``: unknown tokens become ``<unk>``; ``""`` gives ``[]`` (plus specials).

        Args:
            text: the string.
            add_bos, add_eos: put ``<bos>`` first / ``<eos>`` last.
            max_length: cap on the number of ids, specials included (default: the tokenizer's).
            overflow: ``"truncate"`` or ``"error"`` for this call (default: the tokenizer's).
        """
        self._require_fitted()
        text = _check_text("text", text)
        ids = self.vocab.lookup(self.split(text))
        if add_bos:
            ids.insert(0, Vocab.bos_id)
        if add_eos:
            ids.append(Vocab.eos_id)
        cap = self.max_length if max_length is None else _check_max_length("max_length", max_length)
        if cap is not None and len(ids) > cap:
            mode = self.overflow if overflow is None else overflow
            if mode not in OVERFLOW_MODES:
                raise ValueError(f"overflow: expected one of {OVERFLOW_MODES}, got {overflow!r}")
            if mode == "error":
                raise ValueError(
                    f"text: {len(ids)} tokens is longer than max_length={cap}; "
                    "shorten it or use overflow='truncate'"
                )
            warnings.warn(f"text: {len(ids)} tokens truncated to max_length={cap}", UserWarning, stacklevel=2)
            ids = [*ids[: cap - 1], Vocab.eos_id] if add_eos else ids[:cap]
        return ids

    def decode(
        self, ids: Iterable[int] | Tensor, *, skip_special: bool = True, stop_at_eos: bool = True
    ) -> str:
        """Text of ``ids``; ``<pad>``/``<bos>``/``<eos>`` dropped (``<unk>`` kept visible) unless
        ``skip_special=False``; reading stops at the first ``<eos>`` if ``stop_at_eos``."""
        if isinstance(ids, Tensor):
            if ids.dim() != 1:
                raise ValueError(f"ids: expected a 1-D tensor, got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        toks: list[str] = []
        for tok in self.vocab.tokens(ids):
            if stop_at_eos and tok == EOS:
                break
            if skip_special and tok in (PAD, BOS, EOS):
                continue
            toks.append(tok)
        return self.join(toks)

    def __len__(self) -> int:
        return len(self.vocab)

    def state_dict(self) -> dict[str, Any]:
        """JSON-serializable state: kind, options and the vocabulary."""
        return {
            "kind": self.kind,
            "options": {"max_length": self.max_length, "overflow": self.overflow, **self._options()},
            "tokens": self.vocab.itos[len(SPECIALS) :],
        }

    def _load_extra(self, state: dict[str, Any]) -> None:
        return None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`state_dict` as JSON (atomically)."""
        from lstmkit.io.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(self.state_dict(), ensure_ascii=False))

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}(vocab={len(self.vocab)}{', ' + opts if opts else ''})"


def _check_max_length(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an int >= 1 or None, got {value!r}")
    return value


class CharTokenizer(Tokenizer):
    """One token per Unicode character (code point).

    Args:
        lowercase: lowercase before splitting.
        max_length, overflow: see :class:`Tokenizer`.

    Example::

        >>> tok = CharTokenizer().fit(["hello"])
        >>> tok.decode(tok.encode("hole!"))
        'hole<unk>'
    """

    kind = "char"

    def split(self, text: str) -> list[str]:
        return list(text.lower() if self.lowercase else text)

    def join(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)


# words (with inner hyphens/apostrophe contractions split off), numbers, single punctuation marks.
# An elided French article or English contraction keeps its apostrophe: "l'homme" -> "l'", "homme".
# A hyphen inside a word ("vingt-deux", "sous-menu") becomes the token "@-@" (as in Moses), so
# decoding can glue it back, unlike a free-standing dash or an option's "-l".
_WORD_RE = re.compile(r"\w+['’](?=\w)|\w+|(?P<hyphen>(?<=\w)-(?=\w))|[^\w\s]", re.UNICODE)
HYPHEN = "@-@"
_NO_SPACE_BEFORE = set(".,;:!?)]}%…’")
_QUOTES = set("\"'")  # the same mark opens and closes: odd ones open, even ones close
_NO_SPACE_AFTER = set("([{$")


class WordTokenizer(Tokenizer):
    """Words, numbers and punctuation marks as tokens (Unicode-aware regular expression).

    Decoding re-joins tokens with spaces, except before closing punctuation, after opening
    brackets, after an elided word (``l'`` + ``homme`` -> ``l'homme``) and around a hyphen inside
    a word, which splits as the token ``@-@`` (``vingt-deux`` -> ``vingt``, ``@-@``, ``deux``).

    Args:
        lowercase: lowercase before splitting (default ``True``).
        max_length, overflow: see :class:`Tokenizer`.

    Example::

        >>> WordTokenizer().split("Don't panic, it's 42!")
        ["don'", 't', 'panic', ',', "it'", 's', '42', '!']
    """

    kind = "word"

    def __init__(
        self, *, lowercase: bool = True, max_length: int | None = None, overflow: str = "truncate"
    ) -> None:
        super().__init__(lowercase=lowercase, max_length=max_length, overflow=overflow)

    def split(self, text: str) -> list[str]:
        text = text.lower() if self.lowercase else text
        return [HYPHEN if m.lastgroup == "hyphen" else m.group() for m in _WORD_RE.finditer(text)]

    def join(self, tokens: Sequence[str]) -> str:
        out: list[str] = []
        glue = True
        open_quotes: set[str] = set()
        for tok in tokens:
            if tok == HYPHEN:
                out.append("-")
                glue = True
                continue
            if tok in _QUOTES:  # a free-standing quote mark: opening (glued to what follows) or closing
                closing = tok in open_quotes
                open_quotes ^= {tok}
                if out and not glue and not closing:
                    out.append(" ")
                out.append(tok)
                glue = not closing
                continue
            if out and not glue and not (len(tok) == 1 and tok in _NO_SPACE_BEFORE):
                out.append(" ")
            out.append(tok)
            glue = tok[-1] in "'’" or tok in _NO_SPACE_AFTER  # an elision (l', don') glues on
        return "".join(out)


_EOW = "</w>"


def _merged(pieces: Sequence[str], a: str, b: str) -> list[str]:
    """``pieces`` with each adjacent ``a``, ``b`` (left to right, not overlapping) merged into ``a + b``."""
    j, new = 0, []
    while j < len(pieces):
        if j + 1 < len(pieces) and pieces[j] == a and pieces[j + 1] == b:
            new.append(a + b)
            j += 2
        else:
            new.append(pieces[j])
            j += 1
    return new


class BPETokenizer(Tokenizer):
    """Byte-pair-encoding subwords (Sennrich, Haddow & Birch 2016) over :class:`WordTokenizer` words.

    ``fit`` starts from characters (each word ending in ``</w>``) and repeatedly merges the most
    frequent adjacent pair, ``num_merges`` times; encoding applies the learned merges in order.
    Rare and unseen words are spelled in pieces instead of becoming ``<unk>``: every character
    seen in training stays in the vocabulary (on top of ``max_size``), and only a character
    never seen in training is ``<unk>``.

    Args:
        num_merges: merge operations to learn.
        lowercase: lowercase before splitting.
        max_length, overflow: see :class:`Tokenizer`.

    Example::

        >>> tok = BPETokenizer(num_merges=50).fit(["lower lowest newer newest"] * 5)
        >>> tok.split("slowest")[:2]
        ['s', 'lowest</w>']
    """

    kind = "bpe"

    def __init__(
        self,
        *,
        num_merges: int = 2000,
        lowercase: bool = True,
        max_length: int | None = None,
        overflow: str = "truncate",
    ) -> None:
        super().__init__(lowercase=lowercase, max_length=max_length, overflow=overflow)
        if isinstance(num_merges, bool) or not isinstance(num_merges, int) or num_merges < 0:
            raise ValueError(f"num_merges: expected an int >= 0, got {num_merges!r}")
        self.num_merges = num_merges
        self._words = WordTokenizer(lowercase=lowercase)
        self.merges: list[tuple[str, str]] = []
        self._ranks: dict[tuple[str, str], int] = {}
        self._cache: dict[str, list[str]] = {}

    def fit(self, texts: Iterable[str], *, max_size: int | None = None, min_freq: int = 1) -> BPETokenizer:
        """Learn ``num_merges`` merges from ``texts``, then the vocabulary of the pieces."""
        texts = [_check_text("texts[i]", t) for t in texts]
        freq: Counter[str] = Counter()
        for t in texts:
            freq.update(self._words.split(t))
        if not freq:
            raise ValueError("texts: expected at least one non-empty text to learn subwords from")
        words = [[*list(w[:-1]), w[-1] + _EOW] for w in freq]
        counts = list(freq.values())
        pairs: Counter[tuple[str, str]] = Counter()
        where: dict[tuple[str, str], set[int]] = {}
        for i, w in enumerate(words):
            for p in itertools.pairwise(w):
                pairs[p] += counts[i]
                where.setdefault(p, set()).add(i)
        merges: list[tuple[str, str]] = []
        for _ in range(self.num_merges):
            if not pairs:
                break
            best, n = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
            if n < 1:
                break
            merges.append(best)
            for i in list(where.get(best, ())):
                w, c = words[i], counts[i]
                for p in itertools.pairwise(w):  # remove this word's old pairs
                    pairs[p] -= c
                    if pairs[p] <= 0:
                        del pairs[p]
                    where.get(p, set()).discard(i)
                words[i] = new = _merged(w, *best)
                for p in itertools.pairwise(new):
                    pairs[p] += c
                    where.setdefault(p, set()).add(i)
            pairs.pop(best, None)
            where.pop(best, None)
        self._set_merges(merges)
        super().fit(texts, max_size=max_size, min_freq=min_freq)
        # every piece that segmenting any word of known characters can produce stays in the
        # vocabulary, whatever max_size/min_freq cut: each character, inside a word and at its
        # end, and each merge's product (a new word can stop at a merge the training words went
        # past), so such a word never becomes <unk>
        chars = set("".join(freq))
        base = sorted(chars | {ch + _EOW for ch in chars}) + [a + b for a, b in merges]
        missing = list(dict.fromkeys(b for b in base if b not in self.vocab))
        if missing:
            counts_kept = self.vocab.counts
            self.vocab = Vocab(self.vocab.itos[len(SPECIALS) :] + missing)
            self.vocab.counts = counts_kept
        return self

    def _set_merges(self, merges: Sequence[tuple[str, str]]) -> None:
        self.merges = [tuple(m) for m in merges]  # type: ignore[misc]
        self._ranks = {m: r for r, m in enumerate(self.merges)}
        self._cache = {}

    def _segment(self, word: str) -> list[str]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        pieces = [*list(word[:-1]), word[-1] + _EOW]
        ranks = self._ranks
        while len(pieces) > 1:
            best = min(itertools.pairwise(pieces), key=lambda p: ranks.get(p, math.inf))
            if best not in ranks:
                break
            pieces = _merged(pieces, *best)
        if len(self._cache) < 100_000:
            self._cache[word] = pieces
        return pieces

    def split(self, text: str) -> list[str]:
        out: list[str] = []
        for w in self._words.split(text):
            out.extend(self._segment(w))
        return out

    def join(self, tokens: Sequence[str]) -> str:
        words: list[str] = []
        cur = ""
        for tok in tokens:
            if tok == UNK:  # an unknown piece stands alone: it never glues onto the next word
                words += [cur, UNK] if cur else [UNK]
                cur = ""
            elif tok.endswith(_EOW):
                words.append(cur + tok[: -len(_EOW)])
                cur = ""
            else:
                cur += tok
        if cur:
            words.append(cur)
        return self._words.join(words)

    def _options(self) -> dict[str, Any]:
        return {"num_merges": self.num_merges, **super()._options()}

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["merges"] = [list(m) for m in self.merges]
        return state

    def _load_extra(self, state: dict[str, Any]) -> None:
        self._set_merges([tuple(m) for m in state.get("merges", [])])  # type: ignore[misc]


_KINDS: dict[str, type[Tokenizer]] = {"char": CharTokenizer, "word": WordTokenizer, "bpe": BPETokenizer}


def tokenizer_from_state(state: dict[str, Any] | str | os.PathLike[str]) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`Tokenizer.state_dict` (or the JSON file ``save`` wrote)."""
    if not isinstance(state, dict):
        state = json.loads(read_text(state))
    assert isinstance(state, dict)
    kind = state.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"state: expected kind in {sorted(_KINDS)}, got {kind!r}")
    tok = _KINDS[kind](**state.get("options", {}))
    tok.vocab = Vocab(state.get("tokens", []))
    tok._load_extra(state)
    return tok

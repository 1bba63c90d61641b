"""Text data: vocabularies, character / word / subword tokenizers, padding and length bucketing.

The pieces a text model needs between a string and a tensor, and nothing about models:

* :class:`Vocab` maps tokens to ids with four fixed specials (``<pad>`` = 0, ``<unk>`` = 1,
  ``<bos>`` = 2, ``<eos>`` = 3), a size limit and a minimum frequency.
* :class:`CharTokenizer`, :class:`WordTokenizer` and :class:`BPETokenizer` (byte-pair
  encoding subwords, Sennrich et al. 2016) split text, learn a vocabulary with ``fit``,
  ``encode`` text to ids (unknown tokens become ``<unk>``, never an error; over-long input is
  truncated with a warning or refused, as chosen) and ``decode`` ids back to text. Their
  ``state_dict`` is plain JSON so a checkpoint can carry the tokenizer.
* :func:`pad_sequences` pads id lists into an (N, L) batch plus (N,) lengths;
  :class:`BucketBatchSampler` groups sequences of similar length so little of each batch is
  padding (the usual 2-4x speed-up for recurrent models on text).
* :func:`read_text` reads a file as UTF-8 and turns a decoding failure into an error that
  names the file, the byte offset and the ways out.

Example::

    >>> tok = WordTokenizer(lowercase=True).fit(["The cat sat.", "The dog sat!"])
    >>> ids = [tok.encode(t, add_eos=True) for t in ["the cat", "a zebra sat"]]
    >>> batch, lengths = pad_sequences(ids, pad_id=tok.vocab.pad_id)
    >>> tok.decode(ids[1])
    '<unk> <unk> sat'
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from lstmkit.io.text import decode_text, read_text

__all__ = [
    "BOS",
    "EOS",
    "OVERFLOW_MODES",
    "PAD",
    "SPECIALS",
    "UNK",
    "BPETokenizer",
    "BucketBatchSampler",
    "CharTokenizer",
    "StreamBatches",
    "Tokenizer",
    "Vocab",
    "WordTokenizer",
    "batchify",
    "decode_text",
    "pad_sequences",
    "read_text",
    "tokenizer_from_state",
]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
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


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------------------------
class Tokenizer:
    """Base of the tokenizers: subclasses define :meth:`split` (text -> tokens) and
    :meth:`join` (tokens -> text); fitting, encoding, decoding, truncation and the JSON
    state are shared.

    Args:
        max_length: default cap on the ids ``encode`` returns (specials included), or ``None``.
        overflow: what ``encode`` does with a longer input: ``"truncate"`` (keep the first
            ``max_length`` ids, ``<eos>`` kept last if asked for, and warn) or ``"error"``
            (raise ``ValueError``).
    """

    kind: ClassVar[str] = ""

    def __init__(self, *, max_length: int | None = None, overflow: str = "truncate") -> None:
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
        return {}

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

    def __init__(
        self, *, lowercase: bool = False, max_length: int | None = None, overflow: str = "truncate"
    ) -> None:
        super().__init__(max_length=max_length, overflow=overflow)
        self.lowercase = bool(lowercase)

    def split(self, text: str) -> list[str]:
        return list(text.lower() if self.lowercase else text)

    def join(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)

    def _options(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase}


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
        super().__init__(max_length=max_length, overflow=overflow)
        self.lowercase = bool(lowercase)

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

    def _options(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase}


_EOW = "</w>"


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
        super().__init__(max_length=max_length, overflow=overflow)
        if isinstance(num_merges, bool) or not isinstance(num_merges, int) or num_merges < 0:
            raise ValueError(f"num_merges: expected an int >= 0, got {num_merges!r}")
        self.num_merges = num_merges
        self.lowercase = bool(lowercase)
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
            a, b = best
            for i in list(where.get(best, ())):
                w, c = words[i], counts[i]
                for p in itertools.pairwise(w):  # remove this word's old pairs
                    pairs[p] -= c
                    if pairs[p] <= 0:
                        del pairs[p]
                    where.get(p, set()).discard(i)
                j, new = 0, []
                while j < len(w):
                    if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                        new.append(a + b)
                        j += 2
                    else:
                        new.append(w[j])
                        j += 1
                words[i] = new
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
            a, b = best
            j, new = 0, []
            while j < len(pieces):
                if j + 1 < len(pieces) and pieces[j] == a and pieces[j + 1] == b:
                    new.append(a + b)
                    j += 2
                else:
                    new.append(pieces[j])
                    j += 1
            pieces = new
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
        return {"num_merges": self.num_merges, "lowercase": self.lowercase}

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


# ---------------------------------------------------------------------------------------------
# Batching
# ---------------------------------------------------------------------------------------------
def pad_sequences(
    sequences: Sequence[Sequence[int] | Tensor],
    *,
    pad_id: int = Vocab.pad_id,
    batch_first: bool = True,
    min_length: int = 1,
) -> tuple[Tensor, Tensor]:
    """Pad id sequences into one LongTensor.

    Args:
        sequences: N sequences of token ids (lists or 1-D tensors).
        pad_id: the id of the padding (``<pad>`` = 0).
        batch_first: return (N, L) (default) or time-major (L, N).
        min_length: refuse shorter sequences (default 1: a recurrent model needs a step).

    Returns:
        ``(padded, lengths)``: (N, L) or (L, N) int64 ids, L the longest length, and (N,) int64
        lengths.

    Example::

        >>> pad_sequences([[5, 6, 7], [8]])
        (tensor([[5, 6, 7],
                [8, 0, 0]]), tensor([3, 1]))
    """
    if len(sequences) == 0:
        raise ValueError("sequences: expected at least one sequence, got an empty batch")
    lengths = [len(s) for s in sequences]
    for i, n in enumerate(lengths):
        if n < min_length:
            raise ValueError(
                f"sequences[{i}]: expected at least {min_length} token(s), got {n} (empty text?)"
            )
    out = torch.full((len(sequences), max(lengths)), pad_id, dtype=torch.long)  # (N, L)
    for i, s in enumerate(sequences):
        if lengths[i]:
            out[i, : lengths[i]] = torch.as_tensor(s, dtype=torch.long)
    lens = torch.tensor(lengths, dtype=torch.long)
    return (out if batch_first else out.t().contiguous()), lens


class BucketBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of indices whose sequences have similar lengths.

    Each epoch shuffles the indices, cuts them into pools of ``batch_size * pool_batches``,
    sorts each pool by length, cuts it into batches and shuffles the batches, so a batch
    has little padding yet the order still varies from epoch to epoch (as in torchtext's
    ``BucketIterator`` and fairseq). Deterministic given ``seed`` and the epoch
    (:meth:`set_epoch`, or the count of completed iterations).

    Args:
        lengths: the length of every sequence of the dataset.
        batch_size: sequences per batch.
        shuffle: ``False`` gives one sorted pass (for evaluation).
        pool_batches: batches per sorting pool.
        drop_last: drop a final short batch.
        seed: base seed of the shuffles.

    Example::

        >>> sampler = BucketBatchSampler([len(s) for s in ids], batch_size=32)
        >>> loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate)
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        pool_batches: int = 50,
        drop_last: bool = False,
        seed: int = 0,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
        if isinstance(pool_batches, bool) or not isinstance(pool_batches, int) or pool_batches < 1:
            raise ValueError(f"pool_batches: expected an int >= 1, got {pool_batches!r}")
        if len(lengths) == 0:
            raise ValueError("lengths: expected at least one sequence")
        self.lengths = [int(n) for n in lengths]
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.pool_batches = pool_batches
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        idx = list(range(len(self.lengths)))
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        if self.shuffle:
            rng.shuffle(idx)
            pool = self.batch_size * self.pool_batches
            pools = [idx[i : i + pool] for i in range(0, len(idx), pool)]
        else:
            pools = [idx]
        batches: list[list[int]] = []
        for p in pools:
            p = sorted(p, key=lambda i: self.lengths[i])
            batches.extend(p[i : i + self.batch_size] for i in range(0, len(p), self.batch_size))
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        if self.shuffle:
            rng.shuffle(batches)
            self.epoch += 1
        yield from batches

    def __len__(self) -> int:
        if self.drop_last:
            # pools cut batches separately; count exactly
            if not self.shuffle:
                return len(self.lengths) // self.batch_size
            pool = self.batch_size * self.pool_batches
            n = len(self.lengths)
            full, rest = divmod(n, pool)
            return full * self.pool_batches + rest // self.batch_size
        if not self.shuffle:
            return math.ceil(len(self.lengths) / self.batch_size)
        pool = self.batch_size * self.pool_batches
        n = len(self.lengths)
        full, rest = divmod(n, pool)
        return full * self.pool_batches + math.ceil(rest / self.batch_size)


def batchify(ids: Sequence[int] | Tensor, batch_size: int) -> Tensor:
    """Cut one long id stream into ``batch_size`` contiguous rows for language modelling.

    Row k holds tokens ``[k * T, (k + 1) * T)`` with T = len(ids) // batch_size (the tail that
    does not fill a row is dropped), so consecutive chunks of columns continue each row's text
    and a model's state can be carried across them (truncated BPTT).

    Returns:
        (N, T) int64 with N = ``batch_size``.
    """
    t = torch.as_tensor(ids, dtype=torch.long).flatten()
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
    per_row = t.numel() // batch_size
    if per_row < 2:
        raise ValueError(f"ids: {t.numel()} tokens are too few for {batch_size} rows of at least 2 tokens")
    return t[: per_row * batch_size].view(batch_size, per_row)  # (N, T)


class StreamBatches:
    """Consecutive ``(x, y)`` chunks of a token stream for language-model training.

    The stream is cut into ``batch_size`` rows (:func:`batchify`); chunk k holds columns
    ``[k * bptt, (k + 1) * bptt)`` as input and the same shifted by one as target, so a model
    can carry its state from one chunk to the next (truncated BPTT, ``carry_state``).

    Args:
        ids: the token stream.
        batch_size: N, rows.
        bptt: L, steps per chunk.

    Yields:
        ``(x, y)``, each (N, L) int64 (the last chunk may be shorter).
    """

    def __init__(self, ids: Sequence[int] | Tensor, batch_size: int, bptt: int) -> None:
        if isinstance(bptt, bool) or not isinstance(bptt, int) or bptt < 1:
            raise ValueError(f"bptt: expected an int >= 1, got {bptt!r}")
        self.rows = batchify(ids, batch_size)  # (N, T)
        self.bptt = bptt

    def __len__(self) -> int:
        return math.ceil((self.rows.shape[1] - 1) / self.bptt)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        t = self.rows.shape[1]
        for start in range(0, t - 1, self.bptt):
            stop = min(start + self.bptt, t - 1)
            yield self.rows[:, start:stop], self.rows[:, start + 1 : stop + 1]  # (N, L), (N, L)

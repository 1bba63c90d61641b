"""Parallel and dictionary text for translation: English -> French pairs from Debian's
French message catalogues (``debian-l10n-fr``) and the FreeDict English-French dictionary.

Example::

    >>> pairs = load_parallel()
    >>> pairs.train[0]
"""

from __future__ import annotations

import gettext
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

from lstmkit.apps.language.corpora.catalogue import L10N_PACKAGES, not_installed, split_by_hash

__all__ = ["ParallelSplits", "load_freedict", "load_parallel"]


@dataclass(frozen=True)
class ParallelSplits:
    """Sentence pairs (source, target) cut into train / valid / test."""

    name: str
    src_lang: str
    tgt_lang: str
    train: list[tuple[str, str]]
    valid: list[tuple[str, str]]
    test: list[tuple[str, str]]

    def __repr__(self) -> str:
        return (
            f"ParallelSplits({self.name!r}, {self.src_lang}->{self.tgt_lang}, train={len(self.train)}, "
            f"valid={len(self.valid)}, test={len(self.test)})"
        )


_MARKUP = re.compile(r"[%{}$<>\\\t\n_&|@#`\[\]=*]|\.\.\.|--|\s{2,}")
_LOCALE_DIR = Path("/usr/share/locale")


def _catalogue_pairs(path: Path) -> list[tuple[str, str]]:
    with path.open("rb") as fh:
        cat = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    pairs = []
    for src, tgt in cat.items():
        if not isinstance(src, str) or not src or not isinstance(tgt, str) or not tgt:
            continue  # header entry, plural forms
        src, tgt = src.strip(), tgt.replace("\u202f", " ").replace("\xa0", " ").strip()
        if "\x04" in src or src == tgt or _MARKUP.search(src) or _MARKUP.search(tgt):
            continue  # context-tagged, untranslated, format strings, markup, mnemonics
        if not 1 <= len(src.split()) <= 20 or len(tgt.split()) > 30:
            continue
        pairs.append((src, tgt))
    return pairs


def load_parallel(name: str = "debian-l10n-fr", *, min_words: int = 1) -> ParallelSplits:
    """English -> French message pairs from the Debian catalogues listed in :data:`L10N_PACKAGES`.

    Kept: messages of 1-20 words (at least ``min_words``) without format specifiers, markup,
    keyboard mnemonics or ellipses, whose translation differs from the original; one translation
    per English message (the first catalogue in :data:`L10N_PACKAGES` order wins). Split by a
    hash of the English side: 90 / 5 / 5.
    """
    if name != "debian-l10n-fr":
        raise ValueError(f"name: expected 'debian-l10n-fr', got {name!r}")
    seen: dict[str, str] = {}
    missing = []
    for cat in L10N_PACKAGES:
        path = _LOCALE_DIR / "fr" / "LC_MESSAGES" / f"{cat}.mo"
        if not path.is_file():
            missing.append(f"{path} (package {L10N_PACKAGES[cat]})")
            continue
        for src, tgt in _catalogue_pairs(path):
            if len(src.split()) >= min_words:
                seen.setdefault(src, tgt)
    if missing:
        raise not_installed(name, "; ".join(missing))
    parts: dict[str, list[tuple[str, str]]] = {"train": [], "valid": [], "test": []}
    for src in sorted(seen):  # near-duplicates ("No changes." / "No changes") share a split
        parts[split_by_hash(src)].append((src, seen[src]))
    # 2/20 held out is 10 %; keep 5 % + 5 %
    return ParallelSplits(name, "en", "fr", parts["train"], parts["valid"], parts["test"])


def _dictd_number(code: str) -> int:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    n = 0
    for ch in code:
        n = n * 64 + alphabet.index(ch)
    return n


def load_freedict(name: str = "freedict-eng-fra") -> dict[str, list[str]]:
    """The FreeDict English-French dictionary: lowercase headword -> French translations in order.

    Reads the dictd files ``/usr/share/dictd/freedict-eng-fra.{index,dict.dz}`` (dictzip is
    gzip-compatible); a headword's entry is its pronunciation line followed by translations,
    numbered (``1. acquérir``) or comma-separated.
    """
    if name != "freedict-eng-fra":
        raise ValueError(f"name: expected 'freedict-eng-fra', got {name!r}")
    index = Path("/usr/share/dictd/freedict-eng-fra.index")
    data = Path("/usr/share/dictd/freedict-eng-fra.dict.dz")
    if not index.is_file() or not data.is_file():
        raise not_installed(name, f"{index} and {data}")
    with gzip.open(data, "rb") as fh:
        blob = fh.read()
    out: dict[str, list[str]] = {}
    for line in index.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0].startswith("00database"):
            continue
        head = parts[0].strip().lower()
        start, size = _dictd_number(parts[1]), _dictd_number(parts[2])
        body = blob[start : start + size].decode("utf-8", errors="replace").splitlines()[1:]
        translations: list[str] = []
        for b in body:
            b = re.sub(r"^\s*\d+\.\s*", "", b).strip()
            translations.extend(t.strip() for t in b.split(",") if t.strip())
        if head and translations:
            out.setdefault(head, []).extend(t for t in translations if t not in out.get(head, []))
    return out

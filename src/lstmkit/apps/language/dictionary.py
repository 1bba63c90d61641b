"""Word-by-word dictionary translation: the floor a learned translator must clear.

Each source word (or the longest multi-word headword starting at it, up to 3 words) is
replaced by the dictionary's first translation; a word the dictionary lacks is copied
unchanged (names, numbers and technical terms often are the same in both languages); a
plural ``-s`` is retried without it. No reordering, no agreement: a lower bound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = ["DictionaryTranslator"]

_TOKEN = re.compile(r"\w+(?:[-']\w+)*|[^\w\s]", re.UNICODE)


class DictionaryTranslator:
    """Translate by looking each word up in a bilingual dictionary.

    Args:
        dictionary: lowercase headword (may contain spaces) -> translations, best first
            (e.g. :func:`lstmkit.apps.language.corpora.load_freedict`).
        max_phrase: longest headword, in words, to try.

    Example::

        >>> DictionaryTranslator({"open": ["ouvrir"], "file": ["fichier"]}).translate("Open file")
        'ouvrir fichier'
    """

    def __init__(self, dictionary: Mapping[str, Sequence[str]], *, max_phrase: int = 3) -> None:
        if not dictionary:
            raise ValueError("dictionary: expected at least one entry, got an empty mapping")
        self.table = {k.lower(): _clean(v[0]) for k, v in dictionary.items() if v and _clean(v[0])}
        self.max_phrase = max_phrase

    def translate(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"text: expected str, got {type(text).__name__}")
        words = _TOKEN.findall(text)
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(self.max_phrase, len(words) - i), 0, -1):
                key = " ".join(words[i : i + n]).lower()
                hit = self.table.get(key)
                if hit is None and n == 1 and key.endswith("s"):
                    hit = self.table.get(key[:-1])
                if hit is not None:
                    out.append(hit)
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        text_out = " ".join(out)
        return re.sub(r" ([.,;:!?)])", r"\1", text_out)


def _clean(translation: str) -> str:
    # drop FreeDict's "..." placeholders and parenthesised notes
    t = re.sub(r"\(.*?\)|\.\.\.", "", translation)
    return " ".join(t.split())

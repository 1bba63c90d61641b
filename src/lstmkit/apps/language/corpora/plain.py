"""Plain text for language models: the King James Bible (``kjv``), fortune cookies
(``fortunes``) and Python's documentation topics (``pydoc``), cut into train / valid / test.

Example::

    >>> pydoc = load_text_corpus("pydoc")
    >>> len(pydoc.train) > len(pydoc.valid)
    True
"""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

from lstmkit.apps.language.corpora.catalogue import not_installed, split_of, unique

__all__ = ["TextSplits", "fortune_files", "load_fortune_file", "load_text_corpus", "wrap_lines"]


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
        raise not_installed("kjv", "the `bible` program of package bible-kjv")
    proc = subprocess.run(
        [exe, "-l0", "Gen1:1-Rev22:21"], capture_output=True, text=True, encoding="utf-8", check=False
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise not_installed("kjv", f"a working `bible` program (it said: {proc.stderr.strip()[:200]!r})")
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


def _fortune_entries(path: Path) -> list[str]:
    """The fortunes of one file (entries between ``%`` lines)."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [e.strip("\n") for e in re.split(r"^%$", text, flags=re.M) if e.strip()]


def fortune_files() -> list[str]:
    """The names of the installed fortune files (``computers``, ``people``...), sorted."""
    root = _FORTUNE_DIR
    if not root.is_dir():
        raise not_installed("fortunes", str(root))
    # skip the .dat indexes and the .u8 links
    return sorted(f.name for f in root.iterdir() if not f.suffix and not f.is_symlink() and f.is_file())


def _fortunes() -> list[str]:
    entries = [e for name in fortune_files() for e in _fortune_entries(_FORTUNE_DIR / name)]
    if not entries:
        raise not_installed("fortunes", f"fortune files in {_FORTUNE_DIR}")
    return unique(entries)  # a fortune in several files would land in several splits


def load_fortune_file(name: str) -> TextSplits:
    """One fortune file (e.g. ``"computers"``) cut into train / valid / test by entry: a file
    is small, so entry k goes to valid if k % 10 == 8, to test if 9, else to train (a tenth
    each; :func:`load_text_corpus` holds out a twentieth)."""
    names = fortune_files()
    if name not in names:
        raise ValueError(f"name: expected a fortune file among {', '.join(names)}, got {name!r}")
    parts: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for k, e in enumerate(unique(_fortune_entries(_FORTUNE_DIR / name))):
        parts[{8: "valid", 9: "test"}.get(k % 10, "train")].append(e)
    return TextSplits(name, *("\n".join(parts[s]) + "\n" for s in ("train", "valid", "test")))


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
        parts[split_of(k)].append(e)
    return TextSplits(name, *("\n".join(parts[s]) + "\n" for s in ("train", "valid", "test")))


def wrap_lines(text: str, width: int) -> str:
    r"""``text`` with every line longer than ``width`` broken at spaces into lines of at most
    ``width`` characters (a word longer than that stays whole); newlines are kept.

    Example::

        >>> wrap_lines("in the beginning god created\nthe heaven", 12)
        'in the\nbeginning\ngod created\nthe heaven'
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < 10:
        raise ValueError(f"--wrap: expected an int >= 10 (columns), got {width!r}")
    lines = text.split("\n")
    wrapped = [
        textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""] for line in lines
    ]
    return "\n".join("\n".join(parts) for parts in wrapped)

"""Labelled sentiment: the VADER ground truth (Hutto & Gilbert 2014), human-rated
sentences of four kinds, fetched once from the vaderSentiment source distribution.

Example::

    >>> movies = load_vader("movies")
    >>> movies.classes, len(movies.train)
    (('negative', 'positive'), 8454)
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lstmkit.apps.language.corpora.catalogue import (
    VADER_FILES,
    VADER_SHA256,
    VADER_VERSION,
    data_home,
    dedup_key,
    not_installed,
)

__all__ = ["LabelledSplits", "LabelledText", "fetch_vader", "load_vader"]


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
    if subset not in VADER_FILES:
        raise ValueError(f"subset: expected one of {sorted(VADER_FILES)}, got {subset!r}")
    path = _vader_dir() / VADER_FILES[subset]
    if not path.is_file():
        raise not_installed(f"vader-{subset}", str(path))
    rows: list[tuple[str, float]] = []
    seen: set[str] = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t", 2)
        if len(parts) != 3:
            continue
        text, score = parts[2].strip(), float(parts[1])
        key = dedup_key(text)
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
    wanted = [*VADER_FILES.values(), "_README_.txt"]
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

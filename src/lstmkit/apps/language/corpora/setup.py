"""The setup command of the corpora, ``python -m lstmkit.apps.language.corpora
{status,fetch-vader,debian-packages}``: check them, fetch VADER, list the Debian packages
(``make data-nlp`` runs it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lstmkit.apps.language.corpora.catalogue import DEBIAN_PACKAGES, VADER_FILES, CorpusNotFoundError
from lstmkit.apps.language.corpora.parallel import load_freedict, load_parallel
from lstmkit.apps.language.corpora.plain import load_text_corpus
from lstmkit.apps.language.corpora.vader import fetch_vader, load_vader

__all__ = ["main"]


def _status() -> int:
    """Load every corpus; print ok or MISSING for each; 1 if any is missing."""
    checks = {
        "kjv": lambda: load_text_corpus("kjv"),
        "fortunes": lambda: load_text_corpus("fortunes"),
        "pydoc": lambda: load_text_corpus("pydoc"),
        **{f"vader-{k}": (lambda k=k: load_vader(k)) for k in VADER_FILES},
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
    """The setup command: ``status``, ``fetch-vader`` or ``debian-packages``."""
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

"""The clients of the federated studies: who holds which data (non-IID by construction).

* :func:`forecast_clients`: one client per M3 *domain* of the monthly series (micro, industry,
  macro, finance, demographic, other). The M3 file lists each frequency's series by domain, so
  a domain is a contiguous range of series numbers (:data:`M3_MONTHLY_DOMAINS`). Each client
  holds ``per_client`` of its domain's series, drawn without replacement from a seeded
  generator; a series' official hold-out (its last 18 months) is that client's test.
* :func:`fortune_clients`: one client per fortune file (computers, people, politics, science,
  songs-poems, work by default): English text from different topics and styles, each small,
  the setting in which a client gains from the others' text (:data:`FORTUNE_CLIENTS`).
* :func:`text_clients`: one client per bundled text corpus (the King James Bible, the fortune
  cookies, Python's pydoc topics), each its first ``train_chars`` characters of the corpus'
  training text, ``valid_chars`` of its validation text (which picks the epoch or round) and
  ``test_chars`` of its test text (which scores).

Example::

    >>> clients = forecast_clients(per_client=40)
    >>> [c.name for c in clients][:2], len(clients[0].series)
    (['micro', 'industry'], 40)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lstmkit.apps.forecasting.competitions import CompetitionSeries, load_m3

if TYPE_CHECKING:
    from lstmkit.apps.language.corpora import TextSplits

__all__ = [
    "FORTUNE_CLIENTS",
    "M3_MONTHLY_DOMAINS",
    "TEXT_CORPORA",
    "ForecastClient",
    "TextClient",
    "forecast_clients",
    "fortune_clients",
    "text_clients",
]

#: the first and last series number (``N1402`` .. ``N2829``) of each domain of M3's monthly series
M3_MONTHLY_DOMAINS: dict[str, tuple[int, int]] = {
    "micro": (1402, 1875),
    "industry": (1876, 2209),
    "macro": (2210, 2521),
    "finance": (2522, 2666),
    "demographic": (2667, 2777),
    "other": (2778, 2829),
}

#: the bundled corpora a text client may hold (:func:`lstmkit.apps.language.corpora.load_text_corpus`)
TEXT_CORPORA = ("kjv", "fortunes", "pydoc")

#: the fortune files :func:`fortune_clients` gives a client each by default (the largest topics)
FORTUNE_CLIENTS = ("computers", "people", "politics", "science", "songs-poems", "work")


@dataclass(frozen=True)
class ForecastClient:
    """One forecasting client: its name (the domain) and its series (train + official test)."""

    name: str
    series: tuple[CompetitionSeries, ...]


@dataclass(frozen=True)
class TextClient:
    """One language-model client: its name (the corpus) and its training, validation and test
    text."""

    name: str
    train: str
    valid: str
    test: str


def _check_count(name: str, value: int, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {value!r}")


def forecast_clients(
    per_client: int = 40, domains: Sequence[str] | None = None, seed: int = 0
) -> list[ForecastClient]:
    """One client per M3 monthly domain, each ``per_client`` of its series (fewer where the
    domain has fewer), drawn from seed ``seed`` and kept in series-number order.

    Raises:
        ValueError: an unknown domain, or ``per_client`` < 1.
    """
    _check_count("per_client", per_client)
    chosen = list(M3_MONTHLY_DOMAINS) if domains is None else list(domains)
    unknown = [d for d in chosen if d not in M3_MONTHLY_DOMAINS]
    if unknown or len(set(chosen)) != len(chosen) or not chosen:
        raise ValueError(
            f"clients: expected distinct names among {', '.join(M3_MONTHLY_DOMAINS)}, got {chosen}"
        )
    by_number = {int(s.name[1:]): s for s in load_m3("monthly")}
    rng = np.random.default_rng(seed)
    clients = []
    for d in chosen:
        first, last = M3_MONTHLY_DOMAINS[d]
        numbers = [n for n in range(first, last + 1) if n in by_number]
        take = np.sort(rng.choice(len(numbers), size=min(per_client, len(numbers)), replace=False))
        clients.append(ForecastClient(d, tuple(by_number[numbers[int(k)]] for k in take)))
    return clients


def _held_counts(train_chars: int, valid_chars: int, test_chars: int) -> None:
    _check_count("train_chars", train_chars, 1000)
    _check_count("valid_chars", valid_chars, 1000)
    _check_count("test_chars", test_chars, 1000)


def _distinct(names: Sequence[str], known: Sequence[str]) -> None:
    unknown = [c for c in names if c not in known]
    if unknown or len(set(names)) != len(names) or not names:
        raise ValueError(f"clients: expected distinct names among {', '.join(known)}, got {list(names)}")


def _client(splits: TextSplits, train_chars: int, valid_chars: int, test_chars: int) -> TextClient:
    train, valid, test = splits.train[:train_chars], splits.valid[:valid_chars], splits.test[:test_chars]
    return TextClient(splits.name, train, valid, test)


def text_clients(
    corpora: Sequence[str] = TEXT_CORPORA,
    train_chars: int = 60_000,
    valid_chars: int = 10_000,
    test_chars: int = 10_000,
) -> list[TextClient]:
    """One client per corpus: the first ``train_chars`` characters of its training text, the
    first ``valid_chars`` of its validation text and the first ``test_chars`` of its test text
    (pydoc's whole test text is 5,243 characters).

    Raises:
        ValueError: an unknown corpus or a count < 1000.
        FileNotFoundError: a corpus whose Debian package is not installed (the message names it).
    """
    from lstmkit.apps.language.corpora import load_text_corpus

    _held_counts(train_chars, valid_chars, test_chars)
    _distinct(corpora, TEXT_CORPORA)
    return [_client(load_text_corpus(c), train_chars, valid_chars, test_chars) for c in corpora]


def fortune_clients(
    files: Sequence[str] = FORTUNE_CLIENTS,
    train_chars: int = 20_000,
    valid_chars: int = 10_000,
    test_chars: int = 10_000,
) -> list[TextClient]:
    """One client per fortune file (:func:`~lstmkit.apps.language.corpora.load_fortune_file`:
    a tenth of its fortunes validate, a tenth test): the first ``train_chars``, ``valid_chars``
    and ``test_chars`` characters of each part.

    Raises:
        ValueError: a file that is not installed, or a count < 1000.
        FileNotFoundError: no fortune files (the message says what to install).
    """
    from lstmkit.apps.language.corpora import fortune_files, load_fortune_file

    _held_counts(train_chars, valid_chars, test_chars)
    _distinct(files, fortune_files())
    return [_client(load_fortune_file(f), train_chars, valid_chars, test_chars) for f in files]

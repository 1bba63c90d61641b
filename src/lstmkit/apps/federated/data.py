"""The clients of the federated studies: who holds which data (non-IID by construction).

* :func:`forecast_clients`: one client per M3 *domain* of the monthly series (micro, industry,
  macro, finance, demographic, other). The M3 file lists each frequency's series by domain, so
  a domain is a contiguous range of series numbers (:data:`M3_MONTHLY_DOMAINS`). Each client
  holds ``per_client`` of its domain's series, drawn without replacement from a seeded
  generator; a series' official hold-out (its last 18 months) is that client's test.
* :func:`text_clients`: one client per bundled text corpus (the King James Bible, the fortune
  cookies, Python's pydoc topics), each its first ``train_chars`` characters of the corpus'
  training text and ``valid_chars`` of its validation text.

Example::

    >>> clients = forecast_clients(per_client=40)
    >>> [c.name for c in clients][:2], len(clients[0].series)
    (['micro', 'industry'], 40)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lstmkit.apps.forecasting.competitions import CompetitionSeries, load_m3

__all__ = [
    "M3_MONTHLY_DOMAINS",
    "TEXT_CORPORA",
    "ForecastClient",
    "TextClient",
    "forecast_clients",
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


@dataclass(frozen=True)
class ForecastClient:
    """One forecasting client: its name (the domain) and its series (train + official test)."""

    name: str
    series: tuple[CompetitionSeries, ...]


@dataclass(frozen=True)
class TextClient:
    """One language-model client: its name (the corpus) and its training and validation text."""

    name: str
    train: str
    valid: str


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


def text_clients(
    corpora: Sequence[str] = TEXT_CORPORA, train_chars: int = 60_000, valid_chars: int = 10_000
) -> list[TextClient]:
    """One client per corpus: the first ``train_chars`` characters of its training text and
    the first ``valid_chars`` of its validation text.

    Raises:
        ValueError: an unknown corpus or a count < 1000.
        FileNotFoundError: a corpus whose Debian package is not installed (the message names it).
    """
    from lstmkit.apps.language.corpora import load_text_corpus

    _check_count("train_chars", train_chars, 1000)
    _check_count("valid_chars", valid_chars, 1000)
    unknown = [c for c in corpora if c not in TEXT_CORPORA]
    if unknown or len(set(corpora)) != len(corpora) or not corpora:
        raise ValueError(
            f"clients: expected distinct names among {', '.join(TEXT_CORPORA)}, got {list(corpora)}"
        )
    out = []
    for name in corpora:
        splits = load_text_corpus(name)
        out.append(TextClient(name, splits.train[:train_chars], splits.valid[:valid_chars]))
    return out

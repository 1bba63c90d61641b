"""Numbers in words, English and French: a generated translation task (``numbers-en-fr``)
whose every pair is right by construction.

Example::

    >>> number_to_english(71), number_to_french(71)
    ('seventy-one', 'soixante et onze')
"""

from __future__ import annotations

import random
from collections.abc import Callable

from lstmkit.apps.language.corpora.parallel import ParallelSplits

__all__ = ["load_numbers", "number_to_english", "number_to_french"]


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


def _spell(n: int, below_1000: Callable[[int], str], thousands: Callable[[int], str]) -> str:
    """``n`` (0 <= n < 1,000,000) in words: its thousands as ``thousands(k)`` says them, then the
    rest as ``below_1000`` does (alone when there are no thousands)."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"n: expected 0 <= n < 1000000, got {n}")
    k, rest = divmod(n, 1000)
    if not k:
        return below_1000(rest)
    head = thousands(k)
    return head if not rest else f"{head} {below_1000(rest)}"


def number_to_english(n: int) -> str:
    """``321005`` -> ``"three hundred twenty-one thousand five"`` (0 <= n < 1,000,000)."""
    return _spell(n, _en_below_1000, lambda k: f"{_en_below_1000(k)} thousand")


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


def _fr_thousands(k: int) -> str:
    return "mille" if k == 1 else f"{_fr_below_1000(k, before_mille=True)} mille"


def number_to_french(n: int) -> str:
    """``321005`` -> ``"trois cent vingt et un mille cinq"`` (traditional spelling; 0 <= n < 1,000,000)."""
    return _spell(n, _fr_below_1000, _fr_thousands)


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

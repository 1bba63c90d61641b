"""Numbers in English and French words, and the generated number pairs."""

from __future__ import annotations

import pytest

from lstmkit.apps.language import corpora


@pytest.mark.parametrize(
    ("n", "en", "fr"),
    [
        (0, "zero", "zéro"),
        (21, "twenty-one", "vingt et un"),
        (71, "seventy-one", "soixante et onze"),
        (80, "eighty", "quatre-vingts"),
        (81, "eighty-one", "quatre-vingt-un"),
        (91, "ninety-one", "quatre-vingt-onze"),
        (200, "two hundred", "deux cents"),
        (201, "two hundred one", "deux cent un"),
        (1001, "one thousand one", "mille un"),
        (80_000, "eighty thousand", "quatre-vingt mille"),
        (200_000, "two hundred thousand", "deux cent mille"),
        (321_005, "three hundred twenty-one thousand five", "trois cent vingt et un mille cinq"),
    ],
)
def test_numbers_in_words(n: int, en: str, fr: str) -> None:
    assert corpora.number_to_english(n) == en
    assert corpora.number_to_french(n) == fr


def test_generated_number_pairs() -> None:
    d = corpora.load_numbers(2_000, seed=1)
    assert (len(d.train), len(d.valid), len(d.test)) == (1_800, 100, 100)
    assert not {s for s, _ in d.train} & {s for s, _ in d.test}
    assert corpora.load_numbers(2_000, seed=1) == d
    with pytest.raises(ValueError, match="n: expected 0 <= n"):
        corpora.number_to_french(1_000_000)

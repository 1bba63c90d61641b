"""Plain text corpora (pydoc, KJV, fortunes): contents and fixed splits."""

from __future__ import annotations

import pytest

from lstmkit.apps.language.corpora.plain import fortune_files, load_fortune_file, load_text_corpus


def test_pydoc_corpus_splits_are_disjoint_and_fixed() -> None:
    c = load_text_corpus("pydoc")
    assert len(c.train) > 300_000 and len(c.valid) > 5_000 and len(c.test) > 2_000
    assert 'The "if" statement' in c.train + c.valid + c.test
    again = load_text_corpus("pydoc")
    assert (again.train, again.valid, again.test) == (c.train, c.valid, c.test)
    with pytest.raises(ValueError, match="name: expected one of"):
        load_text_corpus("shakespeare")


def test_kjv_and_fortunes() -> None:
    kjv = load_text_corpus("kjv")
    assert kjv.train.startswith("In the beginning God created the heaven and the earth.\n")
    total = len(kjv.train) + len(kjv.valid) + len(kjv.test)
    assert 4_000_000 < total < 4_500_000
    # chapter k (0-based) is valid if k % 20 == 18, test if 19: the last chapter (Rev 22, k = 1188) is train,
    # the last test chapter is Rev 13 (k = 1179)
    assert kjv.train.rstrip().endswith("The grace of our Lord Jesus Christ be with you all. Amen.")
    assert kjv.test.rstrip().endswith("and his number is Six hundred threescore and six.")
    f = load_text_corpus("fortunes")
    assert len(f.train) > 1_000_000 and "%\n" not in f.train[:10_000]


def test_one_fortune_file_holds_out_a_tenth_each() -> None:
    names = fortune_files()
    assert {"computers", "people", "science"} <= set(names) and not any("." in n for n in names)
    c = load_fortune_file("computers")
    total = len(c.train) + len(c.valid) + len(c.test)
    assert 0.07 < len(c.valid) / total < 0.13 and 0.07 < len(c.test) / total < 0.13
    train = set(c.train.split("\n"))
    held = [line for line in c.valid.split("\n") + c.test.split("\n") if len(line) > 60]
    assert held and sum(line in train for line in held) < 0.05 * len(held)  # fortunes, not lines, split
    assert load_fortune_file("computers") == c
    with pytest.raises(ValueError, match="name: expected a fortune file"):
        load_fortune_file("fortunes.dat")

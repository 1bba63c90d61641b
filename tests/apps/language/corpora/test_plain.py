"""Plain text corpora (pydoc, KJV, fortunes): contents and fixed splits."""

from __future__ import annotations

import pytest

from lstmkit.apps.language.corpora.plain import load_text_corpus


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

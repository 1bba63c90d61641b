"""Offline corpora: contents, fixed splits, and clear errors naming what to install."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstmkit.apps.language import corpora
from lstmkit.apps.language.corpora import (
    CorpusNotFoundError,
    LabelledSplits,
    LabelledText,
    load_freedict,
    load_parallel,
    load_text_corpus,
    load_vader,
)


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


def test_vader_movies_labels_follow_the_human_ratings() -> None:
    d = load_vader("movies")
    n = len(d.train) + len(d.valid) + len(d.test)
    assert 10_500 < n < 10_605  # 10,605 snippets less the few rated exactly 0
    assert len(d.valid) == len(d.test) == n // 10
    for part in (d.train, d.valid, d.test):
        assert all((s > 0) == bool(y) for s, y in zip(part.scores, part.labels))
        assert all(-4 <= s <= 4 for s in part.scores)
    assert 0.45 < sum(d.train.labels) / len(d.train) < 0.55  # Pang & Lee's set is balanced
    assert not set(d.train.texts) & set(d.test.texts)
    assert len(set(d.train.texts + d.valid.texts + d.test.texts)) == n
    three = load_vader("tweets", binary=False)
    assert three.classes == ("negative", "neutral", "positive")
    assert set(three.train.labels) == {0, 1, 2}
    with pytest.raises(ValueError, match="subset"):
        load_vader("imdb")


def test_parallel_pairs_are_real_and_split_by_source() -> None:
    p = load_parallel()
    assert len(p.train) > 5_000 and len(p.valid) > 200 and len(p.test) > 200
    srcs = [{s for s, _ in part} for part in (p.train, p.valid, p.test)]
    assert not (srcs[0] & srcs[1]) and not (srcs[0] & srcs[2]) and not (srcs[1] & srcs[2])
    for s, t in p.train[:500]:
        assert s != t and "%" not in s and "\n" not in t
    assert ("Right Alt", "Alt droite") in p.train + p.valid + p.test


def test_freedict() -> None:
    d = load_freedict()
    assert len(d) > 8_000
    assert "abandonner" in d["abandon"]
    assert d["chair"][0] == "chaise"


def test_missing_sources_say_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LSTMKIT_DATA", str(tmp_path))
    with pytest.raises(CorpusNotFoundError, match="fetch-vader"):
        load_vader("movies")
    monkeypatch.setattr(corpora.parallel, "_LOCALE_DIR", tmp_path)
    with pytest.raises(CorpusNotFoundError, match=r"apt-get install .*libgtk2.0-common"):
        load_parallel()
    monkeypatch.setattr(corpora.plain.shutil, "which", lambda name: None)
    with pytest.raises(CorpusNotFoundError, match="apt-get install -y --no-install-recommends bible-kjv"):
        load_text_corpus("kjv")
    monkeypatch.setattr(corpora.plain, "_FORTUNE_DIR", tmp_path / "nothing")
    with pytest.raises(CorpusNotFoundError, match="fortunes-min"):
        load_text_corpus("fortunes")


def test_corpora_status_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert corpora.main(["debian-packages"]) == 0
    out = capsys.readouterr().out
    assert "bible-kjv" in out and "dict-freedict-eng-fra" in out and "xkb-data" in out


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


def test_labelled_text_container() -> None:
    lt = LabelledText(["a", "b"], [0, 1])
    assert len(lt) == 2 and lt.scores == []
    assert "train=2" in repr(LabelledSplits("x", ("n", "p"), lt, lt, lt))


def test_split_by_hash_is_stable_and_keeps_near_duplicates_together() -> None:
    from lstmkit.apps.language.corpora.catalogue import split_by_hash

    texts = [f"message number {i}" for i in range(400)]
    splits = [split_by_hash(t) for t in texts]
    assert set(splits) == {"train", "valid", "test"} and splits.count("train") > 300
    assert split_by_hash("No changes.") == split_by_hash("no  changes") == split_by_hash("No changes")

"""Parallel English-French text: real pairs split by source, the FreeDict dictionary."""

from __future__ import annotations

from lstmkit.apps.language.corpora.parallel import load_freedict, load_parallel


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

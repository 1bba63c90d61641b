"""The corpus catalogue: the hash split of parallel text."""

from __future__ import annotations


def test_split_by_hash_is_stable_and_keeps_near_duplicates_together() -> None:
    from lstmkit.apps.language.corpora.catalogue import split_by_hash

    texts = [f"message number {i}" for i in range(400)]
    splits = [split_by_hash(t) for t in texts]
    assert set(splits) == {"train", "valid", "test"} and splits.count("train") > 300
    assert split_by_hash("No changes.") == split_by_hash("no  changes") == split_by_hash("No changes")

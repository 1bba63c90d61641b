"""The corpora package across its loaders: a missing source says what to install (each module's
own tests are in tests/apps/language/corpora/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstmkit.apps.language import corpora
from lstmkit.apps.language.corpora import CorpusNotFoundError, load_parallel, load_text_corpus, load_vader


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

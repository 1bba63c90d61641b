"""The dictionary translation baseline."""

from __future__ import annotations

import pytest

from lstmkit.apps.language.dictionary import DictionaryTranslator


def test_dictionary_translator() -> None:
    dt = DictionaryTranslator(
        {"open": ["ouvrir"], "file": ["fichier"], "a lot": ["beaucoup"], "to": ["... à"]}
    )
    assert dt.translate("Open files.") == "ouvrir fichier."
    assert dt.translate("a lot to open, Lua") == "beaucoup à ouvrir, Lua"  # phrase, placeholder dropped, copy
    assert dt.translate("") == ""
    with pytest.raises(ValueError, match="empty mapping"):
        DictionaryTranslator({})

"""The corpora command line (``python -m lstmkit.apps.language.corpora``)."""

from __future__ import annotations

import pytest

from lstmkit.apps.language import corpora


def test_corpora_status_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert corpora.main(["debian-packages"]) == 0
    out = capsys.readouterr().out
    assert "bible-kjv" in out and "dict-freedict-eng-fra" in out and "xkb-data" in out

"""Text files: a decoding failure names the file and the offset; errors="replace"."""

from __future__ import annotations

import pytest

from lstmkit.apps.language.tokenizers import CharTokenizer
from lstmkit.io.text import read_text


def test_read_text_non_utf8(tmp_path) -> None:
    p = tmp_path / "latin1.txt"
    p.write_bytes("café crème".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not valid utf-8 \(byte 0xe9 at offset 3"):
        read_text(p)
    assert read_text(p, encoding="latin-1") == "café crème"
    replaced = read_text(p, errors="replace")
    assert "\ufffd" in replaced
    tok = CharTokenizer().fit(["cafe creme"])
    assert tok.vocab.unk_id in tok.encode(replaced)  # U+FFFD is just an unknown character
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_text(tmp_path / "missing.txt")

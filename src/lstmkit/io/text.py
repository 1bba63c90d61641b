"""Text files read with an error that says where they fail to decode.

:func:`read_text` reads a file in a given encoding (UTF-8 by default); :func:`decode_text`
decodes bytes already read. A byte that does not decode is a one-line ``ValueError`` naming the
file, the byte, its offset and the ways out (the file's real encoding, or ``errors="replace"``);
an unknown encoding is a ``ValueError`` naming it.

Example::

    >>> from lstmkit.io.text import decode_text
    >>> decode_text("café".encode("latin-1"), "menu.txt")
    Traceback (most recent call last):
    ...
    ValueError: menu.txt: not valid utf-8 (byte 0xe9 at offset 3: invalid continuation byte); ...
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["decode_text", "read_input_text", "read_text"]


def read_text(path: str | os.PathLike[str], *, encoding: str = "utf-8", errors: str = "strict") -> str:
    """Read a text file; a decoding failure becomes a ``ValueError`` naming the file and offset.

    Args:
        path: the file.
        encoding: its encoding (UTF-8 unless told otherwise).
        errors: ``"strict"`` (default: refuse undecodable bytes) or ``"replace"`` (substitute
            U+FFFD, which tokenizers then map to ``<unk>`` unless it is in the vocabulary).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the bytes do not decode, or the encoding is unknown.

    Example::

        >>> text = read_text("corpus.txt", encoding="latin-1")
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: no such file {str(p)!r}")
    return decode_text(p.read_bytes(), str(p), encoding=encoding, errors=errors)


def decode_text(data: bytes, source: str, *, encoding: str = "utf-8", errors: str = "strict") -> str:
    """``data.decode(encoding, errors)``; a failure is a ``ValueError`` naming ``source`` (the
    file it came from) and the offset of the first byte that does not decode.

    Args:
        data: the bytes.
        source: what to call them in an error (a file name).
        encoding: their encoding.
        errors: ``"strict"`` or ``"replace"``, as :meth:`bytes.decode`.

    Example::

        >>> decode_text(b"caf\\xc3\\xa9", "menu.txt")
        'café'
    """
    try:
        return data.decode(encoding, errors=errors)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{source}: not valid {encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start}: "
            f"{exc.reason}); "
            f"pass the file's real encoding (e.g. encoding='latin-1', CLI --encoding latin-1) "
            f"or errors='replace' to substitute U+FFFD"
        ) from None
    except LookupError:
        raise ValueError(f"encoding: unknown codec {encoding!r}") from None


def read_input_text(text: str | None, file: str | None, encoding: str, *, what: str = "text") -> str:
    """The text given (on a command line), or read from ``file`` (``-``: standard input).

    Args:
        text: the text itself, or ``None``.
        file: a file to read instead (exactly one of ``text`` and ``file``), ``-`` for stdin.
        encoding: the encoding of ``file``.
        what: what to call the text in an error.

    Example::

        >>> read_input_text("hello", None, "utf-8")
        'hello'
    """
    if text is not None and file is not None:
        raise ValueError(f"{what}: give the text or --file, not both")
    if file is None:
        if text is None:
            raise ValueError(f"{what}: expected a text argument or --file")
        return text
    if file == "-":
        data = sys.stdin.buffer.read()
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ValueError(f"stdin: not valid {encoding} (offset {exc.start}); pass --encoding") from None
    return read_text(file, encoding=encoding)

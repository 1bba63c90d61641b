"""lstmkit.io re-exports the API of lstmkit.io.atomic."""

from __future__ import annotations

import lstmkit.io
from lstmkit.io import atomic


def test_the_package_re_exports_the_atomic_writers() -> None:
    assert lstmkit.io.__all__ == atomic.__all__
    for name in ("atomic_save", "atomic_write_bytes", "atomic_write_text", "check_output_file"):
        assert getattr(lstmkit.io, name) is getattr(atomic, name)

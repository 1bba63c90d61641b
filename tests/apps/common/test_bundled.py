"""Files inside installed packages and the descriptions of bundled datasets."""

from __future__ import annotations

import pytest

from lstmkit.apps.common.bundled import dataset_info, known_names, package_file, resolve


def test_package_file_says_what_to_install() -> None:
    with pytest.raises(ImportError, match="pip install"):
        package_file("no_such_package_xyz", "data.csv")
    with pytest.raises(FileNotFoundError, match="is not bundled"):
        package_file("json", "no-such-file.csv")


def test_resolve_by_name_alias_and_case() -> None:
    a = dataset_info("air", "forecasting", "d", "monthly", "pkg:f.csv", "o", "1", lambda: 1)
    b = dataset_info("gun", "classification", "d", "steps", "pkg:g.ts", "o", "2", lambda: 2)
    known = {"air": a, "gun": b}
    assert a.package == "pkg"
    assert resolve(" AIR ", known, {}) is a and resolve("plane", known, {"plane": "air"}) is a
    assert known_names(known.values()) == "forecasting: air; classification: gun"
    with pytest.raises(ValueError, match="unknown dataset 'x'; known datasets are forecasting: air"):
        resolve("x", known, {})
    with pytest.raises(TypeError, match="expected a dataset name"):
        resolve(3, known, {})  # type: ignore[arg-type]

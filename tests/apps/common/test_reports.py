"""The run-folder steps of a job."""

from __future__ import annotations

import json

import pytest

from lstmkit.apps.common.reports import (
    add_sections,
    check_device,
    check_folder_name,
    html_value_rows,
    write_summary,
)


def test_checks_name_the_flag() -> None:
    with pytest.raises(ValueError, match="--device"):
        check_device("tpu")
    for bad in ("", ".", "..", "a/b", "a\\b"):
        with pytest.raises(ValueError, match="--name: expected a folder name"):
            check_folder_name(bad)
    check_folder_name(None)
    check_folder_name("airline")


def test_write_summary_writes_the_page_and_the_metrics(tmp_path) -> None:
    write_summary(tmp_path, "a title", [("", "<p>hi</p>"), ("Part", "<p>x</p>")], {"f1": 0.5, "n": 3})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"f1": 0.5, "n": 3}
    page = (tmp_path / "index.html").read_text()
    assert "<h1>a title</h1>" in page and "<h2>Part</h2>" in page
    assert html_value_rows({"f1": 0.5, "n": 3, "s": "x"}) == "<tr><td>f1</td><td>0.5</td></tr>"


def test_add_sections_puts_them_at_the_end_of_the_body(tmp_path) -> None:
    page = tmp_path / "report.html"
    assert not add_sections(page, [("Gates", "<p>g</p>")]) and not page.exists()
    page.write_text("<html><body><h1>run</h1></body></html>", encoding="utf-8")
    assert not add_sections(page, [])
    assert add_sections(page, [("Gates & cells", "<p>g</p>")])
    assert page.read_text() == "<html><body><h1>run</h1><h2>Gates &amp; cells</h2>\n<p>g</p>\n</body></html>"

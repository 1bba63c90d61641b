"""`lstmkit data list`."""

from __future__ import annotations

import pytest

from lstmkit.cli import main


def test_data_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("airline", "sunspots", "co2", "seattle_weather", "gunpoint", "osuleaf", "mitdb", "ppg"):
        assert name in out

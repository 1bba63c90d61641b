"""`lstmkit classify` end to end."""

from __future__ import annotations

import json

import pytest

from lstmkit.cli import main


@pytest.mark.slow
def test_classify_command(
    tmp_path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert (
        main(
            [
                "classify",
                "--dataset",
                "italypowerdemand",
                "--epochs",
                "3",
                "--augment",
                "warp",
                "--test-views",
                "3",
                "--out",
                str(tmp_path),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "test accuracy" in capsys.readouterr().out
    config = json.loads((tmp_path / "classify-italypowerdemand-lstm-fcn" / "metrics.json").read_text())[
        "config"
    ]
    assert (config["augment"], config["test_views"]) == ("warp", 3)
    assert main(["classify", "--dataset", "gunpoint", "--test-views", "0", "--no-progress"]) == 1
    assert "test_views: expected an int >= 1, got 0" in caplog.text

"""`lstmkit detect` end to end."""

from __future__ import annotations

import pytest

from lstmkit.cli import main


@pytest.mark.slow
def test_detect_command(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["detect", "--dataset", "mitdb", "--epochs", "2", "--out", str(tmp_path), "--no-progress"]) == 0
    )
    out = capsys.readouterr().out
    assert "ROC-AUC" in out
    assert (tmp_path / "detect-mitdb" / "scores.png").is_file()

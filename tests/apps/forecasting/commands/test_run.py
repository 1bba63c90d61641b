"""`lstmkit run` (and `forecast`) on a user's CSV: the report folder, atomic replacement, and
errors with a non-zero exit."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from lstmkit.cli import main


def write_csv(path: os.PathLike[str], n: int = 96) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(n)
    y = 50 + 0.3 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(size=n)
    pd.DataFrame(
        {"month": pd.date_range("2010-01", periods=n, freq="MS").strftime("%Y-%m-%d"), "sales": y}
    ).to_csv(path, index=False)


@pytest.mark.slow
def test_run_on_a_csv_writes_the_report(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "sales.csv"
    write_csv(csv)
    out = tmp_path / "runs"
    argv = [
        "run",
        "--csv",
        str(csv),
        "--target",
        "sales",
        "--time",
        "month",
        "--ensemble",
        "1",
        "--max-epochs",
        "8",
        "--windows",
        "2",
        "--baselines",
        "seasonal_naive,ets",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "MASE" in text and "LSTM" in text and "seasonal naive" in text and "ETS" in text
    folder = out / "sales"
    for name in (
        "index.html",
        "forecast.png",
        "backtest.png",
        "loss.png",
        "metrics.csv",
        "metrics.json",
        "forecast.csv",
        "model.pt",
    ):
        assert (folder / name).is_file(), name
    html = (folder / "index.html").read_text()
    assert "forecast.png" in html and "Backtest metrics" in html
    metrics = pd.read_csv(folder / "metrics.csv")
    assert set(metrics["model"]) == {"LSTM", "seasonal naive", "ETS"} and metrics["MASE"].notna().all()
    # a failing run leaves the previous report untouched
    before = (folder / "metrics.csv").read_bytes()
    assert main([*argv[:-3], "--baselines", "prophet", "--out", str(out), "--no-progress"]) == 1
    assert (folder / "metrics.csv").read_bytes() == before
    assert not [p for p in os.listdir(out) if p.startswith(".tmp")]


def test_run_errors_exit_nonzero(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["run", "--dataset", "airplanes"]) == 1
    assert "unknown dataset 'airplanes'" in caplog.text and "airline" in caplog.text
    csv = tmp_path / "d.csv"
    pd.DataFrame({"y": ["a", "b", "c", "d", "e"]}).to_csv(csv, index=False)
    assert main(["run", "--csv", str(csv), "--target", "y"]) == 1
    assert "expected numbers" in caplog.text
    assert main(["run", "--csv", str(csv)]) == 1
    assert "--target: required with --csv" in caplog.text
    write_csv(csv, 20)
    assert main(["run", "--csv", str(csv), "--target", "sales", "--time", "month", "--windows", "3"]) == 1
    assert "too short" in caplog.text
    caplog.clear()
    # more windows than the series holds: an error, never a negative start read from the end
    assert main(["forecast", "--dataset", "airline", "--backtest", "13", "--no-progress"]) == 1
    assert "144 steps are too short for 13 backtest windows of 12 steps" in caplog.text
    assert "use fewer --backtest" in caplog.text
    assert main(["forecast", "--dataset", "airline", "--backtest", "2", "--load", str(csv)]) == 1
    assert "cannot be used with --load" in caplog.text


def test_user_errors_exit_cleanly_and_never_touch_other_runs(tmp_path, caplog, capsys) -> None:
    csv = tmp_path / "d.csv"
    write_csv(csv, 60)
    base = ["run", "--csv", str(csv), "--target", "sales", "--time", "month", "--ensemble", "1",
            "--max-epochs", "1", "--windows", "1", "--horizon", "3", "--baselines", "seasonal_naive",
            "--no-progress", "--out", str(tmp_path / "runs")]  # fmt: skip
    other = tmp_path / "runs" / "other"
    other.mkdir(parents=True)
    (other / "keep.txt").write_text("keep")
    for name in (".", "..", "a/b"):
        assert main([*base, "--name", name]) == 1
        assert "--name: expected a folder name" in caplog.text
    assert (other / "keep.txt").read_text() == "keep"
    (tmp_path / "runs" / "afile").write_text("mine")
    assert main([*base, "--name", "afile"]) == 1  # a file in the way: an error, not replaced
    assert "exists and is not a folder" in caplog.text
    assert (tmp_path / "runs" / "afile").read_text() == "mine"
    assert main([*base, "--name", "ok"]) == 0
    assert (tmp_path / "runs" / "ok").stat().st_mode & 0o077 == 0o077 & ~_umask()  # not 0700
    assert main([*base, "--name", "h0", "--horizon", "0"]) == 1
    assert "expected values >= 1" in caplog.text
    assert main(["forecast", "--csv", str(csv), "--target", "sales", "--time", "month",
                 "--load", str(csv)]) == 1  # fmt: skip
    assert "not a saved lstmkit Forecaster" in caplog.text
    fit = ["forecast", "--csv", str(csv), "--target", "sales", "--time", "month", "--ensemble", "1",
           "--max-epochs", "1", "--no-progress"]  # fmt: skip
    assert main([*fit, "--save", str(tmp_path)]) == 1
    assert "--save: expected a file path, got the folder" in caplog.text  # one line, no traceback
    assert main(["demo", "--length", "1"]) == 1


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask

"""Hostile input to the commands: each case gets a one-line error naming the argument or file
(exit status 1, no traceback) or the documented valid result, and never touches a user's file.

The catalogue is a table (``CASES``): an id, the command line (``{tmp}`` is the test's folder,
set up by :func:`arrange`) and the text the one-line error must hold.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.cli import main

SERIES = ["--target", "sales", "--time", "month"]
FAST_RUN = ["--ensemble", "1", "--max-epochs", "1", "--windows", "1", "--horizon", "3",
            "--baselines", "seasonal_naive", "--no-progress"]  # fmt: skip
FAST_FIT = ["--ensemble", "1", "--max-epochs", "1", "--horizon", "3", "--no-progress"]


def sales_frame(n: int = 48) -> pd.DataFrame:
    t = np.arange(n)
    y = 50 + 0.3 * t + 8 * np.sin(2 * np.pi * t / 12)
    return pd.DataFrame(
        {"month": pd.date_range("2010-01", periods=n, freq="MS").strftime("%Y-%m-%d"), "sales": y}
    )


def arrange(tmp: Path) -> None:
    """The files the cases point at: a user's data folder, broken files of every kind."""
    user = tmp / "mydata"
    user.mkdir()
    sales_frame().to_csv(user / "sales.csv", index=False)
    (user / "corpus.txt").write_text("the quick brown fox jumps over the lazy dog. " * 20)
    for name in ("classify-gunpoint-lstm-fcn", "detect-yahoo", "sentiment", "translate"):
        (tmp / "runs" / name).mkdir(parents=True)
        (tmp / "runs" / name / "notes.txt").write_text("mine")
    (tmp / "afile").write_text("not a folder")
    (tmp / "text.pt").write_text("hello, this is text\n")
    (tmp / "empty.pt").write_bytes(b"")
    torch.save({"w": torch.zeros(500)}, tmp / "whole.pt")
    data = (tmp / "whole.pt").read_bytes()
    (tmp / "truncated.pt").write_bytes(data[: len(data) // 2])
    torch.save({"format": "lstmkit-lm", "version": 1}, tmp / "other-kind.pt")
    (tmp / "latin1.csv").write_bytes("month,sales\n2010-01-01,1\n2010-02-01,caf\xe9\n".encode("latin-1"))
    (tmp / "empty.csv").write_text("")
    (tmp / "ragged.csv").write_text('month,sales\n2010-01-01,1\n2010-02-01,2,3,4\n"unclosed\n')
    frame = sales_frame()
    frame.loc[17, "sales"] = np.inf
    frame.to_csv(tmp / "inf.csv", index=False)
    frame = sales_frame()
    frame["sales"] = frame["sales"].astype(str)
    frame.loc[5, "sales"] = "n/a?"
    frame.to_csv(tmp / "text-values.csv", index=False)


CASES = [
    # --- run folders: a user's folder is never replaced (before: deleted with everything in it)
    (
        "run-over-user-folder",
        ["run", "--csv", "{tmp}/mydata/sales.csv", *SERIES, "--out", "{tmp}", "--name", "mydata", *FAST_RUN],
        "was not made by lstmkit",
    ),
    (
        "textgen-run-dir-is-corpus-folder",
        [
            "textgen",
            "train",
            "--text-file",
            "{tmp}/mydata/corpus.txt",
            "--run-dir",
            "{tmp}/mydata",
            "--no-progress",
        ],
        "was not made by lstmkit",
    ),
    (
        "classify-over-user-folder",
        ["classify", "--out", "{tmp}/runs", "--epochs", "1", "--no-progress"],
        "was not made by lstmkit",
    ),
    (
        "detect-over-user-folder",
        ["detect", "--dataset", "yahoo", "--out", "{tmp}/runs", "--epochs", "1", "--no-progress"],
        "was not made by lstmkit",
    ),
    (
        "sentiment-over-user-folder",
        ["sentiment", "train", "--run-dir", "{tmp}/runs/sentiment", "--epochs", "1", "--no-progress"],
        "was not made by lstmkit",
    ),
    (
        "translate-over-user-folder",
        [
            "translate",
            "train",
            "--pairs",
            "numbers-en-fr",
            "--run-dir",
            "{tmp}/runs/translate",
            "--epochs",
            "1",
            "--no-progress",
        ],
        "was not made by lstmkit",
    ),
    (
        "run-overwrite-never-replaces-user-folder",
        [
            "run",
            "--csv",
            "{tmp}/mydata/sales.csv",
            *SERIES,
            "--out",
            "{tmp}",
            "--name",
            "mydata",
            "--overwrite",
            *FAST_RUN,
        ],
        "was not made by lstmkit",
    ),
    (
        "run-out-under-a-file",
        ["run", "--csv", "{tmp}/mydata/sales.csv", *SERIES, "--out", "{tmp}/afile", *FAST_RUN],
        "cannot write in the folder",
    ),
    (
        "run-name-is-a-file",
        ["run", "--csv", "{tmp}/mydata/sales.csv", *SERIES, "--out", "{tmp}", "--name", "afile", *FAST_RUN],
        "exists and is not a folder",
    ),
    # --- output files checked before training (before: failed after it, naming a temporary file)
    (
        "forecast-save-is-a-folder",
        ["forecast", "--csv", "{tmp}/mydata/sales.csv", *SERIES, *FAST_FIT, "--save", "{tmp}/mydata"],
        "--save: expected a file path, got the folder",
    ),
    (
        "forecast-save-over-users-csv",
        [
            "forecast",
            "--csv",
            "{tmp}/mydata/sales.csv",
            *SERIES,
            *FAST_FIT,
            "--save",
            "{tmp}/mydata/sales.csv",
        ],
        "not a model file written by lstmkit",
    ),
    (
        "forecast-save-under-a-file",
        ["forecast", "--csv", "{tmp}/mydata/sales.csv", *SERIES, *FAST_FIT, "--save", "{tmp}/afile/m.pt"],
        "--save: cannot write in the folder",
    ),
    (
        "classify-save-is-a-folder",
        ["classify", "--out", "{tmp}/fresh", "--epochs", "1", "--no-progress", "--save", "{tmp}/mydata"],
        "--save: expected a file path, got the folder",
    ),
    # --- model files: one line naming the file (before: [Errno 22], KeyError: 101, torch's advice)
    (
        "load-text-file",
        ["forecast", "--csv", "{tmp}/mydata/sales.csv", *SERIES, "--load", "{tmp}/text.pt"],
        "text.pt: not a saved lstmkit Forecaster (not a file written by torch.save)",
    ),
    (
        "load-truncated",
        ["forecast", "--csv", "{tmp}/mydata/sales.csv", *SERIES, "--load", "{tmp}/truncated.pt"],
        "truncated.pt: not a saved lstmkit Forecaster (the file is truncated or damaged)",
    ),
    (
        "load-empty",
        ["forecast", "--csv", "{tmp}/mydata/sales.csv", *SERIES, "--load", "{tmp}/empty.pt"],
        "empty.pt: not a saved lstmkit Forecaster",
    ),
    (
        "load-folder",
        ["forecast", "--csv", "{tmp}/mydata/sales.csv", *SERIES, "--load", "{tmp}/mydata"],
        "mydata: is a folder, not a saved lstmkit Forecaster",
    ),
    (
        "load-missing",
        ["forecast", "--csv", "{tmp}/mydata/sales.csv", *SERIES, "--load", "{tmp}/nope.pt"],
        "nope.pt: no such file (expected a saved lstmkit Forecaster)",
    ),
    (
        "load-another-torch-file",
        ["forecast", "--csv", "{tmp}/mydata/sales.csv", *SERIES, "--load", "{tmp}/whole.pt"],
        "whole.pt",
    ),
    (
        "textgen-sample-text-file",
        ["textgen", "sample", "--checkpoint", "{tmp}/text.pt"],
        "text.pt: not an lstmkit model bundle",
    ),
    (
        "textgen-sample-truncated",
        ["textgen", "sample", "--checkpoint", "{tmp}/truncated.pt"],
        "truncated.pt: not an lstmkit model bundle (the file is truncated or damaged)",
    ),
    (
        "sentiment-predict-empty",
        ["sentiment", "predict", "--checkpoint", "{tmp}/empty.pt", "good"],
        "empty.pt: not an lstmkit model bundle",
    ),
    (
        "translate-wrong-bundle-kind",
        ["translate", "predict", "--checkpoint", "{tmp}/other-kind.pt", "one"],
        "other-kind.pt is not an lstmkit translate model (format 'lstmkit-lm')",
    ),
    # --- CSV input (before: decoding errors named no file and offered no remedy; no --encoding)
    (
        "csv-latin1-as-utf8",
        ["run", "--csv", "{tmp}/latin1.csv", *SERIES, *FAST_RUN],
        r"latin1.csv: not valid utf-8 \(byte 0xe9 at offset 39.*--encoding",
    ),
    (
        "csv-unknown-encoding",
        ["run", "--csv", "{tmp}/latin1.csv", "--encoding", "nope-42", *SERIES, *FAST_RUN],
        "encoding: unknown codec 'nope-42'",
    ),
    ("csv-empty", ["run", "--csv", "{tmp}/empty.csv", *SERIES, *FAST_RUN], "empty.csv' is empty"),
    (
        "csv-ragged",
        ["run", "--csv", "{tmp}/ragged.csv", *SERIES, *FAST_RUN],
        "ragged.csv' is not a readable CSV",
    ),
    ("csv-missing-file", ["run", "--csv", "{tmp}/nope.csv", *SERIES, *FAST_RUN], "no such file"),
    (
        "csv-infinity",
        ["run", "--csv", "{tmp}/inf.csv", *SERIES, *FAST_RUN],
        r"column 'sales' holds 1 infinite values, the first at 2011-06-01.*replace them",
    ),
    ("csv-no-such-target", ["run", "--csv", "{tmp}/mydata/sales.csv", "--target", "nope", *FAST_RUN], "nope"),
    ("csv-target-missing", ["run", "--csv", "{tmp}/mydata/sales.csv", *FAST_RUN], "--target: required"),
    # --- devices (before: AssertionError / RuntimeError tracebacks)
    (
        "forecast-device-tpu",
        ["forecast", "--csv", "{tmp}/mydata/sales.csv", *SERIES, *FAST_FIT, "--device", "tpu"],
        "--device: expected 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto', got 'tpu'",
    ),
    (
        "run-device-cuda-absent",
        ["run", "--csv", "{tmp}/mydata/sales.csv", *SERIES, *FAST_RUN, "--device", "cuda:7"],
        "--device: 'cuda:7'",
    ),
    (
        "classify-device-cuda-absent",
        ["classify", "--out", "{tmp}/fresh", "--epochs", "1", "--device", "cuda"],
        "--device: 'cuda'",
    ),
    (
        "detect-device-bogus",
        ["detect", "--dataset", "yahoo", "--out", "{tmp}/fresh", "--device", "gpu0"],
        "--device: expected",
    ),
    # --- fractions and numbers (before: detect --train 0 blamed train + val)
    ("detect-train-zero", ["detect", "--dataset", "yahoo", "--train", "0"], "--train: expected a fraction"),
    ("detect-val-nan", ["detect", "--dataset", "yahoo", "--val", "nan"], "--val: expected a fraction"),
    ("detect-train-one", ["detect", "--dataset", "yahoo", "--train", "1"], "--train: expected a fraction"),
    (
        "detect-sum-too-big",
        ["detect", "--dataset", "yahoo", "--train", "0.9", "--val", "0.2"],
        r"--train, --val: expected train \+ val < 1",
    ),
]


@pytest.mark.parametrize(("argv", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_command_line(tmp_path: Path, caplog, argv: list[str], expected: str) -> None:
    arrange(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    caplog.set_level(logging.INFO)
    rc = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert rc == 1 and len(errors) == 1, caplog.text
    message = errors[0].getMessage()
    assert "\n" not in message and "Traceback" not in message
    assert expected in message or re.search(expected, message), message
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing of the user's was changed, nothing new was left behind


def test_csv_encoding_bom_and_compression_are_read(tmp_path: Path) -> None:
    from lstmkit.apps.forecasting.data import from_csv

    frame = sales_frame()
    text = frame.to_csv(index=False)
    (tmp_path / "latin1.csv").write_bytes(text.replace("sales", "caf\xe9").encode("latin-1"))
    (tmp_path / "bom.csv").write_bytes("\ufeff".encode() + text.encode())
    with gzip.open(tmp_path / "s.csv.gz", "wt") as fh:
        fh.write(text)
    expected = frame["sales"].to_numpy()
    s = from_csv(tmp_path / "latin1.csv", "caf\xe9", time="month", encoding="latin-1")
    np.testing.assert_allclose(s.values, expected)
    np.testing.assert_allclose(from_csv(tmp_path / "bom.csv", "sales", time="month").values, expected)
    np.testing.assert_allclose(from_csv(tmp_path / "s.csv.gz", "sales", time="month").values, expected)


def test_the_run_folder_check_comes_before_training(tmp_path: Path, caplog, monkeypatch) -> None:
    """An unusable output folder is reported before any model is fitted."""
    from lstmkit.apps.forecasting import estimator as forecaster

    arrange(tmp_path)

    def no_fit(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(forecaster.Forecaster, "fit", no_fit)
    argv = ["run", "--csv", f"{tmp_path}/mydata/sales.csv", *SERIES, "--out", f"{tmp_path}/afile", *FAST_RUN]
    assert main(argv) == 1
    assert "cannot write in the folder" in caplog.text


# ---------------------------------------------------------------------- spreadsheet formulas
def test_csv_cells_from_user_strings_cannot_run_formulas(tmp_path: Path) -> None:
    from lstmkit.io.tables import csv_text, write_csv, write_rows

    frame = pd.DataFrame(
        {
            '=HYPERLINK("http://x")': ["=1+1", "+2", "-cmd|' /C calc'!A0", "@SUM(A1)", "plain", "\tx"],
            "value": [-1.5, 2.0, -3.0, 0.0, 1.0, 2.0],
        }
    )
    text = csv_text(frame, index=False)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ['\'=HYPERLINK("http://x")', "value"]
    assert [r[0] for r in rows[1:]] == ["'=1+1", "'+2", "'-cmd|' /C calc'!A0", "'@SUM(A1)", "plain", "'\tx"]
    assert [r[1] for r in rows[1:4]] == ["-1.5", "2.0", "-3.0"]  # numbers stay numbers
    write_csv(frame, tmp_path / "t.csv", index=False)
    assert (tmp_path / "t.csv").read_text() == text
    write_rows(tmp_path / "r.csv", [{"model": "=evil()", "loss": -0.5}])
    assert (tmp_path / "r.csv").read_text() == "model,loss\n'=evil(),-0.5\n"


def test_the_run_report_neutralizes_a_formula_series_name(tmp_path: Path) -> None:
    frame = sales_frame().rename(columns={"sales": "=cmd()"})
    frame.to_csv(tmp_path / "evil.csv", index=False)
    argv = ["run", "--csv", str(tmp_path / "evil.csv"), "--target", "=cmd()", "--time", "month",
            "--out", str(tmp_path / "runs"), "--name", "evil", *FAST_RUN]  # fmt: skip
    assert main(argv) == 0
    for name in ("metrics.csv", "forecast.csv", "backtest.csv"):
        for line in (tmp_path / "runs" / "evil" / name).read_text().splitlines():
            assert not any(cell.startswith(("=", "+", "@")) for cell in line.split(",")), (name, line)


# ---------------------------------------------------------------------- sampling a trained model
@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("lm")
    (tmp / "corpus.txt").write_text("the quick brown fox jumps over the lazy dog. " * 20)
    argv = ["textgen", "train", "--text-file", str(tmp / "corpus.txt"), "--run-dir", str(tmp / "run"),
            "--epochs", "1", "--max-steps", "2", "--hidden-size", "8", "--embed-dim", "4", "--layers", "1",
            "--batch-size", "2", "--bptt", "8", "--ngram-orders", "", "--sample-length", "5",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    return tmp / "run"


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (["--temperature", "inf"], "temperature"),  # before: a traceback from torch.multinomial
        (["--temperature", "nan"], "temperature"),
        (["--temperature", "-1"], "temperature"),
        (["--top-p", "1.5"], "top_p"),
        (["--top-k", "0"], "top_k"),
        (["--length", "-3"], "--length: expected an int >= 0"),
    ],
)
def test_sampling_options_are_checked(tiny_lm: Path, caplog, capsys, option, expected) -> None:
    assert main(["textgen", "sample", "--checkpoint", str(tiny_lm), "--prime", "the", *option]) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and expected in errors[0] and "\n" not in errors[0]


def test_a_trained_run_folder_is_marked_and_records_itself(tiny_lm: Path) -> None:
    import json

    from lstmkit.io.runfolder import MARKER

    marker = json.loads((tiny_lm / MARKER).read_text())
    assert marker["kind"] == "textgen" and "model.pt" in marker["files"]
    assert json.loads((tiny_lm / "config.json").read_text())["run_dir"] == str(tiny_lm)

"""``lstmkit federated``: help, one-line errors, and a tiny lm run writing its folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lstmkit.apps.federated import job
from lstmkit.apps.federated.data import TextClient
from lstmkit.cli import main


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["federated", "forecast", "--help"])
    assert exc.value.code == 0
    assert "--local-epochs" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["federated", "lm", "--rounds", "0"], "rounds: expected an int >= 1, got 0"),
        (["federated", "forecast", "--clients", "micro,retail"], "clients: expected distinct names"),
        (["federated", "lm", "--mu", "-1", "--strategy", "fedprox"], "mu: expected a finite value >= 0"),
    ],
)
def test_bad_arguments_fail_in_one_line(
    argv: list[str], message: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert main([*argv, "--out", str(tmp_path)]) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and message in errors[0] and "\n" not in errors[0]


def test_job_writes_the_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = [
        TextClient("a", "abc abd. " * 300, "abc abd. " * 150, "abd abc. " * 150),
        TextClient("b", "xyz xy! " * 300, "xyz xy! " * 150, "xy xyz! " * 150),
    ]
    monkeypatch.setattr(job, "text_clients", lambda corpora, train_chars: tiny)
    config = job.FederatedJobConfig("lm", rounds=1, local_epochs=1, clients=("a", "b"), out=str(tmp_path))
    result = job.run(config)
    saved = json.loads((tmp_path / "federated-lm" / "federated.json").read_text())
    assert [r["method"] for r in saved["rows"]] == ["centralized", "fedavg", "alone"]
    assert saved["clients"] == ["a", "b"] and result.metric == "bits/char"
    report = (tmp_path / "federated-lm" / "report.md").read_text()
    assert "- fedavg: mean valid bits/char of the global model after each round (kept: round 1)" in report
    assert "best validation score, scored on test data (fedavg round 1)" in job.summary_text(result)

"""`lstmkit forecast --processes N`: the command runs itself again under torchrun, without the
option, with the strategy "ddp" in the environment; one-line refusals."""

from __future__ import annotations

import sys

import pytest

from lstmkit.cli import main
from lstmkit.fit import distributed


def test_processes_relaunches_the_same_command(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def call(command: list[str], env: dict[str, str]) -> int:
        calls.append((command, env))
        return 3

    monkeypatch.setattr(distributed.subprocess, "call", call)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(distributed, "_cores", lambda: 8)
    argv = ["forecast", "--dataset", "airline", "--processes", "2", "--hidden", "8"]
    assert main(argv) == 3  # the launcher's exit status
    (command, env) = calls[0]
    assert command == [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "lstmkit.cli",
        "forecast",
        "--dataset",
        "airline",
        "--hidden",
        "8",
    ]
    assert env["LSTMKIT_STRATEGY"] == "ddp" and env["OMP_NUM_THREADS"] == "4"  # 8 cores, 2 processes
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's count is kept
    main(argv)
    assert calls[1][1]["OMP_NUM_THREADS"] == "3"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--processes", "0"], "--processes: expected an integer >= 1, got 0"),
        (
            ["--processes", "2", "--load", "m.pt"],
            "--processes: trains in several processes; --load trains nothing",
        ),
    ],
)
def test_refusals_are_one_line(extra: list[str], message: str, caplog: pytest.LogCaptureFixture) -> None:
    assert main(["forecast", *extra]) == 1
    assert message in caplog.text

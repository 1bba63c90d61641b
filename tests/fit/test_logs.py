"""The files of a run folder: logs rewritten as a run goes, the report at its end."""

from __future__ import annotations

import json

import pytest

from lstmkit.fit import TrainConfig
from lstmkit.fit.history import History
from lstmkit.fit.logs import RunLogs


def test_run_logs_write_the_folder(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    run = tmp_path / "run"
    cfg = TrainConfig(run_dir=str(run))
    logs = RunLogs(run, cfg)
    logs.open()
    assert TrainConfig.from_dict(json.loads((run / "config.json").read_text())) == cfg
    rows = [{"epoch": 0, "step": 2, "train_loss": 1.0, "lr": 0.1, "seconds": 0.1, "val_loss": 0.9}]
    steps = [{"step": 1, "epoch": 0, "loss": 1.2, "lr": 0.1, "grad_norm": 1.0}]
    history = History(rows, steps, "val_loss", 0, 0.9)
    logs.write(history, global_step=2, epochs=1)
    summary = json.loads((run / "summary.json").read_text())
    assert summary == {
        "monitor": "val_loss",
        "best_epoch": 0,
        "best_value": 0.9,
        "stop_reason": "",
        "global_step": 2,
        "epochs": 1,
    }
    assert (run / "metrics.csv").read_text().splitlines()[0] == "epoch,step,train_loss,lr,seconds,val_loss"
    logs.report(history, {"best epoch": 0})
    assert (run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "best epoch" in (run / "report.html").read_text()
    logs.close()

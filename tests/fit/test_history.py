"""The History of a run: columns over epochs, step losses, a snapshot and its round trip."""

from __future__ import annotations

import math

from lstmkit.fit.history import History


def test_columns_snapshots_and_round_trip() -> None:
    h = History([{"epoch": 0, "val_loss": 0.5}, {"epoch": 1}], [{"step": 1, "loss": 2.0}], "val_loss")
    assert h["val_loss"][0] == 0.5 and math.isnan(h["val_loss"][1])
    assert h.losses == [2.0] and not h.stopped_early
    snapshot = h.to_dict()
    h.epochs[0]["val_loss"] = 9.0
    assert snapshot["epochs"][0]["val_loss"] == 0.5  # later changes leave a snapshot alone
    h.stop_reason, h.best_epoch, h.best_value = "early_stopping", 0, 0.5
    again = History.from_dict(h.to_dict())
    assert again == h and again.stopped_early

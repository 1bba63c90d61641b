"""The ready objectives of the synthetic tasks."""

from __future__ import annotations

import pytest

from lstmkit.apps.experiments.tuning import synthetic_objective


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "accuracy"}, "metric: expected 'loss' or 'error'"),
        ({"epochs": 0}, "epochs: expected an int >= 1"),
        ({"val_size": True}, "val_size: expected an int >= 1"),
    ],
)
def test_bad_settings_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        synthetic_objective("adding", **kwargs)


def test_the_objective_reports_every_epoch_and_returns_the_best() -> None:
    class Reporter:
        number = 0

        def __init__(self) -> None:
            self.values: list[float] = []

        def callback(self):
            from lstmkit.fit import Callback

            reporter = self

            class Report(Callback):
                def on_epoch_end(self, trainer, row):
                    reporter.values.append(row["val_error"])

            return Report()

    params = {"variant": "classic", "hidden": 4, "num_layers": 1, "batch_size": 16, "lr": 1e-2}
    params |= dict.fromkeys(("dropout", "recurrent_dropout", "zoneout", "weight_drop", "weight_decay"), 0.0)
    objective = synthetic_objective("adding", epochs=2, sequences_per_epoch=32, val_size=16, metric="error",
                                    task_options={"T": 10})  # fmt: skip
    reporter = Reporter()
    best = objective(params, reporter)  # type: ignore[arg-type]
    assert len(reporter.values) == 2 and best == min(reporter.values)

"""The search job (`lstmkit tune` from Python): a small search returns its trials and writes them."""

from __future__ import annotations

import json

import pytest

from lstmkit.apps.experiments.search import TuneJobConfig, run
from lstmkit.fit.tune import SearchSpace


def test_run_searches_and_writes_the_results(tmp_path) -> None:
    out = tmp_path / "tune"
    config = TuneJobConfig("adding", SearchSpace(hidden=(4, 8)), trials=2, epochs=2, sequences_per_epoch=64,
                           val_size=32, length=12, out=str(out))  # fmt: skip
    result = run(config)
    assert len(result.trials) == 2 and result.best_params["hidden"] in (4, 8)
    assert json.loads((out / "best.json").read_text())["best_value"] == pytest.approx(result.best_value)


def test_continual_reber_is_refused() -> None:
    with pytest.raises(ValueError, match="continual-reber"):
        run(TuneJobConfig("cerg"))

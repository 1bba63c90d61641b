"""The anomaly-detection job as a library."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.anomaly.job import DetectJobConfig, DetectJobResult, run


def test_run_scores_and_evaluates_the_test_part(tmp_path) -> None:
    result = run(DetectJobConfig(dataset="yahoo", epochs=1, out=str(tmp_path), progress=False))
    assert isinstance(result, DetectJobResult) and result.split == (550, 750)
    assert len(result.scores) == 1000 and result.downsample == 1
    assert {"precision", "recall", "f1", "roc_auc"} <= set(result.metrics)
    assert (tmp_path / "detect-yahoo" / "scores.png").is_file()
    page = (tmp_path / "detect-yahoo" / "index.html").read_text()
    assert "LSTM gates and cell states" in page and "scoring the first 200 test samples" in page
    assert (tmp_path / "detect-yahoo" / "gates_heatmaps.png").stat().st_size > 1000
    saved = AnomalyDetector.load(tmp_path / "detect-yahoo" / "model.pt")  # the fitted detector
    assert np.allclose(saved.score(result.data.values), result.scores, equal_nan=True)


def test_an_unlabelled_signal_counts_flagged_samples() -> None:
    result = run(DetectJobConfig(dataset="ppg", epochs=1, window=32, out=None, progress=False))
    assert result.folder is None and result.metrics["flagged"] >= 0 and "f1" not in result.metrics


@pytest.mark.parametrize(
    ("train", "val", "message"),
    [
        (0.0, 0.2, "--train: expected a fraction"),
        (0.5, math.nan, "--val: expected"),
        (0.9, 0.2, r"train \+ val < 1"),
    ],
)
def test_the_split_is_checked_first(train, val, message) -> None:
    with pytest.raises(ValueError, match=message):
        run(DetectJobConfig(dataset="nope", train=train, val=val, out=None))

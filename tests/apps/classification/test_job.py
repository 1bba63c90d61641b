"""The classification job as a library."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.classification.job import ClassifyJobConfig, ClassifyJobResult, run


def test_run_returns_the_accuracies_and_writes_the_report(tmp_path, capsys) -> None:
    result = run(ClassifyJobConfig(dataset="italypowerdemand", epochs=1, out=str(tmp_path), progress=False))
    assert isinstance(result, ClassifyJobResult)
    assert 0 <= result.test_accuracy <= 1 and 0 <= result.train_accuracy <= 1 and result.paper == 0.962
    assert result.confusion.shape == (2, 2) and result.confusion.sum() == len(result.data.y_test)
    folder = tmp_path / "classify-italypowerdemand-lstm-fcn"
    assert json.loads((folder / "metrics.json").read_text())["test_accuracy"] == result.test_accuracy
    page = (folder / "index.html").read_text()
    assert "LSTM gates and cell states" in page and "the dimension-shuffled series" in page
    for png in ("gates_saturation.png", "gates_heatmaps.png"):
        assert f"<img src='{png}'" in page and (folder / png).stat().st_size > 1000
    saved = SequenceClassifier.load(folder / "model.pt")  # the folder holds the fitted model
    assert np.array_equal(saved.predict(result.data.x_test), result.classifier.predict(result.data.x_test))
    assert capsys.readouterr().out == ""


def test_bad_settings_come_before_the_data(tmp_path) -> None:
    with pytest.raises(ValueError, match="--device"):
        run(ClassifyJobConfig(device="tpu", out=str(tmp_path)))
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        run(ClassifyJobConfig(dataset="nope", out=None))
    assert list(tmp_path.iterdir()) == []

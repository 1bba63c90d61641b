"""The video job end to end on tiny settings: tables, report files, consistent numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lstmkit.apps.video import baselines, metrics
from lstmkit.apps.video.job import VideoJobConfig, run

TINY = {
    "train": 24,
    "test": 12,
    "frames": 8,
    "context": 4,
    "size": 40,
    "epochs": 1,
    "hidden": 4,
    "num_layers": 1,
    "progress": False,
}


def test_predict_writes_its_report(tmp_path) -> None:
    result = run(VideoJobConfig(task="predict", out=str(tmp_path), name="p", **TINY))
    folder = tmp_path / "p"
    for f in (
        "index.html",
        "metrics.json",
        "model.pt",
        "strip_0.png",
        "video_0.gif",
        "curves.png",
        "loss.png",
    ):
        assert (folder / f).is_file(), f
    saved = json.loads((folder / "metrics.json").read_text())
    assert [r["model"] for r in saved["rows"]] == ["convlstm", "copy-last"]
    for row in saved["rows"]:
        assert math.isfinite(row["mse"]) and 0 < row["ssim"] <= 1
        assert row["mse"] == pytest.approx(float(np.mean(row["mse_by_step"])))
    copy = baselines.copy_last(result.test[:, :4], 4)
    assert saved["rows"][1]["mse"] == pytest.approx(float(metrics.frame_mse(copy, result.test[:, 4:]).mean()))
    assert result.outputs["pred"].shape == (12, 4, 1, 40, 40)


def test_classify_and_detect(tmp_path) -> None:
    result = run(
        VideoJobConfig(task="classify", architecture="cnn-lstm", out=str(tmp_path), name="c", **TINY)
    )
    assert (tmp_path / "c" / "confusion.png").is_file()
    acc = result.rows[0]["accuracy"]
    assert acc == pytest.approx(float((result.outputs["proba"].argmax(1) == result.labels).mean()))
    result = run(VideoJobConfig(task="detect", out=str(tmp_path), name="d", scoring="rollout", **TINY))
    assert result.model.scoring == "rollout" and result.metrics["scoring"] == "rollout"
    assert (tmp_path / "d" / "roc.png").is_file()
    kinds = [r["kind"] for r in result.rows]
    assert kinds[0] == "all" and set(kinds[1:]) <= {"teleport", "stop", "turn"}
    assert all(0 <= r["roc_auc"] <= 1 for r in result.rows)
    assert np.allclose(result.outputs["scores"], result.outputs["frame_scores"].max(1))
    assert isinstance(result.test, torch.Tensor)


def test_bad_settings_name_the_flag(tmp_path) -> None:
    with pytest.raises(ValueError, match="--architecture: expected one of"):
        run(VideoJobConfig(task="classify", architecture="fc-lstm", out=None))
    with pytest.raises(ValueError, match="--source: expected one of"):
        run(VideoJobConfig(source="cifar", out=None))
    with pytest.raises(ValueError, match="--scoring: expected one of"):
        run(VideoJobConfig(task="detect", scoring="max", out=None))
    with pytest.raises(ValueError, match="--context"):
        run(VideoJobConfig(context=20, out=None))

"""Video on offline moving digits, for docs/video.md (``make bench-video``).

Three studies on the fixed test sets of :mod:`lstmkit.apps.video.data` (digit images unseen in
training):

1. **prediction** (10 frames in, 10 out): the ConvLSTM encoder-forecaster against FC-LSTM
   (same videos, epochs and batch size) and copy-last-frame: per-frame MSE (sum over a frame's
   pixels), SSIM, both by step ahead, parameters, training time;
2. **classification** of the motion classes: ConvLSTM + pooling against a per-frame CNN + LSTM;
3. **anomalies**: the prediction study's ConvLSTM, calibrated on normal training videos, scores
   test videos of which half have a digit that teleports, stops or turns: ROC-AUC per kind, by
   one-step and by rollout error (the result: the scoring better on validation videos).

It writes ``benchmarks/results/video.json`` (``video-quick.json`` with ``--quick``), the block
between ``<!-- video-results:NAME:begin -->`` and ``...:end -->`` of docs/video.md, and (full run
only) ``docs/images/video_*.png|gif``. Progress goes to stderr.

    OMP_NUM_THREADS=2 python benchmarks/video.py           # the full study (see docs/video.md)
    OMP_NUM_THREADS=1 python benchmarks/video.py --quick   # small data, a few epochs: minutes
    python benchmarks/video.py --set pred_train=2000       # change a setting of FULL (or QUICK)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from lstmkit.apps.video import baselines, data, metrics
from lstmkit.apps.video.anomaly import SCORINGS, VideoAnomalyDetector
from lstmkit.apps.video.estimator import VideoClassifier, VideoPredictor, scores
from lstmkit.apps.video.model import count_parameters
from lstmkit.io.atomic import atomic_write_text
from video_report import IMAGES, render_block, write_doc

RESULTS = Path("benchmarks/results")
#: the sizes of the studies: videos, epochs, widths
FULL: dict[str, Any] = {
    "pred_train": 2400,
    "pred_test": 1000,
    "pred_epochs": 4,
    "conv_hidden": 32,
    "conv_layers": 2,
    "fc_hidden": 512,
    "cls_train": 3600,
    "cls_test": 1000,
    "cls_epochs": 6,
    "anomaly_test": 1000,
    "batch_size": 16,
    "lr": 3e-3,
    "seed": 0,
}
QUICK: dict[str, Any] = {
    **FULL,
    "pred_train": 600,
    "pred_test": 100,
    "pred_epochs": 4,
    "cls_train": 400,
    "cls_test": 100,
    "cls_epochs": 5,
    "anomaly_test": 200,
}

log = logging.getLogger("bench-video")


def _predictor(arch: str, s: dict[str, Any]) -> VideoPredictor:
    hidden, layers = (s["conv_hidden"], s["conv_layers"]) if arch == "convlstm" else (s["fc_hidden"], 1)
    return VideoPredictor(
        arch,
        hidden_size=hidden,
        num_layers=layers,
        max_epochs=s["pred_epochs"],
        batch_size=s["batch_size"],
        lr=s["lr"],
        seed=s["seed"],
    )


def prediction(s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The prediction study: rows per model and the fitted models (with the test videos)."""
    train = data.moving_digits(s["pred_train"], split="train", seed=s["seed"]).frames
    test = data.moving_digits(s["pred_test"], split="test").frames
    truth = test[:, 10:]
    rows, preds, models = [], {}, {}
    for arch in ("convlstm", "fc-lstm"):
        log.info("prediction: fitting %s on %d videos, %d epochs", arch, len(train), s["pred_epochs"])
        model = _predictor(arch, s).fit(train)
        preds[arch], models[arch] = model.predict(test), model
        rows.append(
            {
                "model": arch,
                **scores(preds[arch], truth),
                "params": count_parameters(model.nets_[0]),
                "train_seconds": model.fit_seconds_,
                "final_loss": model.history_["train_loss"][-1],
            }
        )
        log.info(
            "prediction: %s MSE %.1f SSIM %.3f (%.0f s)",
            arch,
            rows[-1]["mse"],
            rows[-1]["ssim"],
            model.fit_seconds_,
        )
    preds["copy-last"] = baselines.copy_last(test[:, :10], 10)
    rows.append(
        {"model": "copy-last", **scores(preds["copy-last"], truth), "params": 0, "train_seconds": 0.0}
    )
    return {"rows": rows}, {"models": models, "preds": preds, "test": test, "train": train}


def classification(s: dict[str, Any]) -> dict[str, Any]:
    """The classification study: accuracy of both classifiers."""
    train = data.motion_classes(s["cls_train"], split="train", seed=s["seed"])
    test = data.motion_classes(s["cls_test"], split="test")
    rows = []
    for arch in ("convlstm", "cnn-lstm"):
        log.info(
            "classification: fitting %s on %d videos, %d epochs", arch, len(train.labels), s["cls_epochs"]
        )
        clf = VideoClassifier(
            arch, max_epochs=s["cls_epochs"], batch_size=s["batch_size"], lr=s["lr"], seed=s["seed"]
        )
        clf.fit(train.frames, train.labels.numpy())
        acc = clf.score(test.frames, test.labels.numpy())
        rows.append(
            {
                "model": arch,
                "accuracy": acc,
                "params": count_parameters(clf.nets_[0]),
                "train_seconds": clf.fit_seconds_,
            }
        )
        log.info("classification: %s accuracy %.4f (%.0f s)", arch, acc, clf.fit_seconds_)
    return {"rows": rows, "classes": list(train.classes)}


def anomalies(s: dict[str, Any], predictor: VideoPredictor, normal: torch.Tensor) -> dict[str, Any]:
    """ROC-AUC of the ConvLSTM's standardized prediction errors, overall and per kind, for both
    scorings; the scoring of the result is the one with the higher ROC-AUC on validation videos
    (training digits, another seed), not the test set."""
    valid = data.motion_anomalies(s["anomaly_test"] // 2, split="train", seed=s["seed"] + 1)
    test = data.motion_anomalies(s["anomaly_test"], split="test")
    by_scoring = {}
    for scoring in SCORINGS:
        det = VideoAnomalyDetector.from_predictor(predictor, normal[:512], scoring=scoring)
        valid_auc = metrics.roc_auc(valid.labels.numpy(), det.score(valid.frames))
        by_scoring[scoring] = {
            "valid_roc_auc": valid_auc,
            "rows": metrics.roc_auc_by_kind(test.labels, test.kinds, det.score(test.frames)),
        }
        log.info(
            "anomalies (%s): ROC-AUC %.3f validation, %.3f test",
            scoring,
            valid_auc,
            by_scoring[scoring]["rows"][0]["roc_auc"],
        )
    chosen = max(SCORINGS, key=lambda k: by_scoring[k]["valid_roc_auc"])
    normal_videos = int((~test.labels.numpy()).sum())
    return {
        "scoring": chosen,
        "rows": by_scoring[chosen]["rows"],
        "scorings": by_scoring,
        "normal_videos": normal_videos,
    }


def acceptance(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, measured: gains of ConvLSTM over FC-LSTM and copy-last."""
    p = {r["model"]: r for r in results["prediction"]["rows"]}
    conv, fc, copy = p["convlstm"], p["fc-lstm"], p["copy-last"]
    return {
        "mse_gain_vs_fc": 1 - conv["mse"] / fc["mse"],
        "ssim_ratio_vs_fc": conv["ssim"] / fc["ssim"] - 1,
        "dissimilarity_gain_vs_fc": 1 - (1 - conv["ssim"]) / (1 - fc["ssim"]),
        "mse_gain_vs_copy": 1 - conv["mse"] / copy["mse"],
        "ssim_ratio_vs_copy": conv["ssim"] / copy["ssim"] - 1,
        "accuracy": {r["model"]: r["accuracy"] for r in results["classification"]["rows"]},
        "roc_auc": results["anomalies"]["rows"][0]["roc_auc"],
    }


def images(fitted: dict[str, Any]) -> list[str]:
    """The docs' pictures from the full run: a test video by every model, its GIF, the curves."""
    from lstmkit.apps.video.report import plot_curves, plot_strip, write_gif

    test, preds = fitted["test"], fitted["preds"]
    IMAGES.mkdir(parents=True, exist_ok=True)
    rows = [("input", test[0, :10]), ("truth", test[0, 10:])] + [(m, preds[m][0]) for m in preds]
    plot_strip(rows, IMAGES / "video_predict.png")
    write_gif(
        [
            test[0],
            torch.cat([test[0, :10], preds["convlstm"][0]]),
            torch.cat([test[0, :10], preds["fc-lstm"][0]]),
        ],
        IMAGES / "video_predict.gif",
    )
    curves = {m: scores(p, test[:, 10:]) for m, p in preds.items()}
    plot_curves(curves, IMAGES / "video_curves.png", 10)
    return ["video_predict.png", "video_predict.gif", "video_curves.png"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Video on offline moving digits, for docs/video.md.")
    parser.add_argument("--quick", action="store_true", help="small data, a few epochs (minutes)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting (e.g. pred_epochs=4)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    name = "quick" if args.quick else "full"
    settings = dict(QUICK if args.quick else FULL)
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in settings:
            parser.error(f"--set: expected one of {sorted(settings)}, got {key!r}")
        settings[key] = type(settings[key])(value)
    t0 = time.perf_counter()
    results: dict[str, Any] = {"settings": settings, "threads": torch.get_num_threads()}
    results["prediction"], fitted = prediction(settings)
    results["anomalies"] = anomalies(settings, fitted["models"]["convlstm"], fitted["train"])
    results["classification"] = classification(settings)
    results["acceptance"] = acceptance(results)
    results["total_seconds"] = time.perf_counter() - t0
    results["load_average"] = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("video-quick.json" if args.quick else "video.json")
    atomic_write_text(out, json.dumps(results, indent=2) + "\n")
    pictures = [] if args.quick else images(fitted)
    command = "make bench-video" + (" ARGS=--quick" if args.quick else "")
    write_doc(name, render_block(results, command, pictures))
    print(f"{out}: written in {results['total_seconds']:.0f} s", file=sys.stderr)
    print(json.dumps(results["acceptance"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

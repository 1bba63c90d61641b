"""``lstmkit detect``: LSTM anomaly detection on a bundled signal, evaluated against its labels."""

from __future__ import annotations

import argparse
import logging
import os
import time

from lstmkit.io.runfolder import OVERWRITE_HELP

log = logging.getLogger("lstmkit.detect")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "detect",
        help="LSTM anomaly detection (forecast residuals or autoencoder) on a bundled signal",
        description="Split the signal in time into train (normal behaviour), validation (threshold) and test "
        "parts, score every sample, and print precision, recall, F1 and ROC-AUC on the test part "
        "(labelled datasets). Writes runs/detect-NAME/ with the signal, scores and threshold.",
    )
    p.add_argument("--dataset", default="mitdb", help="mitdb, yahoo (labelled), ppg, ppg_long (unlabelled)")
    p.add_argument(
        "--method",
        default="forecast",
        choices=["forecast", "autoencoder"],
        help="score by next-step forecast residuals or by autoencoder reconstruction error "
        "(default forecast)",
    )
    p.add_argument("--train", type=float, default=0.55, help="fraction of the signal for training (0.55)")
    p.add_argument("--val", type=float, default=0.20, help="fraction after it for the threshold (0.20)")
    p.add_argument("--window", type=int, default=96, help="window in (downsampled) samples (96)")
    p.add_argument(
        "--downsample", type=int, default=None, help="average this many samples (default: to ~90 Hz)"
    )
    p.add_argument("--smooth", type=int, default=None, help="score moving average (default: the window)")
    p.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    p.add_argument("--hidden", type=int, default=32, help="LSTM hidden size (default 32)")
    p.add_argument(
        "--quantile", type=float, default=0.99, help="threshold quantile of normal validation scores"
    )
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default cpu)")
    p.add_argument("--out", default="runs", help="parent folder of the report (default runs)")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=detect_main)


def detect_main(args: argparse.Namespace) -> int:
    import numpy as np

    from lstmkit.apps.anomaly.estimator import AnomalyDetector
    from lstmkit.apps.datasets import sources
    from lstmkit.fit.config import resolve_device
    from lstmkit.io import plots
    from lstmkit.io.html import prepare_run_folder, run_folder, write_json, write_page

    for flag, value in (("--train", args.train), ("--val", args.val)):
        if not 0 < value < 1:  # also false for NaN
            raise ValueError(f"{flag}: expected a fraction of the signal in (0, 1), got {value}")
    if args.train + args.val >= 1:
        raise ValueError(
            f"--train, --val: expected train + val < 1 (the rest is the test part), "
            f"got {args.train} + {args.val} = {args.train + args.val:g}"
        )
    resolve_device(args.device, "--device")  # before any folder or training
    data = sources.load_anomaly(args.dataset)
    target = os.path.join(args.out, f"detect-{data.name}")
    prepare_run_folder(target, "detect", overwrite=args.overwrite)
    x, labels = data.values, data.labels
    a = int(len(x) * args.train)
    b = int(len(x) * (args.train + args.val))
    auto = max(1, round(data.sample_rate / 90)) if data.sample_rate else 1
    down = auto if args.downsample is None else args.downsample
    if labels is not None and labels[:a].any():
        log.warning("the training part holds %d labelled anomalous samples", int(labels[:a].sum()))
    t0 = time.perf_counter()
    det = AnomalyDetector(
        args.method,
        window=args.window,
        downsample=down,
        smooth=args.smooth,
        hidden_size=args.hidden,
        max_epochs=args.epochs,
        threshold_quantile=args.quantile,
        seed=args.seed,
        device=args.device,
        progress=not args.no_progress,
    ).fit(x[:a], val=x[a:b], val_labels=None if labels is None else labels[a:b])
    scores = det.score(x)
    seconds = time.perf_counter() - t0
    print(
        f"dataset {data.name}: {len(x)} samples; train [0, {a}), validation [{a}, {b}), test [{b}, {len(x)})"
    )
    print(f"method {args.method}, window {args.window}, downsample {down}, threshold {det.threshold_:.4g}")
    result: dict[str, object] = {
        "dataset": data.name,
        "method": args.method,
        "threshold": det.threshold_,
        "seconds": seconds,
        "config": det.config_dict(),
    }
    if labels is not None and labels[b:].any() and (~labels[b:].astype(bool)).any():
        m = det.evaluate(x[b:], labels[b:], context=x[:b])
        result.update(m)
        print(
            f"test: precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}  "
            f"ROC-AUC {m['roc_auc']:.3f}"
        )
    else:
        flagged = det.predict(x[b:], context=x[:b])
        print(f"test: {int(flagged.sum())} of {len(flagged)} samples flagged (no labels to evaluate against)")
        result["flagged"] = int(flagged.sum())
    print(f"time {seconds:.0f} s")
    with run_folder(target, "detect", overwrite=args.overwrite) as tmp:
        plots.plot_anomaly(
            x,
            scores,
            float(det.threshold_ or 0),
            os.path.join(tmp, "scores.png"),
            labels=labels,
            spans={"validation": (a, b), "test": (b, len(x))},
            title=f"{data.name}: signal (red: labelled anomalies)",
        )
        write_json(os.path.join(tmp, "metrics.json"), result)
        rows = "".join(
            f"<tr><td>{k}</td><td>{v:.4g}</td></tr>" for k, v in result.items() if isinstance(v, float)
        )
        write_page(
            os.path.join(tmp, "index.html"),
            f"lstmkit detect: {data.name}",
            [
                ("", f"<p>{data.description}</p><table>{rows}</table>"),
                ("Signal and scores", "<img src='scores.png' alt='scores'>"),
            ],
        )
    del np
    return 0

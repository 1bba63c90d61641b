"""``lstmkit detect``: LSTM anomaly detection on a bundled signal, evaluated against its labels.
The work is :func:`lstmkit.apps.anomaly.job.run`."""

from __future__ import annotations

import argparse

from lstmkit.apps.anomaly import job
from lstmkit.apps.common import options as opt

HELP = "LSTM anomaly detection (forecast residuals or autoencoder) on a bundled signal"
DESCRIPTION = """
Split the signal in time into train (normal behaviour), validation (threshold) and test parts, score
every sample, and print precision, recall, F1 and ROC-AUC on the test part (labelled datasets).
Writes runs/detect-NAME/ with the signal, scores and threshold.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "detect", HELP, DESCRIPTION, detect_main)
    data = p.add_argument_group("data (a bundled signal, split in time)")
    data.add_argument(
        "--dataset", default="mitdb", help="mitdb, yahoo (labelled), ppg, ppg_long (unlabelled)"
    )
    data.add_argument("--train", type=float, default=0.55, help="fraction of the signal for training (0.55)")
    data.add_argument("--val", type=float, default=0.20, help="fraction after it for the threshold (0.20)")
    g = p.add_argument_group("LSTM detector")
    g.add_argument(
        "--method",
        default="forecast",
        choices=["forecast", "autoencoder"],
        help="score by next-step forecast residuals or by autoencoder reconstruction error "
        "(default forecast)",
    )
    g.add_argument("--window", type=int, default=96, help="window in (downsampled) samples (96)")
    g.add_argument(
        "--downsample", type=int, default=None, help="average this many samples (default: to ~90 Hz)"
    )
    g.add_argument("--smooth", type=int, default=None, help="score moving average (default: the window)")
    g.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    g.add_argument("--hidden", type=int, default=32, help="LSTM hidden size (default 32)")
    g.add_argument(
        "--quantile", type=float, default=0.99, help="threshold quantile of normal validation scores"
    )
    opt.add_seed_arg(g)
    opt.add_device_arg(g)
    opt.add_output_args(p, out_help="parent folder of the report (default runs)")
    opt.add_progress_arg(p)


def detect_main(args: argparse.Namespace) -> int:
    job.run(opt.config_from_args(job.DetectJobConfig, args, {"echo": True}))
    return 0

"""``lstmkit classify``: train a sequence classifier on a bundled UCR/UEA dataset, print test
accuracy. The work is :func:`lstmkit.apps.classification.job.run`."""

from __future__ import annotations

import argparse

from lstmkit.apps.classification import job
from lstmkit.apps.classification.estimator import ARCHITECTURES, POOLINGS
from lstmkit.apps.common import options as opt

HELP = "train a sequence classifier (LSTM-FCN, LSTM, BiLSTM; FCN, GRU, RNN, Transformer, TCN) on UCR/UEA data"
DESCRIPTION = """
Train on the dataset's training split, report accuracy on its test split (never used for training or
model selection), and write runs/NAME/ with the loss curve.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "classify", HELP, DESCRIPTION, classify_main)
    p.add_argument(
        "--dataset",
        default="gunpoint",
        help="gunpoint, italypowerdemand, arrowhead, basicmotions, "
        "japanesevowels, osuleaf (`lstmkit data list --task classification`)",
    )
    p.add_argument(
        "--architecture",
        "--arch",
        dest="arch",
        default="lstm-fcn",
        choices=list(ARCHITECTURES),
        help="LSTM-FCN (Karim et al. 2018), an LSTM, a bidirectional LSTM, or to compare: the FCN alone "
        "(Wang et al. 2017), a GRU, an Elman RNN, a Transformer, a TCN (default lstm-fcn)",
    )
    p.add_argument(
        "--pooling",
        default="last",
        choices=list(POOLINGS),
        help="of the encoder's outputs (not lstm-fcn, fcn; default last)",
    )
    p.add_argument("--hidden", type=int, default=None, help="hidden size (default 8 for LSTM-FCN, else 64)")
    p.add_argument("--no-shuffle", action="store_true", help="LSTM-FCN: LSTM over time, no dimension shuffle")
    p.add_argument(
        "--heads", dest="num_heads", type=int, default=4, help="Transformer attention heads (default 4)"
    )
    p.add_argument("--kernel-size", type=int, default=3, help="TCN kernel size (default 3)")
    p.add_argument("--epochs", type=int, default=300, help="training epochs (default 300)")
    p.add_argument("--batch-size", type=int, default=32, help="sequences per batch (default 32)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    p.add_argument("--ensemble", type=int, default=1, help="networks from different seeds (default 1)")
    p.add_argument(
        "--augment",
        default="none",
        choices=["none", "light", "warp"],
        help="training-time augmentation: light = jitter and scaling, warp = also time warping and "
        "window slicing (default none)",
    )
    p.add_argument(
        "--test-views",
        type=int,
        default=1,
        help="average the predictions over the series and N-1 window slices of it (default 1: none)",
    )
    opt.add_seed_arg(p, help="base seed (default 0)")
    opt.add_device_arg(p)
    p.add_argument("--save", default=None, help="write the fitted classifier here (.pt)")
    opt.add_output_args(p, out_help="parent folder of the report (default runs)")
    opt.add_progress_arg(p)


def classify_main(args: argparse.Namespace) -> int:
    job.run(opt.config_from_args(job.ClassifyJobConfig, args, {"shuffle": not args.no_shuffle, "echo": True}))
    return 0

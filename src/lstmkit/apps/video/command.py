"""``lstmkit video predict|classify|detect``: next-frame prediction, motion classes and motion
anomalies on offline moving digits. The work is :func:`lstmkit.apps.video.job.run`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.video import job
from lstmkit.apps.video.anomaly import SCORINGS

HELP = "video on offline moving digits: next-frame prediction, motion classes, motion anomalies (ConvLSTM)"
DESCRIPTION = """
Generate moving-digit videos (Srivastava et al. 2015's protocol: 64x64 frames, bundled MNIST or
Fashion-MNIST images, a fixed test set of unseen images) and train a ConvLSTM or a baseline:
predict (10 frames in, 10 out; per-frame MSE and SSIM against copy-last-frame), classify (motion
classes; accuracy) or detect (motion anomalies from prediction error; ROC-AUC). Results on stdout,
the report (image strips, GIFs, error curves) and the model in runs/NAME/.
"""
TASK_HELP = {
    "predict": ("predict the next frames: ConvLSTM encoder-forecaster or FC-LSTM", "convlstm, fc-lstm"),
    "classify": ("classify the motion of a digit: ConvLSTM + pooling or CNN + LSTM", "convlstm, cnn-lstm"),
    "detect": ("score motion anomalies by prediction error", "convlstm, fc-lstm"),
}


def _add_task(sub: argparse._SubParsersAction, task: str) -> None:
    text, archs = TASK_HELP[task]
    p = opt.add_command(sub, task, text, text + ".", video_main)
    p.set_defaults(task=task)
    d = p.add_argument_group("data")
    d.add_argument("--train", type=int, default=3000, help="training videos (3000)")
    d.add_argument("--test", type=int, default=500, help="test videos, the fixed test set (500)")
    d.add_argument("--source", default="mnist", help="digit images: mnist or fashion (mnist)")
    d.add_argument("--frames", type=int, default=20, help="frames per video (20)")
    d.add_argument("--context", type=int, default=10, help="frames read before predicting (10)")
    m = p.add_argument_group("model")
    m.add_argument("--architecture", default="convlstm", help=f"{archs} (convlstm)")
    m.add_argument("--hidden", type=int, default=None, help="hidden channels or units (model default)")
    m.add_argument("--num-layers", type=int, default=None, help="layers (model default)")
    m.add_argument("--kernel-size", type=int, default=3, help="ConvLSTM kernel, odd (3)")
    m.add_argument("--patch", type=int, default=4, help="ConvLSTM patch side in pixels (4)")
    m.add_argument("--epochs", type=int, default=8, help="training epochs (8)")
    m.add_argument("--batch-size", type=int, default=16, help="batch size (16)")
    m.add_argument("--lr", type=float, default=2e-3, help="learning rate (2e-3)")
    opt.add_seed_arg(m, help="seed of the training videos and the weights (default 0)")
    opt.add_device_arg(m)
    if task == "detect":
        m.add_argument(
            "--scoring",
            choices=SCORINGS,
            default="one-step",
            help="frame errors of one-step predictions or of the rollout from the context (one-step)",
        )
    p.add_argument("--name", default=None, help=f"report folder name (default video-{task})")
    opt.add_output_args(p, out_help="parent folder of the report (default runs)")
    opt.add_progress_arg(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "video", HELP, DESCRIPTION)
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task in job.TASKS:
        _add_task(tasks, task)


def video_main(args: argparse.Namespace) -> int:
    job.run(opt.config_from_args(job.VideoJobConfig, args, {"echo": True}))
    return 0

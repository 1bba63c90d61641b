"""``lstmkit music train|generate``: a polyphonic LSTM on the Bach chorales of music21's corpus,
and pieces sampled from it. The work is :func:`lstmkit.apps.music.job.run`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.music import job
from lstmkit.apps.music.model import ARCHITECTURES

HELP = "music: a polyphonic LSTM on Bach chorales (piano rolls), MIDI generation"
DESCRIPTION = """
Bach's four-part chorales from music21's corpus (offline) as piano rolls, not transposed, split
60/20/20 by chorale. train: an LSTM with a sigmoid output per pitch, early-stopped on the
validation chorales, scored on the test chorales (NLL per frame in nats, frame accuracy) next to
a per-pitch marginal and a repeat-previous-frame baseline; --architecture gru|rnn|transformer|tcn
trains that network instead, at the parameter count of an LSTM of 128 units unless --hidden is
given (the counts are logged). generate: sample a piece from a saved
model, from silence or after the first frames of a test chorale (sample.mid, sample.png).
Results on stdout, the report in runs/NAME/.
"""


def _sampling_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("sampling")
    g.add_argument(
        "--length", type=int, default=64, help="frames of the generated piece, primer included (64)"
    )
    g.add_argument(
        "--primer", type=int, default=8, help="frames of a test chorale to continue; 0: from silence (8)"
    )
    g.add_argument("--chorale", type=int, default=0, help="the test chorale (index in name order) (0)")
    g.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (1.0)")


def _add_train(sub: argparse._SubParsersAction) -> None:
    text = "train the LSTM on the training chorales, score it on the test chorales"
    p = opt.add_command(sub, "train", text, text + ".", music_main)
    p.add_argument(
        "--resolution",
        type=int,
        default=1,
        help="frames per quarter note: 1 (quarter notes, as JSB) or 4 (16ths)",
    )
    m = p.add_argument_group("model")
    m.add_argument(
        "--architecture",
        choices=ARCHITECTURES,
        default="lstm",
        help="the network: lstm, gru, rnn, causal transformer or tcn (lstm)",
    )
    m.add_argument(
        "--hidden",
        type=int,
        default=None,
        help="units (a transformer's width, a tcn's channels); default 128 for lstm, else the "
        "width matching an LSTM of 128 units in parameters",
    )
    m.add_argument(
        "--num-layers",
        type=int,
        default=None,
        help="layers (1; transformer: 2 blocks; tcn: 4 residual blocks)",
    )
    m.add_argument("--dropout", type=float, default=0.0, help="dropout before the output layer (0.0)")
    m.add_argument("--epochs", type=int, default=250, help="most training epochs (250)")
    m.add_argument("--patience", type=int, default=15, help="epochs without a better validation NLL (15)")
    m.add_argument("--batch-size", type=int, default=16, help="chorales per batch (16)")
    m.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate (3e-3)")
    opt.add_seed_arg(m, help="seed of the weights and the sampling (default 0)")
    opt.add_device_arg(m)
    _sampling_args(p)
    p.add_argument("--name", default=None, help="report folder name (default music)")
    opt.add_output_args(p, out_help="parent folder of the report (default runs)")
    opt.add_progress_arg(p)


def _add_generate(sub: argparse._SubParsersAction) -> None:
    text = "sample a piece from a trained model: sample.mid and sample.png"
    p = opt.add_command(sub, "generate", text, text + ".", music_main)
    p.add_argument("--model", required=True, help="model.pt of a `lstmkit music train` run")
    _sampling_args(p)
    opt.add_seed_arg(p, help="seed of the sampling (default 0)")
    opt.add_device_arg(p)
    p.add_argument("--name", default=None, help="report folder name (default music-sample)")
    opt.add_output_args(p, out_help="parent folder of the report (default runs)")
    opt.add_progress_arg(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "music", HELP, DESCRIPTION)
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    _add_train(tasks)
    _add_generate(tasks)


def music_main(args: argparse.Namespace) -> int:
    job.run(opt.config_from_args(job.MusicJobConfig, args, {"echo": True}))
    return 0

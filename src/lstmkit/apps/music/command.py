"""``lstmkit music train|generate|train-melody|generate-melody``: a polyphonic LSTM on the Bach
chorales of music21's corpus and pieces sampled from it (:func:`lstmkit.apps.music.job.run`); a
melody language model on its Essen folk songs and tunes sampled from it
(:func:`lstmkit.apps.music.melody_job.run`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from lstmkit.apps.common import options as opt
from lstmkit.apps.music import job, melody_job
from lstmkit.apps.music.model import ARCHITECTURES

HELP = "music: a polyphonic LSTM on Bach chorales, a melody LM on folk songs, MIDI generation"
DESCRIPTION = """
Bach's four-part chorales from music21's corpus (offline) as piano rolls, not transposed, split
60/20/20 by chorale. train: an LSTM with a sigmoid output per pitch, early-stopped on the
validation chorales, scored on the test chorales (NLL per frame in nats, frame accuracy) next to
a per-pitch marginal and a repeat-previous-frame baseline; --architecture gru|rnn|transformer|tcn
trains that network instead, at the parameter count of an LSTM of 128 units unless --hidden is
given (the counts are logged). generate: sample a piece from a saved
model, from silence or after the first frames of a test chorale (sample.mid, sample.png).
train-melody / generate-melody: an LSTM (or GRU) language model over the Essen folk songs of
music21's corpus, one token per note (pitch transposed to no key signature, duration), split
80/10/10 by tune, scored in nats and bits per note against 1-3-gram baselines; tunes sampled
from it as MIDI. Results on stdout, the report in runs/NAME/.
"""


def _training_args(m: argparse._ArgumentGroup, *, epochs: int, patience: int, batch: tuple[int, str]) -> None:
    m.add_argument("--epochs", type=int, default=epochs, help=f"most training epochs ({epochs})")
    m.add_argument(
        "--patience", type=int, default=patience, help=f"epochs without a better validation NLL ({patience})"
    )
    m.add_argument("--batch-size", type=int, default=batch[0], help=f"{batch[1]} per batch ({batch[0]})")
    m.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate (3e-3)")
    opt.add_seed_arg(m, help="seed of the weights and the sampling (default 0)")
    opt.add_device_arg(m)


def _report_args(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--name", default=None, help=f"report folder name (default {default})")
    opt.add_output_args(p, out_help="parent folder of the report (default runs)")
    opt.add_progress_arg(p)


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
    _training_args(m, epochs=250, patience=15, batch=(16, "chorales"))
    _sampling_args(p)
    _report_args(p, "music")


def _add_sampler(
    sub: argparse._SubParsersAction,
    name: str,
    text: str,
    trained_by: str,
    folder: str,
    sampling: Callable[[argparse.ArgumentParser], None],
    main: Callable[[argparse.Namespace], int],
) -> None:
    """``lstmkit music NAME``: sample from a model of ``lstmkit music TRAINED_BY``; the report
    goes to the run folder ``folder`` by default."""
    p = opt.add_command(sub, name, text, text + ".", main)
    p.add_argument("--model", required=True, help=f"model.pt of a `lstmkit music {trained_by}` run")
    sampling(p)
    opt.add_seed_arg(p, help="seed of the sampling (default 0)")
    opt.add_device_arg(p)
    _report_args(p, folder)


def _melody_sampling(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("sampling")
    g.add_argument("--max-notes", type=int, default=64, help="most notes of the tune, primer included (64)")
    g.add_argument("--primer", type=int, default=8, help="notes of a test tune to continue; 0: none (8)")
    g.add_argument("--tune", type=int, default=0, help="the test tune giving the primer (index) (0)")
    g.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (1.0)")


def _add_train_melody(sub: argparse._SubParsersAction) -> None:
    text = "train a melody LM on the Essen folk songs, score it on the test tunes"
    p = opt.add_command(sub, "train-melody", text, text + " (nats and bits per note).", melody_main)
    m = p.add_argument_group("model")
    m.add_argument(
        "--architecture", choices=tuple(melody_job.NAMES), default="lstm", help="lstm or gru (lstm)"
    )
    m.add_argument(
        "--hidden", type=int, default=None, help="units; default 256 for lstm, a gru of as many parameters"
    )
    m.add_argument("--embedding", type=int, default=64, help="token embedding width (64)")
    m.add_argument("--num-layers", type=int, default=1, help="layers (1)")
    m.add_argument("--dropout", type=float, default=0.2, help="dropout on embeddings and outputs (0.2)")
    _training_args(m, epochs=40, patience=3, batch=(32, "tunes"))
    _melody_sampling(p)
    _report_args(p, "melody")


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "music", HELP, DESCRIPTION)
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    _add_train(tasks)
    piece = "sample a piece from a trained model: sample.mid and sample.png"
    _add_sampler(tasks, "generate", piece, "train", "music-sample", _sampling_args, music_main)
    _add_train_melody(tasks)
    tune = "sample a tune from a trained melody LM: sample.mid and sample.png"
    _add_sampler(
        tasks, "generate-melody", tune, "train-melody", "melody-sample", _melody_sampling, melody_main
    )


def music_main(args: argparse.Namespace) -> int:
    job.run(opt.config_from_args(job.MusicJobConfig, args, {"echo": True}))
    return 0


def melody_main(args: argparse.Namespace) -> int:
    melody_job.run(opt.config_from_args(melody_job.MelodyJobConfig, args, {"echo": True}))
    return 0

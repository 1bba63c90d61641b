"""``lstmkit textgen train|sample``: a character / word / subword LSTM language model on real text.
The work is :func:`lstmkit.apps.language.textgen.run` and :func:`~lstmkit.apps.language.textgen.sample`."""

from __future__ import annotations

import argparse
import sys

from lstmkit.apps.common import options as opt
from lstmkit.apps.language import textgen
from lstmkit.apps.language.commands.common import add_subcommands, add_train_args, train_options

__all__ = ["register"]


HELP = "train a character/word LSTM language model on real text and sample from it"
DESCRIPTION = """
Language model: train on a bundled corpus or your own UTF-8 text file, report validation bits per
token, and generate text (temperature, top-k, nucleus sampling).
"""
TRAIN_HELP = "train a language model"
TRAIN_DESCRIPTION = """
Train an LSTM language model; prints validation/test bits per token and a sample, writes
RUN_DIR/model.pt, metrics.csv, curves.png and report.html.
"""
SAMPLE_HELP = "generate text from a trained model (streamed token by token)"
SAMPLE_DESCRIPTION = """
Stream a continuation of --prime (or of nothing) to stdout, token by token.
"""


def register(sub: argparse._SubParsersAction) -> None:
    s = add_subcommands(sub, "textgen", HELP, DESCRIPTION, actions="{train,sample}")
    _add_train(s)
    _add_sample(s)


def _add_train(s: argparse._SubParsersAction) -> None:
    t = opt.add_command(s, "train", TRAIN_HELP, TRAIN_DESCRIPTION)
    src = t.add_argument_group("data")
    src.add_argument(
        "--corpus", choices=textgen.CORPUS_NAMES, default="kjv", help="bundled corpus (default kjv)"
    )
    src.add_argument(
        "--text-file", default=None, help="train on this UTF-8 file instead (last 10%% is validation)"
    )
    src.add_argument("--encoding", default="utf-8", help="encoding of --text-file (default utf-8)")
    src.add_argument(
        "--tokenizer", choices=("char", "word", "bpe"), default="char", help="token unit (default char)"
    )
    src.add_argument(
        "--vocab-size", type=int, default=None, help="cap on the vocabulary (word/bpe; default all)"
    )
    src.add_argument("--bpe-merges", type=int, default=2000, help="BPE merge operations (default 2000)")
    src.add_argument(
        "--max-train-chars", type=int, default=None, help="use only the first N training characters"
    )
    m = t.add_argument_group("model")
    m.add_argument("--embed-dim", type=int, default=64, help="embedding width (default 64)")
    m.add_argument("--hidden-size", type=int, default=256, help="LSTM width (default 256)")
    m.add_argument("--layers", type=int, default=2, help="LSTM layers (default 2)")
    m.add_argument("--variant", default="classic", help="LSTM variant (default classic)")
    m.add_argument("--no-tie", action="store_true", help="do not tie input and output embeddings")
    m.add_argument("--dropout", type=float, default=0.0, help="output variational dropout")
    m.add_argument("--embed-dropout", type=float, default=0.0, help="embedding (token type) dropout")
    m.add_argument("--input-dropout", type=float, default=0.0, help="variational dropout on LSTM inputs")
    m.add_argument("--recurrent-dropout", type=float, default=0.0, help="variational dropout on h_{t-1}")
    m.add_argument("--weight-drop", type=float, default=0.0, help="DropConnect on recurrent weights")
    t.add_argument("--bptt", type=int, default=128, help="truncated-BPTT length (default 128)")
    t.add_argument(
        "--optimizer",
        choices=("adam", "adamw", "sgd", "ntasgd"),
        default="adam",
        help="optimizer (default adam; ntasgd is AWD-LSTM's averaged SGD, use with --lr 30)",
    )
    add_train_args(t, lr=3e-3, batch_size=32, epochs=1)
    t.add_argument("--sample-length", type=int, default=300, help="characters/tokens sampled at the end")
    t.add_argument(
        "--ngram-orders",
        default="5",
        help="comma-separated orders of interpolated Kneser-Ney baselines on the same split "
        "(discount tuned on validation; default 5; empty for none)",
    )
    t.set_defaults(func=_train_cmd)


def _add_sample(s: argparse._SubParsersAction) -> None:
    g = opt.add_command(s, "sample", SAMPLE_HELP, SAMPLE_DESCRIPTION)
    g.add_argument("--checkpoint", required=True, help="model.pt or the run folder holding it")
    g.add_argument("--prime", default="", help="text to continue (unknown characters become <unk>)")
    g.add_argument("--prime-file", default=None, help="read the priming text from a file (- for stdin)")
    g.add_argument("--encoding", default="utf-8", help="encoding of --prime-file (default utf-8)")
    g.add_argument("--length", type=int, default=300, help="tokens to generate (default 300)")
    g.add_argument(
        "--temperature", type=float, default=0.8, help="sampling temperature; 0 = greedy (default 0.8)"
    )
    g.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens")
    g.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass p in (0, 1]")
    g.add_argument("--seed", type=int, default=None, help="random seed for a repeatable sample")
    g.set_defaults(func=_sample_cmd)


def _train_cmd(args: argparse.Namespace) -> int:
    model = opt.pick(args, "embed_dim", "hidden_size", "variant", "dropout", "embed_dropout", "input_dropout")
    model |= opt.pick(args, "recurrent_dropout", "weight_drop") | {
        "num_layers": args.layers,
        "tie_weights": not args.no_tie,
    }
    values = {"training": train_options(args), "model": model, "echo": True}
    textgen.run(opt.config_from_args(textgen.TextgenJobConfig, args, values))
    return 0


def _sample_cmd(args: argparse.Namespace) -> int:
    textgen.sample(opt.config_from_args(textgen.SampleJobConfig, args, {"stream": sys.stdout}))
    return 0

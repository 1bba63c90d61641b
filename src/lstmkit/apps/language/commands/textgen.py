"""``lstmkit textgen train|sample``: a character / word / subword language model on real text.
The work is :func:`lstmkit.apps.language.textgen.run` and :func:`~lstmkit.apps.language.textgen.sample`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lstmkit.apps.common import options as opt
from lstmkit.apps.language import textgen
from lstmkit.apps.language.commands import common

__all__ = ["register"]


HELP = "train a character/word language model (LSTM or a comparison model) on real text and sample from it"
DESCRIPTION = """
Language model: train on a bundled corpus or your own UTF-8 text file, report validation bits per
token, and generate text (temperature, top-k, nucleus sampling).
"""
#: The language model's dropouts (AWD-LSTM's): (default, help) of each option.
DROPOUTS = {
    "dropout": (0.0, "output variational dropout"),
    "embed_dropout": (0.0, "embedding (token type) dropout"),
    "input_dropout": (0.0, "variational dropout on LSTM inputs"),
}


def _add_train(t: argparse.ArgumentParser) -> None:
    src = t.add_argument_group("data")
    src.add_argument(
        "--corpus", choices=textgen.CORPUS_NAMES, default="kjv", help="bundled corpus (default kjv)"
    )
    src.add_argument(
        "--text-file", default=None, help="train on this UTF-8 file instead (last 10%% is validation)"
    )
    src.add_argument("--encoding", default="utf-8", help="encoding of --text-file (default utf-8)")
    src.add_argument(
        "--wrap", type=int, default=None, help="hard-wrap lines at N columns (as Karpathy et al. 2015)"
    )
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
    common.add_architecture_args(m)
    common.add_size_args(m, embed_dim=64, hidden_size=256, layers=2, width="width", depth="layers")
    m.add_argument(
        "--context", type=int, default=None, help="the tokens a Transformer attends to (default --bptt)"
    )
    m.add_argument("--variant", default="classic", help="LSTM variant (default classic)")
    m.add_argument("--no-tie", action="store_true", help="do not tie input and output embeddings")
    common.add_dropout_args(m, **DROPOUTS)
    m.add_argument("--weight-drop", type=float, default=0.0, help="DropConnect on recurrent weights")
    t.add_argument("--bptt", type=int, default=128, help="truncated-BPTT length (default 128)")
    t.add_argument(
        "--optimizer",
        choices=("adam", "adamw", "sgd", "ntasgd"),
        default="adam",
        help="optimizer (default adam; ntasgd is AWD-LSTM's averaged SGD, use with --lr 30)",
    )
    common.add_train_args(t, lr=3e-3, batch_size=32, epochs=1)
    t.add_argument("--sample-length", type=int, default=300, help="characters/tokens sampled at the end")
    t.add_argument(
        "--ngram-orders",
        default="5",
        help="comma-separated orders of interpolated Kneser-Ney baselines on the same split "
        "(discount tuned on validation; default 5; empty for none)",
    )


def _train_values(args: argparse.Namespace) -> dict[str, Any]:
    """The training options and the language model's arguments; echo."""
    model = common.size_values(args) | opt.pick(args, "variant", "dropout", "embed_dropout", "input_dropout")
    model |= opt.pick(args, "recurrent_dropout", "weight_drop") | {"tie_weights": not args.no_tie}
    model |= common.architecture_values(args)
    if args.context is not None:
        if args.architecture != "transformer":
            raise ValueError(f"--context: a Transformer's option, got --architecture {args.architecture}")
        model["context"] = args.context
    return common.train_values(args, model)


def _add_sample(g: argparse.ArgumentParser) -> None:
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


def _sample_values(args: argparse.Namespace) -> dict[str, Any]:
    """The sample streams to stdout."""
    return {"stream": sys.stdout}


TRAIN = common.Job(
    "train a language model",
    """
Train a language model (an LSTM, or --architecture gru, rnn, transformer, tcn); prints
validation/test bits per token and a sample, writes
RUN_DIR/model.pt, metrics.csv, curves.png and report.html.
""",
    _add_train,
    textgen.run,
    textgen.TextgenJobConfig,
    _train_values,
)
SAMPLE = common.Job(
    "generate text from a trained model (streamed token by token)",
    """
Stream a continuation of --prime (or of nothing) to stdout, token by token.
""",
    _add_sample,
    textgen.sample,
    textgen.SampleJobConfig,
    _sample_values,
)


def register(sub: argparse._SubParsersAction) -> None:
    common.add_jobs(sub, "textgen", HELP, DESCRIPTION, {"train": TRAIN, "sample": SAMPLE})

"""``lstmkit sentiment train|predict``: a biLSTM + attention sentiment classifier on VADER's
human-rated sentences, next to a bag-of-words logistic regression. The work is
:func:`lstmkit.apps.language.sentiment.run` and :func:`~lstmkit.apps.language.sentiment.predict`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.language import sentiment
from lstmkit.apps.language.commands.common import (
    add_subcommands,
    add_texts_args,
    add_train_args,
    train_options,
)
from lstmkit.apps.language.text_classifier import POOLINGS

__all__ = ["register"]


HELP = "train a biLSTM+attention sentiment classifier (VADER data) or predict with one"
DESCRIPTION = """
Sentiment classification on the VADER ground-truth sentences (Hutto & Gilbert 2014), binary
positive/negative, with a bag-of-words logistic-regression baseline on the same split.
"""
TRAIN_HELP = "train and evaluate (accuracy, F1) next to the BoW baseline"
TRAIN_DESCRIPTION = """
Train on the train split, early-stop on validation accuracy, report test accuracy and macro F1 of
the LSTM and of a TF-IDF logistic regression; write RUN_DIR/model.pt.
"""
PREDICT_HELP = "classify texts with a trained model"
PREDICT_DESCRIPTION = "Print label, probability of the label and the text, one line per text (tab-separated)."


def register(sub: argparse._SubParsersAction) -> None:
    s = add_subcommands(sub, "sentiment", HELP, DESCRIPTION, actions="{train,predict}")
    _add_train(s)
    _add_predict(s)


def _add_train(s: argparse._SubParsersAction) -> None:
    t = opt.add_command(s, "train", TRAIN_HELP, TRAIN_DESCRIPTION)
    t.add_argument(
        "--dataset",
        choices=("movies", "tweets", "amazon", "nyt"),
        default="movies",
        help="VADER ground-truth set (default movies: 10,605 movie-review snippets)",
    )
    t.add_argument("--tokenizer", choices=("word", "bpe"), default="word", help="token unit (default word)")
    t.add_argument("--vocab-size", type=int, default=20000, help="vocabulary cap (default 20000)")
    t.add_argument("--min-freq", type=int, default=1, help="drop words seen fewer times (default 1)")
    t.add_argument("--embed-dim", type=int, default=128, help="embedding width (default 128)")
    t.add_argument("--hidden-size", type=int, default=128, help="LSTM width per direction (default 128)")
    t.add_argument("--layers", type=int, default=1, help="LSTM layers (default 1)")
    t.add_argument("--pooling", choices=POOLINGS, default="attention", help="pooling (default attention)")
    t.add_argument("--unidirectional", action="store_true", help="one direction only")
    t.add_argument("--dropout", type=float, default=0.5, help="dropout on the pooled vector (default 0.5)")
    t.add_argument("--embed-dropout", type=float, default=0.2, help="token-type dropout (default 0.2)")
    t.add_argument("--input-dropout", type=float, default=0.3, help="variational input dropout (default 0.3)")
    t.add_argument("--recurrent-dropout", type=float, default=0.0, help="variational dropout on h_{t-1}")
    t.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay (default 0)")
    t.add_argument(
        "--rating-weight",
        type=float,
        default=0.1,
        help="weight of an auxiliary loss fitting the logit margin to the mean human rating (default 0.1)",
    )
    t.add_argument("--patience", type=int, default=3, help="early-stopping patience in epochs (default 3)")
    t.add_argument("--ensemble", type=int, default=1, help="train K models (seeds s..s+K-1), average them")
    t.add_argument("--no-baseline", action="store_true", help="skip the bag-of-words baseline")
    add_train_args(t, lr=2e-3, batch_size=32, epochs=12)
    t.set_defaults(func=_train_cmd)


def _add_predict(s: argparse._SubParsersAction) -> None:
    q = opt.add_command(s, "predict", PREDICT_HELP, PREDICT_DESCRIPTION)
    file_help = "classify each line of this file (- for stdin)"
    add_texts_args(q, texts_help="texts to classify", checkpoint="runs/sentiment-movies", file_help=file_help)
    q.add_argument("--attention", action="store_true", help="also print the 5 most attended tokens")
    q.set_defaults(func=_predict_cmd)


def _train_cmd(args: argparse.Namespace) -> int:
    model = opt.pick(args, "embed_dim", "hidden_size", "pooling", "dropout", "embed_dropout", "input_dropout")
    model |= opt.pick(args, "recurrent_dropout") | {
        "num_layers": args.layers,
        "bidirectional": not args.unidirectional,
    }
    values = {"training": train_options(args), "model": model, "baseline": not args.no_baseline, "echo": True}
    sentiment.run(opt.config_from_args(sentiment.SentimentJobConfig, args, values))
    return 0


def _predict_cmd(args: argparse.Namespace) -> int:
    sentiment.predict(opt.config_from_args(sentiment.PredictJobConfig, args, {"echo": True}))
    return 0

"""``lstmkit sentiment train|predict``: a biLSTM + attention sentiment classifier (or a GRU, RNN,
Transformer or TCN) on VADER's human-rated sentences, next to a bag-of-words logistic regression.
The work is :func:`lstmkit.apps.language.sentiment.run` and
:func:`~lstmkit.apps.language.sentiment.predict`."""

from __future__ import annotations

import argparse
from typing import Any

from lstmkit.apps.common import options as opt
from lstmkit.apps.language import sentiment
from lstmkit.apps.language.commands import common
from lstmkit.apps.language.text_classifier import POOLINGS
from lstmkit.core.layers.encoder import RECURRENT

__all__ = ["register"]


HELP = "train a biLSTM+attention sentiment classifier (VADER data; or a comparison model) or predict with one"
DESCRIPTION = """
Sentiment classification on the VADER ground-truth sentences (Hutto & Gilbert 2014), binary
positive/negative, with a bag-of-words logistic-regression baseline on the same split.
"""
#: The classifier's dropouts: (default, help) of each option (``input_dropout``: a recurrent
#: network's, :data:`INPUT_DROPOUT` unless given).
DROPOUTS = {
    "dropout": (0.5, "dropout on the pooled vector (default 0.5)"),
    "embed_dropout": (0.2, "token-type dropout (default 0.2)"),
    "input_dropout": (None, "variational input dropout of a recurrent network (default 0.3)"),
}
INPUT_DROPOUT = 0.3


def _add_train(t: argparse.ArgumentParser) -> None:
    t.add_argument(
        "--dataset",
        choices=("movies", "tweets", "amazon", "nyt"),
        default="movies",
        help="VADER ground-truth set (default movies: 10,605 movie-review snippets)",
    )
    t.add_argument("--tokenizer", choices=("word", "bpe"), default="word", help="token unit (default word)")
    t.add_argument("--vocab-size", type=int, default=20000, help="vocabulary cap (default 20000)")
    t.add_argument("--min-freq", type=int, default=1, help="drop words seen fewer times (default 1)")
    common.add_architecture_args(t)
    common.add_size_args(
        t, embed_dim=128, hidden_size=128, layers=1, width="width (per direction)", depth="layers"
    )
    t.add_argument(
        "--pooling",
        choices=POOLINGS,
        default=None,
        help="pooling (default attention; mean for a transformer or a tcn)",
    )
    t.add_argument("--unidirectional", action="store_true", help="one direction only (a recurrent network)")
    common.add_dropout_args(t, **DROPOUTS)
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
    common.add_train_args(t, lr=2e-3, batch_size=32, epochs=12)


def _train_values(args: argparse.Namespace) -> dict[str, Any]:
    """The training options, the classifier's arguments and the baseline's flag; echo."""
    model = common.size_values(args) | common.architecture_values(args)
    model |= opt.pick(args, "pooling", "dropout", "embed_dropout", "recurrent_dropout")
    model["bidirectional"] = False if args.unidirectional else None
    recurrent = args.architecture in RECURRENT
    model["input_dropout"] = INPUT_DROPOUT if args.input_dropout is None and recurrent else args.input_dropout
    return common.train_values(args, model, baseline=not args.no_baseline)


def _add_predict(q: argparse.ArgumentParser) -> None:
    file_help = "classify each line of this file (- for stdin)"
    common.add_texts_args(
        q, texts_help="texts to classify", checkpoint="runs/sentiment-movies", file_help=file_help
    )
    q.add_argument("--attention", action="store_true", help="also print the 5 most attended tokens")


TRAIN = common.Job(
    "train and evaluate (accuracy, F1) next to the BoW baseline",
    """
Train on the train split, early-stop on validation accuracy, report test accuracy and macro F1 of
the network and of a TF-IDF logistic regression; write RUN_DIR/model.pt.
""",
    _add_train,
    sentiment.run,
    sentiment.SentimentJobConfig,
    _train_values,
)
PREDICT = common.Job(
    "classify texts with a trained model",
    "Print label, probability of the label and the text, one line per text (tab-separated).",
    _add_predict,
    sentiment.predict,
    sentiment.PredictJobConfig,
)


def register(sub: argparse._SubParsersAction) -> None:
    common.add_jobs(sub, "sentiment", HELP, DESCRIPTION, {"train": TRAIN, "predict": PREDICT})

"""``lstmkit translate train|predict``: English -> French LSTM encoder-decoder with attention on
real message-catalogue pairs, BLEU and chrF next to a word-by-word dictionary baseline, and
attention heat maps. The work is :func:`lstmkit.apps.language.translate.run` and
:func:`~lstmkit.apps.language.translate.predict`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.language import translate
from lstmkit.apps.language.commands.common import (
    add_subcommands,
    add_texts_args,
    add_train_args,
    train_options,
)
from lstmkit.apps.language.seq2seq import ATTENTIONS

__all__ = ["register"]


HELP = "train an attention encoder-decoder (English -> French) or translate with one"
DESCRIPTION = """
Sequence-to-sequence translation on English/French pairs from Debian message catalogues; BLEU and
chrF (sacrebleu) next to a FreeDict word-by-word baseline.
"""
TRAIN_HELP = "train, evaluate BLEU/chrF, write attention heat maps"
TRAIN_DESCRIPTION = """
Train on the train pairs (early stopping on validation loss), decode the test pairs greedily and
with beam search, score them with sacrebleu BLEU and chrF next to the dictionary baseline, and write
RUN_DIR/model.pt, attention.png and report.html.
"""
PREDICT_HELP = "translate texts with a trained model"
PREDICT_DESCRIPTION = """
Translate each text (English -> French); prints one translation per line.
"""


def register(sub: argparse._SubParsersAction) -> None:
    s = add_subcommands(sub, "translate", HELP, DESCRIPTION, actions="{train,predict}")
    _add_train(s)
    _add_predict(s)


def _add_train(s: argparse._SubParsersAction) -> None:
    t = opt.add_command(s, "train", TRAIN_HELP, TRAIN_DESCRIPTION)
    t.add_argument(
        "--pairs",
        choices=("debian-l10n-fr", "numbers-en-fr"),
        default="debian-l10n-fr",
        help="parallel text: Debian message catalogues (default) or generated numbers in words (extra task)",
    )
    t.add_argument("--tokenizer", choices=("bpe", "word"), default="bpe", help="token unit (default bpe)")
    t.add_argument("--bpe-merges", type=int, default=4000, help="BPE merges per language (default 4000)")
    t.add_argument("--vocab-size", type=int, default=8000, help="vocabulary cap per language (default 8000)")
    t.add_argument(
        "--attention",
        choices=ATTENTIONS,
        default="bahdanau",
        help="attention (default bahdanau: on the Debian pairs it aligned and scored 26 BLEU against "
        "luong's 18, see docs/nlp.md; luong trains faster)",
    )
    t.add_argument("--embed-dim", type=int, default=256, help="embedding width (default 256)")
    t.add_argument("--hidden-size", type=int, default=256, help="LSTM width (default 256)")
    t.add_argument("--layers", type=int, default=1, help="encoder and decoder layers (default 1)")
    t.add_argument(
        "--dropout", type=float, default=0.2, help="dropout on embeddings and outputs (default 0.2)"
    )
    t.add_argument("--patience", type=int, default=3, help="early-stopping patience (default 3)")
    t.add_argument("--beam", type=int, default=5, help="beam size for the evaluation (default 5)")
    t.add_argument("--eval-limit", type=int, default=None, help="evaluate on the first N test pairs only")
    t.add_argument("--no-baseline", action="store_true", help="skip the dictionary baseline")
    add_train_args(t, lr=2e-3, batch_size=64, epochs=30)
    t.set_defaults(func=_train_cmd)


def _add_predict(s: argparse._SubParsersAction) -> None:
    q = opt.add_command(s, "predict", PREDICT_HELP, PREDICT_DESCRIPTION)
    file_help = "translate each line of this file (- for stdin)"
    add_texts_args(
        q, texts_help="English texts", checkpoint="runs/translate-debian-l10n-fr", file_help=file_help
    )
    q.add_argument("--beam", type=int, default=5, help="beam size; 1 = greedy (default 5)")
    q.add_argument(
        "--attention-png", default=None, help="write the attention heat map of the first text here"
    )
    q.set_defaults(func=_predict_cmd)


def _train_cmd(args: argparse.Namespace) -> int:
    model = opt.pick(args, "embed_dim", "hidden_size", "attention", "dropout") | {"num_layers": args.layers}
    values = {"training": train_options(args), "model": model, "baseline": not args.no_baseline, "echo": True}
    translate.run(opt.config_from_args(translate.TranslateJobConfig, args, values))
    return 0


def _predict_cmd(args: argparse.Namespace) -> int:
    translate.predict(opt.config_from_args(translate.PredictJobConfig, args, {"echo": True}))
    return 0

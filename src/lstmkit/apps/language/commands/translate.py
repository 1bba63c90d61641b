"""``lstmkit translate train|predict``: English -> French LSTM encoder-decoder with attention (or
a Transformer encoder-decoder) on real message-catalogue pairs, BLEU and chrF next to a
word-by-word dictionary baseline, and attention heat maps. The work is
:func:`lstmkit.apps.language.translate.run` and :func:`~lstmkit.apps.language.translate.predict`."""

from __future__ import annotations

import argparse
from typing import Any

from lstmkit.apps.common import options as opt
from lstmkit.apps.language import translate
from lstmkit.apps.language.commands import common
from lstmkit.apps.language.seq2seq import ARCHITECTURES, ATTENTIONS

__all__ = ["register"]


HELP = "train an attention encoder-decoder (LSTM or Transformer; English -> French) or translate with one"
#: an LSTM's attention unless --attention says
DEFAULT_ATTENTION = "bahdanau"
DESCRIPTION = """
Sequence-to-sequence translation on English/French pairs from Debian message catalogues; BLEU and
chrF (sacrebleu) next to a FreeDict word-by-word baseline.
"""


def _add_train(t: argparse.ArgumentParser) -> None:
    t.add_argument(
        "--pairs",
        choices=("debian-l10n-fr", "numbers-en-fr"),
        default="debian-l10n-fr",
        help="parallel text: Debian message catalogues (default) or generated numbers in words (extra task)",
    )
    t.add_argument("--tokenizer", choices=("bpe", "word"), default="bpe", help="token unit (default bpe)")
    t.add_argument("--bpe-merges", type=int, default=4000, help="BPE merges per language (default 4000)")
    t.add_argument("--vocab-size", type=int, default=8000, help="vocabulary cap per language (default 8000)")
    common.add_architecture_args(t, ARCHITECTURES)
    t.add_argument(
        "--attention",
        choices=ATTENTIONS,
        default=None,
        help="an LSTM's attention (default bahdanau: on the Debian pairs it aligned and scored 26 BLEU "
        "against luong's 18, see docs/nlp.md; luong trains faster)",
    )
    common.add_size_args(t, embed_dim=256, hidden_size=256, layers=1, depth="encoder and decoder layers")
    t.add_argument(
        "--dropout", type=float, default=0.2, help="dropout on embeddings and outputs (default 0.2)"
    )
    t.add_argument("--patience", type=int, default=3, help="early-stopping patience (default 3)")
    t.add_argument("--beam", type=int, default=5, help="beam size for the evaluation (default 5)")
    t.add_argument("--eval-limit", type=int, default=None, help="evaluate on the first N test pairs only")
    t.add_argument("--no-baseline", action="store_true", help="skip the dictionary baseline")
    common.add_train_args(t, lr=2e-3, batch_size=64, epochs=30)


def _train_values(args: argparse.Namespace) -> dict[str, Any]:
    """The training options, the encoder-decoder's arguments and the baseline's flag; echo."""
    model = common.size_values(args) | common.architecture_values(args) | opt.pick(args, "dropout")
    if args.attention is not None or args.architecture == "lstm":
        model["attention"] = args.attention or DEFAULT_ATTENTION
    return common.train_values(args, model, baseline=not args.no_baseline)


def _add_predict(q: argparse.ArgumentParser) -> None:
    file_help = "translate each line of this file (- for stdin)"
    common.add_texts_args(
        q, texts_help="English texts", checkpoint="runs/translate-debian-l10n-fr", file_help=file_help
    )
    q.add_argument("--beam", type=int, default=5, help="beam size; 1 = greedy (default 5)")
    q.add_argument(
        "--attention-png", default=None, help="write the attention heat map of the first text here"
    )


TRAIN = common.Job(
    "train, evaluate BLEU/chrF, write attention heat maps",
    """
Train on the train pairs (early stopping on validation loss), decode the test pairs greedily and
with beam search, score them with sacrebleu BLEU and chrF next to the dictionary baseline, and write
RUN_DIR/model.pt, attention.png and report.html.
""",
    _add_train,
    translate.run,
    translate.TranslateJobConfig,
    _train_values,
)
PREDICT = common.Job(
    "translate texts with a trained model",
    """
Translate each text (English -> French); prints one translation per line.
""",
    _add_predict,
    translate.predict,
    translate.PredictJobConfig,
)


def register(sub: argparse._SubParsersAction) -> None:
    common.add_jobs(sub, "translate", HELP, DESCRIPTION, {"train": TRAIN, "predict": PREDICT})

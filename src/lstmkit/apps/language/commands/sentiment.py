"""``lstmkit sentiment train|predict``: a biLSTM + attention sentiment classifier on VADER's
human-rated sentences, next to a bag-of-words logistic regression."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.apps.language.commands.common import (
    TimeBudget,
    add_train_args,
    count_parameters,
    load_bundle,
    read_input_text,
    save_bundle,
    train_options,
)
from lstmkit.apps.language.corpora import LabelledSplits, load_vader
from lstmkit.apps.language.text import (
    BPETokenizer,
    BucketBatchSampler,
    Tokenizer,
    WordTokenizer,
    pad_sequences,
)
from lstmkit.apps.language.text_classifier import POOLINGS, TextClassifier
from lstmkit.io.html import run_folder

log = logging.getLogger("lstmkit.sentiment")

__all__ = ["ClassifierResult", "classify", "encode_texts", "f1_macro", "register", "train_classifier"]

MAX_TOKENS = 200


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sentiment",
        help="train a biLSTM+attention sentiment classifier (VADER data) or predict with one",
        description="Sentiment classification on the VADER ground-truth sentences (Hutto & Gilbert 2014), "
        "binary positive/negative, with a bag-of-words logistic-regression baseline on the same split.",
    )
    s = p.add_subparsers(dest="sentiment_command", metavar="{train,predict}")
    s.required = True
    t = s.add_parser(
        "train",
        help="train and evaluate (accuracy, F1) next to the BoW baseline",
        description="Train on the train split, early-stop on validation accuracy, report test accuracy "
        "and macro F1 of the LSTM and of a TF-IDF logistic regression; write RUN_DIR/model.pt.",
    )
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

    q = s.add_parser(
        "predict",
        help="classify texts with a trained model",
        description="Print label, probability of the label and the text, one line per text (tab-separated).",
    )
    q.add_argument("texts", nargs="*", help="texts to classify")
    q.add_argument("--checkpoint", default="runs/sentiment-movies", help="model.pt or its run folder")
    q.add_argument("--file", default=None, help="classify each line of this file (- for stdin)")
    q.add_argument("--encoding", default="utf-8", help="encoding of --file (default utf-8)")
    q.add_argument("--attention", action="store_true", help="also print the 5 most attended tokens")
    q.set_defaults(func=_predict_cmd)


def encode_texts(tokenizer: Tokenizer, texts: list[str], *, max_tokens: int = MAX_TOKENS) -> list[list[int]]:
    """Token ids of each text, truncated to ``max_tokens`` (one warning for the lot), never empty:
    a text with no token becomes ``[<unk>]``."""
    out, cut = [], 0
    for t in texts:
        ids = tokenizer.encode(t)
        if len(ids) > max_tokens:
            cut += 1
            ids = ids[:max_tokens]
        out.append(ids or [tokenizer.vocab.unk_id])
    if cut:
        log.warning("%d text(s) longer than %d tokens truncated", cut, max_tokens)
    return out


def _batches(
    ids: list[list[int]], labels: list[int], scores: list[float], batch_size: int, *, shuffle: bool, seed: int
) -> Any:
    sampler = BucketBatchSampler([len(s) for s in ids], batch_size, shuffle=shuffle, seed=seed)
    if len(scores) != len(ids):
        scores = [float("nan")] * len(ids)

    def collate(idx: list[int]) -> tuple[torch.Tensor, ...]:
        tokens, lengths = pad_sequences([ids[i] for i in idx])
        return tokens, lengths, torch.tensor([labels[i] for i in idx]), torch.tensor([scores[i] for i in idx])

    class _Loader:
        def __len__(self) -> int:
            return len(sampler)

        def __iter__(self) -> Any:
            return (collate(b) for b in sampler)

    return _Loader()


def _make_step(rating_weight: float) -> Any:
    """Cross-entropy on the labels, plus (binary, ``rating_weight`` > 0) the squared error between
    the logit margin and the human rating, so intensity informs the classifier."""
    from lstmkit.fit import StepOutput

    def step(model: TextClassifier, batch: tuple[torch.Tensor, ...]) -> Any:
        tokens, lengths, labels, scores = batch
        logits = model(tokens, lengths)  # (N, C)
        loss = F.cross_entropy(logits, labels)
        if rating_weight and model.training:
            margin = logits[:, 1] - logits[:, 0]  # (N,)
            loss = loss + rating_weight * F.mse_loss(margin, scores.to(margin.dtype))
        return StepOutput(loss, output=logits, target=labels)

    return step


def f1_macro(pred: list[int], gold: list[int], num_classes: int) -> float:
    """Macro-averaged F1 (mean over classes of 2PR / (P + R); 0 for a class never predicted nor seen)."""
    scores = []
    for c in range(num_classes):
        tp = sum(p == c and g == c for p, g in zip(pred, gold))
        fp = sum(p == c and g != c for p, g in zip(pred, gold))
        fn = sum(p != c and g == c for p, g in zip(pred, gold))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / num_classes


@torch.no_grad()
def classify(
    model: TextClassifier | Sequence[TextClassifier],
    tokenizer: Tokenizer,
    texts: list[str],
    *,
    batch_size: int = 64,
) -> tuple[list[int], torch.Tensor]:
    """Predicted class and class probabilities (len(texts), C) for every text; given several
    models (an ensemble), their probabilities are averaged."""
    models = [model] if isinstance(model, TextClassifier) else list(model)
    if not models:
        raise ValueError("model: expected a TextClassifier or a non-empty list of them")
    for m in models:
        m.eval()
    ids = encode_texts(tokenizer, texts)
    probs = torch.zeros(len(texts), models[0].num_classes)
    for batch in BucketBatchSampler([len(s) for s in ids], batch_size, shuffle=False):
        tokens, lengths = pad_sequences([ids[i] for i in batch])
        p = torch.stack([torch.softmax(m(tokens, lengths), -1) for m in models]).mean(0)  # (B, C)
        probs[torch.tensor(batch)] = p
    return probs.argmax(1).tolist(), probs


@dataclass
class ClassifierResult:
    model: TextClassifier
    tokenizer: Tokenizer
    train_seconds: float
    epochs: int
    valid_acc: float
    history: Any


def train_classifier(
    data: LabelledSplits,
    *,
    tokenizer: Tokenizer | None = None,
    vocab_size: int | None = 20000,
    min_freq: int = 1,
    model_kwargs: dict[str, Any] | None = None,
    lr: float = 2e-3,
    weight_decay: float = 0.0,
    rating_weight: float = 0.0,
    batch_size: int = 32,
    epochs: int = 12,
    patience: int | None = 3,
    max_steps: int | None = None,
    time_budget: float | None = None,
    budget_clock: str = "cpu",
    clip_norm: float | None = 1.0,
    seed: int = 0,
    run_dir: str | None = None,
    progress: bool = True,
) -> ClassifierResult:
    """Fit a word tokenizer on the training texts and train a :class:`TextClassifier` with the
    trainer (AdamW, early stopping on validation accuracy, best weights restored)."""
    from lstmkit.fit import TrainConfig, Trainer, accuracy

    tok = tokenizer or WordTokenizer(lowercase=True)
    if not tok.fitted:
        tok.fit(data.train.texts, max_size=vocab_size, min_freq=min_freq)
    torch.manual_seed(seed)
    model = TextClassifier(len(tok.vocab), len(data.classes), **(model_kwargs or {}))
    train_ids = encode_texts(tok, data.train.texts)
    valid_ids = encode_texts(tok, data.valid.texts)
    config = TrainConfig(
        optimizer="adamw",
        lr=lr,
        weight_decay=weight_decay,
        clip_norm=clip_norm,
        max_epochs=epochs,
        max_steps=max_steps,
        monitor="val_acc",
        mode="max",
        patience=patience,
        restore_best=True,
        run_dir=run_dir,
        progress=progress,
        plot=run_dir is not None,
        seed=seed,
    )
    budget = TimeBudget(time_budget, budget_clock)
    if rating_weight and len(data.classes) != 2:
        raise ValueError(f"rating_weight: needs the binary task, got {len(data.classes)} classes")
    trainer = Trainer(
        model, config, step=_make_step(rating_weight), metrics={"acc": accuracy}, callbacks=[budget]
    )
    history = trainer.fit(
        _batches(train_ids, data.train.labels, data.train.scores, batch_size, shuffle=True, seed=seed),
        _batches(valid_ids, data.valid.labels, data.valid.scores, 128, shuffle=False, seed=seed),
    )
    best = history.best_value if history.best_value is not None else float("nan")
    return ClassifierResult(model, tok, budget.used, len(history.epochs), float(best), history)


def _train_cmd(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_vader(args.dataset, binary=True)
    tok: Tokenizer = (
        WordTokenizer(lowercase=True) if args.tokenizer == "word" else BPETokenizer(num_merges=4000)
    )
    final_dir = args.run_dir or f"runs/sentiment-{args.dataset}"
    with run_folder(
        final_dir, "sentiment", overwrite=args.overwrite
    ) as run_dir:  # a failed run leaves the old folder as it was
        model_kwargs = {
            "embed_dim": args.embed_dim,
            "hidden_size": args.hidden_size,
            "num_layers": args.layers,
            "bidirectional": not args.unidirectional,
            "pooling": args.pooling,
            "dropout": args.dropout,
            "embed_dropout": args.embed_dropout,
            "input_dropout": args.input_dropout,
            "recurrent_dropout": args.recurrent_dropout,
        }
        if args.ensemble < 1:
            raise ValueError(f"--ensemble: expected an int >= 1, got {args.ensemble}")
        members: list[ClassifierResult] = []
        for k in range(args.ensemble):
            if args.ensemble > 1:
                log.info("ensemble member %d of %d (seed %d)", k + 1, args.ensemble, args.seed + k)
            members.append(
                train_classifier(
                    data,
                    tokenizer=tok,
                    vocab_size=args.vocab_size,
                    min_freq=args.min_freq,
                    model_kwargs=model_kwargs,
                    weight_decay=args.weight_decay,
                    rating_weight=args.rating_weight,
                    patience=args.patience,
                    run_dir=run_dir if k == 0 else f"{run_dir}/member{k}",
                    **{**train_options(args), "seed": args.seed + k},
                )
            )
        res = members[0]
        models = [m.model for m in members]
        gold = data.test.labels

        def scores(ms: list[TextClassifier], part: Any) -> tuple[float, float]:
            pred, _ = classify(ms, res.tokenizer, part.texts)
            return sum(p == g for p, g in zip(pred, part.labels)) / len(pred), f1_macro(pred, part.labels, 2)

        acc, f1 = scores(models, data.test)
        save_bundle(
            Path(run_dir) / "model.pt",
            kind="sentiment",
            model=res.model,
            tokenizers={"text": res.tokenizer},
            extra={
                "classes": list(data.classes),
                "dataset": data.name,
                "test_acc": acc,
                "test_f1": f1,
                # further ensemble members (the first is "model")
                "members": [{k: v.detach().cpu() for k, v in m.state_dict().items()} for m in models[1:]],
            },
        )
        print(
            f"{data.name}: train {len(data.train)}, valid {len(data.valid)}, test {len(data.test)} texts "
            f"(binary: mean human rating < 0 vs > 0)"
        )
        print(
            f"{'model':<34}{'params':>10}{'train s':>9}{'epochs':>7}"
            f"{'valid acc':>11}{'test acc':>10}{'test F1':>9}"
        )
        name = f"{'bi' if not args.unidirectional else ''}LSTM {args.hidden_size} + {args.pooling} pooling"
        for k, m in enumerate(members):
            t_acc, t_f1 = scores([m.model], data.test)
            label = f"{name}, seed {args.seed + k}" if args.ensemble > 1 else name
            print(
                f"{label:<34}{count_parameters(m.model):>10,}{m.train_seconds:>9.0f}{m.epochs:>7}"
                f"{m.valid_acc:>11.3f}{t_acc:>10.3f}{t_f1:>9.3f}"
            )
        if args.ensemble > 1:
            v_acc, _ = scores(models, data.valid)
            total = sum(m.train_seconds for m in members)
            label = f"ensemble of {args.ensemble} (mean probs)"
            print(
                f"{label:<34}{count_parameters(res.model) * args.ensemble:>10,}{total:>9.0f}{'-':>7}"
                f"{v_acc:>11.3f}{acc:>10.3f}{f1:>9.3f}"
            )
        if not args.no_baseline:
            from lstmkit.apps.language.bow import BagOfWordsClassifier

            start = time.perf_counter()
            bow = BagOfWordsClassifier().fit(
                data.train.texts, data.train.labels, data.valid.texts, data.valid.labels
            )
            seconds = time.perf_counter() - start
            bp = bow.predict(data.test.texts)
            vp = bow.predict(data.valid.texts)
            vacc = sum(p == g for p, g in zip(vp, data.valid.labels)) / len(vp)
            bacc = sum(p == g for p, g in zip(bp, gold)) / len(gold)
            bname = f"BoW TF-IDF 1-2gram logreg C={bow.C:g}"
            print(
                f"{bname:<34}{'-':>10}{seconds:>9.0f}{'-':>7}{vacc:>11.3f}{bacc:>10.3f}"
                f"{f1_macro(bp, gold, len(data.classes)):>9.3f}"
            )
        log.info("model written to %s/model.pt", final_dir)
        return 0


def _predict_cmd(args: argparse.Namespace) -> int:
    bundle, toks = load_bundle(args.checkpoint, "sentiment")
    model = TextClassifier(**bundle["config"])
    model.load_state_dict(bundle["model"])
    model.eval()
    models = [model]
    for state in bundle["extra"].get("members", []):
        member = TextClassifier(**bundle["config"])
        member.load_state_dict(state)
        models.append(member.eval())
    tokenizer = toks["text"]
    classes = bundle["extra"]["classes"]
    if args.file is not None:
        if args.texts:
            raise ValueError("texts: give texts or --file, not both")
        texts = [
            line for line in read_input_text(None, args.file, args.encoding).splitlines() if line.strip()
        ]
    else:
        texts = list(args.texts)
    if not texts:
        raise ValueError("texts: expected at least one text (argument or --file)")
    for i, t in enumerate(texts):
        if not t.strip():
            raise ValueError(f"texts[{i}]: expected a non-empty text, got {t!r}")
    preds, probs = classify(models, tokenizer, texts)
    for text, p, pr in zip(texts, preds, probs):
        line = f"{classes[p]}\t{float(pr[p]):.3f}\t{text}"
        if args.attention and model.attention is not None:
            ids = encode_texts(tokenizer, [text])[0]
            with torch.no_grad():
                _, w = model(torch.tensor([ids]), return_attention=True)
            top = w[0].argsort(descending=True)[:5].tolist()
            words = tokenizer.vocab.tokens([ids[j] for j in top])
            line += "\tattention: " + ", ".join(f"{wd} {float(w[0, j]):.2f}" for wd, j in zip(words, top))
        print(line)
    return 0

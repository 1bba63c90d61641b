r"""The sentiment jobs (``lstmkit sentiment train|predict``): a biLSTM + attention classifier (or
a GRU, RNN, Transformer or TCN) of VADER's human-rated sentences (Hutto & Gilbert 2014), next to
a bag-of-words logistic regression, and predictions with a trained one.

Training minimizes the cross-entropy of the labels plus, for the binary task, the squared
error between the logit margin and the mean human rating :math:`r` (``rating_weight`` :math:`w`):

.. math::

    \mathcal{L} = -\log p(y \mid x) + w \, (z_1 - z_0 - r)^2

and stops early on the validation accuracy. Test accuracy and macro F1 are reported.

Example::

    >>> from lstmkit.apps.language.corpora import load_vader
    >>> res = train_classifier(load_vader("movies"), model_kwargs={"hidden_size": 32}, epochs=2)
    >>> classify(res.model, res.tokenizer, ["a gorgeous film"])
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from lstmkit.apps.common.gates import gate_sections
from lstmkit.apps.common.reports import add_sections
from lstmkit.apps.language.architectures import ARCHITECTURE_NAMES
from lstmkit.apps.language.batching import BucketBatches, BucketBatchSampler, pad_sequences
from lstmkit.apps.language.bow import BagOfWordsClassifier
from lstmkit.apps.language.bundle import count_parameters, load_bundle, save_bundle
from lstmkit.apps.language.corpora import LabelledSplits, load_vader
from lstmkit.apps.language.text_classifier import TextClassifier
from lstmkit.apps.language.tokenizers import BPETokenizer, Tokenizer, WordTokenizer
from lstmkit.apps.language.training import TrainKeywords, TrainOptions, fit, train_options
from lstmkit.fit import StepOutput, accuracy
from lstmkit.io.runfolder import run_folder
from lstmkit.io.text import read_input_text

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "TRAINING",
    "ClassifierResult",
    "PredictJobConfig",
    "SentimentJobConfig",
    "SentimentJobResult",
    "classify",
    "encode_texts",
    "f1_macro",
    "predict",
    "run",
    "train_classifier",
]

log = logging.getLogger("lstmkit.sentiment")

MAX_TOKENS = 200


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
) -> BucketBatches[tuple[torch.Tensor, ...]]:
    if len(scores) != len(ids):
        scores = [float("nan")] * len(ids)

    def collate(idx: list[int]) -> tuple[torch.Tensor, ...]:
        tokens, lengths = pad_sequences([ids[i] for i in idx])
        return tokens, lengths, torch.tensor([labels[i] for i in idx]), torch.tensor([scores[i] for i in idx])

    return BucketBatches([len(s) for s in ids], batch_size, collate, shuffle=shuffle, seed=seed)


def _make_step(rating_weight: float) -> Any:
    """Cross-entropy on the labels, plus (binary, ``rating_weight`` > 0) the squared error between
    the logit margin and the human rating, so intensity informs the classifier."""

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


#: The training settings of :func:`train_classifier` and of the sentiment job, unless told otherwise.
TRAINING = TrainOptions(lr=2e-3, batch_size=32, epochs=12)


def train_classifier(
    data: LabelledSplits,
    *,
    tokenizer: Tokenizer | None = None,
    vocab_size: int | None = 20000,
    min_freq: int = 1,
    model_kwargs: dict[str, Any] | None = None,
    weight_decay: float = 0.0,
    rating_weight: float = 0.0,
    patience: int | None = 3,
    training: TrainOptions = TRAINING,
    **options: Unpack[TrainKeywords],
) -> ClassifierResult:
    """Fit a word tokenizer on the training texts and train a :class:`TextClassifier` with the
    trainer (AdamW, early stopping on validation accuracy, best weights restored).

    Args:
        data: the labelled splits. tokenizer: fitted here unless it already is (default: a
            lowercasing :class:`WordTokenizer`). vocab_size, min_freq: its vocabulary.
        model_kwargs: keyword arguments of :class:`TextClassifier`.
        weight_decay: AdamW's. rating_weight: weight of the rating loss (binary task).
        patience: early-stopping patience in epochs.
        training: the shared settings (:class:`TrainOptions`: rate, batch size, epochs, step and
            time budgets, clipping, seed, run folder, progress; default :data:`TRAINING`).
        **options: any of those one by one (``epochs=2``), over ``training``'s.
    """
    opts = train_options(training, options)
    tok = tokenizer or WordTokenizer(lowercase=True)
    if not tok.fitted:
        tok.fit(data.train.texts, max_size=vocab_size, min_freq=min_freq)
    torch.manual_seed(opts.seed)
    model = TextClassifier(len(tok.vocab), len(data.classes), **(model_kwargs or {}))
    train_ids = encode_texts(tok, data.train.texts)
    valid_ids = encode_texts(tok, data.valid.texts)
    if rating_weight and len(data.classes) != 2:
        raise ValueError(f"rating_weight: needs the binary task, got {len(data.classes)} classes")
    task = {
        "optimizer": "adamw",
        "weight_decay": weight_decay,
        "monitor": "val_acc",
        "mode": "max",
        "patience": patience,
        "restore_best": True,
    }
    fitted = fit(
        model,
        opts,
        _batches(
            train_ids, data.train.labels, data.train.scores, opts.batch_size, shuffle=True, seed=opts.seed
        ),
        _batches(valid_ids, data.valid.labels, data.valid.scores, 128, shuffle=False, seed=opts.seed),
        task=task,
        step=_make_step(rating_weight),
        metrics={"acc": accuracy},
    )
    history = fitted.history
    best = history.best_value if history.best_value is not None else float("nan")
    return ClassifierResult(model, tok, fitted.budget.used, len(history.epochs), float(best), history)


# ---------------------------------------------------------------------- lstmkit sentiment train
@dataclass(frozen=True)
class SentimentJobConfig:
    """The settings of :func:`run` (``lstmkit sentiment train``).

    Args:
        training: the shared training settings (:class:`TrainOptions`).
        dataset: the VADER set (``movies``, ``tweets``, ``amazon``, ``nyt``), binary labels.
        tokenizer: ``"word"`` (lowercased) or ``"bpe"``. vocab_size: vocabulary cap.
        min_freq: drop words seen fewer times.
        model: keyword arguments of :class:`TextClassifier` (``architecture``, ``embed_dim``,
            ``hidden_size``, ``num_layers``, ``bidirectional``, ``pooling``, dropouts).
        weight_decay: AdamW weight decay. rating_weight: weight of the rating loss.
        patience: early-stopping patience in epochs.
        ensemble: train K models (seeds s..s+K-1) and average their probabilities.
        baseline: also fit the bag-of-words logistic regression.
        echo: print the table (stdout).
    """

    training: TrainOptions = TRAINING
    dataset: str = "movies"
    tokenizer: str = "word"
    vocab_size: int | None = 20000
    min_freq: int = 1
    model: dict[str, Any] = field(default_factory=dict)
    weight_decay: float = 0.0
    rating_weight: float = 0.1
    patience: int | None = 3
    ensemble: int = 1
    baseline: bool = True
    echo: bool = False


@dataclass
class SentimentJobResult:
    """What :func:`run` made: the members (the first is the saved model), the test accuracy and
    macro F1 of their ensemble, the printed table and the run folder."""

    members: list[ClassifierResult]
    test_acc: float
    test_f1: float
    lines: list[str]
    folder: str


def _accuracy_f1(models: list[TextClassifier], tokenizer: Tokenizer, part: Any) -> tuple[float, float]:
    pred, _ = classify(models, tokenizer, part.texts)
    return sum(p == g for p, g in zip(pred, part.labels)) / len(pred), f1_macro(pred, part.labels, 2)


def run(config: SentimentJobConfig) -> SentimentJobResult:
    """Train the classifier (or an ensemble), measure it on the test split next to the
    bag-of-words baseline and save it; the run folder is replaced only when all of it succeeded.

    Args:
        config: the settings.

    Returns:
        the members, the test scores and the table (:class:`SentimentJobResult`).
    """
    opts = config.training
    if opts.threads:
        torch.set_num_threads(opts.threads)
    data = load_vader(config.dataset, binary=True)
    tok: Tokenizer = (
        WordTokenizer(lowercase=True) if config.tokenizer == "word" else BPETokenizer(num_merges=4000)
    )
    final_dir = opts.run_dir or f"runs/sentiment-{config.dataset}"
    with run_folder(
        final_dir, "sentiment", overwrite=opts.overwrite
    ) as run_dir:  # a failed run changes nothing
        if config.ensemble < 1:
            raise ValueError(f"--ensemble: expected an int >= 1, got {config.ensemble}")
        tok.fit(
            data.train.texts, max_size=config.vocab_size, min_freq=config.min_freq
        )  # the members share it
        members = [_train_member(config, data, tok, run_dir, k) for k in range(config.ensemble)]
        res, models = members[0], [m.model for m in members]
        acc, f1 = _accuracy_f1(models, res.tokenizer, data.test)
        extra = {"classes": list(data.classes), "dataset": data.name, "test_acc": acc, "test_f1": f1}
        # further ensemble members (the first is "model")
        extra["members"] = [{k: v.detach().cpu() for k, v in m.state_dict().items()} for m in models[1:]]
        save_bundle(
            Path(run_dir) / "model.pt",
            kind="sentiment",
            model=res.model,
            tokenizers={"text": res.tokenizer},
            extra=extra,
        )
        texts = data.test.texts[:4]
        gates = gate_sections(
            models[0],
            lambda: classify(models[0], res.tokenizer, texts),
            run_dir,
            what=f"the first ensemble member, on the first {len(texts)} test texts",
        )
        add_sections(Path(run_dir) / "report.html", gates)
        lines = _table(config, data, members, acc, f1)
        if config.echo:
            print("\n".join(lines))
        log.info("model written to %s/model.pt", final_dir)
    return SentimentJobResult(members, acc, f1, lines, final_dir)


def _train_member(
    config: SentimentJobConfig, data: LabelledSplits, tok: Tokenizer, run_dir: str, k: int
) -> ClassifierResult:
    """Ensemble member ``k`` with the fitted tokenizer ``tok``: seed ``seed + k``, its logs in
    ``run_dir`` (the first) or a ``member{k}`` folder in it."""
    opts = config.training
    if config.ensemble > 1:
        log.info("ensemble member %d of %d (seed %d)", k + 1, config.ensemble, opts.seed + k)
    return train_classifier(
        data,
        tokenizer=tok,
        model_kwargs=config.model,
        weight_decay=config.weight_decay,
        rating_weight=config.rating_weight,
        patience=config.patience,
        training=opts,
        run_dir=run_dir if k == 0 else f"{run_dir}/member{k}",
        seed=opts.seed + k,
    )


def _table(
    config: SentimentJobConfig, data: LabelledSplits, members: list[ClassifierResult], acc: float, f1: float
) -> list[str]:
    """The lines printed: the data, then a row per member, the ensemble and the baseline."""
    seed = config.training.seed
    lines = [
        f"{data.name}: train {len(data.train)}, valid {len(data.valid)}, test {len(data.test)} texts "
        f"(binary: mean human rating < 0 vs > 0)",
        f"{'model':<34}{'params':>10}{'train s':>9}{'epochs':>7}"
        f"{'valid acc':>11}{'test acc':>10}{'test F1':>9}",
    ]
    name = _network_name(members[0].model)
    for k, m in enumerate(members):
        t_acc, t_f1 = _accuracy_f1([m.model], m.tokenizer, data.test)
        label = f"{name}, seed {seed + k}" if config.ensemble > 1 else name
        lines.append(
            f"{label:<34}{count_parameters(m.model):>10,}{m.train_seconds:>9.0f}{m.epochs:>7}"
            f"{m.valid_acc:>11.3f}{t_acc:>10.3f}{t_f1:>9.3f}"
        )
    if config.ensemble > 1:
        v_acc, _ = _accuracy_f1([m.model for m in members], members[0].tokenizer, data.valid)
        total = sum(m.train_seconds for m in members)
        params = count_parameters(members[0].model) * config.ensemble
        label = f"ensemble of {config.ensemble} (mean probs)"
        lines.append(f"{label:<34}{params:>10,}{total:>9.0f}{'-':>7}{v_acc:>11.3f}{acc:>10.3f}{f1:>9.3f}")
    if config.baseline:
        lines.append(_bow_row(data))
    return lines


def _network_name(model: TextClassifier) -> str:
    """How the table names the classifier: ``biLSTM 128 + attention pooling``."""
    cfg = model.config()
    bi = "bi" if cfg.get("bidirectional") else ""
    return f"{bi}{ARCHITECTURE_NAMES[cfg['architecture']]} {cfg['hidden_size']} + {cfg['pooling']} pooling"


def _bow_row(data: LabelledSplits) -> str:
    """The bag-of-words logistic regression's row (fitted here)."""
    start = time.perf_counter()
    bow = BagOfWordsClassifier().fit(data.train.texts, data.train.labels, data.valid.texts, data.valid.labels)
    seconds = time.perf_counter() - start
    gold = data.test.labels
    bp = bow.predict(data.test.texts)
    vp = bow.predict(data.valid.texts)
    vacc = sum(p == g for p, g in zip(vp, data.valid.labels)) / len(vp)
    bacc = sum(p == g for p, g in zip(bp, gold)) / len(gold)
    bname = f"BoW TF-IDF 1-2gram logreg C={bow.C:g}"
    return (
        f"{bname:<34}{'-':>10}{seconds:>9.0f}{'-':>7}{vacc:>11.3f}{bacc:>10.3f}"
        f"{f1_macro(bp, gold, len(data.classes)):>9.3f}"
    )


# ---------------------------------------------------------------------- lstmkit sentiment predict
@dataclass(frozen=True)
class PredictJobConfig:
    """The settings of :func:`predict` (``lstmkit sentiment predict``).

    Args:
        checkpoint: ``model.pt`` or the run folder holding it.
        texts: the texts to classify, unless ``file``.
        file: classify each non-empty line of this file instead (``-``: stdin), in ``encoding``.
        attention: add each text's 5 most attended tokens.
        echo: print ``label<TAB>probability<TAB>text`` per text (stdout).
    """

    checkpoint: str = "runs/sentiment-movies"
    texts: Sequence[str] = ()
    file: str | None = None
    encoding: str = "utf-8"
    attention: bool = False
    echo: bool = False


def _texts(config: PredictJobConfig) -> list[str]:
    if config.file is not None:
        if config.texts:
            raise ValueError("texts: give texts or --file, not both")
        lines = read_input_text(None, config.file, config.encoding).splitlines()
        texts = [line for line in lines if line.strip()]
    else:
        texts = list(config.texts)
    if not texts:
        raise ValueError("texts: expected at least one text (argument or --file)")
    for i, t in enumerate(texts):
        if not t.strip():
            raise ValueError(f"texts[{i}]: expected a non-empty text, got {t!r}")
    return texts


def _load_members(bundle: dict[str, Any]) -> list[TextClassifier]:
    """The saved model and the further ensemble members, in evaluation mode."""
    models = []
    for state in [bundle["model"], *bundle["extra"].get("members", [])]:
        member = TextClassifier(**bundle["config"])
        member.load_state_dict(state)
        models.append(member.eval())
    return models


def predict(config: PredictJobConfig) -> list[str]:
    """Classify texts with a trained model (averaging an ensemble); returns the lines
    ``label<TAB>probability<TAB>text`` (and ``<TAB>attention: ...``)."""
    bundle, toks = load_bundle(config.checkpoint, "sentiment")
    models = _load_members(bundle)
    model, tokenizer, classes = models[0], toks["text"], bundle["extra"]["classes"]
    texts = _texts(config)
    preds, probs = classify(models, tokenizer, texts)
    lines = []
    for text, p, pr in zip(texts, preds, probs):
        line = f"{classes[p]}\t{float(pr[p]):.3f}\t{text}"
        if config.attention and model.attention is not None:
            ids = encode_texts(tokenizer, [text])[0]
            with torch.no_grad():
                _, w = model(torch.tensor([ids]), return_attention=True)
            top = w[0].argsort(descending=True)[:5].tolist()
            words = tokenizer.vocab.tokens([ids[j] for j in top])
            line += "\tattention: " + ", ".join(f"{wd} {float(w[0, j]):.2f}" for wd, j in zip(words, top))
        lines.append(line)
        if config.echo:
            print(line)
    return lines

r"""The translation jobs (``lstmkit translate train|predict``): an English -> French LSTM
encoder-decoder with attention (or a Transformer encoder-decoder) on real message-catalogue
pairs, BLEU and chrF next to a word-by-word dictionary baseline, and translations with a
trained one.

Training minimizes the masked token cross-entropy with teacher forcing,

.. math::

    \mathcal{L} = -\frac{1}{\sum_t m_t} \sum_{t} m_t \log p(y_t \mid y_{<t}, x)

stopping early on the validation loss; the test pairs are decoded greedily and with beam
search and scored with sacrebleu.

Example::

    >>> from lstmkit.apps.language.corpora import load_numbers
    >>> res = train_translator(load_numbers(2000), model_kwargs={"hidden_size": 32}, epochs=2)
    >>> translate_texts(res.model, res.src_tok, res.tgt_tok, ["twenty one"], beam_size=1)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from lstmkit.apps.language.batching import BucketBatches, BucketBatchSampler, pad_sequences
from lstmkit.apps.language.bundle import count_parameters, load_bundle, save_bundle
from lstmkit.apps.language.corpora import ParallelSplits, load_freedict, load_numbers, load_parallel
from lstmkit.apps.language.dictionary import DictionaryTranslator
from lstmkit.apps.language.seq2seq import Hypothesis, Seq2Seq
from lstmkit.apps.language.tokenizers import BPETokenizer, Tokenizer, WordTokenizer
from lstmkit.apps.language.training import TrainKeywords, TrainOptions, fit, train_options
from lstmkit.apps.language.translate_report import plot_attention, write_attention_report
from lstmkit.fit import StepOutput, sequence_cross_entropy
from lstmkit.io.runfolder import run_folder
from lstmkit.io.text import read_input_text

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "TRAINING",
    "PredictJobConfig",
    "TranslateJobConfig",
    "TranslateJobResult",
    "TranslatorResult",
    "attention_example",
    "corpus_scores",
    "make_tokenizers",
    "predict",
    "run",
    "train_translator",
    "translate_texts",
]

log = logging.getLogger("lstmkit.translate")

MAX_SRC_TOKENS = 100


# ---------------------------------------------------------------------- data
def _encode_src(tok: Tokenizer, text: str) -> list[int]:
    ids = tok.encode(text)
    if len(ids) > MAX_SRC_TOKENS - 1:
        log.warning("source of %d tokens truncated to %d", len(ids), MAX_SRC_TOKENS - 1)
        ids = ids[: MAX_SRC_TOKENS - 1]
    return [*ids, tok.vocab.eos_id]  # never empty: "" -> [<eos>]


def _pair_batches(
    src: list[list[int]], tgt: list[list[int]], batch_size: int, *, shuffle: bool, seed: int
) -> BucketBatches[tuple[torch.Tensor, ...]]:
    def collate(idx: list[int]) -> tuple[torch.Tensor, ...]:
        s, s_len = pad_sequences([src[i] for i in idx])
        t_in, _ = pad_sequences([[2, *tgt[i]] for i in idx])
        t_out, _ = pad_sequences([[*tgt[i], 3] for i in idx])
        return s, s_len, t_in, t_out

    return BucketBatches([len(s) for s in src], batch_size, collate, shuffle=shuffle, seed=seed)


def _step(model: Seq2Seq, batch: tuple[torch.Tensor, ...]) -> Any:
    src, src_len, tgt_in, tgt_out = batch
    logits = model(src, src_len, tgt_in)  # (N, T, V)
    mask = tgt_out != model.pad_id
    return StepOutput(sequence_cross_entropy(logits, tgt_out, mask), weight=float(mask.sum()))


# ---------------------------------------------------------------------- training, decoding, scoring
@dataclass
class TranslatorResult:
    model: Seq2Seq
    src_tok: Tokenizer
    tgt_tok: Tokenizer
    train_seconds: float
    epochs: int
    history: Any


def make_tokenizers(kind: str, bpe_merges: int = 4000) -> tuple[Tokenizer, Tokenizer]:
    if kind == "bpe":
        return BPETokenizer(num_merges=bpe_merges, lowercase=False), BPETokenizer(
            num_merges=bpe_merges, lowercase=False
        )
    if kind == "word":
        return WordTokenizer(lowercase=False), WordTokenizer(lowercase=False)
    raise ValueError(f"tokenizer: expected 'bpe' or 'word', got {kind!r}")


#: The training settings of :func:`train_translator` and of the translation job, unless told otherwise.
TRAINING = TrainOptions(lr=2e-3, batch_size=64, epochs=30)


def train_translator(
    data: ParallelSplits,
    *,
    tokenizer: str = "bpe",
    bpe_merges: int = 4000,
    vocab_size: int | None = 8000,
    model_kwargs: dict[str, Any] | None = None,
    patience: int | None = 3,
    tokenizers: tuple[Tokenizer, Tokenizer] | None = None,
    training: TrainOptions = TRAINING,
    **options: Unpack[TrainKeywords],
) -> TranslatorResult:
    """Fit source and target tokenizers on the training pairs and train a :class:`Seq2Seq` with
    the trainer (teacher forcing, masked token cross-entropy, Adam, early stopping on
    validation loss, best weights restored).

    Args:
        data: the parallel splits. tokenizer: ``"bpe"`` or ``"word"`` (:func:`make_tokenizers`).
        bpe_merges: BPE merges per language. vocab_size: vocabulary cap per language.
        model_kwargs: keyword arguments of :class:`Seq2Seq`.
        patience: early-stopping patience in epochs (``None``: train every epoch).
        tokenizers: (source, target) tokenizers already fitted, used instead of fitting new
            ones (``tokenizer``, ``bpe_merges`` and ``vocab_size`` are then not used).
        training: the shared settings (:class:`TrainOptions`: rate, batch size, epochs, step and
            time budgets, clipping, seed, run folder, progress; default :data:`TRAINING`).
        **options: any of those one by one (``epochs=2``), over ``training``'s.
    """
    opts = train_options(training, options)
    if tokenizers is not None:
        src_tok, tgt_tok = tokenizers
        if not (src_tok.fitted and tgt_tok.fitted):
            raise ValueError("tokenizers: expected fitted (source, target) tokenizers, got unfitted ones")
    else:
        src_tok, tgt_tok = make_tokenizers(tokenizer, bpe_merges)
        src_tok.fit([s for s, _ in data.train], max_size=vocab_size)
        tgt_tok.fit([t for _, t in data.train], max_size=vocab_size)
    torch.manual_seed(opts.seed)
    model = Seq2Seq(len(src_tok.vocab), len(tgt_tok.vocab), **(model_kwargs or {}))

    def enc(pairs: list[tuple[str, str]]) -> tuple[list[list[int]], list[list[int]]]:
        return [_encode_src(src_tok, s) for s, _ in pairs], [
            tgt_tok.encode(t)[: 2 * MAX_SRC_TOKENS] for _, t in pairs
        ]

    train_src, train_tgt = enc(data.train)
    valid_src, valid_tgt = enc(data.valid)
    fitted = fit(
        model,
        opts,
        _pair_batches(train_src, train_tgt, opts.batch_size, shuffle=True, seed=opts.seed),
        _pair_batches(valid_src, valid_tgt, 128, shuffle=False, seed=opts.seed),
        task={"optimizer": "adam", "monitor": "val_loss", "patience": patience, "restore_best": True},
        step=_step,
    )
    history = fitted.history
    return TranslatorResult(model, src_tok, tgt_tok, fitted.budget.used, len(history.epochs), history)


@torch.no_grad()
def translate_texts(
    model: Seq2Seq,
    src_tok: Tokenizer,
    tgt_tok: Tokenizer,
    texts: list[str],
    *,
    beam_size: int = 5,
    batch_size: int = 64,
) -> list[tuple[str, Hypothesis]]:
    """Translate ``texts``: greedy (``beam_size=1``, batched) or beam search. Returns the text
    and the hypothesis (tokens, attention (T, S), score) of each."""
    model.eval()
    ids = [_encode_src(src_tok, t) for t in texts]
    out: list[tuple[str, Hypothesis] | None] = [None] * len(texts)
    for batch in BucketBatchSampler([len(s) for s in ids], batch_size, shuffle=False):
        src, src_len = pad_sequences([ids[i] for i in batch])
        hyps = (
            model.greedy(src, src_len)
            if beam_size == 1
            else model.beam_search(src, src_len, beam_size=beam_size)
        )
        for i, h in zip(batch, hyps):
            out[i] = (tgt_tok.decode(h.tokens), h)
    return [o for o in out if o is not None]


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (sacrebleu defaults: 13a tokenization, chrF n=6, beta=2)."""
    try:
        import sacrebleu
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("BLEU/chrF need sacrebleu: pip install 'sacrebleu==2.6.*' (or make setup)") from exc
    return {
        "bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score),
        "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score),
    }


def attention_example(
    src_tok: Tokenizer, tgt_tok: Tokenizer, text: str, hyp: Hypothesis
) -> tuple[list[str], list[str], torch.Tensor]:
    """What :func:`~lstmkit.apps.language.translate_report.plot_attention` draws of one
    translation: the source tokens, the output tokens (and ``<eos>``) and their (T, S) weights."""
    src = src_tok.vocab.tokens(_encode_src(src_tok, text))
    out = tgt_tok.vocab.tokens(hyp.tokens)
    if hyp.attention.shape[0] > len(out):
        out = [*out, "<eos>"]
    return src, out, hyp.attention[: len(out), : len(src)]


# ---------------------------------------------------------------------- lstmkit translate train
@dataclass(frozen=True)
class TranslateJobConfig:
    """The settings of :func:`run` (``lstmkit translate train``).

    Args:
        training: the shared training settings (:class:`TrainOptions`).
        pairs: ``"debian-l10n-fr"`` (Debian message catalogues) or ``"numbers-en-fr"``
            (numbers in words, generated).
        tokenizer: ``"bpe"`` or ``"word"``. bpe_merges: BPE merges per language.
        vocab_size: vocabulary cap per language.
        model: keyword arguments of :class:`Seq2Seq` (``architecture``, ``embed_dim``,
            ``hidden_size``, ``num_layers``, ``attention``, ``dropout``).
        patience: early-stopping patience. beam: the beam size of the evaluation (>= 1).
        eval_limit: evaluate on the first N test pairs only.
        baseline: also score the FreeDict word-by-word translation.
        echo: print the scores and sample translations (stdout).
    """

    training: TrainOptions = TRAINING
    pairs: str = "debian-l10n-fr"
    tokenizer: str = "bpe"
    bpe_merges: int = 4000
    vocab_size: int | None = 8000
    model: dict[str, Any] = field(default_factory=dict)
    patience: int | None = 3
    beam: int = 5
    eval_limit: int | None = None
    baseline: bool = True
    echo: bool = False


@dataclass
class TranslateJobResult:
    """What :func:`run` made: the training result, the score rows (system, BLEU, chrF, decode s),
    the sample translations and the run folder."""

    translator: TranslatorResult
    rows: list[dict[str, Any]]
    samples: list[dict[str, str]]
    folder: str


def run(config: TranslateJobConfig) -> TranslateJobResult:
    """Train the translator, score greedy and beam decoding of the test pairs next to the
    dictionary baseline, and write the model, the attention heat maps and the report; the run
    folder is replaced only when all of it succeeded.

    Args:
        config: the settings.

    Returns:
        the model, the scores and the samples (:class:`TranslateJobResult`).
    """
    if config.beam < 1:  # checked before the training, not after it
        raise ValueError(f"--beam: expected an int >= 1, got {config.beam}")
    opts = config.training
    if opts.threads:
        torch.set_num_threads(opts.threads)
    data = load_numbers() if config.pairs == "numbers-en-fr" else load_parallel(config.pairs)
    final_dir = opts.run_dir or f"runs/translate-{config.pairs}"
    with run_folder(
        final_dir, "translate", overwrite=opts.overwrite
    ) as tmp_dir:  # a failed run changes nothing
        run_dir = Path(tmp_dir)
        res = train_translator(
            data,
            tokenizer=config.tokenizer,
            bpe_merges=config.bpe_merges,
            vocab_size=config.vocab_size,
            model_kwargs=config.model,
            patience=config.patience,
            training=opts,
            run_dir=str(run_dir),
        )
        tokenizers = {"src": res.src_tok, "tgt": res.tgt_tok}
        save_bundle(
            run_dir / "model.pt",
            kind="translate",
            model=res.model,
            tokenizers=tokenizers,
            extra={"pairs": data.name},
        )
        test = data.test[: config.eval_limit] if config.eval_limit else data.test
        sizes = f"{len(data.train)} train / {len(data.valid)} valid / {len(test)} test pairs"
        _say(config, f"{data.name}: {sizes} (en -> fr)")
        stop = f"{res.history.stop_reason or 'max_epochs'}, best epoch {res.history.best_epoch}"
        _say(config, f"trained {res.epochs} epochs ({stop}) in {res.train_seconds:.0f} s CPU")
        rows, best, dict_out = _scores(config, res, test)
        samples = _report(config, res, test, best, dict_out, rows, run_dir)
        log.info("model, attention.png and report.html written to %s", final_dir)
    return TranslateJobResult(res, rows, samples, final_dir)


def _network_name(model: Seq2Seq) -> str:
    """How the table names the encoder-decoder: ``LSTM bahdanau`` or ``Transformer``."""
    cfg = model.config()
    return f"LSTM {cfg['attention']}" if cfg["architecture"] == "lstm" else "Transformer"


def _say(config: TranslateJobConfig, line: str) -> None:
    _say_line(config.echo, line)


def _scores(
    config: TranslateJobConfig, res: TranslatorResult, test: list[tuple[str, str]]
) -> tuple[list[dict[str, Any]], list[tuple[str, Hypothesis]], list[str]]:
    """Decode the test sources greedily and with ``config.beam`` (and translate them word by
    word); score each: the rows, the beam's translations and the dictionary's."""
    srcs, refs = [s for s, _ in test], [t for _, t in test]
    rows: list[dict[str, Any]] = []
    _say(config, f"{'system':<40}{'BLEU':>7}{'chrF':>7}{'decode s':>10}")
    outputs: dict[int, list[tuple[str, Hypothesis]]] = {}
    for beam in sorted({1, config.beam}):
        start = time.perf_counter()
        outputs[beam] = translate_texts(res.model, res.src_tok, res.tgt_tok, srcs, beam_size=beam)
        sec = time.perf_counter() - start
        sc = corpus_scores([o for o, _ in outputs[beam]], refs)
        decoding = "greedy" if beam == 1 else f"beam {beam}"
        name = f"{_network_name(res.model)} {decoding} ({count_parameters(res.model):,} p)"
        rows.append({"system": name, "BLEU": sc["bleu"], "chrF": sc["chrf"], "decode s": sec})
        _say(config, f"{name:<40}{sc['bleu']:>7.2f}{sc['chrf']:>7.2f}{sec:>10.1f}")
    dict_out: list[str] = []
    if config.baseline:
        start = time.perf_counter()
        dt = DictionaryTranslator(load_freedict())
        dict_out = [dt.translate(s) for s in srcs]
        sc = corpus_scores(dict_out, refs)
        sec = time.perf_counter() - start
        rows.append(
            {"system": "FreeDict word-by-word", "BLEU": sc["bleu"], "chrF": sc["chrf"], "decode s": sec}
        )
        _say(config, f"{'FreeDict word-by-word':<40}{sc['bleu']:>7.2f}{sc['chrf']:>7.2f}{sec:>10.1f}")
    return rows, outputs[config.beam], dict_out


def _report(
    config: TranslateJobConfig,
    res: TranslatorResult,
    test: list[tuple[str, str]],
    best: list[tuple[str, Hypothesis]],
    dict_out: list[str],
    rows: list[dict[str, Any]],
    run_dir: Path,
) -> list[dict[str, str]]:
    """Write ``attention.png`` (three test sentences of 4 to 9 words) and ``report.html``;
    return the sample translations (the first 8 are printed)."""
    srcs, refs = [s for s, _ in test], [t for _, t in test]
    order = sorted(range(len(srcs)), key=lambda i: (len(srcs[i].split()) < 4, -len(srcs[i]) % 7, i))
    picks = [i for i in order if 4 <= len(srcs[i].split()) <= 9][:3] or list(range(min(3, len(srcs))))
    examples = [attention_example(res.src_tok, res.tgt_tok, srcs[i], best[i][1]) for i in picks]
    cfg = res.model.config()
    attention = f"{cfg['attention']} attention" if cfg["architecture"] == "lstm" else "cross-attention"
    plot_attention(examples, run_dir / "attention.png", title=f"{attention}, test sentences")
    samples = [
        {"src": srcs[i], "ref": refs[i], "model": best[i][0], "dict": dict_out[i] if dict_out else ""}
        for i in range(min(20, len(srcs)))
    ]
    write_attention_report(
        run_dir / "report.html",
        title="lstmkit translate: English -> French",
        table=rows,
        samples=samples,
        image=str(run_dir / "attention.png"),
    )
    _say(config, "\nsamples (English | reference | model):")
    for s in samples[:8]:
        _say(config, f"  {s['src']}\n    ref:   {s['ref']}\n    model: {s['model']}")
    return samples


# ---------------------------------------------------------------------- lstmkit translate predict
@dataclass(frozen=True)
class PredictJobConfig:
    """The settings of :func:`predict` (``lstmkit translate predict``).

    Args:
        checkpoint: ``model.pt`` or the run folder holding it.
        texts: English texts, unless ``file``.
        file: translate each line of this file instead (``-``: stdin), in ``encoding``.
        beam: the beam size (1: greedy).
        attention_png: write the attention heat map of the first text here.
        echo: print one translation per line (stdout).
    """

    checkpoint: str = "runs/translate-debian-l10n-fr"
    texts: Sequence[str] = ()
    file: str | None = None
    encoding: str = "utf-8"
    beam: int = 5
    attention_png: str | None = None
    echo: bool = False


def predict(config: PredictJobConfig) -> list[tuple[str, Hypothesis]]:
    """Translate texts with a trained model; returns each translation and its hypothesis."""
    bundle, toks = load_bundle(config.checkpoint, "translate")
    model = Seq2Seq(**bundle["config"])
    model.load_state_dict(bundle["model"])
    if config.file is not None:
        if config.texts:
            raise ValueError("texts: give texts or --file, not both")
        texts = read_input_text(None, config.file, config.encoding).splitlines()
    else:
        texts = list(config.texts)
    if not texts:
        raise ValueError("texts: expected at least one text (argument or --file)")
    if config.beam < 1:
        raise ValueError(f"--beam: expected an int >= 1, got {config.beam}")
    outs = translate_texts(model, toks["src"], toks["tgt"], texts, beam_size=config.beam)
    for out, _ in outs:
        _say_line(config.echo, out)
    if config.attention_png:
        ex = attention_example(toks["src"], toks["tgt"], texts[0], outs[0][1])
        plot_attention([ex], config.attention_png)
        log.info("attention heat map written to %s", config.attention_png)
    return outs


def _say_line(echo: bool, line: str) -> None:
    if echo:
        print(line)

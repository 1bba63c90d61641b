"""The language-model jobs (``lstmkit textgen train|sample``): train a character / word / subword
language model (an LSTM, or a GRU, RNN, Transformer or TCN) on real text next to Kneser-Ney
n-gram baselines, and sample from it.

The model is measured in bits per token on the validation (and test) text,

.. math::

    \\text{bits} = \\frac{1}{N \\ln 2} \\sum_{t=1}^{N} -\\ln p(x_t \\mid x_{<t}), \\qquad
    \\text{perplexity} = 2^{\\text{bits}}

The training job writes the run folder (``model.pt``, ``metrics.csv``, ``curves.png``,
``report.html`` with an LSTM's gates on validation text, ``gates_*.png``) and prints the
table of the network and the baselines and a sample.

Example::

    >>> from lstmkit.apps.language.text import CharTokenizer
    >>> res = train_language_model("the cat sat. " * 500, "the cat sat. " * 50, CharTokenizer(),
    ...                            model_kwargs={"embed_dim": 8, "hidden_size": 32}, max_steps=50)
    >>> sample_text(res.model, res.tokenizer, "the ", 20, seed=0)
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import torch

from lstmkit.apps.common.gates import gate_sections
from lstmkit.apps.common.reports import add_sections
from lstmkit.apps.language.architectures import ARCHITECTURE_NAMES
from lstmkit.apps.language.batching import StreamBatches
from lstmkit.apps.language.bundle import count_parameters, load_bundle, save_bundle
from lstmkit.apps.language.corpora import load_text_corpus
from lstmkit.apps.language.corpora.plain import wrap_lines
from lstmkit.apps.language.lm import LanguageModel, bits_per_token, perplexity, stream_nll
from lstmkit.apps.language.ngram import ngram_baseline, ngram_orders
from lstmkit.apps.language.tokenizers import BPETokenizer, CharTokenizer, Tokenizer, WordTokenizer
from lstmkit.apps.language.training import TrainKeywords, TrainOptions, fit, train_options
from lstmkit.fit import Callback, sequence_cross_entropy
from lstmkit.io.runfolder import run_folder
from lstmkit.io.text import read_input_text, read_text

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "CORPUS_NAMES",
    "MAX_PRIME_TOKENS",
    "TRAINING",
    "LMResult",
    "SampleJobConfig",
    "TextgenJobConfig",
    "TextgenJobResult",
    "make_tokenizer",
    "markdown_table",
    "ngram_baseline",
    "run",
    "sample",
    "sample_text",
    "train_language_model",
]

log = logging.getLogger("lstmkit.textgen")

CORPUS_NAMES = ("kjv", "fortunes", "pydoc")
MAX_PRIME_TOKENS = 5000


def make_tokenizer(kind: str, *, bpe_merges: int = 2000) -> Tokenizer:
    """A fresh tokenizer: ``"char"``, ``"word"`` or ``"bpe"`` (case kept)."""
    if kind == "char":
        return CharTokenizer()
    if kind == "word":
        return WordTokenizer(lowercase=False)
    if kind == "bpe":
        return BPETokenizer(num_merges=bpe_merges, lowercase=False)
    raise ValueError(f"tokenizer: expected 'char', 'word' or 'bpe', got {kind!r}")


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (pipes), numbers right-aligned; floats as given (format them first)."""
    align = ["---" if i == 0 else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------- training
@dataclass
class LMResult:
    """What :func:`train_language_model` returns."""

    model: LanguageModel
    tokenizer: Tokenizer
    cpu_seconds: float
    wall_seconds: float
    steps: int
    tokens_seen: int
    valid_bits: float
    history: Any


#: The training settings of :func:`train_language_model` and of the textgen job, unless told otherwise.
TRAINING = TrainOptions(lr=3e-3, batch_size=32, epochs=1)


def train_language_model(
    train_text: str,
    valid_text: str,
    tokenizer: Tokenizer,
    *,
    model_kwargs: dict[str, Any],
    optimizer: str = "adam",
    bptt: int = 128,
    vocab_size: int | None = None,
    training: TrainOptions = TRAINING,
    callbacks: tuple[Callback, ...] = (),
    **options: Unpack[TrainKeywords],
) -> LMResult:
    """Fit the tokenizer on ``train_text``, train a :class:`LanguageModel` with the trainer
    (truncated BPTT with the state carried across chunks, Adam, clipping), and measure bits
    per token on ``valid_text``.

    Args:
        train_text, valid_text: the texts. tokenizer: fitted here unless it already is.
        model_kwargs: keyword arguments of :class:`LanguageModel` (``embed_dim``, ``hidden_size``...).
        optimizer: the trainer's (``"adam"``, ``"adamw"``, ``"sgd"``, ``"ntasgd"``).
        bptt: truncated-BPTT length. vocab_size: cap on the vocabulary.
        training: the shared settings (:class:`TrainOptions`: rate, batch size, epochs, step and
            time budgets (see :class:`~lstmkit.apps.language.training.TimeBudget`), clipping,
            seed, the trainer's run folder (logs, curves), progress; default :data:`TRAINING`).
        callbacks: more trainer callbacks (see :func:`~lstmkit.apps.language.training.fit`).
        **options: any of those one by one (``max_steps=50``), over ``training``'s.
    """
    opts = train_options(training, options)
    if not train_text.strip():
        raise ValueError("train_text: expected a non-empty training text")
    if not tokenizer.fitted:
        tokenizer.fit([train_text], max_size=vocab_size)
    torch.manual_seed(opts.seed)
    model = LanguageModel(len(tokenizer.vocab), **_with_context(model_kwargs, bptt))
    train_ids = tokenizer.encode(train_text)
    valid_ids = tokenizer.encode(valid_text)
    train = StreamBatches(train_ids, opts.batch_size, bptt)
    # validation after every epoch, for the curves (its time counts in the budget; a few seconds)
    valid = StreamBatches(valid_ids, 8, bptt) if len(valid_ids) > 16 * bptt else None
    # truncated BPTT with a recurrent state carried across chunks (a Transformer or a TCN reads
    # each window afresh), a constant rate, the last weights
    task = {
        "optimizer": optimizer,
        "tbptt_k1": bptt,
        "carry_state": model.carries_state,
        "schedule": "constant",
        "restore_best": False,
        "monitor": "train_loss",  # the weights at the end of the budget are the result
        "log_every": 10,
    }
    fitted = fit(model, opts, train, valid, task=task, loss_fn=sequence_cross_entropy, callbacks=callbacks)
    budget, steps = fitted.budget, fitted.steps
    log.info("trained %d steps in %.0f s CPU (%.0f s wall); evaluating", steps, budget.cpu, budget.wall)
    valid_bits = bits_per_token(stream_nll(model, valid_ids, batch_size=8, bptt=512))
    tokens_seen = steps * opts.batch_size * bptt
    return LMResult(model, tokenizer, budget.cpu, budget.wall, steps, tokens_seen, valid_bits, fitted.history)


def _with_context(model_kwargs: dict[str, Any], bptt: int) -> dict[str, Any]:
    """``model_kwargs`` with a Transformer's ``context`` (default: ``bptt``, the window it is
    trained on); a ``bptt`` longer than the context is refused."""
    if model_kwargs.get("architecture", "lstm") != "transformer":
        return model_kwargs
    context = model_kwargs.get("context", bptt)
    if bptt > context:
        raise ValueError(f"bptt: a Transformer reads at most context={context} tokens, got {bptt}")
    return {**model_kwargs, "context": context}


# ---------------------------------------------------------------------- sampling
def _start_id(tokenizer: Tokenizer) -> int:
    """What an empty prime starts from: a newline where the model has seen them (a stream model
    never saw ``<bos>``), else ``<bos>``."""
    return tokenizer.vocab.stoi.get("\n", tokenizer.vocab.bos_id)


def _prime_ids(tokenizer: Tokenizer, prime: str) -> list[int]:
    prime_ids = tokenizer.encode(prime)
    if len(prime_ids) > MAX_PRIME_TOKENS:
        warnings.warn(
            f"prime: {len(prime_ids)} tokens; only the last {MAX_PRIME_TOKENS} condition the sample",
            UserWarning,
            stacklevel=3,
        )
        prime_ids = prime_ids[-MAX_PRIME_TOKENS:]
    return prime_ids


def sample_text(
    model: LanguageModel,
    tokenizer: Tokenizer,
    prime: str,
    length: int,
    *,
    temperature: float = 0.8,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    stream: TextIO | None = None,
) -> str:
    """Generate ``length`` tokens after ``prime``; with ``stream`` (a text file), write each
    token's text as soon as it is sampled."""
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    vocab = tokenizer.vocab
    out: list[int] = []
    shown = ""  # what the stream has received: each step writes the new end of the decoded text
    for tok in model.generate(
        _prime_ids(tokenizer, prime),
        length,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        generator=gen,
        stop_ids=(),
        suppress_ids=(vocab.pad_id, vocab.bos_id, vocab.eos_id),
        start_id=_start_id(tokenizer),
    ):
        out.append(tok)
        if stream is not None:
            text = tokenizer.decode(out)
            # word and subword decoding may re-glue the end (a piece completing a word, a closing
            # mark): write only what is settled, all but the last word, then the rest at the end
            settled = text[: text.rfind(" ") + 1] if tokenizer.kind != "char" else text
            if settled.startswith(shown) and len(settled) > len(shown):
                stream.write(settled[len(shown) :])
                stream.flush()
                shown = settled
    text = tokenizer.decode(out)
    if stream is not None:
        stream.write(text[len(shown) :] if text.startswith(shown) else "\n" + text)
        stream.flush()
    return text


# ---------------------------------------------------------------------- lstmkit textgen train
@dataclass(frozen=True)
class TextgenJobConfig:
    """The settings of :func:`run` (``lstmkit textgen train``).

    Args:
        training: the shared training settings (:class:`TrainOptions`).
        corpus: a bundled corpus (``kjv``, ``fortunes``, ``pydoc``), unless ``text_file``.
        text_file: train on this text file instead (its last 10% is the validation text).
        encoding: the encoding of ``text_file``.
        wrap: hard-wrap every split's lines at this many columns (at spaces; a line stays one
            line where it fits), as Karpathy et al. (2015) trained on wrapped text; ``None``: as is.
        tokenizer: ``"char"``, ``"word"`` or ``"bpe"``. vocab_size: cap on the vocabulary.
        bpe_merges: BPE merge operations. max_train_chars: use only the first N training characters.
        model: keyword arguments of :class:`LanguageModel` (``architecture``, ``embed_dim``,
            ``hidden_size``, ``num_layers``, ``variant``, ``tie_weights``, dropouts; a
            Transformer's ``context`` is ``bptt`` unless given).
        bptt: truncated-BPTT length. optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` or ``"ntasgd"``.
        sample_length: tokens sampled at the end.
        ngram_orders: orders of the Kneser-Ney baselines (comma-separated; empty: none).
        echo: print the table and the sample (stdout).
    """

    training: TrainOptions = TRAINING
    corpus: str = "kjv"
    text_file: str | None = None
    encoding: str = "utf-8"
    wrap: int | None = None
    tokenizer: str = "char"
    vocab_size: int | None = None
    bpe_merges: int = 2000
    max_train_chars: int | None = None
    model: dict[str, Any] = field(default_factory=dict)
    bptt: int = 128
    optimizer: str = "adam"
    sample_length: int = 300
    ngram_orders: str = "5"
    echo: bool = False


@dataclass
class TextgenJobResult:
    """What :func:`run` made: the training result, the test bits, the table and the sample."""

    lm: LMResult
    test_bits: float | None
    headers: list[str]
    rows: list[list[Any]]
    sample: str
    folder: str


def _load_texts(config: TextgenJobConfig) -> tuple[str, str, str | None, str]:
    """(train, valid, test or None, name) of the corpus or of the text file, wrapped with ``wrap``."""
    train, valid, test, name = _read_texts(config)
    if config.wrap is None:
        return train, valid, test, name
    w = config.wrap
    return wrap_lines(train, w), wrap_lines(valid, w), None if test is None else wrap_lines(test, w), name


def _read_texts(config: TextgenJobConfig) -> tuple[str, str, str | None, str]:
    """(train, valid, test or None, name) of the corpus or of the text file."""
    if config.text_file:
        text = read_text(config.text_file, encoding=config.encoding)
        if len(text) < 100:
            raise ValueError(f"--text-file: expected at least 100 characters of text, got {len(text)}")
        cut = int(len(text) * 0.9)
        return text[:cut], text[cut:], None, Path(config.text_file).name
    corpus = load_text_corpus(config.corpus)
    return corpus.train, corpus.valid, corpus.test, config.corpus


def run(config: TextgenJobConfig) -> TextgenJobResult:
    """Train the language model, measure it next to the n-gram baselines, save the bundle and
    sample from it; the run folder is replaced only when all of it succeeded.

    Args:
        config: the settings.

    Returns:
        the model, its bits per token, the table and the sample (:class:`TextgenJobResult`).
    """
    orders = ngram_orders(config.ngram_orders)
    opts = config.training
    if opts.threads:
        torch.set_num_threads(opts.threads)
    train, valid, test, name = _load_texts(config)
    if config.max_train_chars:
        train = train[: config.max_train_chars]
    tokenizer = make_tokenizer(config.tokenizer, bpe_merges=config.bpe_merges)
    final_dir = opts.run_dir or f"runs/textgen-{name}-{config.tokenizer}"
    with run_folder(final_dir, "textgen", overwrite=opts.overwrite) as run_dir:
        start = time.perf_counter()
        res = train_language_model(
            train,
            valid,
            tokenizer,
            model_kwargs=config.model,
            optimizer=config.optimizer,
            bptt=config.bptt,
            vocab_size=config.vocab_size,
            training=opts,
            run_dir=run_dir,
        )
        test_bits = None
        if test:
            test_bits = bits_per_token(stream_nll(res.model, tokenizer.encode(test), batch_size=8, bptt=512))
        extra = {"corpus": name, "valid_bits": res.valid_bits, "test_bits": test_bits}
        extra |= {"cpu_seconds": res.cpu_seconds, "wall_seconds": res.wall_seconds}
        save_bundle(
            Path(run_dir) / "model.pt",
            kind="lm",
            model=res.model,
            tokenizers={"text": tokenizer},
            extra=extra,
        )
        unit = "char" if config.tokenizer == "char" else "token"
        _add_gate_section(Path(run_dir), res.model, tokenizer.encode(valid[:6400]), unit)
        headers, rows = _table(config, res, test_bits, (train, valid, test), orders)
        if config.echo:
            ids = f"tokenizer {config.tokenizer} ({len(tokenizer)} ids)"
            print(f"corpus {name}: {len(train):,} training characters, {ids}")
            print(markdown_table(headers, rows))
            print(f"\nsample (temperature 0.8, seed {opts.seed}):")
        text = sample_text(res.model, tokenizer, "", config.sample_length, temperature=0.8, seed=opts.seed)
        if config.echo:
            print(text)
        log.info("model written to %s/model.pt (%.0f s in all)", final_dir, time.perf_counter() - start)
    return TextgenJobResult(res, test_bits, headers, rows, text, final_dir)


def _add_gate_section(run_dir: Path, model: LanguageModel, ids: list[int], unit: str) -> None:
    """Add the gates of the model's LSTM on (up to) 4 chunks of 200 validation tokens ``ids``
    to the trainer's ``report.html``."""
    steps = min(200, len(ids))
    if steps < 2:
        return
    n = min(4, len(ids) // steps)
    tokens = torch.tensor(ids[: n * steps], dtype=torch.long, device=next(model.parameters()).device)
    tokens = tokens.reshape(n, steps)  # (N, L)
    what = f"the language model, on {n} chunk{'s' if n > 1 else ''} of {steps} validation {unit}s"
    add_sections(run_dir / "report.html", gate_sections(model, lambda: model(tokens), run_dir, what=what))


def _table(
    config: TextgenJobConfig,
    res: LMResult,
    test_bits: float | None,
    texts: tuple[str, str, str | None],
    orders: list[int],
) -> tuple[list[str], list[list[Any]]]:
    """The headers and rows of the table: the network, then a Kneser-Ney model per order."""
    train, valid, test = texts
    tokenizer = res.tokenizer
    unit = "char" if config.tokenizer == "char" else "token"
    headers = ["model", "params", "CPU s", "wall s", "steps", f"{unit}s seen"]
    headers += [f"valid bits/{unit}", "valid ppl", f"test bits/{unit}"]
    cfg = res.model.config()
    name = ARCHITECTURE_NAMES[cfg["architecture"]]
    lstm = f"{name} {cfg['num_layers']}x{cfg['hidden_size']}, emb {cfg['embed_dim']}"
    rows: list[list[Any]] = [
        [
            lstm,
            f"{count_parameters(res.model):,}",
            f"{res.cpu_seconds:.0f}",
            f"{res.wall_seconds:.0f}",
            res.steps,
            f"{res.tokens_seen:,}",
            f"{res.valid_bits:.3f}",
            _ppl(res.valid_bits),
            f"{test_bits:.3f}" if test_bits is not None else "-",
        ]
    ]
    seen = f"{len(tokenizer.encode(train)) if tokenizer.kind != 'char' else len(train):,}"
    for order in orders:
        row = ngram_baseline(tokenizer, train, valid, test, order)
        rows.append(
            [
                f"Kneser-Ney {order}-gram (D={row['d']:.2f})",
                f"{int(row['ngrams']):,} n-grams",
                f"{row['seconds']:.0f}",
                "",
                "",
                seen,
                f"{row['valid_bits']:.3f}",
                _ppl(row["valid_bits"]),
                f"{row['test_bits']:.3f}" if test else "-",
            ]
        )
    return headers, rows


def _ppl(bits: float) -> str:
    return f"{perplexity(bits * math.log(2)):.2f}"


# ---------------------------------------------------------------------- lstmkit textgen sample
@dataclass(frozen=True)
class SampleJobConfig:
    """The settings of :func:`sample` (``lstmkit textgen sample``).

    Args:
        checkpoint: ``model.pt`` or the run folder holding it.
        prime: the text to continue. prime_file: read it from this file instead (``-``:
            stdin), in ``encoding``. length: tokens to generate (>= 0).
        temperature: sampling temperature (0: greedy). top_k, top_p: sample among the k most
            likely tokens, or within the nucleus of mass p. seed: for a repeatable sample.
        stream: write the prime, then each token as it is sampled, to this file (stdout for
            the command); ``None``: write nothing.
    """

    checkpoint: str
    prime: str = ""
    prime_file: str | None = None
    encoding: str = "utf-8"
    length: int = 300
    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    stream: TextIO | None = None


def sample(config: SampleJobConfig) -> str:
    """Load a trained language model and continue ``config.prime``; returns the continuation."""
    bundle, toks = load_bundle(config.checkpoint, "lm")
    model = LanguageModel(**bundle["config"])
    model.load_state_dict(bundle["model"])
    model.eval()
    prime = config.prime
    if config.prime_file:
        prime = read_input_text(None, config.prime_file, config.encoding, what="prime")
    if config.length < 0:
        raise ValueError(f"--length: expected an int >= 0, got {config.length}")
    if config.stream is not None:
        config.stream.write(prime)
    text = sample_text(
        model,
        toks["text"],
        prime,
        config.length,
        temperature=config.temperature,
        top_k=config.top_k,
        top_p=config.top_p,
        seed=config.seed,
        stream=config.stream,
    )
    if config.stream is not None:
        config.stream.write("\n")
    return text

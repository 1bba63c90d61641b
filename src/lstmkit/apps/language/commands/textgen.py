"""``lstmkit textgen train|sample``: a character / word / subword LSTM language model on real text."""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lstmkit.apps.language.commands.common import (
    TimeBudget,
    add_train_args,
    count_parameters,
    load_bundle,
    markdown_table,
    read_input_text,
    save_bundle,
    train_options,
)
from lstmkit.apps.language.corpora import load_text_corpus
from lstmkit.apps.language.lm import LanguageModel, bits_per_token, perplexity, stream_nll
from lstmkit.apps.language.text import (
    BPETokenizer,
    CharTokenizer,
    StreamBatches,
    Tokenizer,
    WordTokenizer,
    read_text,
)
from lstmkit.io.html import run_folder

log = logging.getLogger("lstmkit.textgen")

__all__ = ["LMResult", "make_tokenizer", "register", "sample_text", "train_language_model"]

CORPUS_NAMES = ("kjv", "fortunes", "pydoc")
MAX_PRIME_TOKENS = 5000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "textgen",
        help="train a character/word LSTM language model on real text and sample from it",
        description="Language model: train on a bundled corpus or your own UTF-8 text file, report "
        "validation bits per token, and generate text (temperature, top-k, nucleus sampling).",
    )
    s = p.add_subparsers(dest="textgen_command", metavar="{train,sample}")
    s.required = True
    t = s.add_parser(
        "train",
        help="train a language model",
        description="Train an LSTM language model; prints validation/test bits per token and a sample, "
        "writes RUN_DIR/model.pt, metrics.csv, curves.png and report.html.",
    )
    src = t.add_argument_group("data")
    src.add_argument("--corpus", choices=CORPUS_NAMES, default="kjv", help="bundled corpus (default kjv)")
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

    g = s.add_parser(
        "sample",
        help="generate text from a trained model (streamed token by token)",
        description="Stream a continuation of --prime (or of nothing) to stdout, token by token.",
    )
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


def make_tokenizer(kind: str, *, bpe_merges: int = 2000) -> Tokenizer:
    if kind == "char":
        return CharTokenizer()
    if kind == "word":
        return WordTokenizer(lowercase=False)
    if kind == "bpe":
        return BPETokenizer(num_merges=bpe_merges, lowercase=False)
    raise ValueError(f"tokenizer: expected 'char', 'word' or 'bpe', got {kind!r}")


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


def train_language_model(
    train_text: str,
    valid_text: str,
    tokenizer: Tokenizer,
    *,
    model_kwargs: dict[str, Any],
    lr: float = 3e-3,
    optimizer: str = "adam",
    batch_size: int = 32,
    bptt: int = 128,
    epochs: int = 1,
    max_steps: int | None = None,
    time_budget: float | None = None,
    budget_clock: str = "cpu",
    clip_norm: float | None = 1.0,
    vocab_size: int | None = None,
    seed: int = 0,
    run_dir: str | None = None,
    progress: bool = True,
) -> LMResult:
    """Fit the tokenizer on ``train_text``, train a :class:`LanguageModel` with the trainer
    (truncated BPTT with the state carried across chunks, Adam, clipping), and measure bits
    per token on ``valid_text``."""
    from lstmkit.fit import TrainConfig, Trainer, sequence_cross_entropy

    if not train_text.strip():
        raise ValueError("train_text: expected a non-empty training text")
    if not tokenizer.fitted:
        tokenizer.fit([train_text], max_size=vocab_size)
    torch.manual_seed(seed)
    model = LanguageModel(len(tokenizer.vocab), **model_kwargs)
    train_ids = tokenizer.encode(train_text)
    valid_ids = tokenizer.encode(valid_text)
    train = StreamBatches(train_ids, batch_size, bptt)
    config = TrainConfig(
        optimizer=optimizer,
        lr=lr,
        clip_norm=clip_norm,
        tbptt_k1=bptt,
        carry_state=True,
        max_epochs=epochs,
        max_steps=max_steps,
        schedule="constant",
        restore_best=False,
        monitor="train_loss",  # the weights at the end of the budget are the result
        run_dir=run_dir,
        progress=progress,
        plot=run_dir is not None,
        log_every=10,
        seed=seed,
    )
    budget = TimeBudget(time_budget, budget_clock)
    trainer = Trainer(model, config, loss_fn=sequence_cross_entropy, callbacks=[budget])
    # validation after every epoch, for the curves (its time counts in the budget; a few seconds)
    valid = StreamBatches(valid_ids, 8, bptt) if len(valid_ids) > 16 * bptt else None
    history = trainer.fit(train, valid)
    log.info(
        "trained %d steps in %.0f s CPU (%.0f s wall); evaluating",
        trainer.global_step,
        budget.cpu,
        budget.wall,
    )
    valid_bits = bits_per_token(stream_nll(model, valid_ids, batch_size=8, bptt=512))
    return LMResult(
        model,
        tokenizer,
        budget.cpu,
        budget.wall,
        trainer.global_step,
        trainer.global_step * batch_size * bptt,
        valid_bits,
        history,
    )


def _start_id(tokenizer: Tokenizer) -> int:
    """What an empty prime starts from: a newline where the model has seen them (a stream model
    never saw ``<bos>``), else ``<bos>``."""
    return tokenizer.vocab.stoi.get("\n", tokenizer.vocab.bos_id)


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
    stream: Any = None,
) -> str:
    """Generate ``length`` tokens after ``prime``; with ``stream`` (a text file), write each
    token's text as soon as it is sampled."""
    prime_ids = tokenizer.encode(prime)
    if len(prime_ids) > MAX_PRIME_TOKENS:
        warnings.warn(
            f"prime: {len(prime_ids)} tokens; only the last {MAX_PRIME_TOKENS} condition the sample",
            UserWarning,
            stacklevel=2,
        )
        prime_ids = prime_ids[-MAX_PRIME_TOKENS:]
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    out: list[int] = []
    shown = ""  # what the stream has received: each step writes the new end of the decoded text
    for tok in model.generate(
        prime_ids,
        length,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        generator=gen,
        stop_ids=(),
        suppress_ids=(tokenizer.vocab.pad_id, tokenizer.vocab.bos_id, tokenizer.vocab.eos_id),
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


def ngram_baseline(
    tokenizer: Tokenizer, train: str, valid: str, test: str | None, order: int
) -> dict[str, float]:
    """Fit an interpolated Kneser-Ney model of ``order`` on the training tokens (the same
    tokenization as the LSTM's), tune its discount on the first 50,000 validation tokens and
    measure bits per token on valid and test. The "params" column reports its n-grams (distinct,
    of every order up to ``order``)."""
    from lstmkit.apps.language.ngram import KneserNeyLM

    start = time.perf_counter()

    def toks(text: str) -> list[int] | str:
        return text if tokenizer.kind == "char" else tokenizer.encode(text)

    lm = KneserNeyLM(order=order).fit(toks(train))
    valid_t = toks(valid)
    lm.tune_discount(valid_t[:50_000], grid=(0.6, 0.7, 0.8, 0.9, 0.95))
    row = {
        "d": lm.discount,
        "valid_bits": lm.bits_per_symbol(valid_t),
        "test_bits": lm.bits_per_symbol(toks(test)) if test else float("nan"),
        "ngrams": float(sum(len(nexts) for c in lm._counts[1:] for nexts in c.values())),
    }
    row["seconds"] = time.perf_counter() - start
    return row


def _load_texts(args: argparse.Namespace) -> tuple[str, str, str | None, str]:
    if args.text_file:
        text = read_text(args.text_file, encoding=args.encoding)
        if len(text) < 100:
            raise ValueError(f"--text-file: expected at least 100 characters of text, got {len(text)}")
        cut = int(len(text) * 0.9)
        return text[:cut], text[cut:], None, Path(args.text_file).name
    corpus = load_text_corpus(args.corpus)
    return corpus.train, corpus.valid, corpus.test, args.corpus


def _ngram_orders(text: str | None) -> list[int]:
    """``--ngram-orders`` as ints >= 1 (checked before any training)."""
    try:
        orders = [int(o) for o in text.split(",") if o.strip()] if text else []
    except ValueError:
        orders = [0]
    if any(o < 1 for o in orders):
        raise ValueError(f"--ngram-orders: expected comma-separated ints >= 1, got {text!r}")
    return orders


def _train_cmd(args: argparse.Namespace) -> int:
    orders = _ngram_orders(args.ngram_orders)
    if args.threads:
        torch.set_num_threads(args.threads)
    train, valid, test, name = _load_texts(args)
    if args.max_train_chars:
        train = train[: args.max_train_chars]
    tokenizer = make_tokenizer(args.tokenizer, bpe_merges=args.bpe_merges)
    final_dir = args.run_dir or f"runs/textgen-{name}-{args.tokenizer}"
    with run_folder(
        final_dir, "textgen", overwrite=args.overwrite
    ) as run_dir:  # a failed run leaves the old folder as it was
        model_kwargs = {
            "embed_dim": args.embed_dim,
            "hidden_size": args.hidden_size,
            "num_layers": args.layers,
            "variant": args.variant,
            "tie_weights": not args.no_tie,
            "dropout": args.dropout,
            "embed_dropout": args.embed_dropout,
            "input_dropout": args.input_dropout,
            "recurrent_dropout": args.recurrent_dropout,
            "weight_drop": args.weight_drop,
        }
        start = time.perf_counter()
        res = train_language_model(
            train,
            valid,
            tokenizer,
            model_kwargs=model_kwargs,
            optimizer=args.optimizer,
            bptt=args.bptt,
            vocab_size=args.vocab_size,
            run_dir=run_dir,
            **train_options(args),
        )
        unit = "char" if args.tokenizer == "char" else "token"
        test_bits = (
            bits_per_token(stream_nll(res.model, tokenizer.encode(test), batch_size=8, bptt=512))
            if test
            else None
        )
        save_bundle(
            Path(run_dir) / "model.pt",
            kind="lm",
            model=res.model,
            tokenizers={"text": tokenizer},
            extra={
                "corpus": name,
                "valid_bits": res.valid_bits,
                "test_bits": test_bits,
                "cpu_seconds": res.cpu_seconds,
                "wall_seconds": res.wall_seconds,
            },
        )
        print(
            f"corpus {name}: {len(train):,} training characters, "
            f"tokenizer {args.tokenizer} ({len(tokenizer)} ids)"
        )
        headers = ["model", "params", "CPU s", "wall s", "steps", f"{unit}s seen"]
        headers += [f"valid bits/{unit}", "valid ppl", f"test bits/{unit}"]
        rows: list[list[Any]] = [
            [
                f"LSTM {args.layers}x{args.hidden_size}, emb {args.embed_dim}",
                f"{count_parameters(res.model):,}",
                f"{res.cpu_seconds:.0f}",
                f"{res.wall_seconds:.0f}",
                res.steps,
                f"{res.tokens_seen:,}",
                f"{res.valid_bits:.3f}",
                f"{perplexity(res.valid_bits * math.log(2)):.2f}",
                f"{test_bits:.3f}" if test_bits is not None else "-",
            ]
        ]
        for order in orders:
            row = ngram_baseline(tokenizer, train, valid, test, order)
            rows.append(
                [
                    f"Kneser-Ney {order}-gram (D={row['d']:.2f})",
                    f"{int(row['ngrams']):,} n-grams",
                    f"{row['seconds']:.0f}",
                    "",
                    "",
                    f"{len(tokenizer.encode(train)) if tokenizer.kind != 'char' else len(train):,}",
                    f"{row['valid_bits']:.3f}",
                    f"{perplexity(row['valid_bits'] * math.log(2)):.2f}",
                    f"{row['test_bits']:.3f}" if test else "-",
                ]
            )
        print(markdown_table(headers, rows))
        print(f"\nsample (temperature 0.8, seed {args.seed}):")
        print(sample_text(res.model, tokenizer, "", args.sample_length, temperature=0.8, seed=args.seed))
        log.info("model written to %s/model.pt (%.0f s in all)", final_dir, time.perf_counter() - start)
        return 0


def _sample_cmd(args: argparse.Namespace) -> int:
    bundle, toks = load_bundle(args.checkpoint, "lm")
    model = LanguageModel(**bundle["config"])
    model.load_state_dict(bundle["model"])
    model.eval()
    tokenizer = toks["text"]
    prime = (
        read_input_text(None, args.prime_file, args.encoding, what="prime") if args.prime_file else args.prime
    )
    if args.length < 0:
        raise ValueError(f"--length: expected an int >= 0, got {args.length}")
    sys.stdout.write(prime)
    sample_text(
        model,
        tokenizer,
        prime,
        args.length,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        stream=sys.stdout,
    )
    sys.stdout.write("\n")
    return 0

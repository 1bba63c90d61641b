"""``lstmkit translate train|predict``: English -> French LSTM encoder-decoder with attention on
real message-catalogue pairs, BLEU and chrF next to a word-by-word dictionary baseline, and
attention heat maps."""

from __future__ import annotations

import argparse
import html
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lstmkit.apps.language.commands.common import (
    TimeBudget,
    add_train_args,
    count_parameters,
    load_bundle,
    read_input_text,
    save_bundle,
    train_options,
)
from lstmkit.apps.language.corpora import ParallelSplits, load_freedict, load_numbers, load_parallel
from lstmkit.apps.language.seq2seq import ATTENTIONS, Hypothesis, Seq2Seq
from lstmkit.apps.language.text import (
    BPETokenizer,
    BucketBatchSampler,
    Tokenizer,
    WordTokenizer,
    pad_sequences,
)
from lstmkit.io.html import run_folder

log = logging.getLogger("lstmkit.translate")

__all__ = [
    "TranslatorResult",
    "corpus_scores",
    "plot_attention",
    "register",
    "train_translator",
    "translate_texts",
    "write_attention_report",
]

MAX_SRC_TOKENS = 100


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "translate",
        help="train an attention encoder-decoder (English -> French) or translate with one",
        description="Sequence-to-sequence translation on English/French pairs from Debian message "
        "catalogues; BLEU and chrF (sacrebleu) next to a FreeDict word-by-word baseline.",
    )
    s = p.add_subparsers(dest="translate_command", metavar="{train,predict}")
    s.required = True
    t = s.add_parser(
        "train",
        help="train, evaluate BLEU/chrF, write attention heat maps",
        description="Train on the train pairs (early stopping on validation loss), decode the test pairs "
        "greedily and with beam search, score them with sacrebleu BLEU and chrF next to the dictionary "
        "baseline, and write RUN_DIR/model.pt, attention.png and report.html.",
    )
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

    q = s.add_parser(
        "predict",
        help="translate texts with a trained model",
        description="Translate each text (English -> French); prints one translation per line.",
    )
    q.add_argument("texts", nargs="*", help="English texts")
    q.add_argument("--checkpoint", default="runs/translate-debian-l10n-fr", help="model.pt or its run folder")
    q.add_argument("--file", default=None, help="translate each line of this file (- for stdin)")
    q.add_argument("--encoding", default="utf-8", help="encoding of --file (default utf-8)")
    q.add_argument("--beam", type=int, default=5, help="beam size; 1 = greedy (default 5)")
    q.add_argument(
        "--attention-png", default=None, help="write the attention heat map of the first text here"
    )
    q.set_defaults(func=_predict_cmd)


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
def _encode_src(tok: Tokenizer, text: str) -> list[int]:
    ids = tok.encode(text)
    if len(ids) > MAX_SRC_TOKENS - 1:
        log.warning("source of %d tokens truncated to %d", len(ids), MAX_SRC_TOKENS - 1)
        ids = ids[: MAX_SRC_TOKENS - 1]
    return [*ids, tok.vocab.eos_id]  # never empty: "" -> [<eos>]


def _pair_batches(
    src: list[list[int]], tgt: list[list[int]], batch_size: int, *, shuffle: bool, seed: int
) -> Any:
    sampler = BucketBatchSampler([len(s) for s in src], batch_size, shuffle=shuffle, seed=seed)

    def collate(idx: list[int]) -> tuple[torch.Tensor, ...]:
        s, s_len = pad_sequences([src[i] for i in idx])
        t_in, _ = pad_sequences([[2, *tgt[i]] for i in idx])
        t_out, _ = pad_sequences([[*tgt[i], 3] for i in idx])
        return s, s_len, t_in, t_out

    class _Loader:
        def __len__(self) -> int:
            return len(sampler)

        def __iter__(self) -> Any:
            return (collate(b) for b in sampler)

    return _Loader()


def _step(model: Seq2Seq, batch: tuple[torch.Tensor, ...]) -> Any:
    from lstmkit.fit import StepOutput, sequence_cross_entropy

    src, src_len, tgt_in, tgt_out = batch
    logits = model(src, src_len, tgt_in)  # (N, T, V)
    mask = tgt_out != model.pad_id
    return StepOutput(sequence_cross_entropy(logits, tgt_out, mask), weight=float(mask.sum()))


# ----------------------------------------------------------------------------------------------
# training, decoding, scoring
# ----------------------------------------------------------------------------------------------
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


def train_translator(
    data: ParallelSplits,
    *,
    tokenizer: str = "bpe",
    bpe_merges: int = 4000,
    vocab_size: int | None = 8000,
    model_kwargs: dict[str, Any] | None = None,
    lr: float = 2e-3,
    batch_size: int = 64,
    epochs: int = 30,
    patience: int | None = 3,
    max_steps: int | None = None,
    time_budget: float | None = None,
    budget_clock: str = "cpu",
    clip_norm: float | None = 1.0,
    seed: int = 0,
    run_dir: str | None = None,
    progress: bool = True,
) -> TranslatorResult:
    """Fit source and target tokenizers on the training pairs and train a :class:`Seq2Seq` with
    the trainer (teacher forcing, masked token cross-entropy, Adam, early stopping on
    validation loss, best weights restored)."""
    from lstmkit.fit import TrainConfig, Trainer

    src_tok, tgt_tok = make_tokenizers(tokenizer, bpe_merges)
    src_tok.fit([s for s, _ in data.train], max_size=vocab_size)
    tgt_tok.fit([t for _, t in data.train], max_size=vocab_size)
    torch.manual_seed(seed)
    model = Seq2Seq(len(src_tok.vocab), len(tgt_tok.vocab), **(model_kwargs or {}))

    def enc(pairs: list[tuple[str, str]]) -> tuple[list[list[int]], list[list[int]]]:
        return [_encode_src(src_tok, s) for s, _ in pairs], [
            tgt_tok.encode(t)[: 2 * MAX_SRC_TOKENS] for _, t in pairs
        ]

    train_src, train_tgt = enc(data.train)
    valid_src, valid_tgt = enc(data.valid)
    config = TrainConfig(
        optimizer="adam",
        lr=lr,
        clip_norm=clip_norm,
        max_epochs=epochs,
        max_steps=max_steps,
        monitor="val_loss",
        patience=patience,
        restore_best=True,
        run_dir=run_dir,
        progress=progress,
        plot=run_dir is not None,
        seed=seed,
    )
    budget = TimeBudget(time_budget, budget_clock)
    trainer = Trainer(model, config, step=_step, callbacks=[budget])
    history = trainer.fit(
        _pair_batches(train_src, train_tgt, batch_size, shuffle=True, seed=seed),
        _pair_batches(valid_src, valid_tgt, 128, shuffle=False, seed=seed),
    )
    return TranslatorResult(model, src_tok, tgt_tok, budget.used, len(history.epochs), history)


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


def plot_attention(
    examples: list[tuple[list[str], list[str], torch.Tensor]], path: str | Path, *, title: str = ""
) -> None:
    """Heat maps of attention weights: one panel per (source tokens, output tokens, (T, S) weights)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lstmkit.fit.checkpoint import atomic_write_bytes

    n = len(examples)
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 4.5), squeeze=False)
    for ax, (src, out, w) in zip(axes[0], examples):
        ax.imshow(w.numpy(), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(src)))
        ax.set_xticklabels(src, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(out)))
        ax.set_yticklabels(out, fontsize=8)
        ax.set_xlabel("source (English)")
        ax.set_ylabel("output (French)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def _attention_example(
    src_tok: Tokenizer, tgt_tok: Tokenizer, text: str, hyp: Hypothesis
) -> tuple[list[str], list[str], torch.Tensor]:
    src = src_tok.vocab.tokens(_encode_src(src_tok, text))
    out = tgt_tok.vocab.tokens(hyp.tokens)
    if hyp.attention.shape[0] > len(out):
        out = [*out, "<eos>"]
    return src, out, hyp.attention[: len(out), : len(src)]


def write_attention_report(
    path: str | Path, *, title: str, table: list[dict[str, Any]], samples: list[dict[str, str]], image: str
) -> None:
    """A self-contained HTML page: the score table, sample translations and the heat map."""
    import base64

    from lstmkit.fit.checkpoint import atomic_write_text

    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px}th{background:#f4f4f4}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><h2>Test scores</h2><table><tr>",
    ]
    keys = list(table[0]) if table else []
    parts.extend(f"<th>{html.escape(k)}</th>" for k in keys)
    parts.append("</tr>")
    for row in table:
        parts.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(f'{v:.2f}' if isinstance(v, float) else str(v))}</td>"
                for v in row.values()
            )
            + "</tr>"
        )
    parts.append("</table>")
    if Path(image).is_file():
        data = base64.b64encode(Path(image).read_bytes()).decode("ascii")
        parts.append(f"<h2>Attention</h2><img alt='attention heat maps' src='data:image/png;base64,{data}'>")
    parts.append("<h2>Sample translations</h2><table><tr><th>English</th><th>reference</th><th>model</th>")
    parts.append("<th>dictionary</th></tr>")
    for s in samples:
        parts.append(
            "<tr>" + "".join(f"<td>{html.escape(s.get(k, ''))}</td>" for k in ("src", "ref", "model", "dict"))
        )
        parts.append("</tr>")
    parts.append("</table></body></html>")
    atomic_write_text(path, "\n".join(parts))


def _train_cmd(args: argparse.Namespace) -> int:
    if args.beam < 1:  # checked before the training, not after it
        raise ValueError(f"--beam: expected an int >= 1, got {args.beam}")
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_numbers() if args.pairs == "numbers-en-fr" else load_parallel(args.pairs)
    final_dir = args.run_dir or f"runs/translate-{args.pairs}"
    with run_folder(
        final_dir, "translate", overwrite=args.overwrite
    ) as tmp_dir:  # a failed run leaves the old folder as it was
        run_dir = Path(tmp_dir)
        model_kwargs = {
            "embed_dim": args.embed_dim,
            "hidden_size": args.hidden_size,
            "num_layers": args.layers,
            "attention": args.attention,
            "dropout": args.dropout,
        }
        res = train_translator(
            data,
            tokenizer=args.tokenizer,
            bpe_merges=args.bpe_merges,
            vocab_size=args.vocab_size,
            model_kwargs=model_kwargs,
            patience=args.patience,
            run_dir=str(run_dir),
            **train_options(args),
        )
        save_bundle(
            run_dir / "model.pt",
            kind="translate",
            model=res.model,
            tokenizers={"src": res.src_tok, "tgt": res.tgt_tok},
            extra={"pairs": data.name},
        )
        test = data.test[: args.eval_limit] if args.eval_limit else data.test
        srcs, refs = [s for s, _ in test], [t for _, t in test]
        rows: list[dict[str, Any]] = []
        print(
            f"{data.name}: {len(data.train)} train / {len(data.valid)} valid / {len(test)} test pairs "
            "(en -> fr)"
        )
        stop = res.history.stop_reason or "max_epochs"
        print(
            f"trained {res.epochs} epochs ({stop}, best epoch {res.history.best_epoch}) "
            f"in {res.train_seconds:.0f} s CPU"
        )
        print(f"{'system':<40}{'BLEU':>7}{'chrF':>7}{'decode s':>10}")
        outputs: dict[str, list[tuple[str, Hypothesis]]] = {}
        for beam in sorted({1, args.beam}):
            start = time.perf_counter()
            outs = translate_texts(res.model, res.src_tok, res.tgt_tok, srcs, beam_size=beam)
            sec = time.perf_counter() - start
            outputs[f"beam{beam}"] = outs
            sc = corpus_scores([o for o, _ in outs], refs)
            decoding = "greedy" if beam == 1 else f"beam {beam}"
            name = f"LSTM {args.attention} {decoding} ({count_parameters(res.model):,} p)"
            rows.append({"system": name, "BLEU": sc["bleu"], "chrF": sc["chrf"], "decode s": sec})
            print(f"{name:<40}{sc['bleu']:>7.2f}{sc['chrf']:>7.2f}{sec:>10.1f}")
        dict_out: list[str] = []
        if not args.no_baseline:
            from lstmkit.apps.language.dictionary import DictionaryTranslator

            start = time.perf_counter()
            dt = DictionaryTranslator(load_freedict())
            dict_out = [dt.translate(s) for s in srcs]
            sc = corpus_scores(dict_out, refs)
            sec = time.perf_counter() - start
            rows.append(
                {"system": "FreeDict word-by-word", "BLEU": sc["bleu"], "chrF": sc["chrf"], "decode s": sec}
            )
            print(f"{'FreeDict word-by-word':<40}{sc['bleu']:>7.2f}{sc['chrf']:>7.2f}{sec:>10.1f}")
        best = outputs[f"beam{args.beam}"]
        order = sorted(range(len(srcs)), key=lambda i: (len(srcs[i].split()) < 4, -len(srcs[i]) % 7, i))
        picks = [i for i in order if 4 <= len(srcs[i].split()) <= 9][:3] or list(range(min(3, len(srcs))))
        examples = [_attention_example(res.src_tok, res.tgt_tok, srcs[i], best[i][1]) for i in picks]
        plot_attention(
            examples, run_dir / "attention.png", title=f"{args.attention} attention, test sentences"
        )
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
        print("\nsamples (English | reference | model):")
        for s in samples[:8]:
            print(f"  {s['src']}\n    ref:   {s['ref']}\n    model: {s['model']}")
        log.info("model, attention.png and report.html written to %s", final_dir)
        return 0


def _predict_cmd(args: argparse.Namespace) -> int:
    bundle, toks = load_bundle(args.checkpoint, "translate")
    model = Seq2Seq(**bundle["config"])
    model.load_state_dict(bundle["model"])
    if args.file is not None:
        if args.texts:
            raise ValueError("texts: give texts or --file, not both")
        texts = read_input_text(None, args.file, args.encoding).splitlines()
    else:
        texts = list(args.texts)
    if not texts:
        raise ValueError("texts: expected at least one text (argument or --file)")
    if args.beam < 1:
        raise ValueError(f"--beam: expected an int >= 1, got {args.beam}")
    outs = translate_texts(model, toks["src"], toks["tgt"], texts, beam_size=args.beam)
    for out, _ in outs:
        print(out)
    if args.attention_png:
        ex = _attention_example(toks["src"], toks["tgt"], texts[0], outs[0][1])
        plot_attention([ex], args.attention_png)
        log.info("attention heat map written to %s", args.attention_png)
    return 0

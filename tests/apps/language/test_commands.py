"""Short real trainings (thresholds an untrained model misses) and the commands end to end."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from lstmkit.apps.language.commands.sentiment import classify, f1_macro, train_classifier
from lstmkit.apps.language.commands.textgen import train_language_model
from lstmkit.apps.language.commands.translate import corpus_scores, train_translator, translate_texts
from lstmkit.apps.language.corpora import (
    LabelledSplits,
    LabelledText,
    ParallelSplits,
    load_parallel,
    load_text_corpus,
    load_vader,
)
from lstmkit.apps.language.text import CharTokenizer
from lstmkit.cli import main


@pytest.mark.slow
def test_char_lm_learns_python_docs() -> None:
    c = load_text_corpus("pydoc")
    tok = CharTokenizer()
    res = train_language_model(
        c.train[:80_000],
        c.valid[:6_000],
        tok,
        model_kwargs={"embed_dim": 32, "hidden_size": 128, "num_layers": 1},
        lr=1e-2,
        batch_size=32,
        bptt=32,
        epochs=50,
        max_steps=300,
        progress=False,
    )
    unigram = -sum(p * math.log2(p) for p in _freqs(c.train[:80_000]).values())
    # untrained: ~log2(vocab) = 6.5 bits; a unigram model: ~4.6 bits; context must be used to pass
    assert res.valid_bits < unigram - 1.0, (res.valid_bits, unigram)
    assert res.steps == 300


def _freqs(text: str) -> dict[str, float]:
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    return {k: v / len(text) for k, v in counts.items()}


@pytest.mark.slow
def test_sentiment_classifier_learns_vader_movies() -> None:
    d = load_vader("movies")
    res = train_classifier(
        d,
        model_kwargs={"embed_dim": 32, "hidden_size": 32, "dropout": 0.3},
        lr=5e-3,
        batch_size=32,
        epochs=1,
        max_steps=200,
        vocab_size=8000,
        progress=False,
    )
    pred, probs = classify(res.model, res.tokenizer, d.test.texts)
    acc = sum(p == g for p, g in zip(pred, d.test.labels)) / len(pred)
    assert acc > 0.64, acc  # chance is 0.5 on this balanced set
    assert f1_macro(pred, d.test.labels, 2) > 0.6
    torch.testing.assert_close(probs.sum(1), torch.ones(len(pred)))


@pytest.mark.slow
def test_translator_learns_short_pairs() -> None:
    full = load_parallel()
    short = [(s, t) for s, t in full.train if len(s.split()) <= 2 and len(t.split()) <= 3][:1500]
    data = ParallelSplits("short", "en", "fr", short, short[:64], [])
    res = train_translator(
        data,
        tokenizer="word",
        vocab_size=3000,
        model_kwargs={"embed_dim": 64, "hidden_size": 96},
        lr=5e-3,
        batch_size=32,
        epochs=12,
        patience=None,
        progress=False,
    )
    probe = short[:150]
    outs = translate_texts(res.model, res.src_tok, res.tgt_tok, [s for s, _ in probe], beam_size=1)
    scores = corpus_scores([o for o, _ in outs], [t for _, t in probe])
    assert scores["chrf"] > 60, scores  # an untrained decoder scores ~5, 4 epochs ~12, 12 epochs ~95


def test_f1_macro() -> None:
    assert f1_macro([1, 1, 0, 0], [1, 0, 0, 0], 2) == pytest.approx((2 / 3 + 0.8) / 2)
    assert f1_macro([1, 1], [1, 1], 2) == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------------- CLI
def test_textgen_cli_train_and_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    text = tmp_path / "tiny.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    run = tmp_path / "run"
    rc = main(
        [
            "textgen",
            "train",
            "--text-file",
            str(text),
            "--embed-dim",
            "8",
            "--hidden-size",
            "16",
            "--layers",
            "1",
            "--bptt",
            "16",
            "--batch-size",
            "4",
            "--max-steps",
            "3",
            "--run-dir",
            str(run),
            "--no-progress",
            "--sample-length",
            "20",
            "--ngram-orders",
            "3",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "valid bits/char" in out and "Kneser-Ney 3-gram" in out
    assert (run / "model.pt").is_file()
    rc = main(
        [
            "textgen",
            "sample",
            "--checkpoint",
            str(run),
            "--prime",
            "the ☃ fox",
            "--length",
            "15",
            "--seed",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and out.startswith("the ☃ fox") and len(out.strip()) >= len("the ☃ fox") + 5
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 ".encode("latin-1") * 100)
    assert main(["textgen", "train", "--text-file", str(bad), "--run-dir", str(tmp_path / "r2")]) == 1
    assert "not valid utf-8" in caplog.text
    assert main(["textgen", "sample", "--checkpoint", str(tmp_path / "nothing")]) == 1


def test_sentiment_cli_train_predict_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    run = tmp_path / "sent"
    rc = main(
        [
            "sentiment",
            "train",
            "--embed-dim",
            "8",
            "--hidden-size",
            "8",
            "--max-steps",
            "3",
            "--epochs",
            "1",
            "--run-dir",
            str(run),
            "--no-progress",
            "--no-baseline",
            "--ensemble",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "test acc" in out and "ensemble of 2" in out
    rc = main(
        ["sentiment", "predict", "--checkpoint", str(run), "--attention", "a gorgeous film", "zzqx ☃ " * 300]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and len(lines) == 2
    assert lines[0].split("\t")[0] in ("negative", "positive") and "attention:" in lines[0]
    assert main(["sentiment", "predict", "--checkpoint", str(run), ""]) == 1
    assert "non-empty text" in caplog.text
    assert main(["textgen", "sample", "--checkpoint", str(run)]) == 1  # a sentiment model is no LM
    assert "is not an lstmkit lm model" in caplog.text


def test_translate_cli_train_predict_with_attention_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "tr"
    rc = main(
        [
            "translate",
            "train",
            "--embed-dim",
            "16",
            "--hidden-size",
            "16",
            "--bpe-merges",
            "200",
            "--max-steps",
            "3",
            "--epochs",
            "1",
            "--eval-limit",
            "12",
            "--beam",
            "2",
            "--run-dir",
            str(run),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "BLEU" in out and "FreeDict word-by-word" in out
    assert (run / "attention.png").read_bytes()[:4] == b"\x89PNG" and (run / "report.html").is_file()
    png = tmp_path / "att.png"
    rc = main(
        [
            "translate",
            "predict",
            "--checkpoint",
            str(run),
            "--beam",
            "1",
            "--attention-png",
            str(png),
            "Open the file",
            "",
            "x" * 2000,
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert rc == 0 and len(lines) == 3 and png.read_bytes()[:4] == b"\x89PNG"


def test_labelled_text_container() -> None:
    lt = LabelledText(["a", "b"], [0, 1])
    assert len(lt) == 2 and lt.scores == []
    assert "train=2" in repr(LabelledSplits("x", ("n", "p"), lt, lt, lt))


def test_time_budget_stops_training() -> None:
    c = load_text_corpus("pydoc")
    res = train_language_model(
        c.train[:20_000],
        c.valid[:2_000],
        CharTokenizer(),
        model_kwargs={"embed_dim": 8, "hidden_size": 16, "num_layers": 1},
        batch_size=4,
        bptt=16,
        epochs=5,
        time_budget=1e-6,
        progress=False,
    )
    assert res.steps == 1 and res.cpu_seconds > 0 and res.wall_seconds > 0


def test_sampling_with_overlong_prime_warns_and_empty_prime_works() -> None:
    from lstmkit.apps.language.commands.textgen import MAX_PRIME_TOKENS, sample_text
    from lstmkit.apps.language.lm import LanguageModel

    tok = CharTokenizer().fit(["abcdef "])
    lm = LanguageModel(len(tok), 8, 8, 1)
    with pytest.warns(UserWarning, match=f"only the last {MAX_PRIME_TOKENS}"):
        out = sample_text(lm, tok, "abc" * MAX_PRIME_TOKENS, 5, seed=0)
    assert len(out) == 5
    assert len(sample_text(lm, tok, "", 7, temperature=0)) == 7


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_streamed_sample_is_the_returned_text(kind) -> None:
    import io

    from lstmkit.apps.language.commands.textgen import sample_text
    from lstmkit.apps.language.lm import LanguageModel
    from lstmkit.apps.language.text import BPETokenizer, WordTokenizer

    text = "The cat sat on the mat. 'Quiet,' said the dog, \"quiet!\" And the cat's tail-end moved."
    tok = {
        "char": CharTokenizer(),
        "word": WordTokenizer(lowercase=False),
        "bpe": BPETokenizer(num_merges=20),
    }[kind]
    tok.fit([text])
    torch.manual_seed(0)
    lm = LanguageModel(len(tok), 8, 8, 1)
    buf = io.StringIO()
    out = sample_text(lm, tok, "The cat", 40, seed=3, stream=buf)
    assert buf.getvalue() == out and len(out) > 0


def test_kneser_ney_row_counts_ngrams() -> None:
    from lstmkit.apps.language.commands.textgen import ngram_baseline

    text = "abracadabra " * 20
    row = ngram_baseline(CharTokenizer().fit([text]), text, text[:60], None, 3)
    # distinct n-grams of orders 1 to 3 in the training text ("a", ..., "ab", ..., "abr", ...)
    distinct = {text[i : i + n] for n in (1, 2, 3) for i in range(len(text) - n + 1)}
    assert row["ngrams"] == len(distinct)


def test_a_failed_textgen_run_leaves_the_previous_run_as_it_was(tmp_path: Path, monkeypatch) -> None:
    import lstmkit.apps.language.commands.textgen as textgen

    text = tmp_path / "tiny.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    run = tmp_path / "run"
    cmd = ["textgen", "train", "--text-file", str(text), "--embed-dim", "8", "--hidden-size", "16",
           "--layers", "1", "--bptt", "16", "--batch-size", "4", "--max-steps", "3", "--run-dir", str(run),
           "--no-progress", "--sample-length", "5", "--ngram-orders", "3"]  # fmt: skip
    assert main(cmd) == 0
    before = {f.name: f.read_bytes() for f in run.iterdir() if f.is_file()}
    assert "model.pt" in before

    def late_failure(*args, **kwargs):
        raise ValueError("disk quota exceeded (simulated, after training)")

    monkeypatch.setattr(textgen, "sample_text", late_failure)
    assert main(cmd) == 1
    assert {f.name: f.read_bytes() for f in run.iterdir() if f.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "tiny.txt"]  # no temporary left

"""The language-model job: a short real training, sampling (streamed, primed) and the job as a library."""

from __future__ import annotations

import math

import pytest
import torch

from lstmkit.apps.language.corpora import load_text_corpus
from lstmkit.apps.language.text import CharTokenizer
from lstmkit.apps.language.textgen import train_language_model


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


def test_sampling_with_overlong_prime_warns_and_empty_prime_works() -> None:
    from lstmkit.apps.language.lm import LanguageModel
    from lstmkit.apps.language.textgen import MAX_PRIME_TOKENS, sample_text

    tok = CharTokenizer().fit(["abcdef "])
    lm = LanguageModel(len(tok), 8, 8, 1)
    with pytest.warns(UserWarning, match=f"only the last {MAX_PRIME_TOKENS}"):
        out = sample_text(lm, tok, "abc" * MAX_PRIME_TOKENS, 5, seed=0)
    assert len(out) == 5
    assert len(sample_text(lm, tok, "", 7, temperature=0)) == 7


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_streamed_sample_is_the_returned_text(kind) -> None:
    import io

    from lstmkit.apps.language.lm import LanguageModel
    from lstmkit.apps.language.text import BPETokenizer, WordTokenizer
    from lstmkit.apps.language.textgen import sample_text

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


def test_the_train_and_sample_jobs_as_a_library(tmp_path) -> None:
    from lstmkit.apps.language.textgen import SampleJobConfig, TextgenJobConfig, TextgenJobResult, run, sample
    from lstmkit.apps.language.training import TrainOptions

    text = tmp_path / "tiny.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    options = TrainOptions(
        lr=3e-3, batch_size=4, epochs=1, max_steps=3, run_dir=str(tmp_path / "run"), progress=False
    )
    model = {"embed_dim": 8, "hidden_size": 16, "num_layers": 1}
    config = TextgenJobConfig(
        options, text_file=str(text), model=model, bptt=16, sample_length=5, ngram_orders="2,3"
    )
    result = run(config)
    assert isinstance(result, TextgenJobResult) and result.lm.steps == 3 and result.test_bits is None
    assert [r[0].split()[0] for r in result.rows] == ["LSTM", "Kneser-Ney", "Kneser-Ney"]
    assert len(result.sample) > 0 and (tmp_path / "run" / "model.pt").is_file()
    page = (tmp_path / "run" / "report.html").read_text()
    assert "LSTM gates and cell states" in page and "on 1 chunk of 180 validation chars" in page
    assert (tmp_path / "run" / "gates_heatmaps.png").is_file() and page.rstrip().endswith("</html>")
    out = sample(SampleJobConfig(str(tmp_path / "run"), prime="the ", length=6, seed=1))
    assert len(out) > 0


def test_ngram_orders_are_checked_before_training() -> None:
    from lstmkit.apps.language.textgen import TextgenJobConfig, run

    with pytest.raises(ValueError, match="--ngram-orders"):
        run(TextgenJobConfig(ngram_orders="3,x"))


def test_wrap_breaks_long_lines_at_spaces_and_keeps_newlines() -> None:
    from lstmkit.apps.language.corpora.plain import wrap_lines
    from lstmkit.apps.language.textgen import TextgenJobConfig, _load_texts

    verse = "And God said, Let there be light: and there was light.\nAnd God saw the light, that it was good."
    wrapped = wrap_lines(verse, 20)
    assert wrapped.split() == verse.split()  # the same words in the same order
    assert max(len(line) for line in wrapped.split("\n")) <= 20
    assert wrapped.count("\n") > verse.count("\n") and "light.\nAnd God" in wrapped  # the verse break
    assert wrap_lines("a " + "x" * 30, 12) == "a\n" + "x" * 30  # a long word stays whole
    with pytest.raises(ValueError, match="--wrap: expected an int >= 10"):
        wrap_lines(verse, 5)
    _, valid, test, _ = _load_texts(TextgenJobConfig(corpus="pydoc", wrap=60))
    assert test is not None
    assert max(len(line) for line in valid.split("\n") if " " in line.strip()) <= 60

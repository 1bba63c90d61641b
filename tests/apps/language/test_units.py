"""lstmkit.apps.language.units: property signals of hand texts, the activations of every layer,
the report, and a quote-tracking unit that a tiny character LM learns in a few seconds."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lstmkit.apps.language.lm import LanguageModel
from lstmkit.apps.language.tokenizers import CharTokenizer, WordTokenizer
from lstmkit.apps.language.units import (
    PROPERTIES,
    confirm_units,
    find_interpretable_units,
    lm_unit_activations,
    text_properties,
    units_markdown,
    units_report,
)
from lstmkit.explain.units import best_units, unit_correlations


def test_quote_and_nesting_signals() -> None:
    p = text_properties('a "bc" (d (e) f)) "g\n\nh')
    # the closing quote is outside, a blank line closes a quote; an unmatched ) stays at 0
    assert p["in quotes"].tolist() == [0, 0, 1, 1, 1] + [0] * 13 + [1, 1, 1, 0, 0]
    assert p["paren depth"].tolist() == [0] * 7 + [1, 1, 1, 2, 2, 1, 1, 1, 0, 0] + [0] * 6
    assert p["in parens"].tolist() == (p["paren depth"] > 0).tolist()
    assert text_properties("[a[b]]c")["bracket depth"].tolist() == [1, 1, 2, 2, 1, 0, 0]


def test_line_word_and_punctuation_signals() -> None:
    text = "ab cd.\n  e: f"
    p = text_properties(text)
    assert p["line position"].tolist() == [1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6]
    assert p["to line end"].tolist() == [6, 5, 4, 3, 2, 1, 0, 6, 5, 4, 3, 2, 1]
    assert p["word position"].tolist() == [1, 2, 0, 1, 2, 0, 0, 0, 0, 1, 0, 0, 1]
    assert p["since punctuation"].tolist() == [1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 0, 1, 2]
    assert p["to punctuation"].tolist() == [5, 4, 3, 2, 1, 0, 4, 3, 2, 1, 0, 2, 1]
    assert p["line start"].tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert p["after colon"].tolist() == [0] * 10 + [1, 1, 1]
    assert p["indented line"].tolist() == [0] * 6 + [1] * 7
    assert p["is space"].tolist() == [float(c == " ") for c in text]
    assert tuple(p) == PROPERTIES and all(v.shape == (len(text),) for v in p.values())


def _lm(vocab: int, hidden: int = 6, layers: int = 2, seed: int = 0) -> LanguageModel:
    torch.manual_seed(seed)
    return LanguageModel(vocab, embed_dim=4, hidden_size=hidden, num_layers=layers)


def test_activations_are_every_layers_states_with_the_state_carried() -> None:
    text = "the cat (sat) on the mat.\n" * 3
    tok = CharTokenizer().fit([text])
    model = _lm(len(tok.vocab))
    acts, labels = lm_unit_activations(model, tok, text, chunk=512)
    assert acts.shape == (len(text), 24)
    assert labels[:7] == [f"l0.c[{i}]" for i in range(6)] + ["l0.h[0]"] and labels[-1] == "l1.h[5]"
    with torch.no_grad():
        out, (h, c) = model.lstm(model.embedding(torch.tensor([tok.encode(text)])))
    np.testing.assert_allclose(acts[:, 18:], out[0].numpy(), atol=1e-5)  # the last layer's h
    np.testing.assert_allclose(acts[-1, 0:6], c[0, 0].numpy(), atol=1e-5)  # layer 0's final c
    np.testing.assert_allclose(acts[-1, 6:12], h[0, 0].numpy(), atol=1e-5)  # and h
    chunked, _ = lm_unit_activations(model, tok, text, chunk=7)
    np.testing.assert_allclose(chunked, acts, atol=1e-5)
    tanh_c, names = lm_unit_activations(model, tok, text, states=("tanh_c",))
    np.testing.assert_allclose(tanh_c[:, :6], np.tanh(acts[:, :6]), atol=1e-5)
    assert names[0] == "l0.tanh_c[0]"


def test_bad_arguments_name_themselves() -> None:
    tok = CharTokenizer().fit(["abc"])
    model = _lm(len(tok.vocab))
    with pytest.raises(ValueError, match="tokenizer: expected a CharTokenizer"):
        lm_unit_activations(model, WordTokenizer().fit(["a b"]), "a b")
    with pytest.raises(ValueError, match="states: expected some of"):
        lm_unit_activations(model, tok, "abc", states=("x",))
    with pytest.raises(ValueError, match="text: expected at least 2 characters, got 1"):
        lm_unit_activations(model, tok, "a")


def test_report_writes_escaped_coloured_text(tmp_path) -> None:
    text = 'x <y> "a & b" (c)\n' * 40
    tok = CharTokenizer().fit([text])
    model = _lm(len(tok.vocab))
    found = find_interpretable_units(model, tok, text, k=2)
    assert set(found.best) == set(PROPERTIES) and len(found.best["in quotes"]) == 2
    table = units_markdown(found, 1)
    assert table.count("\n") == len(PROPERTIES) + 1 and "| in quotes | `l" in table
    same = confirm_units(found, model, tok, text)  # on the text they were chosen on: the same r
    assert all(same[p] == pytest.approx(found.best[p][0].r, abs=1e-9) for p in PROPERTIES)
    other = confirm_units(found, model, tok, 'no quotes "here" at all (none)\n' * 20)
    assert set(other) == set(PROPERTIES) and other["after colon"] == 0.0  # no colon: constant
    assert f"| {other['in quotes']:+.3f} |" in units_markdown(found, 2, other)
    signals = {name: text_properties(text)[name] for name in ("in quotes", "in parens")}
    found = find_interpretable_units(model, tok, text, properties=signals)
    fragment = units_report(found, tmp_path / "rep", length=50, png=True)
    page = (tmp_path / "rep" / "units.html").read_text()
    assert fragment in page and "<y>" not in fragment and "&lt;" in fragment
    assert fragment.count("<figure") == 2
    assert (tmp_path / "rep" / "unit-in-quotes.png").read_bytes()[:4] == b"\x89PNG"


def _quoted_text(n_words: int, seed: int) -> str:
    """Random lowercase words; some stretches in double quotes are UPPERCASE, so predicting a
    letter's case needs to remember whether a quote is open."""
    rng = random.Random(seed)
    words, inside = [], False
    for _ in range(n_words):
        word = "".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.15:
            inside = not inside
            word = '"' + word.upper() if inside else word + '"'
        words.append(word.upper() if inside and not word.startswith('"') else word)
    return " ".join(words)


def _train(model: LanguageModel, ids: torch.Tensor, steps: int) -> None:
    """Truncated BPTT over 16 contiguous rows, Adam."""
    data = ids[: ids.numel() // 16 * 16].view(16, -1)  # (16, L)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    state, pos, bptt = None, 0, 40
    for _ in range(steps):
        if pos + bptt + 1 > data.shape[1]:
            state, pos = None, 0
        logits, state = model(data[:, pos : pos + bptt], state)
        state = tuple(s.detach() for s in state)
        loss = F.cross_entropy(logits.flatten(0, 1), data[:, pos + 1 : pos + bptt + 1].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        pos += bptt


def test_a_trained_lm_has_a_quote_unit_an_untrained_one_lacks() -> None:
    torch.set_num_threads(1)
    text, held = _quoted_text(6000, 0), _quoted_text(1500, 1234)
    tok = CharTokenizer().fit([text, held])
    spaces = np.array([c == " " for c in held])  # the same input inside and outside quotes
    quoted = text_properties(held)["in quotes"][spaces]

    def best_at_spaces(model: LanguageModel) -> float:
        acts, labels = lm_unit_activations(model, tok, held)
        table = unit_correlations(acts[spaces], {"in quotes": quoted}, labels=labels)
        return abs(best_units(table)["in quotes"][0].r)

    model = _lm(len(tok.vocab), hidden=16, layers=1)
    untrained = best_at_spaces(model)
    _train(model, torch.tensor(tok.encode(text)), 300)
    trained = best_at_spaces(model)
    assert trained > 0.97 and untrained < 0.9 and trained - untrained > 0.15, (trained, untrained)
    whole = find_interpretable_units(model, tok, held, k=1).best["in quotes"][0]
    assert abs(whole.r) > 0.85

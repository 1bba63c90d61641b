"""The tokenizers: round trips, unknown and bad input, truncation, BPE, state, quotes."""

from __future__ import annotations

import pytest

from lstmkit.apps.language.tokenizers import BPETokenizer, CharTokenizer, WordTokenizer, tokenizer_from_state


def test_char_tokenizer_roundtrip_unknown_and_empty() -> None:
    tok = CharTokenizer().fit(["hello world"])
    assert tok.decode(tok.encode("hello")) == "hello"
    ids = tok.encode("hi☃")
    assert ids[1] == tok.vocab.unk_id and ids[2] == tok.vocab.unk_id  # 'i' and '☃' unseen: <unk>, no error
    assert tok.decode(ids) == "h<unk><unk>"
    assert tok.encode("") == []
    assert tok.encode("", add_bos=True, add_eos=True) == [tok.vocab.bos_id, tok.vocab.eos_id]
    assert tok.decode([tok.vocab.bos_id, *tok.encode("lo"), tok.vocab.eos_id, *tok.encode("he")]) == "lo"


def test_tokenizer_bad_input() -> None:
    tok = CharTokenizer()
    with pytest.raises(ValueError, match="call fit"):
        tok.encode("abc")
    tok.fit(["abc"])
    with pytest.raises(TypeError, match="bytes"):
        tok.encode(b"abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected str"):
        tok.encode(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one non-empty text"):
        CharTokenizer().fit(["", ""])
    with pytest.raises(ValueError, match="overflow"):
        CharTokenizer(overflow="drop")


def test_word_tokenizer_split_and_join() -> None:
    tok = WordTokenizer(lowercase=False)
    assert tok.split("Hello, world! It's 42.") == ["Hello", ",", "world", "!", "It'", "s", "42", "."]
    assert tok.join(tok.split("Hello, world! It's 42.")) == "Hello, world! It's 42."
    assert tok.split("l'homme (libre)") == ["l'", "homme", "(", "libre", ")"]
    assert tok.split("vingt-deux - -l") == ["vingt", "@-@", "deux", "-", "-", "l"]
    assert tok.join(tok.split("quatre-vingt-dix sous-menu")) == "quatre-vingt-dix sous-menu"
    bpe = BPETokenizer(num_merges=20, lowercase=False).fit(["vingt-deux vingt-trois"] * 3)
    assert bpe.decode(bpe.encode("vingt-trois")) == "vingt-trois"
    assert tok.join(tok.split("l'homme (libre)")) == "l'homme (libre)"
    fitted = WordTokenizer().fit(["The cat sat.", "The dog sat!"], max_size=6)
    assert fitted.decode(fitted.encode("the zebra sat")) == "the <unk> sat"


def test_overlong_input_truncates_with_warning_or_errors() -> None:
    tok = CharTokenizer(max_length=5).fit(["abcdefgh"])
    with pytest.warns(UserWarning, match="truncated to max_length=5"):
        ids = tok.encode("abcdefgh", add_eos=True)
    assert len(ids) == 5 and ids[-1] == tok.vocab.eos_id and tok.decode(ids) == "abcd"
    with pytest.raises(ValueError, match="longer than max_length=5"):
        tok.encode("abcdefgh", overflow="error")
    assert len(tok.encode("abc", max_length=10)) == 3


def test_bpe_learns_frequent_words_and_spells_rare_ones() -> None:
    texts = ["the lower newest widest lowest", "newer lower wider lowest"] * 20
    tok = BPETokenizer(num_merges=60, lowercase=False).fit(texts)
    assert tok.split("lowest") == ["lowest</w>"]  # frequent word: one piece
    pieces = tok.split("slowwidest")  # never seen as a word: spelled in known pieces
    assert len(pieces) > 1 and tok.vocab.unk_id not in tok.vocab.lookup(pieces)
    assert tok.decode(tok.encode("the slowwidest newer")) == "the slowwidest newer"
    assert tok.decode(tok.encode("lowest zq")) == "lowest <unk> <unk>"  # unseen characters only
    # a word of known characters is never <unk>: a merge the training words always went past
    # ("rmeture" was only ever part of "fermeture"), a character seen only inside words ("a" at
    # the end of "ca"), pieces cut by max_size
    tok = BPETokenizer(num_merges=100).fit(["fermeture"] * 3)
    assert tok.decode(tok.encode("rmeture fer mute")) == "rmeture fer mute"
    assert (
        BPETokenizer(num_merges=0).fit(["abc"]).decode(BPETokenizer(num_merges=0).fit(["abc"]).encode("ca"))
        == "ca"
    )
    small = BPETokenizer(num_merges=50).fit(["slowly slower slowest fast faster"] * 2, max_size=5)
    assert small.vocab.unk_id not in small.encode("slow faster")
    assert small.decode(small.encode("slow faster")) == "slow faster"


def test_tokenizer_state_roundtrip(tmp_path) -> None:
    text = "In the beginning God created the heaven and the earth. And the earth was without form."
    for tok in (CharTokenizer(), WordTokenizer(max_length=50), BPETokenizer(num_merges=30)):
        tok.fit([text])
        tok.save(tmp_path / "tok.json")
        again = tokenizer_from_state(tmp_path / "tok.json")
        assert type(again) is type(tok) and again.vocab == tok.vocab
        probe = "And God saw the light, that it was good."
        assert again.encode(probe) == tok.encode(probe)
        assert again.max_length == tok.max_length


def test_word_decoding_restores_quotes_around_words() -> None:
    w = WordTokenizer(lowercase=False)
    for text in ["'git apply' failed", 'say "hello" now', "l'homme d'un \"autre\" temps", "(disabled)"]:
        assert w.join(w.split(text)) == text


def test_lowercase_option_of_every_tokenizer() -> None:
    assert [CharTokenizer().lowercase, WordTokenizer().lowercase, BPETokenizer().lowercase] == [
        False,
        True,
        True,
    ]
    for tok in (CharTokenizer(lowercase=True), WordTokenizer(lowercase=False), BPETokenizer(lowercase=False)):
        tok.fit(["Hello World hello world"])
        again = tokenizer_from_state(tok.state_dict())
        assert again.lowercase == tok.lowercase and again.encode("Hello") == tok.encode("Hello")
    assert CharTokenizer(lowercase=True).fit(["ab"]).encode("AB") == CharTokenizer().fit(["ab"]).encode("ab")

"""Text data: vocabularies, tokenizers, truncation, padding, bucketing, LM streams, bad input."""

from __future__ import annotations

import random

import pytest
import torch

from lstmkit.apps.language.text import (
    BOS,
    EOS,
    PAD,
    UNK,
    BPETokenizer,
    BucketBatchSampler,
    CharTokenizer,
    StreamBatches,
    Vocab,
    WordTokenizer,
    batchify,
    pad_sequences,
    read_text,
    tokenizer_from_state,
)


def test_vocab_specials_frequency_order_limits() -> None:
    v = Vocab.build([["b", "a", "a", "c", "c", "c"], ["d"]], max_size=6)
    assert v.itos[:4] == [PAD, UNK, BOS, EOS]
    assert v.itos[4:] == ["c", "a"]  # two most frequent fill the 6 ids
    assert v.lookup(["a", "b", "zzz"]) == [5, 1, 1]
    assert Vocab.build([["x", "y", "y"]], min_freq=2).itos[4:] == ["y"]
    with pytest.raises(ValueError, match="ids: expected ids in"):
        v.tokens([99])
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build([["a"]], max_size=3)
    with pytest.raises(ValueError, match="duplicate or reserved"):
        Vocab(["a", "a"])


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


def test_read_text_non_utf8(tmp_path) -> None:
    p = tmp_path / "latin1.txt"
    p.write_bytes("café crème".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not valid utf-8 \(byte 0xe9 at offset 3"):
        read_text(p)
    assert read_text(p, encoding="latin-1") == "café crème"
    replaced = read_text(p, errors="replace")
    assert "\ufffd" in replaced
    tok = CharTokenizer().fit(["cafe creme"])
    assert tok.vocab.unk_id in tok.encode(replaced)  # U+FFFD is just an unknown character
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_text(tmp_path / "missing.txt")


def test_pad_sequences_values_lengths_and_errors() -> None:
    padded, lengths = pad_sequences([[5, 6, 7], [8], torch.tensor([9, 10])])
    assert padded.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert lengths.tolist() == [3, 1, 2]
    tm, _ = pad_sequences([[5, 6], [7]], pad_id=1, batch_first=False)
    assert tm.tolist() == [[5, 7], [6, 1]]
    with pytest.raises(ValueError, match=r"sequences\[1\]: expected at least 1 token"):
        pad_sequences([[1], []])
    with pytest.raises(ValueError, match="empty batch"):
        pad_sequences([])


def test_bucket_sampler_covers_everything_and_reduces_padding() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(1, 100) for _ in range(1000)]
    sampler = BucketBatchSampler(lengths, 16, seed=3)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert len(batches) == len(sampler)

    def padding(bs: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in bs)

    order = list(range(1000))
    rng.shuffle(order)
    plain = [order[i : i + 16] for i in range(0, 1000, 16)]
    assert padding(batches) < 0.25 * padding(plain)
    assert list(BucketBatchSampler(lengths, 16, seed=3)) == batches  # deterministic
    assert list(sampler) != batches  # next epoch: another order
    ordered = list(BucketBatchSampler(lengths, 16, shuffle=False))
    flat = [lengths[i] for b in ordered for i in b]
    assert flat == sorted(flat)
    dl = BucketBatchSampler(lengths, 16, drop_last=True, seed=1)
    assert all(len(b) == 16 for b in dl) and len(list(dl)) == len(dl)
    with pytest.raises(ValueError, match="batch_size"):
        BucketBatchSampler(lengths, 0)


def test_batchify_and_stream_batches() -> None:
    ids = list(range(103))
    rows = batchify(ids, 4)
    assert rows.shape == (4, 25) and rows[1, 0] == 25 and rows[3, 24] == 99
    chunks = list(StreamBatches(ids, 4, 10))
    assert len(chunks) == len(StreamBatches(ids, 4, 10)) == 3
    for x, y in chunks:
        assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal(y - x, torch.ones_like(x))
    assert torch.cat([x for x, _ in chunks], 1).tolist() == rows[:, :-1].tolist()
    with pytest.raises(ValueError, match="too few"):
        batchify([1, 2, 3], 4)


def test_word_decoding_restores_quotes_around_words() -> None:
    w = WordTokenizer(lowercase=False)
    for text in ["'git apply' failed", 'say "hello" now', "l'homme d'un \"autre\" temps", "(disabled)"]:
        assert w.join(w.split(text)) == text

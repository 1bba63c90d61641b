"""Text data: vocabularies, character / word / subword tokenizers, padding and length bucketing.

The pieces a text model needs between a string and a tensor, and nothing about models:

* :class:`Vocab` maps tokens to ids with four fixed specials (``<pad>`` = 0, ``<unk>`` = 1,
  ``<bos>`` = 2, ``<eos>`` = 3), a size limit and a minimum frequency.
* :class:`CharTokenizer`, :class:`WordTokenizer` and :class:`BPETokenizer` (byte-pair
  encoding subwords, Sennrich et al. 2016) split text, learn a vocabulary with ``fit``,
  ``encode`` text to ids (unknown tokens become ``<unk>``, never an error; over-long input is
  truncated with a warning or refused, as chosen) and ``decode`` ids back to text. Their
  ``state_dict`` is plain JSON so a checkpoint can carry the tokenizer.
* :func:`pad_sequences` pads id lists into an (N, L) batch plus (N,) lengths;
  :class:`BucketBatchSampler` groups sequences of similar length so little of each batch is
  padding (the usual 2-4x speed-up for recurrent models on text).
* :func:`read_text` reads a file as UTF-8 and turns a decoding failure into an error that
  names the file, the byte offset and the ways out.

The pieces live in :mod:`~lstmkit.apps.language.vocab`, :mod:`~lstmkit.apps.language.tokenizers`,
:mod:`~lstmkit.apps.language.batching` and :mod:`lstmkit.io.text`; this module gathers them.

Example::

    >>> tok = WordTokenizer(lowercase=True).fit(["The cat sat.", "The dog sat!"])
    >>> ids = [tok.encode(t, add_eos=True) for t in ["the cat", "a zebra sat"]]
    >>> batch, lengths = pad_sequences(ids, pad_id=tok.vocab.pad_id)
    >>> tok.decode(ids[1])
    '<unk> <unk> sat'
"""

from __future__ import annotations

from lstmkit.apps.language.batching import BucketBatchSampler, StreamBatches, batchify, pad_sequences
from lstmkit.apps.language.tokenizers import (
    OVERFLOW_MODES,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    WordTokenizer,
    tokenizer_from_state,
)
from lstmkit.apps.language.vocab import BOS, EOS, PAD, SPECIALS, UNK, Vocab
from lstmkit.io.text import decode_text, read_text

__all__ = [
    "BOS",
    "EOS",
    "OVERFLOW_MODES",
    "PAD",
    "SPECIALS",
    "UNK",
    "BPETokenizer",
    "BucketBatchSampler",
    "CharTokenizer",
    "StreamBatches",
    "Tokenizer",
    "Vocab",
    "WordTokenizer",
    "batchify",
    "decode_text",
    "pad_sequences",
    "read_text",
    "tokenizer_from_state",
]

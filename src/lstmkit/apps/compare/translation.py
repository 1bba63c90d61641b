"""The en->fr translation task: English -> French Debian message-catalogue pairs (the translate
app's data), next to the FreeDict word-by-word translation.

The models are the two encoder-decoders :class:`~lstmkit.apps.language.seq2seq.Seq2Seq` has:
an LSTM (bidirectional encoder, Luong attention; the translate app's default) and a Transformer
(non-causal encoder, causal decoder with cross-attention). There is no GRU, Elman RNN or TCN
encoder-decoder in lstmkit, so this task compares those two only rather than pretend.

Both read the same BPE sub-words (one source and one target tokenizer fitted on the training
pairs), train by :func:`~lstmkit.apps.language.translate.train_translator` for the same number of
epochs without early stopping (the weights of the epoch of lowest validation loss are kept, as
the app does), and are scored by corpus BLEU (sacrebleu) of their greedy translations of the
test pairs (the translate app reports greedy and beam-search BLEU; greedy is the cheaper and
the same for both); the rate search scores the validation pairs.

Parameters: the source and target embeddings (the same tables in both) are not counted; the
sizes match the rest (encoder, decoder, attention, output layer).

The latency columns time the architecture's streaming step at the matched width (the
decoder's step is the streaming part of translation; a Transformer's grows with its KV cache).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from typing import Any

from lstmkit.apps.compare.base import CompareTask, Metric, Score, Size, embedding_parameters, heads_for
from lstmkit.apps.compare.sentiment import epoch_training
from lstmkit.apps.language.corpora import ParallelSplits, load_freedict, load_numbers, load_parallel
from lstmkit.apps.language.dictionary import DictionaryTranslator
from lstmkit.apps.language.seq2seq import ARCHITECTURES as SEQ2SEQ
from lstmkit.apps.language.seq2seq import Seq2Seq
from lstmkit.apps.language.tokenizers import Tokenizer
from lstmkit.apps.language.translate import corpus_scores, make_tokenizers, train_translator, translate_texts

__all__ = ["TranslationTask", "en_fr"]

EMBED = 64  # both embeddings' width (every architecture)


@functools.lru_cache(maxsize=4)
def _data(pairs: str, train_pairs: int | None, eval_pairs: int | None) -> ParallelSplits:
    d = load_numbers(2000) if pairs == "numbers-en-fr" else load_parallel(pairs)
    return dataclasses.replace(
        d,
        train=d.train[:train_pairs] if train_pairs else d.train,
        valid=d.valid[:eval_pairs] if eval_pairs else d.valid,
        test=d.test[:eval_pairs] if eval_pairs else d.test,
    )


@functools.lru_cache(maxsize=4)
def _tokenizers(
    pairs: str, train_pairs: int | None, kind: str, merges: int, vocab_size: int
) -> tuple[Tokenizer, Tokenizer]:
    train = _data(pairs, train_pairs, None).train
    src, tgt = make_tokenizers(kind, merges)
    src.fit([s for s, _ in train], max_size=vocab_size)
    tgt.fit([t for _, t in train], max_size=vocab_size)
    return src, tgt


@dataclass(frozen=True)
class TranslationTask(CompareTask):
    """Translate the English -> French pairs ``pairs``; test BLEU of greedy decoding."""

    pairs: str = "debian-l10n-fr"
    train_pairs: int | None = None  # the first N training pairs (None: all)
    eval_pairs: int | None = None  # score the first N validation / test pairs (None: all)
    tokenizer: str = "bpe"
    bpe_merges: int = 2000
    vocab_size: int = 8000
    batch_size: int = 64

    def _parts(self) -> tuple[ParallelSplits, tuple[Tokenizer, Tokenizer]]:
        data = _data(self.pairs, self.train_pairs, self.eval_pairs)
        toks = _tokenizers(self.pairs, self.train_pairs, self.tokenizer, self.bpe_merges, self.vocab_size)
        return data, toks

    def _model_kwargs(self, architecture: str, width: int, layers: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"architecture": architecture, "embed_dim": EMBED}
        kwargs |= {"hidden_size": width, "num_layers": layers}
        return kwargs | ({"num_heads": heads_for(width)} if architecture == "transformer" else {})

    def count(self, architecture: str, width: int, layers: int) -> int:
        _, (src, tgt) = self._parts()
        net = Seq2Seq(len(src.vocab), len(tgt.vocab), **self._model_kwargs(architecture, width, layers))
        return sum(p.numel() for p in net.parameters() if p.requires_grad) - embedding_parameters(net)

    def train(self, size: Size, lr: float, seed: int, split: str) -> Score:
        data, (src, tgt) = self._parts()
        start = time.perf_counter()
        result = train_translator(
            data,
            tokenizers=(src, tgt),
            model_kwargs=self._model_kwargs(size.architecture, size.width, size.layers),
            patience=None,
            training=epoch_training(self, self.batch_size, lr, seed),
        )
        seconds = time.perf_counter() - start
        part = data.valid if split == "valid" else data.test
        out = translate_texts(result.model, src, tgt, [s for s, _ in part], beam_size=1)
        bleu = corpus_scores([o for o, _ in out], [t for _, t in part])["bleu"]
        return Score(bleu, seconds, float(result.epochs))

    def baseline(self, name: str, seed: int, split: str) -> Score:
        if name != "dictionary":
            return super().baseline(name, seed, split)
        data, _ = self._parts()
        part = data.valid if split == "valid" else data.test
        start = time.perf_counter()
        translator = DictionaryTranslator(load_freedict())
        out = [translator.translate(s) for s, _ in part]
        seconds = time.perf_counter() - start
        return Score(corpus_scores(out, [t for _, t in part])["bleu"], seconds)


def en_fr(budget: int, quick: bool) -> TranslationTask:
    """English -> French Debian messages (LSTM with attention and Transformer; FreeDict word by
    word the baseline)."""
    d = _data("debian-l10n-fr", None, None)
    train, evaluated = (1500, 200) if quick else (len(d.train), None)
    return TranslationTask(
        name="en-fr",
        title=f"en->fr Debian messages: {train} training pairs, BLEU of greedy decoding of "
        f"{evaluated or len(d.test)} test pairs (LSTM with attention vs Transformer: lstmkit has no "
        f"GRU, RNN or TCN encoder-decoder; parameters without the shared {EMBED}-wide embeddings)",
        metric=Metric("BLEU", higher_better=True),
        budget=3 if quick else budget,
        budget_unit="epochs",
        lrs=(1e-3, 3e-3, 1e-2),
        width=64,
        depth=(("transformer", 2),),
        baselines=("dictionary",),
        input_size=EMBED,
        time_limit=600.0,
        architectures=SEQ2SEQ,
        train_pairs=1500 if quick else None,
        eval_pairs=200 if quick else None,
        bpe_merges=1000 if quick else 2000,
    )

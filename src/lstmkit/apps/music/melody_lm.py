r"""The melody language model users hold: :class:`MelodyLM`, fit / score / generate / save /
load on :class:`lstmkit.fit.estimator.Estimator`, over note tokens
(:mod:`lstmkit.apps.music.melody`).

The vocabulary is made from the training tunes: the tokens seen at least ``min_count`` times,
and ``<pad>`` (0), ``<end>`` (1: it starts every tune as input and ends it as a target) and
``<unk>`` (2: every other token). A tune of n notes is read as ``<end> y_1 .. y_n`` and predicts
``y_1 .. y_n <end>``: n + 1 events.

Training minimizes the cross-entropy of those events (averaged over the real ones of a padded
batch of whole tunes; a batch holds tunes of similar lengths, the batches in a new random order
every epoch) with Adam, gradients clipped to norm 1, early stopping on the validation
tunes' NLL with the best epoch's weights kept. :meth:`MelodyLM.score` gives the NLL per event
in nats and bits; generation samples token by token (temperature T), never ``<pad>`` or
``<unk>``, until ``<end>`` or a length, carrying the encoder's state (a TCN re-reads the tune).

Shapes: tunes are sequences of token strings (``"67:1/2"``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, TensorDataset

from lstmkit.apps.music.estimator import SequenceModel
from lstmkit.apps.music.model import ARCHITECTURES, MelodyNet
from lstmkit.fit.estimator import check_int, check_rates, settings
from lstmkit.fit.step import StepOutput

__all__ = ["END", "PAD", "UNK", "MelodyConfig", "MelodyLM", "check_tunes", "vocabulary"]

PAD, END, UNK = 0, 1, 2
SPECIALS = ("<pad>", "<end>", "<unk>")
#: sequences per forward pass (a padded batch of long tunes times the vocabulary is large)
CHUNK = 64


def check_tunes(name: str, tunes: Any) -> list[tuple[str, ...]]:
    """``tunes`` as a non-empty list of non-empty token tuples; a one-line ``ValueError`` naming
    ``name`` otherwise."""
    if isinstance(tunes, str) or not isinstance(tunes, Sequence) or len(tunes) == 0:
        raise ValueError(
            f"{name}: expected a non-empty list of tunes (lists of note tokens), got {tunes!r:.60}"
        )
    out = []
    for i, tune in enumerate(tunes):
        if isinstance(tune, str) or not isinstance(tune, Sequence) or not tune:
            raise ValueError(
                f"{name}[{i}]: expected a non-empty list of tokens like '67:1/2', got {tune!r:.60}"
            )
        out.append(tuple(str(t) for t in tune))
    return out


def vocabulary(tunes: Any, min_count: int = 2) -> list[str]:
    """The tokens of ids 0, 1, ...: ``<pad>``, ``<end>``, ``<unk>``, then, sorted, the tokens
    of ``tunes`` seen at least ``min_count`` times."""
    counts = Counter(t for tune in check_tunes("tunes", tunes) for t in tune)
    return [*SPECIALS, *sorted(t for t, c in counts.items() if c >= min_count)]


class _Buckets(Dataset[tuple[Tensor, Tensor]]):
    """Training batches of tunes of similar lengths (consecutive in length order), one item
    each, so that the loader shuffles their order but a batch pads little."""

    def __init__(self, buckets: list[tuple[Tensor, Tensor]]) -> None:
        self.buckets = buckets

    def __len__(self) -> int:
        return len(self.buckets)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.buckets[index]


def _lm_step(model: nn.Module, batch: tuple[Tensor, Tensor]) -> StepOutput:
    """Cross-entropy per event of a padded batch: ids (N, L + 1), lengths (N,) = real L."""
    ids, lengths = batch
    if ids.dim() == 3:  # a batch of buckets, (1, B, L): one bucket of B tunes
        ids, lengths = ids.flatten(0, 1), lengths.flatten()
    total, events = ids.new_zeros((), dtype=torch.float32), 0
    for k in range(0, len(ids), CHUNK):
        chunk, n = ids[k : k + CHUNK], lengths[k : k + CHUNK]
        steps = int(n.max())
        logits, _ = model(chunk[:, :steps], n.cpu())  # (N, L, V)
        target = chunk[:, 1 : steps + 1].masked_fill(
            torch.arange(steps, device=ids.device)[None] >= n[:, None], -100
        )
        total = total + nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="sum")
        events += int(n.sum())
    return StepOutput(total / events, weight=float(events))


@dataclass(frozen=True)
class MelodyConfig:
    """Settings of a :class:`MelodyLM` (see there); saved with it."""

    embedding_size: int = 64
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.2
    architecture: str = "lstm"
    min_count: int = 2
    max_epochs: int = 40
    patience: int | None = 3
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "cpu"
    variant: str = "classic"
    engine: str | None = None

    def __post_init__(self) -> None:
        for name in ("embedding_size", "hidden_size", "num_layers", "min_count", "max_epochs", "batch_size"):
            check_int(name, getattr(self, name))
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture: expected one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 0):
            raise ValueError(f"patience: expected an int >= 0 or None, got {self.patience!r}")
        check_rates(self)


class MelodyLM(SequenceModel):
    """A melody language model over note tokens: fit / score / generate / save / load.

    Args:
        embedding_size, hidden_size, num_layers, dropout, architecture: the network
            (:class:`~lstmkit.apps.music.model.MelodyNet`).
        min_count: a training token seen fewer times becomes ``<unk>``.
        max_epochs, patience: training length; with validation tunes, stop after ``patience``
            epochs without a better validation NLL, keeping the best epoch's weights.
        batch_size: tunes per batch. lr, weight_decay: Adam's. seed: weights and batch order.
        device: where the network runs. variant, engine: unused by the network (kept for the
            shared checks). progress: a progress bar on stderr while fitting.

    Attributes:
        tokens_: the vocabulary, the token of each id.

    Example::

        >>> lm = MelodyLM(hidden_size=64, max_epochs=5).fit(train_tunes, valid_tunes)
        >>> lm.score(test_tunes)["bits"]
    """

    format = "lstmkit.MelodyLM"

    def __init__(
        self,
        embedding_size: int = 64,
        hidden_size: int = 256,
        num_layers: int = 1,
        dropout: float = 0.2,
        architecture: str = "lstm",
        min_count: int = 2,
        max_epochs: int = 40,
        patience: int | None = 3,
        batch_size: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        seed: int = 0,
        device: str = "cpu",
        variant: str = "classic",
        engine: str | None = None,
        progress: bool = True,
    ) -> None:
        super().__init__(settings(MelodyConfig, locals()), progress)
        self.tokens_: list[str] = []

    def _build_net(self) -> nn.Module:
        c = self.config
        return MelodyNet(
            len(self.tokens_), c.embedding_size, c.hidden_size, c.num_layers, c.dropout, c.architecture
        )

    def encode(self, tunes: Any, name: str = "tunes") -> list[list[int]]:
        """Each tune as ids ``<end> y_1 .. y_n <end>`` (unknown tokens as ``<unk>``)."""
        index = {t: i for i, t in enumerate(self.tokens_)}
        return [[END, *(index.get(t, UNK) for t in tune), END] for tune in check_tunes(name, tunes)]

    def _dataset(self, tunes: Any, name: str) -> TensorDataset:
        seqs = sorted(self.encode(tunes, name), key=len)  # similar lengths share a batch
        ids = torch.zeros(len(seqs), len(seqs[-1]), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
        return TensorDataset(ids, torch.tensor([len(s) - 1 for s in seqs]))

    def fit(self, tunes: Any, valid: Any = None) -> MelodyLM:
        """Make the vocabulary of ``tunes`` and train on them, early-stopping on ``valid``."""
        self.tokens_ = vocabulary(tunes, self.config.min_count)
        ids, lengths = self._dataset(tunes, "tunes").tensors
        size = self.config.batch_size
        data = _Buckets([(ids[i : i + size], lengths[i : i + size]) for i in range(0, len(ids), size)])
        val = None if valid is None else self._dataset(valid, "valid")
        self._fit_network(data, val, _lm_step, f"fit melody {self.config.architecture}", batch_size=1)
        return self

    @torch.no_grad()
    def score(self, tunes: Any) -> dict[str, float]:
        """``nll`` (nats per event: every note or rest and each tune's end), ``bits`` (the same
        in bits), ``events`` and ``unk`` (the share of events that are ``<unk>``)."""
        (net,) = self._members()
        ids, lengths = self._dataset(tunes, "tunes").tensors
        total = 0.0
        for k in range(0, len(ids), CHUNK):
            out = _lm_step(
                net, (ids[k : k + CHUNK].to(self._device()), lengths[k : k + CHUNK].to(self._device()))
            )
            total += float(out.loss) * float(out.weight or 0.0)
        events = int(lengths.sum())
        unk = int((ids == UNK).sum())
        return {
            "nll": total / events,
            "bits": total / events / math.log(2),
            "events": events,
            "unk": unk / events,
        }

    @torch.no_grad()
    def generate(
        self, max_notes: int = 64, *, primer: Sequence[str] = (), temperature: float = 1.0, seed: int = 0
    ) -> list[str]:
        """Sample a tune: ``primer``'s tokens, then tokens drawn from softmax(z / T) (never
        ``<pad>`` or ``<unk>``) until ``<end>`` or ``max_notes`` tokens in all."""
        (net,) = self._members()
        check_int("max_notes", max_notes)
        if not 0 < temperature < float("inf"):
            raise ValueError(f"temperature: expected a finite value > 0, got {temperature}")
        primed = self.encode([primer], "primer")[0][:-1] if primer else [END]
        if UNK in primed:
            raise ValueError(f"primer: expected tokens of the vocabulary, got {list(primer)!r:.80}")
        gen = torch.Generator().manual_seed(seed)
        carries = net.encoder.architecture != "tcn"  # type: ignore[union-attr]
        seq, state, fed = list(primed), None, 0
        while len(seq) - 1 < max_notes:
            start = fed if carries else 0
            logits, state = net(
                torch.tensor([seq[start:]], device=self._device()), state=state if carries else None
            )
            fed = len(seq)
            z = logits[0, -1].cpu().double() / temperature
            z[[PAD, UNK]] = -math.inf
            nxt = int(torch.multinomial(torch.softmax(z, -1), 1, generator=gen))
            if nxt == END:
                break
            seq.append(nxt)
        return [self.tokens_[i] for i in seq[1:]]

    def _state(self) -> dict[str, Any]:
        return {"tokens": self.tokens_, "history": self.history_}

    def _set_state(self, payload: Any) -> None:
        self.tokens_ = list(payload["tokens"])
        self.history_ = payload["history"]

"""The Reber grammar tasks: experiment 1 of Hochreiter & Schmidhuber (1997), next-symbol
prediction on embedded Reber strings, and the continual form of Gers et al. (2000), the
strings concatenated into one stream without resets.

Example::

    >>> task = EmbeddedReber()
    >>> train, test = task.datasets(torch.Generator().manual_seed(0))
    >>> len(train), len(test)
    (256, 256)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from lstmkit.apps.experiments.tasks.base import SyntheticBatch, Task, check_count, check_prediction, pad_steps

__all__ = [
    "REBER_GRAPH",
    "REBER_SYMBOLS",
    "ContinualReber",
    "EmbeddedReber",
    "ReberStreams",
    "embedded_reber_string",
    "reber_next_sets",
    "reber_string",
]


REBER_SYMBOLS = "BTSXPVE"
# The Reber automaton (Reber 1967; Fahlman 1991): state -> [(symbol, next state)], each branch
# taken with probability 1/2; state 0 emits B, the final state 6 emits E.
REBER_GRAPH: dict[int, list[tuple[str, int]]] = {
    0: [("B", 1)],
    1: [("T", 2), ("P", 3)],
    2: [("S", 2), ("X", 4)],
    3: [("T", 3), ("V", 5)],
    4: [("X", 3), ("S", 6)],
    5: [("P", 4), ("V", 6)],
    6: [("E", -1)],
}


def _choice(options: list[Any], gen: torch.Generator | None) -> Any:
    return options[int(torch.randint(len(options), (), generator=gen))]


def reber_string(generator: torch.Generator | None = None) -> str:
    """One string of the Reber grammar, e.g. ``"BTSSXXTVVE"``."""
    state, out = 0, []
    while state != -1:
        symbol, state = _choice(REBER_GRAPH[state], generator)
        out.append(symbol)
    return "".join(out)


def embedded_reber_string(generator: torch.Generator | None = None) -> str:
    """One embedded Reber string: ``B T <reber> T E`` or ``B P <reber> P E``."""
    side = _choice(["T", "P"], generator)
    return "B" + side + reber_string(generator) + side + "E"


def _reber_next(state: int) -> set[str]:
    return {s for s, _ in REBER_GRAPH[state]}


def reber_next_sets(string: str, embedded: bool = True) -> list[set[str]]:
    """For each position of ``string``, the set of symbols the grammar allows next (empty after
    the final E). Raises ``ValueError`` if the string is not in the grammar."""
    sets: list[set[str]] = []
    if not embedded:
        state = 0
        for ch in string:
            nxt = dict(REBER_GRAPH.get(state, []))
            if ch not in nxt:
                raise ValueError(f"string: {string!r} is not a Reber string (unexpected {ch!r})")
            state = nxt[ch]
            sets.append(_reber_next(state) if state != -1 else set())
        return sets
    if len(string) < 4 or string[0] != "B" or string[1] not in "TP" or string[-2:] != string[1] + "E":
        raise ValueError(f"string: {string!r} is not an embedded Reber string")
    sets.append({"T", "P"})  # after B
    sets.append({"B"})  # after T/P the inner string starts
    inner = reber_next_sets(string[2:-2], embedded=False)
    sets.extend(inner[:-1])
    sets.append({string[1]})  # after the inner E: the same T/P as at the start
    sets.append({"E"})
    sets.append(set())
    return sets


def _reber_encode(
    strings: list[str], next_sets: list[list[set[str]]]
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    sym = {s: i for i, s in enumerate(REBER_SYMBOLS)}
    xs, ys = [], []
    for string, sets in zip(strings, next_sets):
        x = torch.zeros(len(string), 7)
        y = torch.zeros(len(string), 7)
        for t, ch in enumerate(string):
            x[t, sym[ch]] = 1.0
            for s in sets[t]:
                y[t, sym[s]] = 1.0
        xs.append(x)
        ys.append(y)
    inputs, lengths = pad_steps(xs, 7)
    targets, _ = pad_steps(ys, 7)
    mask = targets.sum(-1) > 0  # steps with a next symbol
    return inputs, targets, mask, lengths


def _top_k_correct(prediction: Tensor, batch: SyntheticBatch) -> Tensor:
    """At every masked step the k most active outputs are exactly the k possible symbols."""
    targets = batch.targets
    k = targets.sum(-1, keepdim=True)  # (N, L, 1)
    order = prediction.argsort(-1, descending=True).argsort(-1)  # rank of each output
    in_top = order < k  # (N, L, 7)
    step_ok = (in_top == (targets > 0.5)).all(-1)  # (N, L)
    return (step_ok | ~batch.mask).all(-1)


@dataclass(frozen=True)
class EmbeddedReber(Task):
    """Experiment 1: the embedded Reber grammar (7 symbols, local coding).

    :meth:`sample` draws fresh strings; :meth:`datasets` draws the paper's fixed training set
    and a test set of *different* strings. Targets are the sets of possible next symbols
    (multi-hot); success (paper): every string of both sets right by :meth:`correct`.
    """

    name: ClassVar[str] = "reber"
    n_train: int = 256
    n_test: int = 256
    input_size: int = 7
    output_size: int = 7
    output: str = "sigmoid"

    def batch_from_strings(self, strings: list[str]) -> SyntheticBatch:
        sets = [reber_next_sets(s) for s in strings]
        inputs, targets, mask, lengths = _reber_encode(strings, sets)
        return SyntheticBatch(inputs, targets, mask, lengths, {"strings": strings})

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        return self.batch_from_strings([embedded_reber_string(generator) for _ in range(check_count(n))])

    def datasets(self, generator: torch.Generator | None = None) -> tuple[SyntheticBatch, SyntheticBatch]:
        """(train, test): ``n_train`` random strings and ``n_test`` random strings that are not
        in the training set (a training string may repeat, as random draws do)."""
        train = [embedded_reber_string(generator) for _ in range(self.n_train)]
        seen, test = set(train), []
        while len(test) < self.n_test:
            s = embedded_reber_string(generator)
            if s not in seen:
                test.append(s)
        return self.batch_from_strings(train), self.batch_from_strings(test)

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        check_prediction(prediction, batch, 7)
        return _top_k_correct(prediction, batch)


@dataclass(frozen=True)
class ContinualReber(Task):
    """Gers, Schmidhuber & Cummins (2000): embedded Reber strings concatenated into one stream
    that is never reset; predict every next symbol (after E comes the next string's B).

    :meth:`sample` returns ``n`` independent streams of ``strings`` strings each (cut at the end
    of the last string); :meth:`streams` returns an endless generator of fixed-length segments of
    ``n`` parallel streams, for training with the state carried from segment to segment.
    """

    name: ClassVar[str] = "continual-reber"
    strings: int = 100
    input_size: int = 7
    output_size: int = 7
    output: str = "sigmoid"

    def _stream(self, k: int, gen: torch.Generator | None) -> tuple[str, list[set[str]]]:
        text, sets = "", []
        for _ in range(k):
            s = embedded_reber_string(gen)
            part = reber_next_sets(s)
            part[-1] = {"B"}  # the stream goes on with the next string
            text += s
            sets.extend(part)
        return text, sets

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        texts, sets = zip(*(self._stream(self.strings, generator) for _ in range(check_count(n))))
        sets = [list(s) for s in sets]
        for s in sets:
            s[-1] = set()  # nothing is known past the sample's end
        inputs, targets, mask, lengths = _reber_encode(list(texts), sets)
        return SyntheticBatch(inputs, targets, mask, lengths, {"strings": list(texts)})

    def segments(
        self, n: int, length: int, generator: torch.Generator | None = None, *, max_symbols: int | None = None
    ) -> ReberStreams:
        """Endless segments (``SyntheticBatch`` of ``n`` rows, ``length`` steps) of ``n``
        streams (see :class:`ReberStreams`)."""
        return ReberStreams(self, check_count(n), length, generator, max_symbols)

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        check_prediction(prediction, batch, 7)
        return _top_k_correct(prediction, batch)


class ReberStreams:
    """``n`` parallel training streams of concatenated embedded Reber strings, cut into windows
    of ``length`` symbols (an iterator of ``SyntheticBatch``).

    As in Gers et al. (2000), a stream never resets between strings but ends at the learner's
    request (:meth:`restart`, after its first wrong prediction) or after ``max_symbols``
    symbols; the row then starts a new stream at its next window, and ``info["fresh"]`` (n,)
    marks the rows whose window begins a stream (their state is to start from zero).
    ``info["strings_done"]`` counts the strings completed so far over all streams.
    """

    def __init__(
        self,
        task: ContinualReber,
        n: int,
        length: int,
        generator: torch.Generator | None,
        max_symbols: int | None,
    ) -> None:
        self.task, self.n, self.length, self.generator = task, n, length, generator
        self.max_symbols = max_symbols
        self.buffers: list[tuple[str, list[set[str]], list[int]]] = [("", [], []) for _ in range(n)]
        self.emitted = [0] * n  # symbols of each row's current stream
        self.fresh = torch.ones(n, dtype=torch.bool)
        self.done = 0  # strings whose last symbol has been emitted

    def restart(self, rows: Tensor) -> None:
        """End the streams of ``rows`` (bool, (n,)): new ones begin at the next window."""
        for i in rows.nonzero().flatten().tolist():
            self._end(i)

    def _end(self, i: int) -> None:
        self.buffers[i], self.emitted[i] = ("", [], []), 0
        self.fresh[i] = True

    def __iter__(self) -> ReberStreams:
        return self

    def __next__(self) -> SyntheticBatch:
        texts, sets = [], []
        for i in range(self.n):
            if self.max_symbols is not None and self.emitted[i] >= self.max_symbols:
                self._end(i)
            text, nxt, ends = self.buffers[i]
            while len(text) < self.length:
                more, more_sets = self.task._stream(1, self.generator)
                text, nxt = text + more, nxt + more_sets
                ends.append(len(text))
            self.done += sum(e <= self.length for e in ends)
            texts.append(text[: self.length])
            sets.append(nxt[: self.length])
            self.buffers[i] = (
                text[self.length :],
                nxt[self.length :],
                [e - self.length for e in ends if e > self.length],
            )
            self.emitted[i] += self.length
        inputs, targets, mask, lengths = _reber_encode(texts, sets)
        fresh, self.fresh = self.fresh, torch.zeros(self.n, dtype=torch.bool)
        return SyntheticBatch(inputs, targets, mask, lengths, {"strings_done": self.done, "fresh": fresh})

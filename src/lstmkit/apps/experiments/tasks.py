r"""The benchmark tasks of Hochreiter & Schmidhuber (1997) and Gers et al. (2000), generated.

Each task samples padded batches (:class:`SyntheticBatch`) and judges each sequence by the
paper's criterion (:meth:`Task.correct`). Positions in the papers are 1-based ("the first ten
pairs", "t1 between 10 and 20"); here they are turned into 0-based indices.

=====================  ======================================================================
task                   definition (paper section)
=====================  ======================================================================
:class:`EmbeddedReber`  exp. 1 (sec. 5.1): next-symbol prediction on embedded Reber strings;
                        a string is right if, at every step, the output units of the possible
                        next symbols are the most active ones; 256 training and 256 different
                        test strings.
:class:`LongTimeLag`    exp. 2 (sec. 5.2): 2a, the two sequences (y, a1..a_{p-1}, y) and
                        (x, a1..a_{p-1}, x), predict every next symbol (|error| < 0.25 on all
                        outputs); 2b, the same with random distractors (only the final symbol
                        is predictable); 2c, (b, x|y, q+k distractors from p, e, x|y): after
                        the trigger e predict x or y (|error| of both outputs < 0.2).
:class:`NoiseSignal`    exp. 3 (sec. 5.3): 3a, Bengio's 2-sequence problem: the first N values
                        are +1 (class 1) or -1 (class 2), then Gaussian noise (variance 0.2);
                        length in [T, T + T/10]; target 1 / 0 at the end, |error| < 0.2;
                        3b, noise (variance 0.2) also on the first N values.
:class:`AddingProblem`  exp. 4 (sec. 5.4): pairs (value in [-1, 1], marker); one of the first
                        ten and one of the first T/2 - 1 pairs marked 1.0; first and last
                        marker -1; target 0.5 + (X1 + X2) / 4 at the end; |error| < 0.04.
:class:`MultiplicationProblem`  exp. 5 (sec. 5.5): as adding, values in [0, 1], target X1 X2.
:class:`TemporalOrder`  exp. 6 (sec. 5.6): E, distractors a-d, X/Y at t1 (t2, t3), B; length
                        100-110; classes by the order of the X/Y; all outputs |error| < 0.3.
:class:`ContinualReber` Gers, Schmidhuber & Cummins (2000): embedded Reber strings concatenated
                        into one stream without resets; every next symbol predicted.
:class:`CopyMemory`     the copy task (Hochreiter & Schmidhuber 1997's long lags, in the form of
                        Arjovsky et al. 2016): 10 symbols, T blanks, a delimiter, reproduce them.
=====================  ======================================================================

Example::

    >>> task = AddingProblem(T=100)
    >>> batch = task.sample(32, torch.Generator().manual_seed(0))
    >>> batch.inputs.shape[0], batch.inputs.shape[2]            # (N, L, 2), L in [100, 110]
    (32, 2)
    >>> task.correct(batch.targets, batch).all()                  # the targets themselves pass
    tensor(True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

__all__ = [
    "REBER_GRAPH",
    "REBER_SYMBOLS",
    "TASKS",
    "AddingProblem",
    "ContinualReber",
    "CopyMemory",
    "EmbeddedReber",
    "LongTimeLag",
    "MultiplicationProblem",
    "NoiseSignal",
    "SyntheticBatch",
    "Task",
    "TemporalOrder",
    "embedded_reber_string",
    "make_task",
    "reber_next_sets",
    "reber_string",
]


@dataclass
class SyntheticBatch:
    """A padded batch of a synthetic task.

    Attributes:
        inputs: (N, L, C) float inputs, zero after each sequence's length.
        targets: (N, L, K) float targets (next-symbol sets, one-hot classes, real values) or
            (N, L) int64 class indices (:class:`CopyMemory`); meaningful where ``mask`` is true.
        mask: (N, L) bool, the steps that carry an error signal.
        lengths: (N,) int64 real lengths.
        info: task-specific raw data (e.g. the strings, the marked positions).
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor
    lengths: Tensor
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


class Task:
    """A synthetic task: sizes, how outputs are read, a sampler and the success criterion.

    Attributes:
        input_size, output_size: C and K.
        output: ``"sigmoid"`` (outputs in [0, 1], loss: binary cross-entropy against the local
            targets, the paper's sigmoid output units), ``"linear"`` (MSE) or ``"softmax"``
            (cross-entropy on class indices).
    """

    name: ClassVar[str] = "task"
    input_size: int
    output_size: int
    output: str

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        raise NotImplementedError

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        """(N,) bool: which sequences the (activated) ``prediction`` (N, L, K) gets right."""
        raise NotImplementedError


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected the number of sequences, an int >= 1, got {n!r}")
    return n


def _randint(low: int, high: int, gen: torch.Generator | None, size: tuple[int, ...] = ()) -> Tensor:
    """Uniform integers in [low, high] (both included)."""
    return torch.randint(low, high + 1, size, generator=gen)


def _pad(seqs: list[Tensor], width: int) -> tuple[Tensor, Tensor]:
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    out = torch.zeros(len(seqs), int(lengths.max()), width)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out, lengths


def _end_mask(lengths: Tensor, max_len: int) -> Tensor:
    """(N, L) bool, true only at each sequence's last step."""
    return torch.arange(max_len).unsqueeze(0) == (lengths - 1).unsqueeze(1)


def _at_end(x: Tensor, lengths: Tensor) -> Tensor:
    """x (N, L, K) at each sequence's last real step: (N, K)."""
    idx = (lengths - 1).to(x.device).view(-1, 1, 1).expand(-1, 1, x.shape[2])
    return x.gather(1, idx).squeeze(1)


def _check_prediction(prediction: Tensor, batch: SyntheticBatch, k: int) -> None:
    want = (*batch.targets.shape[:2], k)
    if tuple(prediction.shape) != want:
        raise ValueError(f"prediction: expected shape {want} (N, L, K), got {tuple(prediction.shape)}")


# ---------------------------------------------------------------------------------- Reber grammar

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
    inputs, lengths = _pad(xs, 7)
    targets, _ = _pad(ys, 7)
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
        return self.batch_from_strings([embedded_reber_string(generator) for _ in range(_check_n(n))])

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
        _check_prediction(prediction, batch, 7)
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
        texts, sets = zip(*(self._stream(self.strings, generator) for _ in range(_check_n(n))))
        sets = [list(s) for s in sets]
        for s in sets:
            s[-1] = set()  # nothing is known past the sample's end
        inputs, targets, mask, lengths = _reber_encode(list(texts), sets)
        return SyntheticBatch(inputs, targets, mask, lengths, {"strings": list(texts)})

    def segments(self, n: int, length: int, generator: torch.Generator | None = None) -> Any:
        """Endless segments (``SyntheticBatch`` of ``n`` rows, ``length`` steps) of ``n``
        never-ending streams; ``info["strings_done"]`` counts the strings completed so far."""
        buffers: list[tuple[str, list[set[str]], list[int]]] = [("", [], []) for _ in range(_check_n(n))]
        done = 0  # strings whose last symbol has been emitted
        while True:
            texts, sets = [], []
            for i in range(n):
                text, nxt, ends = buffers[i]
                while len(text) < length:
                    more, more_sets = self._stream(1, generator)
                    text, nxt = text + more, nxt + more_sets
                    ends.append(len(text))
                done += sum(e <= length for e in ends)
                texts.append(text[:length])
                sets.append(nxt[:length])
                buffers[i] = (text[length:], nxt[length:], [e - length for e in ends if e > length])
            inputs, targets, mask, lengths = _reber_encode(texts, sets)
            yield SyntheticBatch(inputs, targets, mask, lengths, {"strings_done": done})

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        _check_prediction(prediction, batch, 7)
        return _top_k_correct(prediction, batch)


# ---------------------------------------------------------------------------------- experiment 2


@dataclass(frozen=True)
class LongTimeLag(Task):
    """Experiment 2: noise-free and noisy sequences with long time lags.

    * ``"2a"``: symbols a_1..a_{p-1}, a_p = x, a_{p+1} = y (p + 1 local inputs and outputs); the
      two sequences (y, a_1, ..., a_{p-1}, y) and (x, a_1, ..., a_{p-1}, x), each with
      probability 1/2; the net sees the first p elements and predicts each next one (error at
      every step); right if every output's error is below 0.25 at every step.
    * ``"2b"``: as 2a but a_1..a_{p-1} replaced by p - 1 distractors drawn at random from
      them for every sequence; only the final element is predictable (error at the end only).
    * ``"2c"``: p distractors a_1..a_p plus e, b, x, y (p + 4 inputs, 2 outputs x, y): b, then
      x or y, then q distractors, then further distractors each with probability 9/10 or the
      trigger e (1/10) -- length q + k + 4, expected q + 13 -- and after e the relevant symbol
      again; the net reads up to e and predicts the last element (error at the end only); right
      if both outputs' error is below 0.2. The minimal lag is q + 1.
    """

    kind: str = "2a"
    p: int = 100
    q: int = 100
    output: str = "sigmoid"
    name: ClassVar[str] = "long-lag"

    def __post_init__(self) -> None:
        if self.kind not in ("2a", "2b", "2c"):
            raise ValueError(f"kind: expected '2a', '2b' or '2c', got {self.kind!r}")
        if self.p < 2 or (self.kind == "2c" and self.q < 1):
            raise ValueError(f"p, q: expected p >= 2 and q >= 1, got p={self.p}, q={self.q}")

    @property
    def input_size(self) -> int:  # type: ignore[override]
        return self.p + 4 if self.kind == "2c" else self.p + 1

    @property
    def output_size(self) -> int:  # type: ignore[override]
        return 2 if self.kind == "2c" else self.p + 1

    @property
    def threshold(self) -> float:
        return 0.2 if self.kind == "2c" else 0.25

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        n = _check_n(n)
        p, gen = self.p, generator
        first = _randint(0, 1, gen, (n,))  # 0: x, 1: y
        if self.kind in ("2a", "2b"):
            x_id = p - 1  # a_p = x (0-based column p - 1), a_{p+1} = y (column p)
            rel = x_id + first  # (N,)
            if self.kind == "2a":
                middle = torch.arange(p - 1).unsqueeze(0).expand(n, -1)  # a_1..a_{p-1}
            else:
                middle = torch.randint(0, p - 1, (n, p - 1), generator=gen)
            seq = torch.cat([rel.unsqueeze(1), middle, rel.unsqueeze(1)], 1)  # (N, p + 1)
            inputs = torch.nn.functional.one_hot(seq[:, :-1], p + 1).float()  # (N, p, p + 1)
            targets = torch.nn.functional.one_hot(seq[:, 1:], p + 1).float()
            lengths = torch.full((n,), p, dtype=torch.int64)
            mask = torch.ones(n, p, dtype=torch.bool) if self.kind == "2a" else _end_mask(lengths, p)
            return SyntheticBatch(inputs, targets, mask, lengths, {"relevant": first, "symbols": seq})
        # 2c: columns a_1..a_p = 0..p-1, e = p, b = p + 1, x = p + 2, y = p + 3
        e, b, x = p, p + 1, p + 2
        seqs, xs, ys = [], [], []
        for i in range(n):
            k = 0
            while float(torch.rand((), generator=gen)) < 0.9:
                k += 1
            distract = torch.randint(0, p, (self.q + k,), generator=gen)
            rel = x + int(first[i])
            s = torch.cat([torch.tensor([b, rel]), distract, torch.tensor([e])])  # inputs
            seqs.append(torch.cat([s, torch.tensor([rel])]))
            xs.append(torch.nn.functional.one_hot(s, p + 4).float())
            y = torch.zeros(len(s), 2)
            y[-1, int(first[i])] = 1.0
            ys.append(y)
        inputs, lengths = _pad(xs, p + 4)
        targets, _ = _pad(ys, 2)
        mask = _end_mask(lengths, inputs.shape[1])
        return SyntheticBatch(inputs, targets, mask, lengths, {"relevant": first, "symbols": seqs})

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        _check_prediction(prediction, batch, self.output_size)
        ok = ((prediction - batch.targets).abs() < self.threshold).all(-1)  # (N, L)
        return (ok | ~batch.mask).all(-1)


# ---------------------------------------------------------------------------------- experiment 3


@dataclass(frozen=True)
class NoiseSignal(Task):
    """Experiment 3: noise and signal on the same channel (Bengio et al.'s 2-sequence problem).

    One input line; length uniform in [T, T + T/10]; the first ``N`` values are 1.0 (class 1)
    or -1.0 (class 2), the rest Gaussian noise with mean 0 and variance 0.2; target 1.0 / 0.0
    at the end; right if the final error is below 0.2. ``"3b"`` adds the same Gaussian noise
    (variance 0.2) to the first ``N`` values.
    """

    kind: str = "3a"
    T: int = 100
    N: int = 3
    input_size: int = 1
    output_size: int = 1
    output: str = "sigmoid"
    name: ClassVar[str] = "noise-signal"

    def __post_init__(self) -> None:
        if self.kind not in ("3a", "3b"):
            raise ValueError(f"kind: expected '3a' or '3b', got {self.kind!r}")
        if self.T < 2 or not 1 <= self.N < self.T:
            raise ValueError(f"T, N: expected T >= 2 and 1 <= N < T, got T={self.T}, N={self.N}")

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        n, gen = _check_n(n), generator
        lengths = _randint(self.T, self.T + self.T // 10, gen, (n,))
        max_len = int(lengths.max())
        cls = _randint(0, 1, gen, (n,))  # 1: class 1 (+1, target 1), 0: class 2 (-1, target 0)
        std = math.sqrt(0.2)
        x = torch.randn(n, max_len, generator=gen) * std
        sign = (cls.float() * 2 - 1).unsqueeze(1)  # (N, 1)
        info = sign.expand(n, self.N)
        if self.kind == "3b":
            x[:, : self.N] = info + x[:, : self.N]
        else:
            x[:, : self.N] = info
        valid = torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)
        x = x * valid
        targets = torch.zeros(n, max_len, 1)
        targets[torch.arange(n), lengths - 1, 0] = cls.float()
        return SyntheticBatch(x.unsqueeze(-1), targets, _end_mask(lengths, max_len), lengths, {"cls": cls})

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        _check_prediction(prediction, batch, 1)
        err = (_at_end(prediction, batch.lengths) - _at_end(batch.targets, batch.lengths)).abs()
        return (err < 0.2).all(-1)


# ---------------------------------------------------------------------------------- experiments 4, 5


def _marked_pairs(n: int, T: int, gen: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor]:
    """Lengths in [T, T + T/10], the index of X1 (one of the first ten pairs) and of X2 (one
    of the first T/2 - 1 pairs not already marked)."""
    lengths = _randint(T, T + T // 10, gen, (n,))
    first = _randint(0, 9, gen, (n,))
    second = torch.empty(n, dtype=torch.int64)
    pool = T // 2 - 1
    for i in range(n):
        x1 = int(first[i])
        if x1 < pool:  # the X1 pair is among the candidates: draw from the others
            j = int(torch.randint(pool - 1, (), generator=gen))
            second[i] = j + 1 if j >= x1 else j
        else:
            second[i] = int(torch.randint(pool, (), generator=gen))
    return lengths, first, second


@dataclass(frozen=True)
class AddingProblem(Task):
    """Experiment 4: the adding problem.

    Each step is a pair (value, marker): values uniform in [-1, 1]; exactly two pairs marked
    1.0, X1 one of the first ten, X2 one of the first T/2 - 1 still unmarked; the first and the
    last marker are -1 unless marked, others 0 (X1 is set to 0 if the very first pair is
    marked). Length uniform in [T, T + T/10]. Target at the end ``0.5 + (X1 + X2) / 4``; right
    if the absolute error is below 0.04.
    """

    T: int = 100
    input_size: int = 2
    output_size: int = 1
    output: str = "linear"
    name: ClassVar[str] = "adding"

    def __post_init__(self) -> None:
        if self.T < 10:
            raise ValueError(f"T: expected >= 10 (X1 is one of the first ten pairs), got {self.T}")

    def _values(self, n: int, max_len: int, gen: torch.Generator | None) -> Tensor:
        return torch.rand(n, max_len, generator=gen, dtype=torch.float64) * 2 - 1

    def _target(self, x1: Tensor, x2: Tensor) -> Tensor:
        return 0.5 + (x1 + x2) / 4.0

    _first_pair_value: ClassVar[float] = 0.0

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        n = _check_n(n)
        lengths, i1, i2 = _marked_pairs(n, self.T, generator)
        max_len = int(lengths.max())
        values = self._values(n, max_len, generator)
        rows = torch.arange(n)
        markers = torch.zeros(n, max_len, dtype=torch.float64)
        markers[:, 0] = -1.0
        markers[rows, lengths - 1] = -1.0
        markers[rows, i1] = 1.0
        markers[rows, i2] = 1.0
        first_marked = (i1 == 0) | (i2 == 0)
        values[first_marked, 0] = self._first_pair_value
        valid = torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)
        values, markers = values * valid, markers * valid
        target = self._target(values[rows, i1], values[rows, i2])  # (N,)
        targets = torch.zeros(n, max_len, 1, dtype=torch.float64)
        targets[rows, lengths - 1, 0] = target
        inputs = torch.stack([values, markers], -1).float()
        return SyntheticBatch(
            inputs, targets.float(), _end_mask(lengths, max_len), lengths, {"first": i1, "second": i2}
        )

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        _check_prediction(prediction, batch, 1)
        err = (_at_end(prediction, batch.lengths) - _at_end(batch.targets, batch.lengths)).abs()
        return (err < 0.04).all(-1)


@dataclass(frozen=True)
class MultiplicationProblem(AddingProblem):
    """Experiment 5: as :class:`AddingProblem`, but values uniform in [0, 1], X1 set to 1.0 if
    the first pair is marked, and the target ``X1 * X2``; right if the error is below 0.04."""

    name: ClassVar[str] = "multiplication"
    _first_pair_value: ClassVar[float] = 1.0

    def _values(self, n: int, max_len: int, gen: torch.Generator | None) -> Tensor:
        return torch.rand(n, max_len, generator=gen, dtype=torch.float64)

    def _target(self, x1: Tensor, x2: Tensor) -> Tensor:
        return x1 * x2


# ---------------------------------------------------------------------------------- experiment 6

TEMPORAL_SYMBOLS = "abcdXYBE"


@dataclass(frozen=True)
class TemporalOrder(Task):
    """Experiment 6: temporal order.

    Local inputs over ``a, b, c, d, X, Y, B, E``; the sequence starts with E, ends with the
    trigger B, and is otherwise random distractors a-d except at positions t1, t2 (6a: t1 in
    [10, 20], t2 in [50, 60]) or t1, t2, t3 (6b: [10, 20], [33, 43], [66, 76]), 1-based, which
    hold X or Y; length uniform in [100, 110]. The class (one-hot target at the end) is the
    order: 6a XX, XY, YX, YY -> Q, R, S, U; 6b XXX..YYY -> Q, R, S, U, V, A, B, C (binary with
    X = 0). Right if every output's final error is below 0.3.
    """

    kind: str = "6a"
    input_size: int = 8
    output: str = "sigmoid"
    name: ClassVar[str] = "temporal-order"

    def __post_init__(self) -> None:
        if self.kind not in ("6a", "6b"):
            raise ValueError(f"kind: expected '6a' or '6b', got {self.kind!r}")

    @property
    def output_size(self) -> int:  # type: ignore[override]
        return 4 if self.kind == "6a" else 8

    @property
    def windows(self) -> list[tuple[int, int]]:
        return [(10, 20), (50, 60)] if self.kind == "6a" else [(10, 20), (33, 43), (66, 76)]

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        n, gen = _check_n(n), generator
        lengths = _randint(100, 110, gen, (n,))
        max_len = int(lengths.max())
        sym = torch.randint(0, 4, (n, max_len), generator=gen)  # distractors a-d
        sym[:, 0] = 7  # E
        rows = torch.arange(n)
        cls = torch.zeros(n, dtype=torch.int64)
        positions = []
        for lo, hi in self.windows:
            pos = _randint(lo, hi, gen, (n,)) - 1  # 1-based -> 0-based
            xy = _randint(0, 1, gen, (n,))  # 0: X, 1: Y
            sym[rows, pos] = 4 + xy
            cls = cls * 2 + xy
            positions.append(pos)
        sym[rows, lengths - 1] = 6  # B, the trigger
        valid = torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)
        inputs = torch.nn.functional.one_hot(sym, 8).float() * valid.unsqueeze(-1)
        targets = torch.zeros(n, max_len, self.output_size)
        targets[rows, lengths - 1, cls] = 1.0
        return SyntheticBatch(
            inputs, targets, _end_mask(lengths, max_len), lengths, {"cls": cls, "positions": positions}
        )

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        _check_prediction(prediction, batch, self.output_size)
        err = (_at_end(prediction, batch.lengths) - _at_end(batch.targets, batch.lengths)).abs()
        return (err < 0.3).all(-1)


# ---------------------------------------------------------------------------------- copy memory


@dataclass(frozen=True)
class CopyMemory(Task):
    """The copy-memory task: ``copy_len`` symbols from 1..``symbols``, then ``T`` blanks (0) of
    which the last is the delimiter (``symbols + 1``), then ``copy_len`` blanks during which the
    net must output the symbols in order; the target is blank elsewhere. Length T + 2 copy_len.
    Right if every copied symbol is the output's argmax (all steps carry cross-entropy).
    A memoryless net's best loss is ``copy_len * log(symbols) / (T + 2 copy_len)``.
    """

    T: int = 100
    symbols: int = 8
    copy_len: int = 10
    output: str = "softmax"
    name: ClassVar[str] = "copy"

    def __post_init__(self) -> None:
        if self.T < 1 or self.symbols < 2 or self.copy_len < 1:
            raise ValueError(
                "T, symbols, copy_len: expected >= 1, >= 2, >= 1, "
                f"got {self.T}, {self.symbols}, {self.copy_len}"
            )

    @property
    def input_size(self) -> int:  # type: ignore[override]
        return self.symbols + 2

    @property
    def output_size(self) -> int:  # type: ignore[override]
        return self.symbols + 1

    @property
    def baseline_loss(self) -> float:
        return self.copy_len * math.log(self.symbols) / (self.T + 2 * self.copy_len)

    def sample(self, n: int, generator: torch.Generator | None = None) -> SyntheticBatch:
        n = _check_n(n)
        k, length = self.copy_len, self.T + 2 * self.copy_len
        data = torch.randint(1, self.symbols + 1, (n, k), generator=generator)
        sym = torch.zeros(n, length, dtype=torch.int64)
        sym[:, :k] = data
        sym[:, k + self.T - 1] = self.symbols + 1  # the delimiter
        targets = torch.zeros(n, length, dtype=torch.int64)
        targets[:, -k:] = data
        inputs = torch.nn.functional.one_hot(sym, self.symbols + 2).float()
        mask = torch.ones(n, length, dtype=torch.bool)
        lengths = torch.full((n,), length, dtype=torch.int64)
        return SyntheticBatch(inputs, targets, mask, lengths, {"data": data})

    def correct(self, prediction: Tensor, batch: SyntheticBatch) -> Tensor:
        _check_prediction(prediction, batch, self.output_size)
        k = self.copy_len
        return (prediction[:, -k:].argmax(-1) == batch.targets[:, -k:]).all(-1)


TASKS: dict[str, type[Task]] = {
    "reber": EmbeddedReber,
    "continual-reber": ContinualReber,
    "long-lag": LongTimeLag,
    "noise-signal": NoiseSignal,
    "adding": AddingProblem,
    "multiplication": MultiplicationProblem,
    "temporal-order": TemporalOrder,
    "copy": CopyMemory,
}


def make_task(name: str, **options: Any) -> Task:
    """A task by name (:data:`TASKS`) with its options, e.g. ``make_task("adding", T=500)``."""
    if name not in TASKS:
        raise ValueError(f"name: expected one of {sorted(TASKS)}, got {name!r}")
    return TASKS[name](**options)

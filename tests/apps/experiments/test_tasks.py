"""Every generator against its definition, with checks written here independently."""

from __future__ import annotations

import math
import re

import pytest
import torch

from lstmkit.apps.experiments.tasks import (
    REBER_SYMBOLS,
    AddingProblem,
    ContinualReber,
    CopyMemory,
    EmbeddedReber,
    LongTimeLag,
    MultiplicationProblem,
    NoiseSignal,
    TemporalOrder,
    make_task,
)

# The Reber language as a regular expression, derived by hand from the automaton's diagram:
# L3 = (T*VPX)* T*V (V | PS) is "what may follow after reaching the T-loop state".
_L3 = r"(?:T*VPX)*T*V(?:V|PS)"
REBER_RE = rf"B(?:TS*X(?:S|X{_L3})|P{_L3})E"
EMBEDDED_RE = re.compile(rf"B([TP]){REBER_RE}\1E")

# The automaton once more, written as edge strings "state symbol next" (F: final).
EDGES = ["0B1", "1T2", "1P3", "2S2", "2X4", "3T3", "3V5", "4X3", "4S6", "5P4", "5V6", "6EF"]


def _inner_next(prefix: str) -> set[str]:
    state = "0"
    for ch in prefix:
        state = next(e[2] for e in EDGES if e[0] == state and e[1] == ch)
    return {e[1] for e in EDGES if e[0] == state}


def expected_next(string: str) -> list[set[str]]:
    """Possible next symbols after each prefix of an embedded Reber string."""
    out = [{"T", "P"}]  # after the outer B
    for t in range(1, len(string) - 2):
        nxt = _inner_next(string[2 : t + 1])  # state reached inside the embedded string
        out.append(nxt if nxt else {string[1]})  # after the inner E: the outer T/P again
    return [*out, {"E"}, set()]


def _decode(batch, n):
    return ["".join(REBER_SYMBOLS[int(i)] for i in batch.inputs[n, : batch.lengths[n]].argmax(-1))]


def test_embedded_reber_strings_and_targets():
    task = EmbeddedReber()
    batch = task.sample(400, torch.Generator().manual_seed(0))
    sides = []
    for n, s in enumerate(batch.info["strings"]):
        assert EMBEDDED_RE.fullmatch(s), s
        assert _decode(batch, n) == [s]
        want = expected_next(s)
        got = [{REBER_SYMBOLS[k] for k in range(7) if batch.targets[n, t, k] > 0.5} for t in range(len(s))]
        assert got == want, s
        assert batch.mask[n, : len(s)].tolist() == [True] * (len(s) - 1) + [False]
        sides.append(s[1])
    assert 0.4 < sides.count("T") / len(sides) < 0.6  # both embeddings equally likely
    # the criterion: the targets pass; ranking one impossible symbol above a possible one fails
    pred = batch.targets + 0.1 * torch.rand(batch.targets.shape)
    assert bool(task.correct(pred, batch).all())
    bad = pred.clone()
    bad[0, 0, REBER_SYMBOLS.index("E")] = 5.0  # after B, E is impossible
    assert task.correct(bad, batch).tolist() == [False] + [True] * 399


def test_reber_datasets_are_disjoint():
    train, test = EmbeddedReber().datasets(torch.Generator().manual_seed(1))
    assert len(train) == 256 and len(test) == 256
    assert not set(train.info["strings"]) & set(test.info["strings"])


def test_continual_reber_streams():
    task = ContinualReber(strings=20)
    batch = task.sample(3, torch.Generator().manual_seed(2))
    for n, text in enumerate(batch.info["strings"]):
        pieces, pos = [], 0
        while pos < len(text):
            m = EMBEDDED_RE.match(text, pos)
            assert m, text[pos:]
            pieces.append(m.group(0))
            pos = m.end()
        assert len(pieces) == 20
        # targets: the within-string sets, B after each E except the very last
        want = [w if w else {"B"} for p in pieces for w in expected_next(p)]
        want[-1] = set()
        got = [{REBER_SYMBOLS[k] for k in range(7) if batch.targets[n, t, k] > 0.5} for t in range(len(text))]
        assert got == want
    # segments of endless streams continue each other
    gen = torch.Generator().manual_seed(3)
    segs = task.segments(2, 25, gen)
    a, b = next(segs), next(segs)
    text = "".join(REBER_SYMBOLS[i] for i in torch.cat([a.inputs[0], b.inputs[0]]).argmax(-1))
    m = EMBEDDED_RE.match(text)
    assert m and m.end() < 50 and text[m.end()] == "B"
    assert bool(a.mask.all()) and b.info["strings_done"] >= 2


@pytest.mark.parametrize("p", [5, 100])
def test_long_lag_2a(p):
    batch = LongTimeLag("2a", p=p).sample(200, torch.Generator().manual_seed(0))
    seq = batch.info["symbols"]  # (N, p + 1) symbol indices: x = p - 1, y = p
    for n in range(200):
        s = seq[n].tolist()
        assert s[0] == s[-1] and s[0] in (p - 1, p) and s[1:-1] == list(range(p - 1))
        assert batch.inputs[n].argmax(-1).tolist() == s[:-1] and batch.targets[n].argmax(-1).tolist() == s[1:]
    assert batch.inputs.shape == (200, p, p + 1) and bool(batch.mask.all())
    assert 0.4 < float((seq[:, 0] == p).float().mean()) < 0.6


def test_long_lag_2b_and_2c():
    p = 20
    b = LongTimeLag("2b", p=p).sample(300, torch.Generator().manual_seed(1))
    seq = b.info["symbols"]
    assert bool((seq[:, 0] == seq[:, -1]).all()) and bool((seq[:, 1:-1] < p - 1).all())
    assert len({tuple(r) for r in seq[:, 1:-1].tolist()}) > 290  # distractors differ per sequence
    assert b.mask[:, :-1].sum() == 0 and bool(b.mask[:, -1].all())
    task = LongTimeLag("2c", p=p, q=30)
    c = task.sample(2000, torch.Generator().manual_seed(2))
    e, bsym, x, y = p, p + 1, p + 2, p + 3
    ks = []
    for n, s in enumerate(c.info["symbols"]):
        s = s.tolist()
        assert s[0] == bsym and s[1] in (x, y) and s[-2] == e and s[-1] == s[1]
        middle = s[2:-2]
        assert len(middle) >= 30 and all(0 <= v < p for v in middle)  # only distractors, >= q
        ks.append(len(middle) - 30)
        length = int(c.lengths[n])
        assert length == len(s) - 1 and c.inputs[n, :length].argmax(-1).tolist() == s[:-1]
        assert c.targets[n, length - 1].tolist() == ([1.0, 0.0] if s[1] == x else [0.0, 1.0])
    mean_k = sum(ks) / len(ks)
    assert abs(mean_k - 9.0) < 0.8  # geometric: each further element is e with probability 1/10
    assert abs(sum(len(s) for s in c.info["symbols"]) / 2000 - (30 + 13)) < 0.8
    assert task.input_size == p + 4 and task.output_size == 2


@pytest.mark.parametrize("kind", ["3a", "3b"])
def test_noise_and_signal(kind):
    T, N = 100, 3
    b = NoiseSignal(kind, T=T, N=N).sample(3000, torch.Generator().manual_seed(0))
    assert int(b.lengths.min()) >= T and int(b.lengths.max()) <= T + T // 10
    x, cls = b.inputs[..., 0], b.info["cls"]
    sign = (cls.float() * 2 - 1).unsqueeze(1)
    head = x[:, :N] - sign
    if kind == "3a":
        assert bool((head == 0).all())
    else:
        assert abs(float(head.var()) - 0.2) < 0.02 and abs(float(head.mean())) < 0.02
    tail = torch.cat([x[n, N : b.lengths[n]] for n in range(3000)])
    assert abs(float(tail.var()) - 0.2) < 0.01 and abs(float(tail.mean())) < 0.01
    for n in range(50):
        assert bool((x[n, b.lengths[n] :] == 0).all())
        assert float(b.targets[n, b.lengths[n] - 1, 0]) == float(cls[n])
    assert 0.45 < float(cls.float().mean()) < 0.55


@pytest.mark.parametrize("T", [100, 500])
def test_adding_problem(T):
    task = AddingProblem(T=T)
    b = task.sample(500, torch.Generator().manual_seed(T))
    assert int(b.lengths.min()) >= T and int(b.lengths.max()) <= T + T // 10
    first_idx = []
    for n in range(500):
        length = int(b.lengths[n])
        values, marks = b.inputs[n, :length, 0].double(), b.inputs[n, :length, 1]
        marked = (marks == 1).nonzero().flatten().tolist()
        assert len(marked) == 2
        assert min(marked) <= 9 and max(marked) <= max(9, T // 2 - 2)  # X1 in the first ten, X2 in T/2 - 1
        assert bool((values.abs() <= 1).all())
        for t in range(length):
            if t not in marked:
                assert float(marks[t]) == (-1.0 if t in (0, length - 1) else 0.0)
        if 0 in marked:
            assert float(values[0]) == 0.0
        want = 0.5 + float(values[marked].sum()) / 4
        assert float(b.targets[n, length - 1, 0]) == pytest.approx(want, abs=1e-6)
        assert b.mask[n].nonzero().flatten().tolist() == [length - 1]
        first_idx.append(int(b.info["first"][n]))
    counts = torch.bincount(torch.tensor(first_idx), minlength=10)
    assert int(counts.min()) > 25  # X1's position is spread over the first ten pairs
    pred = b.targets.clone()
    assert bool(task.correct(pred, b).all())
    assert not bool(task.correct(pred + 0.05, b).any()) and bool(task.correct(pred + 0.03, b).all())


def test_multiplication_problem():
    b = MultiplicationProblem(T=100).sample(400, torch.Generator().manual_seed(5))
    for n in range(400):
        length = int(b.lengths[n])
        values, marks = b.inputs[n, :length, 0].double(), b.inputs[n, :length, 1]
        marked = (marks == 1).nonzero().flatten().tolist()
        assert len(marked) == 2 and bool(((values >= 0) & (values <= 1)).all())
        if 0 in marked:
            assert float(values[0]) == 1.0
        want = float(values[marked[0]] * values[marked[1]])
        assert float(b.targets[n, length - 1, 0]) == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("kind", ["6a", "6b"])
def test_temporal_order(kind):
    task = TemporalOrder(kind)
    b = task.sample(500, torch.Generator().manual_seed(7))
    windows = [(10, 20), (50, 60)] if kind == "6a" else [(10, 20), (33, 43), (66, 76)]
    names = "QRSU" if kind == "6a" else "QRSUVABC"
    seen = set()
    for n in range(500):
        length = int(b.lengths[n])
        assert 100 <= length <= 110
        s = "".join("abcdXYBE"[i] for i in b.inputs[n, :length].argmax(-1))
        assert s[0] == "E" and s[-1] == "B" and set(s[1:-1]) <= set("abcdXY")
        rel = [(t + 1, ch) for t, ch in enumerate(s) if ch in "XY"]  # 1-based positions
        assert len(rel) == len(windows)
        for (pos, _), (lo, hi) in zip(rel, windows):
            assert lo <= pos <= hi
        order = "".join(ch for _, ch in rel)
        cls = int(order.replace("X", "0").replace("Y", "1"), 2)
        assert int(b.targets[n, length - 1].argmax()) == cls and float(b.targets[n, length - 1].sum()) == 1
        seen.add(names[cls])
    assert seen == set(names)
    pred = b.targets.clone()
    pred[0, b.lengths[0] - 1] += 0.35
    assert task.correct(pred, b).tolist() == [False] + [True] * 499


def test_copy_memory():
    task = CopyMemory(T=30, symbols=8, copy_len=10)
    b = task.sample(50, torch.Generator().manual_seed(0))
    sym = b.inputs.argmax(-1)  # (N, 50)
    assert b.inputs.shape == (50, 50, 10)
    assert bool((sym[:, :10] >= 1).all() and (sym[:, :10] <= 8).all())
    assert bool((sym[:, 10:39] == 0).all() and (sym[:, 39] == 9).all() and (sym[:, 40:] == 0).all())
    assert torch.equal(b.targets[:, -10:], sym[:, :10]) and bool((b.targets[:, :-10] == 0).all())
    onehot = torch.nn.functional.one_hot(b.targets, 9).float()
    assert bool(task.correct(onehot, b).all())
    onehot[3, -1] = onehot[3, -1].roll(1)
    assert task.correct(onehot, b).sum() == 49
    assert task.baseline_loss == pytest.approx(10 * math.log(8) / 50)


def test_seeded_and_bad_arguments():
    a = AddingProblem().sample(4, torch.Generator().manual_seed(9))
    b = AddingProblem().sample(4, torch.Generator().manual_seed(9))
    assert torch.equal(a.inputs, b.inputs)
    assert isinstance(make_task("adding", T=50), AddingProblem)
    with pytest.raises(ValueError, match="name"):
        make_task("parity")
    with pytest.raises(ValueError, match="kind"):
        LongTimeLag("2d")
    with pytest.raises(ValueError, match="n:"):
        AddingProblem().sample(0)
    with pytest.raises(ValueError, match="T:"):
        AddingProblem(T=5)
    with pytest.raises(ValueError, match="prediction"):
        AddingProblem().correct(torch.zeros(4, 3, 1), a)


def test_continual_reber_counts_strings_once_their_last_symbol_is_emitted() -> None:
    task = ContinualReber()
    segments = task.segments(4, 50, torch.Generator().manual_seed(0))
    streams = [""] * 4
    for _ in range(6):
        batch = next(segments)
        for row in range(4):
            streams[row] += "".join(REBER_SYMBOLS[int(i)] for i in batch.inputs[row].argmax(-1))
        # complete embedded strings emitted so far, by the independent acceptor
        complete = sum(sum(1 for _ in EMBEDDED_RE.finditer(text)) for text in streams)
        assert batch.info["strings_done"] == complete

"""The Reber grammar tasks against their definition, with checks written here independently."""

from __future__ import annotations

import re

import torch

from lstmkit.apps.experiments.tasks import (
    REBER_SYMBOLS,
    ContinualReber,
    EmbeddedReber,
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


def test_continual_reber_streams_restart_on_request_and_at_their_cap() -> None:
    task = ContinualReber()
    streams = task.segments(3, 20, torch.Generator().manual_seed(1), max_symbols=60)
    first = next(streams)
    assert first.info["fresh"].tolist() == [True, True, True]  # every stream starts at zero
    streams.restart(torch.tensor([False, True, False]))
    second = next(streams)
    assert second.info["fresh"].tolist() == [False, True, False]
    text = "".join(REBER_SYMBOLS[int(i)] for i in second.inputs[1].argmax(-1))
    assert EMBEDDED_RE.match(text)  # the restarted row begins a new string
    assert next(streams).info["fresh"].tolist() == [False, False, False]
    # 60 symbols = 3 windows: rows 0 and 2 end their streams at the cap; row 1 restarted later
    assert next(streams).info["fresh"].tolist() == [True, False, True]

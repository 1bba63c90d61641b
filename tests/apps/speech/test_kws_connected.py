"""Keyword spotting inside connected digit strings: the re-armed trigger, per-string counting of
triggers against keyword occurrences, the connected stream and its ROC on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.speech import kws
from lstmkit.apps.speech.data import SpeechCorpus


def test_rearm_needs_the_score_to_fall_first() -> None:
    s = np.array([0, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0, 0, 0.9])
    np.testing.assert_array_equal(kws.triggers(s, 0.5, 2), [1, 3, 5, 9])
    np.testing.assert_array_equal(kws.triggers(s, 0.5, 2, rearm=True), [1, 5, 9])
    np.testing.assert_array_equal(kws.triggers(s, 0.5, 5, rearm=True), [1, 6])
    np.testing.assert_array_equal(kws.triggers(s[:4], 0.5, 1, rearm=True), [1])  # never falls again


def test_count_in_spans_per_occurrence() -> None:
    spans = np.array([[100, 200], [500, 600], [800, 900]])
    counts = np.array([2, 1, 2])
    # outside, 3 in span 0 (one past its end but within the tolerance), outside, span 1,
    # past span 1's tolerance, one of span 2's two keywords
    fired = np.array([50, 120, 150, 205, 300, 550, 615, 850])
    c = kws.count_in_spans(fired, spans, counts, tolerance=10)
    np.testing.assert_array_equal(c.per_span, [3, 1, 1])
    assert (c.hits, c.keywords, c.excess, c.outside) == (2 + 1 + 1, 5, 1, 3)
    none = kws.count_in_spans(np.array([], dtype=np.int64), spans, counts, tolerance=10)
    assert (none.hits, none.excess, none.outside) == (0, 0, 0)


def test_connected_stream_keeps_strings_with_the_keyword() -> None:
    labels = ["7", "3", "27", "777", "45", "9"]
    audio = [np.full(200 + 10 * i, 0.1 + i / 100, np.float32) for i in range(len(labels))]
    corpus = SpeechCorpus(audio, labels, ["v"] * len(labels))
    stream = kws.make_stream(corpus, "7", seed=1, gap=(0.01, 0.02), connected=True)
    assert sorted(stream.labels) == ["27", "45", "777"]
    spans, counts = stream.keyword_spans()
    order = [stream.labels.index(s) for s in ("27", "777")]
    assert sorted(counts.tolist()) == [1, 3]
    assert {tuple(x) for x in spans} == {(stream.starts[i], stream.ends[i]) for i in order}
    with pytest.raises(ValueError, match="digit strings holding the keyword '8'"):
        kws.make_stream(corpus, "8", connected=True)


def test_connected_roc_counts_repeats_only_with_a_short_refractory() -> None:
    end = kws.step_end_samples(np.array([10, 30, 40, 60]), subsample=2)  # 3760, 10160, 13360, 19760
    stream = kws.KeywordStream(
        np.zeros(20_000, np.float32),
        np.array([3000, 9000, 12000]),
        np.array([4000, 11000, 20000]),
        ["17", "3", "77"],
        "7",
    )
    scores = np.zeros(70)
    scores[[10, 30, 40, 60]] = 0.9  # one in "17", one in "3" (a false alarm), two in "77"
    assert (end < [4000, 11000, 20000, 20000]).all()
    short = kws.connected_roc(scores, stream, [0.5], subsample=2, refractory=5, tolerance=0.0, rearm=True)[0]
    hours = 20_000 / 16000 / 3600
    assert short["tpr"] == 1.0 and short["strings_exact"] == 1.0
    assert short["outside_per_hour"] == pytest.approx(1 / hours) and short["excess_per_hour"] == 0
    assert short["latency_mean"] == pytest.approx(-240 / 16000)  # both strings end with "7"
    long = kws.connected_roc(scores, stream, [0.5], subsample=2, refractory=50, tolerance=0.0)[0]
    assert long["tpr"] == pytest.approx(2 / 3) and long["outside_per_hour"] == 0  # 30 and 40 suppressed
    assert long["strings_exact"] == pytest.approx(0.5)

"""The CTC recognizer: decoders, metrics, learning, streaming == offline (lstmkit.apps.speech)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lstmkit.apps.speech import data, features
from lstmkit.apps.speech.decode import beam_decode, collapse, greedy_decode
from lstmkit.apps.speech.estimator import DigitRecognizer
from lstmkit.apps.speech.metrics import digit_error_rate, edit_distance, isolated_accuracy


def test_collapse_and_greedy_merge_repeats_and_drop_blanks() -> None:
    assert collapse([0, 2, 2, 0, 2, 3, 3, 0]) == "112"
    assert collapse([1, 1, 0, 1, 11 - 1]) == "009"
    logits = torch.full((6, 11), -5.0)
    for t, c in enumerate([4, 4, 0, 0, 4, 10]):
        logits[t, c] = 5.0
    assert greedy_decode(logits) == "339"


def test_beam_finds_the_label_the_best_path_misses() -> None:
    # two steps, blank 0.6 and digit 0 (class 1) 0.4 each: the best path is blank-blank ("",
    # 0.36) but "0" collects 0.4*0.4 + 0.4*0.6 + 0.6*0.4 = 0.64
    p = torch.full((2, 11), 1e-9)
    p[:, 0], p[:, 1] = 0.6, 0.4
    lp = p.log()
    assert greedy_decode(lp) == ""
    assert beam_decode(lp, beam=4) == "0"


def _exact_best(log_probs: torch.Tensor) -> str:
    """The most likely digit string by summing every path (K^T of them)."""
    probs = log_probs.softmax(-1).double()
    scores: dict[str, float] = {}
    for path in itertools.product(range(probs.shape[1]), repeat=probs.shape[0]):
        p = math.prod(float(probs[t, c]) for t, c in enumerate(path))
        key = collapse(list(path))
        scores[key] = scores.get(key, 0.0) + p
    return max(scores, key=lambda k: scores[k])


@pytest.mark.parametrize("seed", range(6))
def test_prefix_beam_search_is_exact_with_a_wide_beam(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    logits = torch.full((5, 11), -30.0)
    logits[:, :3] = torch.randn(5, 3, generator=g) * 1.5  # blank and digits 0, 1 only: 3^5 paths
    assert beam_decode(logits, beam=64) == _exact_best(logits[:, :3])


def test_metrics() -> None:
    assert edit_distance("123", "13") == 1
    assert edit_distance("", "12") == 2
    assert edit_distance("4567", "4657") == 2
    assert digit_error_rate(["123", "45"], ["13", "45"]) == pytest.approx(1 / 5)
    assert isolated_accuracy(["1", "2", "3", "4"], ["1", "2", "", "5"]) == 0.5
    with pytest.raises(ValueError, match="hyps: expected one hypothesis per reference"):
        digit_error_rate(["1"], [])


@pytest.fixture(scope="module")
def trained(tiny_train: data.SpeechCorpus) -> DigitRecognizer:
    rec = DigitRecognizer(
        bidirectional=False, hidden_size=48, num_layers=1, subsample=3, max_epochs=30, lr=1e-2, batch_size=16
    )
    rec.progress = False
    return rec.fit(tiny_train.audio, tiny_train.labels)


def test_ctc_model_learns_unseen_voices(trained: DigitRecognizer, tiny_test: data.SpeechCorpus) -> None:
    iso = tiny_test.subset(tiny_test.isolated())
    untrained = DigitRecognizer(**{**trained.config_dict(), "progress": False})
    untrained.nets_ = [untrained._new_net(0).eval()]
    chance = isolated_accuracy(iso.labels, untrained.transcribe(iso.audio))
    learned = isolated_accuracy(iso.labels, trained.transcribe(iso.audio))
    assert chance < 0.2
    assert learned >= 0.5, learned  # unseen voices, 160 training digits, a few seconds


def test_streaming_equals_offline(trained: DigitRecognizer, tiny_test: data.SpeechCorpus) -> None:
    audio = [tiny_test.audio[0], tiny_test.audio[-1]]  # an isolated digit and a string
    offline = trained.logits(audio)
    for a, ref in zip(audio, offline, strict=True):
        stream = trained.stream()
        chunks = [stream.push(a[i : i + 160]) for i in range(0, len(a), 160)]
        torch.testing.assert_close(torch.cat(chunks), ref, atol=1e-5, rtol=0)
        assert stream.hypothesis() == greedy_decode(ref)


@pytest.mark.parametrize("normalize", ["global", "running"])
def test_streaming_equals_offline_for_a_deeper_random_model(normalize: str) -> None:
    rec = DigitRecognizer(
        bidirectional=False, hidden_size=16, num_layers=2, subsample=2, normalize=normalize, progress=False
    )
    net = rec._new_net(0).eval()
    net.mean.normal_()  # type: ignore[operator]
    rec.nets_ = [net]
    a = np.random.default_rng(0).standard_normal(5000).astype(np.float32) * 0.1
    stream = rec.stream()
    got = torch.cat([stream.push(a[i : i + 97]) for i in range(0, len(a), 97)])
    torch.testing.assert_close(got, rec.logits([a])[0], atol=1e-5, rtol=0)


def test_running_normalization_is_a_causal_running_mean() -> None:
    x = torch.randn(2, 30, 3)
    start = torch.tensor([0.5, -1.0, 2.0])
    y, last = features.running_normalize(x, start, alpha=0.9)
    m = start.expand(2, 3)
    for t in range(30):
        m = 0.9 * m + 0.1 * x[:, t]
        torch.testing.assert_close(y[:, t], x[:, t] - m)
    torch.testing.assert_close(last, m)
    shifted, _ = features.running_normalize(x + 5.0, start + 5.0, alpha=0.9)
    torch.testing.assert_close(shifted, y, atol=1e-5, rtol=0)  # a constant level is removed
    head, state = features.running_normalize(x[:, :10], start, alpha=0.9)
    tail, _ = features.running_normalize(x[:, 10:], state, alpha=0.9)
    torch.testing.assert_close(torch.cat([head, tail], 1), y)  # chunks == whole


def test_save_load_and_refusals(trained: DigitRecognizer, tmp_path, tiny_test: data.SpeechCorpus) -> None:
    trained.save(tmp_path / "m.pt")
    back = DigitRecognizer.load(tmp_path / "m.pt")
    torch.testing.assert_close(back.logits(tiny_test.audio[:2])[0], trained.logits(tiny_test.audio[:2])[0])
    bi = DigitRecognizer(bidirectional=True, hidden_size=8, num_layers=1, progress=False)
    bi.nets_ = [bi._new_net(0).eval()]
    with pytest.raises(ValueError, match="stream: expected a unidirectional model"):
        bi.stream()
    with pytest.raises(ValueError, match=r"labels\[1\]: expected a non-empty string of digits"):
        bi.fit([np.zeros(800, np.float32)] * 2, ["1", "2a"])
    with pytest.raises(ValueError, match=r"audio\[0\]: expected finite samples"):
        bi.transcribe([np.full(800, np.nan, np.float32)])
    with pytest.raises(ValueError, match="normalize: expected one of"):
        DigitRecognizer(normalize="cmvn")

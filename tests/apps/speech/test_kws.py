"""Keyword spotting: exact stream positions, the trigger on hand-made posteriors, the ROC on a
hand-made case, streaming == whole-stream detection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.apps.speech import kws, kws_job
from lstmkit.apps.speech.data import SpeechCorpus
from lstmkit.apps.speech.estimator import DigitRecognizer
from lstmkit.apps.speech.features import FeatureConfig, features
from lstmkit.apps.speech.model import CLASSES, CTCAcousticModel
from lstmkit.apps.speech.streaming import StreamingRecognizer
from lstmkit.apps.speech.wav import load_wav, write_wav
from lstmkit.cli import main


def _toy_corpus() -> SpeechCorpus:
    """Utterances whose samples say which utterance they are (value 0.1 + i / 100), with zero
    edges that :func:`kws.trim` removes."""
    labels = ["7", "3", "27", "7", "45", "7", "9"]
    audio = []
    for i in range(len(labels)):
        a = np.zeros(300 + 50 * i, np.float32)
        a[20 + i : len(a) - 7] = 0.1 + i / 100
        audio.append(a)
    return SpeechCorpus(audio, labels, ["v"] * len(labels))


def test_stream_positions_are_exact() -> None:
    corpus = _toy_corpus()
    stream = kws.make_stream(corpus, "7", seed=4, gap=(0.01, 0.05))
    assert "27" not in stream.labels and sorted(stream.labels) == sorted(["7", "3", "7", "45", "7", "9"])
    occ = stream.occurrences()
    assert len(occ) == 3
    for start, end, label in zip(stream.starts, stream.ends, stream.labels, strict=True):
        i = round((float(stream.audio[start]) - 0.1) * 100)  # which utterance lies here
        assert corpus.labels[i] == label
        np.testing.assert_array_equal(stream.audio[start:end], kws.trim(corpus.audio[i]))
        assert stream.audio[start - 1] == 0 and stream.audio[end] == 0
    inside = np.zeros(len(stream.audio), bool)
    for a, b in zip(stream.starts, stream.ends, strict=True):
        inside[a:b] = True
    assert not stream.audio[~inside].any()  # silence between them
    again = kws.make_stream(corpus, "7", seed=4, gap=(0.01, 0.05))
    np.testing.assert_array_equal(again.audio, stream.audio)
    other = kws.make_stream(corpus, "7", seed=5, gap=(0.01, 0.05))
    assert not np.array_equal(other.starts, stream.starts)


def test_stream_noise_and_bad_input() -> None:
    corpus = _toy_corpus()
    clean = kws.make_stream(corpus, "7", seed=1)
    noisy = kws.make_stream(corpus, "7", seed=1, noise_db=10.0)
    speech = np.concatenate([clean.audio[a:b] for a, b in zip(clean.starts, clean.ends, strict=True)])
    noise = noisy.audio - clean.audio
    assert 10 * np.log10(np.mean(speech**2) / np.mean(noise**2)) == pytest.approx(10.0, abs=0.01)
    with pytest.raises(ValueError, match="keyword: expected one digit"):
        kws.make_stream(corpus, "77")
    with pytest.raises(ValueError, match="corpus: expected isolated utterances of the keyword '8'"):
        kws.make_stream(corpus, "8")


def _logits_with_spikes(n: int, spikes: dict[int, float], keyword: int = 7) -> torch.Tensor:
    """(n, K) logits whose keyword posterior is ``spikes[t]`` at step t and ~0 elsewhere."""
    post = np.full((n, CLASSES), 1e-9)
    post[:, 0] = 1.0
    for t, p in spikes.items():
        post[t, 0], post[t, 1 + keyword] = 1 - p, p
    return torch.from_numpy(np.log(post / post.sum(1, keepdims=True)))


def test_scores_and_triggers_by_hand() -> None:
    logits = _logits_with_spikes(40, {5: 0.9, 6: 0.9, 20: 0.3, 30: 0.9})
    scores = kws.keyword_scores(logits, "7", window=2)
    assert scores[5] == pytest.approx(0.45, abs=1e-6) and scores[6] == pytest.approx(0.9, abs=1e-6)
    assert scores[7] == pytest.approx(0.45, abs=1e-6) and scores[8] == pytest.approx(0.0, abs=1e-6)
    # one trigger per keyword, at the first step over the threshold
    np.testing.assert_array_equal(kws.triggers(scores, 0.4, refractory=10), [5, 30])
    np.testing.assert_array_equal(kws.triggers(scores, 0.5, refractory=10), [6])  # 30 and 31: 0.45
    # the refractory period: with R = 1 every step above fires; a longer one suppresses or delays the next
    np.testing.assert_array_equal(kws.triggers(scores, 0.4, refractory=1), [5, 6, 7, 30, 31])
    np.testing.assert_array_equal(kws.triggers(scores, 0.4, refractory=25), [5, 30])
    np.testing.assert_array_equal(kws.triggers(scores, 0.4, refractory=26), [5, 31])  # 30 is too soon
    np.testing.assert_array_equal(kws.triggers(scores, 0.4, refractory=27), [5])
    np.testing.assert_array_equal(kws.triggers(scores, 0.1, refractory=10), [5, 20, 30])


def test_roc_by_hand() -> None:
    # three keywords at [1000, 2000), [20000, 21000), [40000, 41000) samples in one hour of audio
    audio = np.zeros(3600 * 16000, np.float32)
    stream = kws.KeywordStream(
        audio,
        np.array([1000, 20000, 30000, 40000]),
        np.array([2000, 21000, 31000, 41000]),
        ["7", "7", "1", "7"],
        "7",
    )
    # steps complete at sample 320 t + 560 (subsample 2): step 5 -> 2160, 62 -> 20400, 70 -> 22960
    scores = np.zeros(200)
    scores[5], scores[62], scores[70], scores[100], scores[150] = 0.9, 0.6, 0.8, 0.5, 0.2
    rows = kws.roc(scores, stream, [0.95, 0.7, 0.55, 0.4], subsample=2, refractory=1, tolerance=0.05)
    # 0.7: step 5 (160 samples = 0.01 s late) hits the first, step 70 (1960 samples past the
    # second's end, over the 800-sample tolerance) is a false alarm
    assert [r["tpr"] for r in rows] == pytest.approx([0, 1 / 3, 2 / 3, 2 / 3])
    assert [r["fa_per_hour"] for r in rows] == pytest.approx([0, 1, 1, 2], rel=1e-9)
    assert rows[2]["latency_mean"] == pytest.approx((0.01 - 0.0375) / 2)
    assert np.isnan(rows[0]["latency_mean"])
    assert kws.operating_point(rows, 1.0) == rows[2]
    assert kws.operating_point([rows[3]], 1.0) is None


def test_match_takes_each_trigger_once() -> None:
    found = kws.match(np.array([90, 95, 170, 400]), np.array([[0, 100], [150, 200]]), tolerance=60)
    np.testing.assert_array_equal(found.hits, [True, True])
    assert found.false_alarms == 2  # 95 (the first is taken) and 400 (past 200 + 60)
    np.testing.assert_allclose(found.latency, [-10 / 16000, -30 / 16000])
    # one trigger inside two occurrences' windows counts for the first only
    found = kws.match(np.array([130]), np.array([[0, 100], [120, 200]]), tolerance=60)
    np.testing.assert_array_equal(found.hits, [True, False])
    assert found.false_alarms == 0


@pytest.mark.parametrize("rearm", [False, True])
def test_streaming_detection_equals_whole_stream(rearm: bool) -> None:
    torch.manual_seed(0)
    cfg = FeatureConfig(normalize="running")
    net = CTCAcousticModel(cfg.size, 16, 2, bidirectional=False, running=True).eval()
    with torch.no_grad():
        net.out.bias[1 + 7] = 2.4  # the keyword's posterior near the other classes'
        net.std.fill_(8.0)
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)
    with torch.no_grad():
        x = features(audio, cfg)
        logits, _ = net(x[None], torch.tensor([len(x)]))
    scores = kws.keyword_scores(logits[0], "7", window=4)
    gaps = np.diff(np.sort(scores))
    k = int(np.argmax(gaps[len(gaps) // 4 : 3 * len(gaps) // 4])) + len(gaps) // 4
    threshold = float(np.sort(scores)[k] + gaps[k] / 2)  # far from every score
    expected = kws.triggers(scores, threshold, refractory=6, rearm=rearm)
    assert 2 <= len(expected) < len(scores) // 6
    spotter = kws.KeywordSpotter(
        StreamingRecognizer(net, cfg), "7", threshold, window=4, refractory=6, rearm=rearm
    )
    fired = [t for i in range(0, len(audio), 160) for t in spotter.push(audio[i : i + 160])]
    np.testing.assert_allclose(spotter.scores, scores, atol=1e-5)
    np.testing.assert_array_equal(fired, expected)


def test_wake_on_a_wav_file_equals_whole_stream_triggers(
    tiny_train: SpeechCorpus, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = DigitRecognizer(bidirectional=False, hidden_size=16, num_layers=1, max_epochs=1, progress=False)
    rec.fit(tiny_train.audio[:32], tiny_train.labels[:32])
    rec.save(tmp_path / "model.pt")
    stream = kws.make_stream(tiny_train.subset(np.arange(len(tiny_train)) < 12), tiny_train.labels[0], seed=0)
    write_wav(tmp_path / "s.wav", stream.audio)
    audio = load_wav(tmp_path / "s.wav")
    scores = kws.keyword_scores(rec.logits([audio])[0], stream.keyword, 3)
    threshold = float(np.quantile(scores, 0.9))
    expected = kws.step_end_samples(kws.triggers(scores, threshold, 20), 2) / 16000
    out = kws_job.wake(
        str(tmp_path / "model.pt"),
        str(tmp_path / "s.wav"),
        stream.keyword,
        threshold=threshold,
        window=3,
        refractory=20,
    )
    assert len(expected) >= 2
    np.testing.assert_allclose(out.times, expected)
    assert len(out.latencies) == -(-len(audio) // 160)
    # the command prints the same times, one per line
    argv = ["speech", "wake", str(tmp_path / "s.wav"), "--model", str(tmp_path / "model.pt")]
    assert (
        main([*argv, "--keyword", stream.keyword, "--threshold", str(threshold), "--refractory", "20"]) == 0
    )
    printed = [float(line) for line in capsys.readouterr().out.split()]
    np.testing.assert_allclose(printed, expected, atol=0.006)  # printed with 2 decimals
    rearmed = kws.step_end_samples(kws.triggers(scores, threshold, 5, rearm=True), 2) / 16000
    assert (
        main(
            [
                *argv,
                "--keyword",
                stream.keyword,
                "--threshold",
                str(threshold),
                "--refractory",
                "5",
                "--rearm",
            ]
        )
        == 0
    )
    printed = [float(line) for line in capsys.readouterr().out.split()]
    np.testing.assert_allclose(printed, rearmed, atol=0.006)
    assert main([*argv, "--keyword", "7", "--threshold", "2"]) != 0
    with pytest.raises(ValueError, match="--threshold: expected a posterior in"):
        kws_job.wake(str(tmp_path / "model.pt"), str(tmp_path / "s.wav"), "7", threshold=2.0)
    with pytest.raises(FileNotFoundError, match="--model: no such file"):
        kws_job.wake(str(tmp_path / "none.pt"), str(tmp_path / "s.wav"), "7")

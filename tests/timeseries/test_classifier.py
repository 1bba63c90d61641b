"""Sequence classifiers: padding invariance, training on real data, save/load, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.data import sources
from lstmkit.models.classifier import LSTMFCN, LSTMClassifier, SequenceClassifier


@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_batch_equals_each_sequence_alone(pooling: str, bidirectional: bool) -> None:
    net = LSTMClassifier(3, 4, hidden_size=8, pooling=pooling, bidirectional=bidirectional).eval()
    lengths = torch.tensor([9, 5, 2])
    x = torch.randn(3, 9, 3)
    x[1, 5:] = 7.0  # garbage in the padding must not matter
    x[2, 2:] = -3.0
    batch = net(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = net(x[i : i + 1, :n])
        assert torch.allclose(batch[i], alone[0], atol=1e-5)


def test_lstm_fcn_masks_padding_without_shuffle() -> None:
    net = LSTMFCN(2, 3, max_length=12, shuffle=False).eval()
    x = torch.randn(2, 12, 2)
    lengths = torch.tensor([12, 7])
    batch = net(x, lengths)
    alone = net(x[1:2, :7])
    assert torch.allclose(batch[1], alone[0], atol=1e-5)


def test_lstm_fcn_dimension_shuffle_reads_channels_as_steps() -> None:
    net = LSTMFCN(1, 2, max_length=30)
    assert net.lstm.input_size == 30  # the whole series is one step of 30 features
    assert net(torch.randn(4, 30, 1)).shape == (4, 2)


@pytest.mark.slow
def test_lstm_fcn_on_italy_power_demand() -> None:
    d = sources.load_classification("italypowerdemand")
    clf = SequenceClassifier("lstm-fcn", max_epochs=25, progress=False).fit(d.x_train, d.y_train)
    acc = clf.score(d.x_test, d.y_test)
    assert acc >= 0.90, acc  # paper 0.962; chance is 0.5


@pytest.mark.slow
def test_bilstm_attention_learns_variable_length_sequences(tmp_path) -> None:
    rng = np.random.default_rng(0)
    n, length = 160, 40
    lengths = rng.integers(12, length + 1, n)
    y = rng.integers(0, 2, n)
    x = np.zeros((n, length, 1), dtype=np.float32)
    for i in range(n):
        freq = 0.15 if y[i] == 0 else 0.45
        t = np.arange(lengths[i])
        x[i, : lengths[i], 0] = np.sin(freq * t + rng.uniform(0, 6)) + 0.1 * rng.normal(size=lengths[i])
    clf = SequenceClassifier(
        "bilstm", pooling="attention", hidden_size=16, max_epochs=25, lr=1e-2, progress=False
    )
    clf.fit(x[:120], y[:120], lengths[:120])
    assert clf.score(x[120:], y[120:], lengths[120:]) >= 0.9
    path = tmp_path / "clf.pt"
    clf.save(path)
    again = SequenceClassifier.load(path)
    assert np.allclose(again.predict_proba(x[120:], lengths[120:]), clf.predict_proba(x[120:], lengths[120:]))


def test_bad_input() -> None:
    net = LSTMClassifier(3, 2, hidden_size=4)
    with pytest.raises(ValueError, match=r"x: expected a float tensor \(N, L, 3\), got \(2, 5, 4\)"):
        net(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match=r"lengths: expected values in \[1, 5\]"):
        net(torch.randn(2, 5, 3), torch.tensor([6, 2]))
    with pytest.raises(ValueError, match="pooling: expected one of"):
        LSTMClassifier(3, 2, pooling="max-min")
    clf = SequenceClassifier("lstm", max_epochs=1, progress=False)
    with pytest.raises(ValueError, match="y: expected 4 labels"):
        clf.fit(np.zeros((4, 5, 1)), np.zeros(3, dtype=int))
    bad = np.zeros((4, 5, 1))
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(bad, np.array([0, 1, 0, 1]))
    with pytest.raises(RuntimeError, match="call fit"):
        clf.predict(np.zeros((2, 5, 1)))

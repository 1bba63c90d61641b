"""Classification networks: padding never changes a result, LSTM-FCN's dimension shuffle."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.classification import estimator
from lstmkit.apps.classification.model import LSTMFCN, LSTMClassifier


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


def test_the_estimator_module_re_exports_the_networks() -> None:
    assert (estimator.LSTMFCN, estimator.LSTMClassifier) == (LSTMFCN, LSTMClassifier)

"""Classification networks: padding never changes a result (every encoder, the FCN), LSTM-FCN's
dimension shuffle, the LSTM classifier's old state dicts."""

from __future__ import annotations

import pytest
import torch

from lstmkit.apps.classification import estimator
from lstmkit.apps.classification.model import FCN, LSTMFCN, EncoderClassifier, LSTMClassifier
from lstmkit.core.layers.lstm import LSTM


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
    assert (estimator.FCN, estimator.EncoderClassifier) == (FCN, EncoderClassifier)
    assert LSTMClassifier is EncoderClassifier  # an LSTM classifier is the encoder classifier's default


@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
@pytest.mark.parametrize("architecture", ["gru", "rnn", "transformer", "tcn"])
def test_every_encoder_ignores_padding(architecture: str, pooling: str) -> None:
    torch.manual_seed(0)
    net = EncoderClassifier(3, 4, architecture=architecture, hidden_size=8, pooling=pooling).eval()
    lengths = torch.tensor([9, 5, 2])
    x = torch.randn(3, 9, 3)
    x[1, 5:] = 7.0
    x[2, 2:] = -3.0
    batch = net(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(batch[i], net(x[i : i + 1, :n])[0], atol=1e-5, rtol=1e-5)


def test_the_transformer_classifier_sees_the_whole_sequence() -> None:
    """Non-causal: the first step's output reads the last step."""
    torch.manual_seed(0)
    net = EncoderClassifier(2, 3, architecture="transformer", hidden_size=8, pooling="mean").eval()
    x = torch.randn(1, 6, 2)
    out, _ = net.encoder(x)
    later = x.clone()
    later[:, -1] += 1.0
    assert not torch.allclose(net.encoder(later)[0][:, 0], out[:, 0])


def test_the_fcn_is_lstm_fcn_without_its_lstm_and_ignores_padding() -> None:
    torch.manual_seed(0)
    fcn = FCN(2, 3).eval()
    assert not any(isinstance(m, LSTM) for m in fcn.modules())
    assert fcn.head.in_features == 128 and len(fcn.fcn) == 3
    x, lengths = torch.randn(2, 12, 2), torch.tensor([12, 7])
    torch.testing.assert_close(fcn(x, lengths)[1], fcn(x[1:2, :7])[0], atol=1e-5, rtol=1e-5)
    both = LSTMFCN(2, 3, max_length=12, shuffle=False)
    assert [k for k in both.state_dict() if k.startswith("fcn.")] == list(FCN(2, 3).state_dict())[:-2]


def test_a_state_dict_of_the_lstm_attribute_loads() -> None:
    """Classifiers saved when the LSTM was the attribute ``lstm`` (keys ``lstm.weight_ih_l0``)."""
    torch.manual_seed(0)
    net = LSTMClassifier(3, 2, hidden_size=4, bidirectional=True).eval()
    old = {k.replace("encoder.layer.", "lstm."): v for k, v in net.state_dict().items()}
    assert "lstm.weight_ih_l0_reverse" in old
    again = LSTMClassifier(3, 2, hidden_size=4, bidirectional=True).eval()
    again.load_state_dict(old)
    x = torch.randn(2, 5, 3)
    assert torch.equal(again(x), net(x)) and again.lstm is again.encoder.layer

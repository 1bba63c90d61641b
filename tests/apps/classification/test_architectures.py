"""The comparison classifiers (the FCN alone, GRU, Elman RNN, Transformer, TCN): each learns a
real dataset within a short budget, saves and loads, and is chosen by name on the command line."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.apps.classification.estimator import ARCHITECTURES, SequenceClassifier
from lstmkit.apps.classification.job import ClassifyJobConfig, _classifier
from lstmkit.apps.common.options import config_from_args
from lstmkit.apps.datasets import sources
from lstmkit.cli import build_parser


@pytest.fixture(scope="module")
def italy():
    return sources.load_classification("italypowerdemand")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("architecture", "settings"),
    [
        ("fcn", {"max_epochs": 20}),
        ("gru", {}),
        ("rnn", {}),
        ("transformer", {"pooling": "mean", "lr": 1e-2}),
        ("transformer", {"lr": 1e-2, "max_epochs": 60}),
        ("tcn", {"num_layers": 3}),
    ],
)
def test_each_architecture_learns_italy_power_demand_and_loads_back(
    italy, tmp_path, architecture: str, settings: dict
) -> None:
    """Test accuracy on the first 300 test days well above chance (0.5; the classes are
    balanced) after a short budget, and a saved model predicts the same."""
    d = italy
    options = {"hidden_size": 16, "max_epochs": 30, "lr": 3e-3, "progress": False, **settings}
    clf = SequenceClassifier(architecture, **options).fit(d.x_train, d.y_train, d.lengths_train)
    x, y, lengths = d.x_test[:300], d.y_test[:300], d.lengths_test[:300]
    assert abs(float(np.mean(y)) - 0.5) < 0.05
    accuracy = clf.score(x, y, lengths)
    assert accuracy >= 0.85, accuracy
    clf.save(tmp_path / "clf.pt")
    again = SequenceClassifier.load(tmp_path / "clf.pt")
    assert again.config == clf.config
    np.testing.assert_array_equal(again.predict_proba(x, lengths), clf.predict_proba(x, lengths))


def test_settings_an_architecture_lacks_are_refused_in_one_line() -> None:
    with pytest.raises(
        ValueError, match=r"architecture: expected one of \('lstm', 'bilstm', 'lstm-fcn', 'fcn'"
    ):
        SequenceClassifier("resnet")
    with pytest.raises(ValueError, match="pooling: not for architecture 'fcn'"):
        SequenceClassifier("fcn", pooling="mean")
    with pytest.raises(ValueError, match="pooling: not for architecture 'lstm-fcn'"):
        SequenceClassifier("lstm-fcn", pooling="attention")
    with pytest.raises(ValueError, match="shuffle: the dimension shuffle is LSTM-FCN's"):
        SequenceClassifier("tcn", shuffle=False)
    with pytest.raises(ValueError, match=r"num_heads: expected a divisor of hidden_size=30 .* got 4"):
        SequenceClassifier("transformer", hidden_size=30)
    with pytest.raises(ValueError, match="kernel_size: expected an int >= 2, got 1"):
        SequenceClassifier("tcn", kernel_size=1)
    defaults = {a: SequenceClassifier(a).config for a in ("fcn", "gru", "transformer")}
    assert {(c.hidden_size, c.dropout, c.pooling) for c in defaults.values()} == {(64, 0.1, "last")}


def test_the_command_takes_every_architecture_by_name() -> None:
    for name in ARCHITECTURES:
        args = build_parser().parse_args(["classify", "--architecture", name])
        config = config_from_args(ClassifyJobConfig, args, {"shuffle": not args.no_shuffle})
        assert _classifier(config).config.architecture == name
    args = build_parser().parse_args(
        ["classify", "--arch", "transformer", "--heads", "2", "--kernel-size", "5"]
    )
    clf = _classifier(config_from_args(ClassifyJobConfig, args, {"shuffle": True}))
    assert (clf.config.architecture, clf.config.num_heads, clf.config.kernel_size) == ("transformer", 2, 5)

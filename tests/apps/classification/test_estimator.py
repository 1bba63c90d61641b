"""Sequence classifiers: padding invariance, training on real data, save/load, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.apps.classification.estimator import (
    LSTMFCN,
    LSTMClassifier,
    SequenceClassifier,
    slice_views,
)
from lstmkit.apps.datasets import sources


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


def _two_frequencies(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.arange(24)
    x = np.sin(np.where(y[:, None] == 0, 0.2, 0.9) * t + rng.uniform(0, 6, (n, 1)))
    return (x + 0.1 * rng.normal(size=x.shape)).astype(np.float32), y


def test_cross_validation_is_out_of_fold_and_leaves_the_estimator_unfitted() -> None:
    x, y = _two_frequencies(24, 0)
    clf = SequenceClassifier("lstm", hidden_size=8, max_epochs=30, lr=1e-2, progress=False)
    cv = clf.cross_validate(x, y, folds=3, repeats=2)
    assert clf.nets_ == []  # self is only the settings: still unfitted
    assert cv.proba.shape == (2, 24, 2) and cv.folds.shape == (2, 24) and len(cv.fold_accuracy) == 6
    assert np.allclose(cv.proba.sum(2), 1.0, atol=1e-5)  # every sequence predicted once per repeat
    assert cv.accuracy >= 0.85, cv.accuracy  # learnable from 16 sequences; chance is 0.5
    hit = cv.proba.argmax(2) == y[None]
    assert cv.accuracy == pytest.approx(hit.mean())
    with pytest.raises(ValueError, match="repeats: expected an int >= 1"):
        clf.cross_validate(x, y, repeats=0)
    with pytest.raises(ValueError, match="y: expected 24 labels"):
        clf.cross_validate(x, y[:5])


def test_cross_validation_never_trains_on_the_held_out_fold(monkeypatch) -> None:
    x, y = _two_frequencies(12, 1)
    x[:, 0] = np.arange(12)  # the first value names the sequence
    seen: list[set[int]] = []
    fit = SequenceClassifier.fit

    def recording_fit(self, xs, ys, lengths=None):
        seen.append({int(v) for v in np.asarray(xs)[:, 0, 0]})  # (N, L, C)
        return fit(self, xs, ys, lengths)

    monkeypatch.setattr(SequenceClassifier, "fit", recording_fit)
    clf = SequenceClassifier("lstm", hidden_size=4, max_epochs=1, progress=False)
    cv = clf.cross_validate(x, y, folds=3)
    assert len(seen) == 3
    for f, trained_on in enumerate(seen):
        held = set(np.flatnonzero(cv.folds[0] == f).tolist())
        assert trained_on == set(range(12)) - held


def test_lstm_fcn_padding_does_not_change_training_either() -> None:
    torch.manual_seed(0)
    net = LSTMFCN(2, 3, max_length=20, hidden_size=4, shuffle=False, dropout=0.0).train()
    x, lengths = torch.randn(4, 10, 2), torch.tensor([10, 7, 5, 3])
    a = net(x, lengths)
    stats = [b.running_mean.clone() for b in net.modules() if isinstance(b, torch.nn.BatchNorm1d)]
    torch.manual_seed(0)
    net2 = LSTMFCN(2, 3, max_length=20, hidden_size=4, shuffle=False, dropout=0.0).train()
    b = net2(torch.cat([x, torch.full((4, 10, 2), 5.0)], 1), lengths)  # wider, garbage padding
    assert torch.allclose(a, b, atol=1e-5)  # batch statistics over real steps only
    stats2 = [b.running_mean for b in net2.modules() if isinstance(b, torch.nn.BatchNorm1d)]
    assert all(torch.allclose(s, t, atol=1e-6) for s, t in zip(stats, stats2))


def test_classifier_is_independent_of_how_wide_the_data_was_padded() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 8, 1)).astype(np.float32)
    lengths = rng.integers(4, 9, 12)
    y = np.arange(12) % 2
    wide = np.concatenate([x, np.zeros((12, 6, 1), np.float32)], 1)
    kw = {"max_epochs": 2, "progress": False, "hidden_size": 4}
    p1 = SequenceClassifier("lstm-fcn", **kw).fit(x, y, lengths).predict_proba(x, lengths)
    p2 = SequenceClassifier("lstm-fcn", **kw).fit(wide, y, lengths).predict_proba(wide, lengths)
    assert np.allclose(p1, p2, atol=1e-5)


def test_labels_must_be_class_indices() -> None:
    clf = SequenceClassifier("lstm", max_epochs=1, progress=False)
    x = np.zeros((4, 5, 1))
    with pytest.raises(TypeError, match=r"y: expected integer class indices .* np.unique"):
        clf.fit(x, np.array([0.2, 1.7, 0.0, 1.0]))
    with pytest.raises(TypeError, match="y: expected integer class indices"):
        clf.fit(x, np.array(["a", "b", "a", "b"]))
    with pytest.raises(ValueError, match=r"none has \[0\] \(labels 1..K\?"):
        clf.fit(x, np.array([1, 2, 1, 2]))
    with pytest.raises(ValueError, match=r"none has \[0\]"):
        clf.cross_validate(x, np.array([1, 2, 1, 2]), folds=2)


def test_test_time_views_average_the_series_and_its_slices(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 30, 2)).astype(np.float32)
    lengths = rng.integers(12, 31, 10)
    y = np.arange(10) % 2
    clf = SequenceClassifier("lstm", hidden_size=4, max_epochs=2, test_views=4, progress=False)
    clf.fit(x, y, lengths)
    xt, lt = clf._arrays(x, lengths)
    views = slice_views(clf._standardize(xt, lt), lt, 4)
    assert len(views) == 4 and views[0] is not views[1]
    want = sum(torch.softmax(clf.nets_[0](v, lt), -1).double() for v in views) / 4  # by hand
    got = clf.predict_proba(x, lengths)
    assert np.allclose(got, want.detach().numpy(), atol=1e-6)
    plain = clf.clone(test_views=1)
    plain.nets_, plain.meta_ = clf.nets_, clf.meta_
    assert not np.allclose(plain.predict_proba(x, lengths), got, atol=1e-4)  # the slices do count
    clf.save(tmp_path / "m.pt")
    assert np.allclose(SequenceClassifier.load(tmp_path / "m.pt").predict_proba(x, lengths), got)
    x_garbage = x.copy()
    for n, length in enumerate(lengths):  # the slices read each sequence within its length
        x_garbage[n, length:] = 9.0
    alone = [clf.predict_proba(x[n : n + 1, :length])[0] for n, length in enumerate(lengths)]
    assert np.allclose(clf.predict_proba(x_garbage, lengths, batch_size=3), alone, atol=1e-5)
    assert [len(slice_views(torch.zeros(2, 5, 1), torch.tensor([5, 3]), v)) for v in (1, 2, 5)] == [1, 2, 5]
    with pytest.raises(ValueError, match="test_views: expected an int >= 1, got 0"):
        SequenceClassifier(test_views=0)
    with pytest.raises(ValueError, match="views: expected an int >= 1, got 0"):
        slice_views(torch.zeros(2, 5, 1), torch.tensor([5, 3]), 0)
    assert clf.clone(progress=False, test_views=2).config.test_views == 2


def test_a_file_saved_by_the_first_format_still_loads() -> None:
    """``saved/classifier_v1.pt``: SequenceClassifier("lstm", hidden_size=4, max_epochs=2) fitted
    on 12 random (10, 2) sequences with labels 0, 1, 0, ... by lstmkit before the estimator base."""
    from pathlib import Path

    x = np.random.default_rng(0).normal(size=(12, 10, 2))
    model = SequenceClassifier.load(Path(__file__).parent / "saved" / "classifier_v1.pt")
    assert model.config.architecture == "lstm" and type(model.nets_[0]).__name__ == "EncoderClassifier"
    expected = [
        0.501382708549,
        0.51954638958,
        0.540640115738,
        0.543869078159,
        0.527013897896,
        0.527176082134,
        0.546035349369,
        0.503228068352,
        0.549530506134,
        0.519701898098,
        0.536458969116,
        0.536712348461,
    ]
    assert np.allclose(model.predict_proba(x)[:, 0], expected, rtol=1e-6, atol=1e-9)


def test_every_argument_reaches_the_settings() -> None:
    from dataclasses import asdict, fields

    from lstmkit.apps.classification.estimator import ClassifierConfig

    values = {
        "architecture": "bilstm", "pooling": "mean", "hidden_size": 7, "num_layers": 2, "dropout": 0.2,
        "shuffle": True, "variant": "cifg", "engine": "reference", "num_heads": 7, "kernel_size": 5,
        "max_epochs": 4, "batch_size": 6,
        "lr": 0.01, "weight_decay": 0.02, "lr_factor": 0.3, "lr_patience": 3, "min_lr": 1e-5, "patience": 5,
        "ensemble": 2, "augment": "light", "test_views": 3, "seed": 11, "device": "cpu",
    }  # fmt: skip
    assert {f.name for f in fields(ClassifierConfig)} == set(values)
    assert asdict(SequenceClassifier(**values, progress=False).config) == values
    defaults = SequenceClassifier("lstm-fcn").config
    assert (defaults.hidden_size, defaults.dropout) == (8, 0.8)  # the paper's, and 64 / 0.1 otherwise
    assert (SequenceClassifier("lstm").config.hidden_size, SequenceClassifier("lstm").config.dropout) == (
        64,
        0.1,
    )

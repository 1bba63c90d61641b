"""Hostile input to the task models and the trainer: each case ends in one documented outcome,
either a one-line ``ValueError``/``TypeError``/``RuntimeError`` naming the argument, or the
documented valid result; never a raw library error or a silent NaN.

The catalogue is a table ``(id, call, expected)``: ``expected`` is ``(ExceptionType, regex)``
matched against the whole message from its start, or a function checking the result.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.apps.anomaly.estimator import AnomalyDetector
from lstmkit.apps.classification.estimator import SequenceClassifier
from lstmkit.apps.forecasting.base import Forecast
from lstmkit.apps.forecasting.data import TimeSeries
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.language.lm import LanguageModel, filter_logits
from lstmkit.apps.language.seq2seq import Seq2Seq
from lstmkit.apps.language.text_classifier import TextClassifier
from lstmkit.fit import TrainConfig, Trainer, masked_mse
from lstmkit.fit.trainer import NonFiniteLossError

# ---------------------------------------------------------------------- tiny data and models
FC = {"hidden_size": 4, "ensemble": 1, "max_epochs": 1, "window": 6, "progress": False, "patience": None}
CLF = {"hidden_size": 4, "max_epochs": 1, "progress": False}
AD = {"window": 8, "max_epochs": 1, "hidden_size": 4, "progress": False}


def series(values: Any, name: str = "y") -> TimeSeries:
    values = np.asarray(values, dtype=np.float64)
    return TimeSeries(values, pd.date_range("2000-01", periods=len(values), freq="MS"), name=name)


BASE = 100 + 10 * np.sin(np.arange(36) * 2 * np.pi / 12) + np.arange(36)


def seqs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 10, 2))
    y = np.arange(12) % 2
    x[y == 1] += 1.0
    return x, y


SIGNAL = np.sin(np.arange(200) * 0.3)


@functools.cache
def forecaster() -> Forecaster:
    return Forecaster(3, **FC).fit(series(BASE))


def single(forecast: Forecast | list[Forecast]) -> Forecast:
    assert isinstance(forecast, Forecast)
    return forecast


@functools.cache
def classifier() -> SequenceClassifier:
    return SequenceClassifier("lstm", **CLF).fit(*seqs())


@functools.cache
def detector() -> AnomalyDetector:
    return AnomalyDetector(**AD).fit(SIGNAL)


@functools.cache
def saved(kind: str) -> str:
    import tempfile

    path = f"{tempfile.mkdtemp(prefix='hostile-')}/{kind}.pt"
    (forecaster() if kind == "forecaster" else classifier()).save(path)
    return path


@contextlib.contextmanager
def gpus(count: int, mps: bool = False) -> Iterator[None]:
    """Pretend the machine has ``count`` CUDA GPUs (and Metal or not)."""
    with (
        mock.patch("torch.cuda.is_available", return_value=count > 0),
        mock.patch("torch.cuda.device_count", return_value=count),
        mock.patch("torch.backends.mps.is_available", return_value=mps),
    ):
        yield


def on(count: int, make: Callable[[], Any], mps: bool = False) -> Callable[[], Any]:
    def call() -> Any:
        with gpus(count, mps):
            return make()

    return call


def mutated_series() -> TimeSeries:
    s = series(BASE)
    s.values[5] = np.inf  # changed after the checks of TimeSeries
    return s


def with_nan(x: np.ndarray, where: tuple[int, ...], value: float = np.nan) -> np.ndarray:
    x = x.copy()
    x[where] = value
    return x


def nan_loss_trainer() -> Any:
    x = torch.full((4, 3, 1), float("nan"))
    loader = DataLoader(TensorDataset(x, torch.zeros(4, 3)), batch_size=2)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x).squeeze(-1)

    cfg = TrainConfig(max_epochs=1, progress=False, plot=False)
    return Trainer(Model(), cfg, loss_fn=masked_mse).fit(loader)


def scripted_seq2seq() -> Seq2Seq:
    """A 31-token target vocabulary whose model says 10 11 12, but gives the empty translation
    (``<eos>`` at once) more probability than that whole path: greedy says 10 11 12, and so
    must any beam, however wide (never the empty translation)."""
    torch.manual_seed(0)
    m = Seq2Seq(20, 31, 8, 8)
    real = m.decode_step
    likely = {2: {10: 2.0, 3: 1.5}, 10: {11: 0.5}, 11: {12: 0.5}}

    def step(prev: torch.Tensor, state: Any, enc: Any) -> Any:
        _, state, w = real(prev, state, enc)
        table = torch.full((prev.shape[0], 31), -4.0)
        for i, p in enumerate(prev.tolist()):
            for token, logit in likely.get(p, {3: 0.5}).items():
                table[i, token] = logit
        return table, state, w

    m.decode_step = step  # type: ignore[method-assign]
    return m


def check(predicate: Callable[[Any], bool], what: str) -> Callable[[Any], None]:
    def run(result: Any) -> None:
        assert predicate(result), f"{what}: got {result!r}"

    return run


SRC = torch.tensor([[5, 6, 3]])

# ---------------------------------------------------------------------- the catalogue
CASES: list[tuple[str, Callable[[], Any], Any]] = [
    # Forecaster: settings
    (
        "fc-variant",
        lambda: Forecaster(3, variant="zzz"),
        (ValueError, r"variant: expected .*'vanilla'.*got 'zzz'"),
    ),
    (
        "fc-engine",
        lambda: Forecaster(3, engine="warp"),
        (ValueError, r"engine: expected one of .*got 'warp'"),
    ),
    (
        "fc-device-tpu",
        lambda: Forecaster(3, device="tpu"),
        (ValueError, r"device: expected 'cpu', 'cuda', .*got 'tpu'"),
    ),
    (
        "fc-device-cuda-absent",
        on(0, lambda: Forecaster(3, device="cuda")),
        (ValueError, r"device: 'cuda' needs a CUDA GPU .*available here: cpu"),
    ),
    (
        "fc-device-cuda3-of-1",
        on(1, lambda: Forecaster(3, device="cuda:3")),
        (
            ValueError,
            r"device: 'cuda:3' names GPU 3, but 1 GPU\(s\) are present; available here: cpu, cuda:0",
        ),
    ),
    ("fc-horizon-0", lambda: Forecaster(0), (ValueError, r"horizon: expected an int >= 1, got 0")),
    ("fc-horizon-negative", lambda: Forecaster(-3), (ValueError, r"horizon: expected an int >= 1, got -3")),
    (
        "fc-ensemble-0",
        lambda: Forecaster(3, ensemble=0),
        (ValueError, r"ensemble: expected an int >= 1, got 0"),
    ),
    (
        "fc-max-epochs-0",
        lambda: Forecaster(3, max_epochs=0),
        (ValueError, r"max_epochs: expected an int >= 1, got 0"),
    ),
    ("fc-window-1", lambda: Forecaster(3, window=1), (ValueError, r"window: expected an int >= 2, got 1")),
    (
        "fc-lr-inf",
        lambda: Forecaster(3, lr=float("inf")),
        (ValueError, r"lr: expected a finite learning rate > 0, got inf"),
    ),
    (
        "fc-lr-nan",
        lambda: Forecaster(3, lr=float("nan")),
        (ValueError, r"lr: expected a finite learning rate > 0, got nan"),
    ),
    (
        "fc-dropout-1",
        lambda: Forecaster(3, dropout=1.0),
        (ValueError, r"dropout: expected a value in \[0, 1\), got 1.0"),
    ),
    (
        "fc-likelihood",
        lambda: Forecaster(3, likelihood="quantiles"),
        (ValueError, r"likelihood: expected one of"),
    ),
    # Forecaster: data
    (
        "fc-window-longer-than-series",
        lambda: Forecaster(3, **{**FC, "window": 40}).fit(series(BASE[:30])),
        (ValueError, r"series 'y': 30 steps are too short for an input window of 40 and a horizon of 3"),
    ),
    (
        "fc-series-of-one",
        lambda: Forecaster(3, **FC).fit(series([1.0])),
        (ValueError, r"series 'y': 1 steps are too short"),
    ),
    (
        "fc-not-a-series",
        lambda: Forecaster(3, **FC).fit(BASE),  # type: ignore[arg-type]
        (TypeError, r"series: expected a lstmkit TimeSeries or a list of them"),
    ),
    (
        "fc-no-series",
        lambda: Forecaster(3, **FC).fit([]),
        (ValueError, r"series: expected at least one series"),
    ),
    (
        "fc-inf-slipped-in",
        lambda: Forecaster(3, **FC).fit(mutated_series()),
        (ValueError, r"series 'y': expected finite values, got inf at step 5"),
    ),
    (
        "fc-predict-before-fit",
        lambda: Forecaster(3, **FC).predict(),
        (RuntimeError, r"Forecaster: call fit\(\)"),
    ),
    (
        "fc-longer-horizon-direct",
        lambda: forecaster().predict(5),
        (ValueError, r"horizon: this direct model was trained for 3 steps, got 5"),
    ),
    (
        "fc-predict-horizon-0",
        lambda: forecaster().predict(0),
        (ValueError, r"horizon: expected an int >= 1, got 0"),
    ),
    (
        "fc-load-classifier-file",
        lambda: Forecaster.load(saved("classifier")),
        (ValueError, r"path: .*classifier\.pt' is not a saved lstmkit Forecaster"),
    ),
    (
        "fc-constant-series",
        lambda: Forecaster(3, **FC).fit(series(np.full(36, 5.0))).predict(),
        check(lambda f: np.isfinite(f.quantiles).all() and np.abs(f.point - 5.0).max() < 1.0, "near 5"),
    ),
    (
        "fc-values-2e700",  # an exact power-of-two scaling of an ordinary series: the same forecast, scaled
        lambda: Forecaster(3, **FC).fit(series(np.ldexp(BASE, 700))).predict(),
        check(
            lambda f: np.array_equal(f.quantiles, np.ldexp(single(forecaster().predict()).quantiles, 700)),
            "scaled",
        ),
    ),
    (
        "fc-values-2e-1000",
        lambda: Forecaster(3, **FC).fit(series(np.ldexp(BASE, -1000))).predict(),
        check(
            lambda f: np.array_equal(f.point, np.ldexp(single(forecaster().predict()).point, -1000)), "scaled"
        ),
    ),
    # SequenceClassifier
    (
        "clf-labels-strings",
        lambda: SequenceClassifier("lstm", **CLF).fit(seqs()[0], seqs()[1].astype(str)),
        (TypeError, r"y: expected integer class indices 0..K-1, got dtype <U"),
    ),
    (
        "clf-labels-fractions",
        lambda: SequenceClassifier("lstm", **CLF).fit(seqs()[0], seqs()[1] + 0.5),
        (TypeError, r"y: expected integer class indices 0..K-1, got dtype float64"),
    ),
    (
        "clf-one-class",
        lambda: SequenceClassifier("lstm", **CLF).fit(seqs()[0], np.zeros(12, int)),
        (ValueError, r"y: expected at least two classes"),
    ),
    (
        "clf-x-y-mismatch",
        lambda: SequenceClassifier("lstm", **CLF).fit(seqs()[0], seqs()[1][:5]),
        (ValueError, r"y: expected 12 labels \(one per sequence\), got shape \(5,\)"),
    ),
    (
        "clf-empty-x",
        lambda: SequenceClassifier("lstm", **CLF).fit(np.zeros((0, 10, 2)), np.zeros(0, int)),
        (ValueError, r"x: expected \(N, L, C\) or \(N, L\) sequences, got shape \(0, 10, 2\)"),
    ),
    (
        "clf-ragged-x",
        lambda: SequenceClassifier("lstm", **CLF).fit([[1.0, 2.0], [3.0]], [0, 1]),
        (TypeError, r"x: expected numbers as an \(N, L, C\) or \(N, L\) array"),
    ),
    (
        "clf-nan",
        lambda: SequenceClassifier("lstm", **CLF).fit(with_nan(seqs()[0], (1, 2, 0)), seqs()[1]),
        (ValueError, r"x: expected finite values, got nan at sequence 1, step 2, channel 0; NaN and"),
    ),
    (
        "clf-inf",
        lambda: SequenceClassifier("lstm", **CLF).fit(with_nan(seqs()[0], (3, 4, 1), np.inf), seqs()[1]),
        (ValueError, r"x: expected finite values, got inf at sequence 3, step 4, channel 1"),
    ),
    (
        "clf-fractional-length",
        lambda: SequenceClassifier("lstm", **CLF).fit(*seqs(), lengths=[3.5] * 12),
        (ValueError, r"lengths: expected 12 integers in \[1, 10\], got 3.5"),
    ),
    (
        "clf-length-too-long",
        lambda: SequenceClassifier("lstm", **CLF).fit(*seqs(), lengths=[11] * 12),
        (ValueError, r"lengths: expected 12 integers in \[1, 10\], got 11"),
    ),
    (
        "clf-fcn-pooling",
        lambda: SequenceClassifier("lstm-fcn", pooling="attention"),
        (ValueError, r"pooling: not for architecture 'lstm-fcn'"),
    ),
    (
        "clf-lstm-no-shuffle",
        lambda: SequenceClassifier("lstm", shuffle=False),
        (ValueError, r"shuffle: the dimension shuffle is LSTM-FCN's"),
    ),
    (
        "clf-variant",
        lambda: SequenceClassifier("lstm", variant="lstm2"),
        (ValueError, r"variant: expected .*got 'lstm2'"),
    ),
    (
        "clf-device-mps-absent",
        on(0, lambda: SequenceClassifier(device="mps")),
        (ValueError, r"device: 'mps' needs Apple's Metal backend, which this machine lacks"),
    ),
    (
        "clf-predict-before-fit",
        lambda: SequenceClassifier("lstm").predict(seqs()[0]),
        (RuntimeError, r"SequenceClassifier: call fit\(\)"),
    ),
    (
        "clf-predict-other-channels",
        lambda: classifier().predict(np.zeros((2, 10, 3))),
        (ValueError, r"x: expected 2 channels like the training data, got 3"),
    ),
    (
        "clf-load-forecaster-file",
        lambda: SequenceClassifier.load(saved("forecaster")),
        (ValueError, r"path: .*forecaster\.pt' is not a saved lstmkit SequenceClassifier"),
    ),
    (
        "clf-nan-in-padding",
        lambda: (
            SequenceClassifier("lstm", **CLF)
            .fit(with_nan(seqs()[0], (0, 9, 0)), seqs()[1], lengths=[9] + [10] * 11)
            .predict(seqs()[0])
        ),
        check(lambda p: p.shape == (12,), "12 predictions"),
    ),
    (
        "clf-values-1e200",
        lambda: (
            SequenceClassifier("lstm", **CLF)
            .fit(seqs()[0] * 1e200, seqs()[1])
            .predict_proba(seqs()[0] * 1e200)
        ),
        check(
            lambda p: np.allclose(p, classifier().predict_proba(seqs()[0]), atol=1e-5), "the ordinary result"
        ),
    ),
    # AnomalyDetector
    (
        "ad-nan",
        lambda: AnomalyDetector(**AD).fit(with_nan(SIGNAL, (10,))),
        (ValueError, r"values: missing or infinite values at samples \[10\]"),
    ),
    (
        "ad-too-short",
        lambda: AnomalyDetector(**AD).fit(SIGNAL[:10]),
        (ValueError, r"values: 10 samples \(after downsampling by 1\) are too few for windows of 8"),
    ),
    (
        "ad-window-2",
        lambda: AnomalyDetector(window=2),
        (ValueError, r"window: expected at least 4 samples, got 2"),
    ),
    ("ad-method", lambda: AnomalyDetector("isolation"), (ValueError, r"method: expected one of")),
    (
        "ad-quantile-1",
        lambda: AnomalyDetector(threshold_quantile=1.0),
        (ValueError, r"threshold_quantile: expected"),
    ),
    ("ad-device-tpu", lambda: AnomalyDetector(device="tpu"), (ValueError, r"device: expected 'cpu', 'cuda'")),
    ("ad-strings", lambda: AnomalyDetector(**AD).fit(["a", "b"]), (TypeError, r"values: expected numbers")),
    (
        "ad-score-before-fit",
        lambda: AnomalyDetector().score(SIGNAL),
        (RuntimeError, r"AnomalyDetector: call fit\(\)"),
    ),
    (
        "ad-score-other-channels",
        lambda: detector().score(np.zeros((50, 2))),
        (ValueError, r"values: expected 1 channels like the training signal, got 2"),
    ),
    (
        "ad-score-one-sample",
        lambda: detector().score(SIGNAL[:1]),
        (ValueError, r"values: the forecast method scores each sample .* at least 2"),
    ),
    (
        "ad-values-1e200",
        lambda: AnomalyDetector(**AD).fit(SIGNAL * 1e200).score(SIGNAL * 1e200),
        check(lambda s: np.allclose(s, detector().score(SIGNAL), rtol=1e-6), "the ordinary scores"),
    ),
    # language models
    (
        "lm-temperature-inf",
        lambda: list(LanguageModel(20, 8, 8, 1).generate([4], 3, temperature=float("inf"))),
        (ValueError, r"temperature: expected a finite float >= 0 \(0: greedy\), got inf"),
    ),
    (
        "lm-temperature-nan",
        lambda: list(LanguageModel(20, 8, 8, 1).generate([4], 3, temperature=float("nan"))),
        (ValueError, r"temperature: expected a finite float >= 0 \(0: greedy\), got nan"),
    ),
    (
        "lm-temperature-negative",
        lambda: list(LanguageModel(20, 8, 8, 1).generate([4], 3, temperature=-1.0)),
        (ValueError, r"temperature: expected a finite float >= 0"),
    ),
    (
        "lm-filter-temperature-inf",
        lambda: filter_logits(torch.zeros(5), temperature=float("inf")),
        (ValueError, r"temperature: expected a finite float > 0, got inf"),
    ),
    (
        "lm-prime-out-of-vocab",
        lambda: list(LanguageModel(20, 8, 8, 1).generate([4, 25], 3)),
        (ValueError, r"prime: expected token ids in \[0, 20\), got 25"),
    ),
    (
        "lm-top-k-0",
        lambda: list(LanguageModel(20, 8, 8, 1).generate([4], 3, top_k=0)),
        (ValueError, r"top_k: expected an int >= 1 or None, got 0"),
    ),
    (
        "lm-float-tokens",
        lambda: LanguageModel(20, 8, 8, 1)(torch.zeros(1, 3)),
        (ValueError, r"tokens: expected an int64 tensor \(N, L\), got torch.float32"),
    ),
    (
        "lm-greedy",
        lambda: list(LanguageModel(20, 8, 8, 1).generate([4], 5, temperature=0)),
        check(lambda ids: len(ids) == 5 and all(0 <= i < 20 for i in ids), "5 ids"),
    ),
    (
        "s2s-beam-0",
        lambda: Seq2Seq(20, 31, 8, 8).beam_search(SRC, beam_size=0),
        (ValueError, r"beam_size: expected an int >= 1, got 0"),
    ),
    (
        "s2s-beam-bool",
        lambda: Seq2Seq(20, 31, 8, 8).beam_search(SRC, beam_size=True),
        (ValueError, r"beam_size: expected an int >= 1, got True"),
    ),
    (
        "s2s-min-len",
        lambda: Seq2Seq(20, 31, 8, 8).beam_search(SRC, min_len=-1),
        (ValueError, r"min_len: expected an int >= 0, got -1"),
    ),
    (
        "s2s-variant",
        lambda: Seq2Seq(20, 31, 8, 8, variant="zzz"),
        (ValueError, r"variant: expected .*got 'zzz'"),
    ),
    (
        "s2s-beam-25-of-31",
        lambda: scripted_seq2seq().beam_search(SRC, beam_size=25)[0].tokens,
        check(lambda t: t == [10, 11, 12], "10 11 12"),
    ),
    (
        "s2s-beam-40-of-31",
        lambda: scripted_seq2seq().beam_search(SRC, beam_size=40)[0].tokens,
        check(lambda t: t == [10, 11, 12], "10 11 12"),
    ),
    (
        "s2s-greedy",
        lambda: scripted_seq2seq().greedy(SRC)[0].tokens,
        check(lambda t: t == [10, 11, 12], "path"),
    ),
    (
        "s2s-beam-5",
        lambda: scripted_seq2seq().beam_search(SRC, beam_size=5)[0].tokens,
        check(lambda t: t == [10, 11, 12], "10 11 12"),
    ),
    (
        "text-one-class",
        lambda: TextClassifier(50, 1),
        (ValueError, r"num_classes: expected an int >= 2, got 1"),
    ),
    ("text-pooling", lambda: TextClassifier(50, 2, pooling="sum"), (ValueError, r"pooling: expected one of")),
    # trainer
    (
        "train-device",
        lambda: TrainConfig(device="tpu"),
        (ValueError, r"device: expected 'cpu', 'cuda'.*got 'tpu'"),
    ),
    (
        "train-device-absent",
        on(0, lambda: Trainer(nn.Linear(1, 1), TrainConfig(device="cuda:0"), loss_fn=masked_mse)),
        (ValueError, r"config.device: 'cuda:0' needs a CUDA GPU"),
    ),
    (
        "train-lr-inf",
        lambda: TrainConfig(lr=float("inf")),
        (ValueError, r"lr: expected a finite value > 0, got inf"),
    ),
    (
        "train-max-epochs-0",
        lambda: TrainConfig(max_epochs=0),
        (ValueError, r"max_epochs: expected an int >= 1, got 0"),
    ),
    ("train-optimizer", lambda: TrainConfig(optimizer="adamx"), (ValueError, r"optimizer: expected one of")),
    (
        "train-not-a-module",
        lambda: Trainer("net", loss_fn=masked_mse),  # type: ignore[arg-type]
        (TypeError, r"model: expected an nn.Module, got str"),
    ),
    (
        "train-iterator",
        lambda: Trainer(nn.Linear(1, 1), TrainConfig(progress=False), loss_fn=masked_mse).fit(iter([])),
        (TypeError, r"train_loader: expected a re-iterable"),
    ),
    ("train-nan-loss", nan_loss_trainer, (ValueError, r"loss: non-finite value nan at epoch 0, step 0")),
]


@pytest.mark.parametrize(("call", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input(call: Callable[[], Any], expected: Any) -> None:
    if isinstance(expected, tuple):
        kind, pattern = expected
        with pytest.raises(kind) as info:
            call()
        exact = type(info.value) is kind or isinstance(info.value, NonFiniteLossError)
        assert exact, f"expected {kind.__name__}, got {type(info.value).__name__}: {info.value}"
        message = str(info.value)
        assert "\n" not in message, message
        assert re.match(pattern, message), message
    else:
        expected(call())


def test_the_catalogue_is_large_and_its_ids_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)


def test_a_nan_loss_is_a_floating_point_error_too() -> None:
    with pytest.raises(FloatingPointError, match=r"^loss: non-finite value nan"):
        nan_loss_trainer()


@pytest.mark.parametrize("strategy", ["direct", "seq2seq"])
def test_the_forecasters_variant_reaches_its_lstms(strategy: str) -> None:
    from lstmkit.core.cells import VARIANTS

    fc = Forecaster(3, **{**FC, "variant": "vanilla"}, strategy=strategy).fit(series(BASE))
    net = fc.nets_[0]
    from lstmkit.core.layers import LSTM

    parts = ["encoder", "decoder"] if strategy == "seq2seq" else ["encoder"]
    lstms = [net.get_submodule(f"{part}.layer") for part in parts]
    assert all(isinstance(lstm, LSTM) and lstm.spec == VARIANTS["vanilla"] for lstm in lstms)
    names = {k for k, _ in net.named_parameters()}
    assert "encoder.layer.weight_ch_l0" in names  # the peepholes of the vanilla cell
    assert ("decoder.layer.weight_ch_l0" in names) == (strategy == "seq2seq")
    classic = {k for k, _ in forecaster().nets_[0].named_parameters()}
    assert not any("weight_ch" in k for k in classic)


def test_the_classifiers_num_layers_reaches_lstm_fcn() -> None:
    clf = SequenceClassifier("lstm-fcn", num_layers=2, **CLF).fit(*seqs())
    lstm = clf.nets_[0].lstm
    assert isinstance(lstm, nn.Module) and lstm.num_layers == 2


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def test_models_fit_and_load_under_a_float64_default(tmp_path) -> None:
    """The networks stay float32 under a float64 default: the same numbers as float32."""
    fc_ref = single(forecaster().predict())
    clf_ref = classifier().predict_proba(seqs()[0])
    ad_ref = detector().score(SIGNAL)
    path = tmp_path / "fc.pt"
    forecaster().save(path)  # written under the float32 default
    with default_dtype(torch.float64):
        fc = single(Forecaster(3, **FC).fit(series(BASE)).predict())
        loaded = single(Forecaster.load(path).predict(series=series(BASE)))
        proba = SequenceClassifier("lstm", **CLF).fit(*seqs()).predict_proba(seqs()[0])
        fcn = SequenceClassifier("lstm-fcn", **CLF).fit(*seqs()).predict(seqs()[0])
        scores = AnomalyDetector(**AD).fit(SIGNAL).score(SIGNAL)
        auto = AnomalyDetector("autoencoder", **AD).fit(SIGNAL).score(SIGNAL)
    assert torch.get_default_dtype() == torch.float32
    np.testing.assert_array_equal(fc.quantiles, fc_ref.quantiles)
    np.testing.assert_array_equal(loaded.quantiles, fc_ref.quantiles)
    np.testing.assert_array_equal(proba, clf_ref)
    np.testing.assert_array_equal(scores, ad_ref)
    assert fcn.shape == (12,) and np.isfinite(auto).all()


def test_a_wide_beam_matches_a_sufficient_one() -> None:
    """Beams of 5, the vocabulary's 31 and more find the same best translation."""
    m = scripted_seq2seq()
    best = [m.beam_search(SRC, beam_size=k)[0] for k in (5, 31, 64)]
    assert [h.tokens for h in best] == [[10, 11, 12]] * 3
    assert best[0].score == pytest.approx(best[2].score)

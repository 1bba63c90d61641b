"""The comparison architectures in the forecaster's place (GRU, Elman RNN, causal Transformer,
TCN): each learns a real series within a short budget, saves and loads, and refuses what it
cannot do in one line."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit import Forecaster
from lstmkit.apps.datasets import sources
from lstmkit.apps.forecasting.base import Forecast

#: one member, a fixed budget without early stopping: the architectures train alike
BUDGET = {"hidden_size": 16, "ensemble": 1, "max_epochs": 30, "patience": None, "refit": False}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("architecture", "strategy", "likelihood"),
    [
        ("gru", "direct", "quantile"),
        ("gru", "seq2seq", "quantile"),
        ("rnn", "recursive", "gaussian"),
        ("transformer", "direct", "quantile"),
        ("transformer", "seq2seq", "quantile"),
        ("tcn", "direct", "quantile"),
        ("tcn", "recursive", "point"),
    ],
)
def test_each_architecture_learns_the_airline_series_and_loads_back(
    tmp_path, architecture: str, strategy: str, likelihood: str
) -> None:
    """The last year of the airline series from the years before: well below the seasonal
    naive error (47.8 passengers; the last value's is 76.0; an untrained network's is larger),
    and a saved model forecasts the same."""
    y = sources.load_series("airline")
    history, actual = y.head(132), y.values[-12:]
    model = Forecaster(
        12,
        strategy=strategy,
        likelihood=likelihood,
        architecture=architecture,
        num_samples=50,
        progress=False,
        **BUDGET,
    ).fit(history)
    forecast = model.predict()
    assert isinstance(forecast, Forecast)
    seasonal_naive = np.abs(actual - history.values[-12:]).mean()
    mae = np.abs(forecast.point - actual).mean()
    assert mae < 0.85 * seasonal_naive, (mae, seasonal_naive)
    assert (
        forecast.model
        == model.name
        == {"gru": "GRU", "rnn": "RNN", "transformer": "Transformer"}.get(architecture, "TCN")
    )
    model.save(tmp_path / "model.pt")
    loaded = Forecaster.load(tmp_path / "model.pt")
    assert loaded.config == model.config and loaded.name == model.name
    again = loaded.predict(series=history)
    assert isinstance(again, Forecast)
    np.testing.assert_array_equal(again.quantiles, forecast.quantiles)


def test_settings_an_architecture_lacks_are_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"architecture: expected one of \('lstm', 'gru'"):
        Forecaster(4, architecture="lstm-fcn")
    with pytest.raises(ValueError, match=r"strategy: 'seq2seq' starts a decoder .* architecture 'tcn'"):
        Forecaster(4, strategy="seq2seq", architecture="tcn")
    with pytest.raises(ValueError, match=r"num_heads: expected a divisor of hidden_size=30 .* got 4"):
        Forecaster(4, architecture="transformer", hidden_size=30)
    with pytest.raises(ValueError, match="num_heads: expected an int >= 1, got 0"):
        Forecaster(4, num_heads=0)
    with pytest.raises(ValueError, match="kernel_size: expected an int >= 2, got 1"):
        Forecaster(4, architecture="tcn", kernel_size=1)
    assert Forecaster(4, architecture="lstm", hidden_size=30).name == "LSTM"  # heads are a Transformer's

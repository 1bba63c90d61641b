"""The ES-hybrid: the smoothing recursion against a plain loop, masked short windows, the
seasonal start, and Forecaster(architecture="es-lstm") trained for real."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit import Forecaster
from lstmkit.apps.forecasting.es_fit import es_window
from lstmkit.apps.forecasting.eslstm import ESLSTMNet, initial_season, padded, sample_ends
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.forecasting.windows import LOG_RATIO_SCALE


def _reference(y: np.ndarray, alpha: float, gamma: float, s0: np.ndarray, extra: int):
    """Multiplicative Holt-Winters without trend, one series, float64."""
    m = len(s0)
    seas = list(np.exp(s0))
    lv = []
    cur = y[0] / seas[0]
    for t in range(len(y)):
        if t > 0:
            cur = alpha * y[t] / seas[t] + (1 - alpha) * cur
        lv.append(cur)
        seas.append(gamma * y[t] / cur + (1 - gamma) * seas[t] if m > 1 else seas[t])
    while len(seas) < len(y) + extra:
        seas.append(seas[len(seas) - m])
    return np.log(lv), np.log(seas[: len(y) + extra])


def _net(num_series: int, period: int, window: int = 6, horizon: int = 3) -> ESLSTMNet:
    torch.manual_seed(0)
    return ESLSTMNet(num_series, period, window, horizon, hidden_size=8).double()


@pytest.mark.parametrize("period", [1, 4])
def test_smoothing_matches_the_recursion_written_out(period):
    rng = np.random.default_rng(0)
    series = [rng.uniform(1, 3, size=n) * (1 + 0.3 * np.sin(np.arange(n))) for n in (13, 9, 20)]
    net = _net(3, period)
    with torch.no_grad():
        net.alpha.copy_(torch.tensor([0.3, -1.0, 2.0]))
        net.gamma.copy_(torch.tensor([-0.5, 0.1, 1.0]))
        net.season.copy_(torch.randn(3, period))
    y, n = padded(series)
    logl, logs = net.smooth(y.double(), n, torch.arange(3))
    for i, s in enumerate(series):
        a, g, s0 = net.coefficients(torch.tensor([i]))
        ref_l, ref_s = _reference(s, a.item(), g.item(), s0[0].detach().numpy(), net.horizon)
        np.testing.assert_allclose(logl[i, : len(s)].detach().numpy(), ref_l, rtol=1e-5)
        assert torch.all(logl[i, len(s) :] == logl[i, len(s) - 1])  # carried past the end
        np.testing.assert_allclose(logs[i, : len(s) + net.horizon].detach().numpy(), ref_s, rtol=1e-5)


def test_smoothing_gradients_gradcheck():
    net = _net(2, 3)
    y = torch.rand(2, 10, dtype=torch.float64) + 1.0
    n = torch.tensor([10, 7])

    class Smooth(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = net

        def forward(self, y):
            logl, logs = self.inner.smooth(y, n, torch.arange(2))
            return logl.sum() + logs.sum()

    wrapper = Smooth()

    def f(y, alpha, gamma, season):
        params = {"inner.alpha": alpha, "inner.gamma": gamma, "inner.season": season}
        return torch.func.functional_call(wrapper, params, (y,))

    alpha = torch.tensor([0.2, -0.4], dtype=torch.float64, requires_grad=True)
    gamma = torch.tensor([-1.0, 0.5], dtype=torch.float64, requires_grad=True)
    season = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (y.requires_grad_(), alpha, gamma, season))


def test_a_short_window_is_masked_not_padded_into_the_network():
    """A window reaching before the series' start forecasts as the real steps alone would."""
    net = _net(1, 1, window=6).eval()
    y = torch.rand(1, 4, dtype=torch.float64) + 1.0
    n = torch.tensor([4])
    ends = torch.tensor([[2]])  # three real input steps of six
    out, _, logl, logs = net(y, n, torch.tensor([0]), ends)
    u = (torch.log(y[0, :3]) - logs[0, :3] - logl[0, 2]) / LOG_RATIO_SCALE
    alone = net.net(u.reshape(1, 3, 1), u.new_zeros(1, 3, 0))
    torch.testing.assert_close(out[0, 0], alone[0])


def test_initial_season_recovers_multiplicative_indices():
    idx = np.array([1.3, 0.8, 1.1, 0.8])
    idx /= np.exp(np.log(idx).mean())
    t = np.arange(40)
    x = (100 + 2 * t) * idx[t % 4]
    np.testing.assert_allclose(np.exp(initial_season(x, 4)), idx, rtol=0.03)
    assert np.all(initial_season(x, 1) == 0) and np.all(initial_season(x[:6], 4) == 0)


def test_sampled_ends_keep_targets_inside_each_series():
    n = torch.tensor([5, 30, 9])
    ends = sample_ends(n, 4, 200, torch.Generator().manual_seed(0))
    assert torch.all(ends >= 0) and torch.all(ends + 4 <= (n - 1)[:, None])
    assert ends[1].max() == 25 and ends[1].min() == 0  # the whole range is drawn


def _panel(count: int, length: int, seed: int) -> list[TimeSeries]:
    """Positive quarterly series: a level with a growth rate and a seasonal pattern, noisy."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        t = np.arange(length + rng.integers(0, 12))
        pattern = 1 + rng.uniform(0.1, 0.4) * np.array([1.0, -0.5, 0.8, -1.3])
        y = rng.uniform(50, 500) * (1 + rng.uniform(-0.01, 0.04)) ** t * pattern[t % 4]
        out.append(TimeSeries(y * rng.lognormal(0, 0.02, len(t)), name=f"s{seed}_{i}", season=4))
    return out


def _smape(fc: Forecaster, test: list[TimeSeries], h: int) -> float:
    errs = []
    for s in test:
        f = fc.predict(series=s.head(len(s) - h)).point
        a = s.values[-h:]
        errs.append(np.mean(200 * np.abs(a - f) / (np.abs(a) + np.abs(f))))
    return float(np.mean(errs))


@pytest.mark.slow
def test_es_lstm_learns_trend_and_season_across_series(tmp_path):
    """Trained for real on 40 short series, it beats the seasonal naive forecast and itself
    untrained on held-out ends, and a saved model forecasts the same."""
    panel = _panel(40, 20, 0)
    h = 4
    heads = [s.head(len(s) - h) for s in panel]
    fc = Forecaster(
        h,
        architecture="es-lstm",
        hidden_size=16,
        ensemble=1,
        max_epochs=60,
        patience=10,
        progress=False,
        seed=1,
    )
    fc.fit(heads)
    trained = _smape(fc, panel, h)
    snaive = float(
        np.mean(
            [
                np.mean(
                    200
                    * np.abs(s.values[-h:] - s.values[-2 * h : -h])
                    / (s.values[-h:] + s.values[-2 * h : -h])
                )
                for s in panel
            ]
        )
    )
    untrained = Forecaster(
        h,
        architecture="es-lstm",
        hidden_size=16,
        ensemble=1,
        max_epochs=1,
        lr=1e-9,
        patience=None,
        progress=False,
    ).fit(heads)
    assert trained < 0.8 * snaive, (trained, snaive)
    assert trained < 0.8 * _smape(untrained, panel, h)
    path = tmp_path / "es.pt"
    fc.save(path)
    again = Forecaster.load(path)
    np.testing.assert_allclose(again.predict(series=heads[3]).point, fc.predict(series=heads[3]).point)
    new = _panel(1, 24, 7)[0]  # a series it has not seen: median coefficients
    assert np.isfinite(fc.predict(series=new).point).all()


def test_es_lstm_refuses_what_it_cannot_do():
    panel = _panel(3, 12, 0)
    with pytest.raises(ValueError, match="direct head"):
        Forecaster(4, architecture="es-lstm", likelihood="gaussian")
    with pytest.raises(ValueError, match="direct head"):
        Forecaster(4, architecture="es-lstm", strategy="seq2seq")
    bad = TimeSeries(np.r_[1.0, -2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], name="neg")
    with pytest.raises(ValueError, match="positive values"):
        Forecaster(2, architecture="es-lstm", progress=False, max_epochs=1).fit(bad)
    with pytest.raises(ValueError, match="level_penalty"):
        Forecaster(2, architecture="es-lstm", level_penalty=-1.0)
    fc = Forecaster(4, architecture="es-lstm", progress=False, max_epochs=1, ensemble=1).fit(panel)
    with pytest.raises(ValueError, match="trained for 4 steps"):
        fc.predict(6, series=panel[0])
    assert es_window(12, 18) == 24 and es_window(1, 6) == 8

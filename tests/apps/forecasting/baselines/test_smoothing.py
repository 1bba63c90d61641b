"""Exponential smoothing by least squares: equal to statsmodels' Holt-Winters with the same
parameters, an exact gradient, and fits at least as good as statsmodels' own."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from lstmkit.apps.forecasting.baselines import smoothing
from lstmkit.apps.forecasting.baselines.smoothing import fit_smoothing


def _series(n: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 50 + np.cumsum(rng.normal(0.4, 1.0, n))


def _statsmodels(x: np.ndarray, trend: str, fixed: tuple[float, float, float, float, float] | None = None):
    """statsmodels' fit within our bounds, or its model with fixed (alpha, beta*, phi, l0, b0)."""
    kind = None if trend == "none" else "add"
    damped = trend == "damped"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fixed is None:
            bounds = {"smoothing_level": smoothing.ALPHA_BOUNDS, "smoothing_trend": smoothing.ALPHA_BOUNDS}
            if damped:
                bounds["damping_trend"] = smoothing.PHI_BOUNDS
            model = ExponentialSmoothing(
                x, trend=kind, damped_trend=damped, initialization_method="estimated", bounds=bounds
            )
            return model.fit()
        alpha, beta_star, phi, l0, b0 = fixed
        model = ExponentialSmoothing(
            x,
            trend=kind,
            damped_trend=damped,
            initialization_method="known",
            initial_level=l0,
            initial_trend=b0 if kind else None,
        )
        return model.fit(
            smoothing_level=alpha,
            smoothing_trend=beta_star if kind else None,
            damping_trend=phi if damped else None,
            optimized=False,
        )


@pytest.mark.parametrize("trend", ["none", "additive", "damped"])
def test_fixed_parameters_give_statsmodels_holt_winters_forecasts(trend: str) -> None:
    x = _series()
    alpha, beta_star, phi, l0, b0 = 0.35, 0.2, 0.9, 48.0, 0.7
    ref = _statsmodels(x, trend, (alpha, beta_star, phi, l0, b0))
    ours = fit_smoothing(x, trend, alpha=alpha, beta=alpha * beta_star, phi=phi, initial=(l0, b0))
    assert np.allclose(ours.forecast(10), ref.forecast(10), rtol=0, atol=1e-8)
    sigma = np.sqrt(np.mean((x - ref.fittedvalues) ** 2))
    assert ours.sigma == pytest.approx(sigma, rel=1e-10)


@pytest.mark.parametrize("trend", ["none", "additive", "damped"])
def test_least_squares_fits_within_the_same_bounds_are_at_least_as_good_as_statsmodels(trend: str) -> None:
    for seed in range(3):
        x = _series(30 + 20 * seed, seed)
        ours = fit_smoothing(x, trend)
        ref = _statsmodels(x, trend)
        assert ours.sigma**2 * len(x) <= ref.sse * (1 + 1e-6)
        lo, hi = smoothing.ALPHA_BOUNDS
        assert lo <= ours.alpha <= hi and 0 <= ours.beta <= ours.alpha
        assert ours.phi == 1.0 or smoothing.PHI_BOUNDS[0] <= ours.phi <= smoothing.PHI_BOUNDS[1]


def test_the_least_squares_initial_states_minimize_the_sse() -> None:
    x = _series()
    best = fit_smoothing(x, "damped", alpha=0.4, beta=0.1, phi=0.9)
    for dl, db in [(0.5, 0), (-0.5, 0), (0, 0.2), (0, -0.2)]:
        moved = (best.initial[0] + dl, best.initial[1] + db)
        other = fit_smoothing(x, "damped", alpha=0.4, beta=0.1, phi=0.9, initial=moved)
        assert other.sigma > best.sigma


def test_the_gradient_equals_finite_differences() -> None:
    y = _series(25) / 50
    for point in [(0.3, 0.1, 0.9), (0.8, 0.05, 0.85), (0.2, 0.15, 1.0)]:
        _, grad = smoothing._sse_gradient(y, *point)
        for i in range(3):
            up, down = list(point), list(point)
            up[i] += 1e-6
            down[i] -= 1e-6
            fd = (smoothing._sse_gradient(y, *up)[0] - smoothing._sse_gradient(y, *down)[0]) / 2e-6
            assert grad[i] == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_forecast_standard_deviations_follow_the_ets_formula() -> None:
    fit = fit_smoothing(_series(), "damped", alpha=0.5, beta=0.2, phi=0.9)
    c = 0.5 + 0.2 * np.cumsum(0.9 ** np.arange(1, 3))  # c_1, c_2
    expected = fit.sigma * np.sqrt(1 + np.concatenate([[0], np.cumsum(c**2)]))
    assert np.allclose(fit.std(3), expected)
    ses = fit_smoothing(_series(), "none", alpha=0.5)
    assert np.allclose(ses.std(3), ses.sigma * np.sqrt(1 + 0.25 * np.arange(3)))


def test_short_and_constant_series_and_bad_arguments() -> None:
    for n in (1, 2, 3):
        for trend in smoothing.TRENDS:
            fit = fit_smoothing(np.arange(1.0, n + 1), trend)
            assert np.isfinite(fit.forecast(4)).all()
    assert np.allclose(fit_smoothing(np.full(10, 3.0), "damped").forecast(3), 3.0)
    with pytest.raises(ValueError, match="trend: expected one of none, additive, damped, got 'cubic'"):
        fit_smoothing(np.ones(5), "cubic")
    with pytest.raises(ValueError, match="x: expected finite values"):
        fit_smoothing(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="beta, phi: expected values with alpha"):
        fit_smoothing(np.ones(5), "damped", alpha=0.5, beta=0.1)
    with pytest.raises(ValueError, match="h: expected an int >= 1, got 0"):
        fit_smoothing(np.ones(5)).forecast(0)

"""ARIMA with automatic order selection and ETS with automatic model selection (statsmodels).

Both are *local* models: fitted on each series' own history when asked to forecast it, so
backtests refit them at every origin. Both take logs of strongly growing positive series by
the same rule as the LSTM forecaster (``log="auto"``, see
:class:`lstmkit.apps.forecasting.windows.SeriesScaler`),
so every model works on the same transformed data; forecasts are transformed back (quantiles
exactly, the point forecast is the back-transformed median). Series of extreme magnitude
(around 1e200 or 1e-300, where statsmodels' sums of squares overflow or vanish) are divided
by a power of two first and the forecast multiplied back
(:func:`~lstmkit.apps.forecasting.base.scale_exponent`); ordinary series are untouched.

**ARIMA** follows Hyndman & Khandakar (2008), ``auto.arima``:

1. seasonal differencing ``D = 1`` if the STL seasonal strength
   :math:`F_S = \\max(0, 1 - \\mathrm{Var}(R) / \\mathrm{Var}(S + R))` exceeds 0.64;
2. ``d`` by repeated KPSS tests at the 5% level (at most 2);
3. a stepwise search over ``(p, q)(P, Q)`` from four starting models, moving one order by
   +-1 at a time (and the constant on/off), minimizing AICc.

Long seasons (``m > 24``, e.g. weekly or daily data with a yearly cycle) are modelled by
Fourier terms :math:`\\sin(2\\pi k t / m), \\cos(2\\pi k t / m)` as regressors of a non-seasonal
ARIMA (dynamic harmonic regression, FPP3 12.1), the number of harmonics chosen by AICc.

**ETS** (Hyndman et al. 2008): all admissible combinations of additive/multiplicative
error, none/additive/damped trend and none/additive/multiplicative season (multiplicative
parts only for positive data, no additive error with multiplicative season), selected by
AICc; prediction intervals from 1000 simulated paths. Long seasons: ETS on the STL
seasonally adjusted series, plus the last seasonal cycle (``STL + ETS``).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.apps.forecasting.base import LEVELS, Forecast, ForecastModel, gaussian_quantiles, scale_exponent
from lstmkit.apps.forecasting.baselines.seasonality import (
    check_policy,
    exact_period,
    fourier,
    modelled_season,
    ndiffs,
    nsdiffs,
    seasonal_strength,
)
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.forecasting.windows import SeriesScaler

__all__ = ["ARIMAForecaster", "ETSForecaster", "exact_period", "ndiffs", "nsdiffs", "seasonal_strength"]

log = logging.getLogger("lstmkit.apps.forecasting.baselines")


def _statsmodels() -> None:
    try:
        import statsmodels  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "the ARIMA and ETS baselines need statsmodels: pip install 'statsmodels==0.15.*'"
        ) from exc


@dataclass(frozen=True)
class _Spec:
    p: int
    d: int
    q: int
    P: int
    D: int
    Q: int
    m: int
    const: bool

    def label(self) -> str:
        """``ARIMA(p,d,q)(P,D,Q)[m]`` (the season only when ``m > 1``), then the constant's role."""
        season = f"({self.P},{self.D},{self.Q})[{self.m}]" if self.m > 1 else ""
        const = " with drift" if self.const and self.d + self.D == 1 else " with mean" if self.const else ""
        return f"ARIMA({self.p},{self.d},{self.q}){season}{const}"


class _StatsmodelsForecaster(ForecastModel):
    """What the ARIMA and ETS baselines share: statsmodels, the rule for taking logs, the
    season they model, and the model each selected for each series (``selected_``)."""

    def __init__(self, log: bool | str, season_policy: str) -> None:
        super().__init__()
        _statsmodels()
        self.log = log
        self.season_policy = check_policy(season_policy)
        self.selected_: dict[str, str] = {}

    def _scaled(self, series: TimeSeries) -> _Scaled:
        """``series`` as the model sees it (:class:`_Scaled`)."""
        return _Scaled.of(series, self.name, self.log, self.season_policy)


class ARIMAForecaster(_StatsmodelsForecaster):
    """Seasonal ARIMA with automatic order selection (see the module docstring).

    Args:
        order: fix ``(p, d, q)`` instead of searching (with ``seasonal_order`` for the season).
        seasonal_order: fix ``(P, D, Q)``.
        log: ``"auto"``, ``True`` or ``False``: model the log of the series.
        season_policy: ``"calendar"`` (model the season of date-indexed series only),
            ``"always"`` (also the cycle length of integer-indexed series) or ``"never"``.
        max_p, max_q, max_P, max_Q: search bounds; ``max_order`` bounds p + q + P + Q.
        max_fits: at most this many models per search.
        fourier_above: seasons longer than this use Fourier regressors.

    Example::

        >>> fc = ARIMAForecaster().fit(series).predict(12)
    """

    name = "ARIMA"

    def __init__(
        self,
        order: tuple[int, int, int] | None = None,
        seasonal_order: tuple[int, int, int] | None = None,
        *,
        log: bool | str = "auto",
        season_policy: str = "calendar",
        max_p: int = 5,
        max_q: int = 5,
        max_P: int = 2,
        max_Q: int = 2,
        max_order: int = 5,
        max_fits: int = 40,
        fourier_above: int = 24,
    ) -> None:
        super().__init__(log, season_policy)
        if order is not None and (len(order) != 3 or min(order) < 0):
            raise ValueError(f"order: expected (p, d, q) of non-negative ints, got {order!r}")
        if seasonal_order is not None and (len(seasonal_order) != 3 or min(seasonal_order) < 0):
            raise ValueError(
                f"seasonal_order: expected (P, D, Q) of non-negative ints, got {seasonal_order!r}"
            )
        self.order = order
        self.seasonal_order = seasonal_order
        self.max_p, self.max_q, self.max_P, self.max_Q = max_p, max_q, max_P, max_Q
        self.max_order = max_order
        self.max_fits = max_fits
        self.fourier_above = fourier_above

    # ------------------------------------------------------------------ fitting
    def _fit_one(self, z: np.ndarray, spec: _Spec, exog: np.ndarray | None, search: bool = False) -> Any:
        """Fit one model; ``search`` fits the differenced series directly (faster, same AICc
        ranking among models with equal differencing) and cannot forecast."""
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        # SARIMAX adds the trend polynomial to the *differenced* series, so a constant there is
        # the mean (d + D = 0) or the drift (d + D = 1); "t" would be a quadratic in levels
        trend = "c" if spec.const else "n"
        model = SARIMAX(
            z,
            exog=exog,
            order=(spec.p, spec.d, spec.q),
            seasonal_order=(spec.P, spec.D, spec.Q, spec.m) if spec.m > 1 else (0, 0, 0, 0),
            trend=trend,
            simple_differencing=search,
            concentrate_scale=True,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res: Any = model.fit(disp=False)
        if not np.isfinite(res.aicc):
            raise ValueError("non-finite AICc")
        return res

    def _search(self, z: np.ndarray, d: int, D: int, m: int, exog: np.ndarray | None) -> tuple[_Spec, Any]:
        """Stepwise search (Hyndman & Khandakar 2008): move to the first neighbour that
        lowers AICc, until none does or ``max_fits`` models were fitted; refit the winner."""
        cache: dict[_Spec, float] = {}
        allow_const = d + D <= 1

        def score(spec: _Spec) -> float:
            if spec not in cache:
                if len(cache) >= self.max_fits:
                    return math.inf
                try:
                    cache[spec] = float(self._fit_one(z, spec, exog, search=True).aicc)
                except Exception as exc:  # statsmodels raises many kinds on degenerate fits
                    log.debug("ARIMA %s failed: %s", spec.label(), exc)
                    cache[spec] = math.inf
            return cache[spec]

        best: _Spec | None = None
        for p, q, P, Q in [(2, 2, 1, 1), (0, 0, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1)]:
            if m <= 1:
                P = Q = 0
            spec = _Spec(min(p, self.max_p), d, min(q, self.max_q), P, D, Q, m, allow_const)
            if best is None or score(spec) < score(best):
                best = spec
        assert best is not None
        improved = True
        while improved and len(cache) < self.max_fits:
            improved = False
            for spec in self._neighbours(best, allow_const):
                if score(spec) < score(best) - 1e-9:
                    best = spec
                    improved = True
                    break
        if not np.isfinite(score(best)):
            raise ValueError("ARIMA: no candidate model could be fitted")
        log.debug("ARIMA search: %d models fitted", len(cache))
        return best, self._fit_one(z, best, exog)

    def _neighbours(self, b: _Spec, allow_const: bool) -> list[_Spec]:
        """The models one step from ``b`` within the limits: p, q (and P, Q) up or down by one,
        alone or together, and the constant switched (where it is allowed)."""
        moves = [(0, 0, 1, 0), (0, 0, -1, 0), (0, 0, 0, 1), (0, 0, 0, -1), (0, 0, 1, 1), (0, 0, -1, -1)]
        moves = moves if b.m > 1 else []
        moves += [(1, 0, 0, 0), (-1, 0, 0, 0), (0, 1, 0, 0), (0, -1, 0, 0)]
        moves += [(1, 1, 0, 0), (-1, -1, 0, 0), (1, -1, 0, 0), (-1, 1, 0, 0)]
        cands = [
            _Spec(b.p + a, b.d, b.q + c, b.P + e, b.D, b.Q + f, b.m, b.const)
            for a, c, e, f in moves
            if 0 <= b.p + a <= self.max_p
            and 0 <= b.q + c <= self.max_q
            and 0 <= b.P + e <= self.max_P
            and 0 <= b.Q + f <= self.max_Q
            and b.p + a + b.q + c + b.P + e + b.Q + f <= self.max_order
        ]
        if allow_const:
            cands.append(_Spec(b.p, b.d, b.q, b.P, b.D, b.Q, b.m, not b.const))
        return cands

    def _forecast(self, series: TimeSeries, horizon: int) -> Forecast:
        scaled = self._scaled(series)
        n, m = len(scaled.z), scaled.m
        exog_all = _future_exog(series, horizon, n)
        use_fourier = m > self.fourier_above and n >= 2 * m
        seasonal_m = m if (1 < m <= self.fourier_above and n >= 2 * m + 2) else 1
        if self.order is not None:
            spec, res = self._fit_given(scaled.z, seasonal_m, None if exog_all is None else exog_all[:n])
        elif use_fourier:
            spec, res, exog_all = self._fitfourier(series, scaled, horizon, exog_all)
        else:
            D = nsdiffs(scaled.z, seasonal_m) if seasonal_m > 1 else 0
            zd = scaled.z[seasonal_m:] - scaled.z[:-seasonal_m] if D else scaled.z
            ex = None if exog_all is None else exog_all[:n]
            spec, res = self._search(scaled.z, ndiffs(zd), D, seasonal_m, ex)
        label = spec.label() + (
            f" + Fourier(K={exog_all.shape[1] // 2})"
            if use_fourier and exog_all is not None and self.order is None
            else ""
        )
        self.selected_[series.name] = label
        log.debug("ARIMA %s: %s (AICc %.2f)", series.name, label, res.aicc)
        fut_exog = None if exog_all is None else exog_all[n : n + horizon]
        pred = res.get_forecast(horizon, exog=fut_exog)
        mean = np.asarray(pred.predicted_mean, dtype=np.float64)
        std = np.sqrt(np.maximum(np.asarray(pred.var_pred_mean, dtype=np.float64), 1e-12))
        point, q = scaled.inverse(mean, gaussian_quantiles(mean, std))
        return Forecast(series.future_index(horizon), point, q, series.name, self.name)

    def _fit_given(self, z: np.ndarray, seasonal_m: int, exog: np.ndarray | None) -> tuple[_Spec, Any]:
        """The model of the given ``order`` and ``seasonal_order``."""
        assert self.order is not None
        p, d, q = self.order
        P, D, Q = self.seasonal_order or (0, 0, 0)
        if seasonal_m == 1:
            P = D = Q = 0
        spec = _Spec(p, d, q, P, D, Q, seasonal_m, d + D <= 1)
        return spec, self._fit_one(z, spec, exog)

    def _fitfourier(
        self, series: TimeSeries, scaled: _Scaled, horizon: int, exog_all: np.ndarray | None
    ) -> tuple[_Spec, Any, np.ndarray]:
        """A long season as K Fourier pairs (K of the lowest AICc, up to 6) in the regression,
        then the stepwise search of the ARIMA errors; also returns the regressors."""
        z, m, n = scaled.z, scaled.m, len(scaled.z)
        t = np.arange(n + horizon, dtype=np.float64)
        period = exact_period(series) if m == series.season else float(m)
        d = ndiffs(z)
        best_k, best_aicc = 1, math.inf
        for k in range(1, min(int(period // 2), 6) + 1):
            ex = fourier(t, period, k)
            ex = ex if exog_all is None else np.hstack([ex, exog_all])
            try:
                aicc = self._fit_one(z, _Spec(1, d, 0, 0, 0, 0, 1, d <= 1), ex[:n]).aicc
            except Exception:  # degenerate fit: skip this k
                continue
            if aicc < best_aicc:
                best_k, best_aicc = k, aicc
        waves = fourier(t, period, best_k)
        exog_all = waves if exog_all is None else np.hstack([waves, exog_all])
        spec, res = self._search(z, d, 0, 1, exog_all[:n])
        return spec, res, exog_all


class ETSForecaster(_StatsmodelsForecaster):
    """Exponential smoothing state space model with automatic selection (module docstring).

    Args:
        error, trend, seasonal: fix the component (``"add"``/``"mul"``/``None``) instead of
            selecting; ``damped`` fixes the trend damping.
        log: ``"auto"``, ``True`` or ``False``: model the log of the series.
        season_policy: as :class:`ARIMAForecaster`.
        max_season: longer seasons use STL + ETS.
        n_samples: simulated paths for the prediction intervals.
        seed: seed of the simulation.
    """

    name = "ETS"

    def __init__(
        self,
        *,
        error: str | None = None,
        trend: str | None = None,
        damped: bool | None = None,
        seasonal: str | None = None,
        log: bool | str = "auto",
        season_policy: str = "calendar",
        max_season: int = 24,
        n_samples: int = 1000,
        seed: int = 0,
    ) -> None:
        super().__init__(log, season_policy)
        for arg, val in (("error", error), ("trend", trend), ("seasonal", seasonal)):
            if val not in (None, "add", "mul"):
                raise ValueError(f"{arg}: expected 'add', 'mul' or None, got {val!r}")
        self.error, self.trend, self.damped, self.seasonal = error, trend, damped, seasonal
        self.max_season = max_season
        self.n_samples = n_samples
        self.seed = seed

    def _candidates(self, positive: bool, m: int) -> list[tuple[str, str | None, bool, str | None]]:
        errors = [self.error] if self.error else (["add", "mul"] if positive else ["add"])
        if self.trend is not None or self.damped is not None:
            trends = [(self.trend or "add", bool(self.damped))]
        else:
            trends = [(None, False), ("add", False), ("add", True)]
        seasons: list[str | None]
        if m > 1:
            seasons = [self.seasonal] if self.seasonal else [None, "add", *(["mul"] if positive else [])]
        else:
            seasons = [None]
        out = []
        for e in errors:
            for t, damped in trends:
                for s in seasons:
                    if e == "add" and s == "mul":
                        continue
                    out.append((e, t, damped, s))
        return out

    def _select(self, x: np.ndarray, m: int) -> tuple[Any, str]:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        best, best_aicc, best_label = None, math.inf, ""
        for e, t, damped, s in self._candidates(bool(x.min() > 0), m):
            try:
                model = ETSModel(
                    x,
                    error=e,
                    trend=t,
                    damped_trend=damped,
                    seasonal=s,
                    seasonal_periods=m if s else None,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res: Any = model.fit(disp=False)
            except Exception as exc:  # degenerate combinations fail inside statsmodels
                log.debug("ETS(%s,%s,%s) failed: %s", e, t, s, exc)
                continue
            if np.isfinite(res.aicc) and res.aicc < best_aicc:
                code = {None: "N", "add": "A", "mul": "M"}
                label = f"ETS({code[e]},{code[t]}{'d' if damped else ''},{code[s]})"
                best, best_aicc, best_label = res, float(res.aicc), label
        if best is None:
            raise ValueError("ETS: no candidate model could be fitted")
        return best, best_label

    def _forecast(self, series: TimeSeries, horizon: int) -> Forecast:
        scaled = self._scaled(series)
        z, m, n = scaled.z, scaled.m, len(scaled.z)
        seasonal_part = np.zeros(horizon)
        if m > self.max_season and n >= 2 * m + 2:
            from statsmodels.tsa.seasonal import STL

            stl = STL(z, period=m, robust=True).fit()
            seasonal = np.asarray(stl.seasonal)
            h = np.arange(horizon)
            seasonal_part = seasonal[len(z) - m + h % m]  # last cycle repeated
            x, fit_m, prefix = z - seasonal, 1, "STL + "
        else:
            x, fit_m, prefix = z, (m if n >= 2 * m + 2 else 1), ""
        res, label = self._select(x, fit_m)
        self.selected_[series.name] = prefix + label
        log.debug("ETS %s: %s", series.name, prefix + label)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            point = np.asarray(res.forecast(horizon), dtype=np.float64) + seasonal_part
            sims = (
                np.asarray(
                    res.simulate(
                        horizon,
                        repetitions=self.n_samples,
                        anchor="end",
                        rng=np.random.default_rng(self.seed),
                    ),
                    dtype=np.float64,
                ).reshape(horizon, -1)
                + seasonal_part[:, None]
            )  # (H, S)
        sims = sims[:, np.isfinite(sims).all(axis=0)]
        if sims.shape[1] < 10:
            raise ValueError(f"ETS: the simulation of {series.name!r} diverged")
        q = np.quantile(sims, LEVELS, axis=1).T  # (H, Q)
        if scaled.scaler.log:
            point = np.quantile(sims, 0.5, axis=1)  # the median survives the back-transform
        point, q = scaled.inverse(point, q)
        return Forecast(series.future_index(horizon), point, q, series.name, self.name)


@dataclass(frozen=True)
class _Scaled:
    """A series as the statistical models see it: divided by ``2**exponent`` (extreme
    magnitudes), then scaled (and logged) by ``scaler``; ``m`` its season under the policy."""

    exponent: int
    scaler: SeriesScaler
    z: np.ndarray
    m: int

    @staticmethod
    def of(series: TimeSeries, model: str, log: bool | str, season_policy: str) -> _Scaled:
        exponent = scale_exponent(series.values)
        y = np.ldexp(series.values, -exponent)  # extreme magnitudes: model the series / 2**exponent
        if len(y) < 8:
            raise ValueError(f"series: {model} needs at least 8 observations, {series.name!r} has {len(y)}")
        scaler = SeriesScaler.fit(y, log=log, normalize="global")
        return _Scaled(exponent, scaler, scaler.transform(y), modelled_season(series, season_policy))

    def inverse(self, point: np.ndarray, quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``point`` and ``quantiles`` back on the series' scale."""
        with np.errstate(over="ignore"):  # beyond the float range: Forecast says it is not finite
            q = np.ldexp(self.scaler.inverse(quantiles), self.exponent)
            point = np.ldexp(self.scaler.inverse(point), self.exponent)
        return point, q


def _future_exog(series: TimeSeries, horizon: int, n: int) -> np.ndarray | None:
    """The future covariates over the series and the horizon (``None`` without them)."""
    if series.future_covariates is None:
        return None
    if series.known_future < horizon:
        raise ValueError(
            f"future_covariates: {series.name!r} has {series.known_future} known future rows, "
            f"the horizon needs {horizon}"
        )
    return series.future_covariates[: n + horizon]

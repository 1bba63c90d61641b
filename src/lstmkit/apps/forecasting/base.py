"""What every forecaster shares: the :class:`Forecast` it returns, the fit/predict/backtest
interface, and expanding-window backtesting with the metrics table.

The LSTM :class:`~lstmkit.apps.forecasting.estimator.Forecaster` and the baselines in
:mod:`lstmkit.apps.forecasting.baselines` subclass :class:`ForecastModel`, so one :func:`backtest` evaluates
them all on the same windows.

Backtesting (expanding window): for origins ``t_1 < t_2 < ...`` spaced ``stride`` steps apart,
the model is fitted on the series up to ``t_k`` (``refit=True``; or once on the data before
``t_1`` and only conditioned on the newer history afterwards with ``refit=False``; or every
``refit`` origins) and forecasts ``[t_k, t_k + H)``. Errors are computed per window and
averaged; MASE scales each window by the seasonal-naive in-sample error of its own history.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.fit import evaluation as M
from lstmkit.fit.arrays import scale_exponent  # re-exported: the baselines import it from here
from lstmkit.io.progress import progress_bar

__all__ = [
    "LEVELS",
    "BacktestResult",
    "Forecast",
    "ForecastModel",
    "as_series_list",
    "backtest",
    "scale_exponent",
]

log = logging.getLogger("lstmkit.forecast")

#: Quantile levels every forecast carries: 0.025, 0.05, 0.10, ..., 0.95, 0.975 (80% and 95%
#: intervals, and 19 equally spaced levels 0.05..0.95 for the CRPS estimate).
LEVELS: tuple[float, ...] = (0.025, *[round(0.05 * k, 2) for k in range(1, 20)], 0.975)
_CRPS_LEVELS = [k for k, tau in enumerate(LEVELS) if 0.04 < tau < 0.96]


def as_series_list(series: TimeSeries | Sequence[TimeSeries], name: str = "series") -> list[TimeSeries]:
    """Accept one series or a sequence of them; reject anything else clearly."""
    if isinstance(series, TimeSeries):
        return [series]
    if isinstance(series, (list, tuple)) and series and all(isinstance(s, TimeSeries) for s in series):
        return list(series)
    if isinstance(series, (list, tuple)) and not series:
        raise ValueError(f"{name}: expected at least one series, got an empty sequence")
    raise TypeError(
        f"{name}: expected a lstmkit TimeSeries or a list of them (build one with "
        f"lstmkit.apps.forecasting.data.from_pandas / from_csv), got {type(series).__name__}"
    )


def gaussian_quantiles(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(H,) mean and std -> (H, Q) quantiles at :data:`LEVELS`."""
    z = np.array([NormalDist().inv_cdf(t) for t in LEVELS])
    return mean[:, None] + std[:, None] * z[None, :]


@dataclass(frozen=True, eq=False)
class Forecast:
    """A forecast of one series over ``H`` steps.

    Attributes:
        index: (H,) time stamps (or integer steps) forecast.
        point: (H,) the point forecast (the median for probabilistic models).
        quantiles: (H, Q) quantiles at :data:`LEVELS` (non-decreasing along Q).
        name: the series' name.
        model: the model's name.
    """

    index: Any
    point: np.ndarray
    quantiles: np.ndarray
    name: str = "y"
    model: str = ""

    def __post_init__(self) -> None:
        point = np.asarray(self.point, dtype=np.float64)
        q = np.sort(np.asarray(self.quantiles, dtype=np.float64), axis=1)
        if q.shape != (len(point), len(LEVELS)):
            raise ValueError(f"quantiles: expected shape {(len(point), len(LEVELS))}, got {q.shape}")
        if not (np.isfinite(point).all() and np.isfinite(q).all()):
            raise ValueError(f"{self.model or 'model'}: the forecast of {self.name!r} is not finite")
        object.__setattr__(self, "point", point)
        object.__setattr__(self, "quantiles", q)

    def __len__(self) -> int:
        return len(self.point)

    def quantile(self, level: float) -> np.ndarray:
        """(H,) the quantile at ``level``, linearly interpolated between :data:`LEVELS`."""
        if not LEVELS[0] <= level <= LEVELS[-1]:
            raise ValueError(f"level: expected a value in [{LEVELS[0]}, {LEVELS[-1]}], got {level}")
        return np.array([np.interp(level, LEVELS, row) for row in self.quantiles])

    def interval(self, coverage: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper), each (H,), the central prediction interval of ``coverage``."""
        if not 0 < coverage <= 0.95:
            raise ValueError(f"coverage: expected a value in (0, 0.95], got {coverage}")
        return self.quantile((1 - coverage) / 2), self.quantile((1 + coverage) / 2)

    def to_frame(self) -> Any:
        """DataFrame with ``point``, ``lower80``/``upper80`` and ``lower95``/``upper95``."""
        import pandas as pd

        lo80, hi80 = self.interval(0.8)
        lo95, hi95 = self.interval(0.95)
        return pd.DataFrame(
            {"point": self.point, "lower80": lo80, "upper80": hi80, "lower95": lo95, "upper95": hi95},
            index=self.index,
        )


# ---------------------------------------------------------------------- backtest
@dataclass(frozen=True, eq=False)
class BacktestWindow:
    """One forecast of a backtest: its series, origin, forecast and what happened."""

    series: str
    origin: int
    origin_time: Any
    forecast: Forecast
    actual: np.ndarray
    history: np.ndarray = field(repr=False)
    season: int = 1

    def errors(self) -> dict[str, float]:
        f, y = self.forecast, self.actual
        lo80, hi80 = f.interval(0.8)
        lo95, hi95 = f.interval(0.95)
        return {
            "MAE": M.mae(y, f.point),
            "RMSE": M.rmse(y, f.point),
            "sMAPE": M.smape(y, f.point),
            "MASE": M.mase(y, f.point, self.history, self.season),
            "coverage80": M.coverage(y, lo80, hi80),
            "coverage95": M.coverage(y, lo95, hi95),
            "CRPS": M.crps_quantiles(y, f.quantiles[:, _CRPS_LEVELS], [LEVELS[k] for k in _CRPS_LEVELS]),
        }


METRIC_NAMES = ("MASE", "sMAPE", "MAE", "RMSE", "CRPS", "coverage80", "coverage95")


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """The windows of a backtest and their errors.

    Attributes:
        model: the model's name.
        horizon: H.
        windows: every forecast made, in order of series then origin.
        fit_seconds: wall time spent fitting.
    """

    model: str
    horizon: int
    windows: list[BacktestWindow]
    fit_seconds: float = 0.0
    losses: list[dict[str, list[float]]] = field(default_factory=list)

    def window_errors(self) -> list[dict[str, float]]:
        return [w.errors() for w in self.windows]

    def metrics(self) -> dict[str, float]:
        """Each metric averaged over all windows (and series)."""
        errs = self.window_errors()
        return {k: float(np.mean([e[k] for e in errs])) for k in METRIC_NAMES}

    def errors_by_step(self, metric: str = "MAE") -> np.ndarray:
        """(H,) mean absolute error (``"MAE"``) or absolute scaled error (``"MASE"``) per step ahead."""
        rows = []
        for w in self.windows:
            err = np.abs(w.actual - w.forecast.point)
            if metric == "MASE":
                err = err / M.mase_scale(w.history, w.season)
            elif metric != "MAE":
                raise ValueError(f"metric: expected 'MAE' or 'MASE', got {metric!r}")
            rows.append(err)
        return np.mean(rows, axis=0)

    def to_frame(self) -> Any:
        """Long table: series, origin, step, time, actual, point and the 80%/95% bounds."""
        import pandas as pd

        parts = []
        for w in self.windows:
            frame = w.forecast.to_frame().reset_index(names="time")
            frame.insert(0, "step", np.arange(1, len(w.actual) + 1))
            frame.insert(0, "origin", w.origin_time)
            frame.insert(0, "series", w.series)
            frame.insert(4, "actual", w.actual)
            parts.append(frame)
        return pd.concat(parts, ignore_index=True)


def _origins(length: int, horizon: int, start: int | float | None, stride: int) -> list[int]:
    last = length - horizon
    if start is None:
        first = max(last - max(round(0.25 * length), horizon) + 1, 1)
        first = last - ((last - first) // stride) * stride
    elif isinstance(start, float) and not float(start).is_integer():
        if not 0 < start < 1:
            raise ValueError(f"start: expected a fraction in (0, 1) or an index, got {start}")
        first = math.ceil(start * length)
    else:
        first = int(start) if start >= 0 else length + int(start)
    if not 1 <= first <= last:
        raise ValueError(
            f"start: the first origin {first} leaves no room: origins must lie in [1, {last}] "
            f"for a series of {length} steps and horizon {horizon}"
        )
    return list(range(first, last + 1, stride))


def backtest(
    model: ForecastModel,
    series: TimeSeries | Sequence[TimeSeries],
    horizon: int,
    *,
    start: int | float | None = None,
    stride: int | None = None,
    refit: bool | int = True,
    progress: bool = False,
) -> BacktestResult:
    """Expanding-window backtest of ``model`` (which is cloned, the argument stays untouched).

    Args:
        model: any :class:`ForecastModel`.
        series: one series or several; with several, origins count back from each series'
            end, so series that end together are cut at the same dates.
        horizon: H, steps forecast from each origin.
        start: the first origin: an index into the (longest) series (negative counts from the
            end), a fraction in (0, 1) of its length, or ``None`` for the last 25% (at least one
            window).
        stride: steps between origins (default ``horizon``: non-overlapping windows).
        refit: ``True`` refits at every origin, ``False`` fits once before the first origin,
            an int ``k`` refits at every k-th origin.
        progress: show a progress bar on stderr.

    Returns:
        a :class:`BacktestResult`.
    """
    series_list = as_series_list(series)
    stride, every = _check_backtest(horizon, stride, refit)
    longest = max(len(s) for s in series_list)
    backs = [longest - o for o in _origins(longest, horizon, start, stride)]  # steps before the end
    fitted: ForecastModel | None = None
    windows: list[BacktestWindow] = []
    losses: list[dict[str, list[float]]] = []
    fit_seconds = 0.0
    bar = progress_bar(total=len(backs), desc=f"backtest {model.name}", enable=progress)
    need = model.min_history(int(horizon))
    for k, back in enumerate(backs):
        reached = [s for s in series_list if len(s) - back >= need]
        heads = [s.head(len(s) - back) for s in reached]
        if heads and (fitted is None or (every and k % every == 0)):
            t0 = time.perf_counter()
            fitted = model.clone().fit(heads if len(heads) > 1 else heads[0])
            fit_seconds += time.perf_counter() - t0
            hist = getattr(fitted, "history_", None)
            if hist:
                losses.append(hist)
        if heads:
            assert fitted is not None
            windows += [_window(fitted, s, h, horizon) for s, h in zip(reached, heads)]
        bar.update(1)
    bar.close()
    if not windows:
        raise ValueError("series: too short for any backtest window")
    return BacktestResult(model.name, int(horizon), windows, fit_seconds, losses)


def _check_backtest(horizon: int, stride: int | None, refit: bool | int) -> tuple[int, int]:
    """The stride (default: the horizon) and the refit period (0: fit once) of a backtest."""
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon: expected an int >= 1, got {horizon!r}")
    stride = horizon if stride is None else stride
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride: expected an int >= 1, got {stride!r}")
    if isinstance(refit, bool):
        return stride, 1 if refit else 0
    if isinstance(refit, int) and refit >= 1:
        return stride, refit
    raise ValueError(f"refit: expected True, False or an int >= 1, got {refit!r}")


def _window(fitted: ForecastModel, s: TimeSeries, head: TimeSeries, horizon: int) -> BacktestWindow:
    """The forecast of ``s`` from the end of its ``head``, and what happened."""
    fc = fitted.predict(horizon, series=head)
    assert isinstance(fc, Forecast)
    o = len(head)
    return BacktestWindow(s.name, o, s.index[o], fc, s.values[o : o + horizon].copy(), head.values, s.season)


# ---------------------------------------------------------------------- the interface
class ForecastModel:
    """Interface shared by the LSTM forecaster and the baselines.

    Subclasses implement :meth:`fit` (on one or several series) and :meth:`_forecast`
    (one series, conditioned on its history); ``name`` labels tables and plots.
    """

    name: str = "model"
    #: a global model (trained across series) or a local one (fitted per series at predict time)
    is_global: bool = False

    def __init__(self) -> None:
        self._fitted: list[TimeSeries] | None = None

    def fit(self, series: TimeSeries | Sequence[TimeSeries]) -> ForecastModel:
        self._fitted = as_series_list(series)
        return self

    def _forecast(self, series: TimeSeries, horizon: int) -> Forecast:
        raise NotImplementedError

    def min_history(self, horizon: int) -> int:
        """The fewest observations a series needs to be fitted and forecast ``horizon`` ahead
        (a backtest leaves shorter series out of the origins they cannot reach)."""
        return max(2, horizon)

    def clone(self) -> ForecastModel:
        """An unfitted copy with the same settings."""
        new = copy.copy(self)
        new._fitted = None
        for key, value in vars(self).items():  # fitted state (trailing underscore) starts empty
            if key.endswith("_") and not key.startswith("_"):
                setattr(new, key, type(value)() if isinstance(value, (dict, list)) else None)
        return new

    def predict(
        self, horizon: int, series: TimeSeries | Sequence[TimeSeries] | None = None
    ) -> Forecast | list[Forecast]:
        """Forecast ``horizon`` steps after the end of ``series`` (default: the fitted series).

        Returns a :class:`Forecast` for one series, a list for several.
        """
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise ValueError(f"horizon: expected an int >= 1, got {horizon!r}")
        if series is None:
            if self._fitted is None:
                raise RuntimeError(f"{self.name}: call fit() before predict()")
            targets = self._fitted
            single = len(targets) == 1
        else:
            single = isinstance(series, TimeSeries)
            targets = as_series_list(series)
        out = [self._forecast(s, int(horizon)) for s in targets]
        return out[0] if single else out

    #: expanding-window backtest of this model (the model is cloned, it stays untouched); see
    #: :func:`backtest`
    backtest = backtest

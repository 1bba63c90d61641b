r"""The glucose forecasts the LSTM is compared with: persistence and a per-patient ARIMA,
evaluated at every forecast origin of a test patient.

Both are local models of the CGM alone (no meals, no insulin):

* **persistence**: the last reading, :math:`\hat y_{t+h} = y_{t-1}` for the origin ``t`` (the
  first unseen step), the forecast of :class:`lstmkit.apps.forecasting.baselines.NaiveForecaster`;
* **ARIMA**: per patient, the order is chosen by
  :class:`lstmkit.apps.forecasting.baselines.ARIMAForecaster` (stepwise AICc search, no
  season) on the patient's warm-up, the first part of its trace, where the parameters are
  then estimated once. From there the model is not refitted: at each origin it forecasts from
  the Kalman filter's state given every reading before the origin, :math:`\hat y_{t+h-1} =
  Z\,(T^{h-1} a_{t|t-1} + \sum_{j<h-1} T^j c) + d` for the state space form
  (:math:`Z, d, T, c`) of the fitted SARIMAX, the same numbers as statsmodels' dynamic
  prediction from ``t``, for all origins at once.

Shapes: N origins; ``origins`` index the first forecast step; ``steps`` are horizons in
5-minute steps.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.apps.forecasting.series import TimeSeries

__all__ = ["ArimaFit", "arima_forecasts", "fit_arima", "persistence"]

log = logging.getLogger("lstmkit.glucose")

_LABEL = re.compile(r"^ARIMA\((\d+),(\d+),(\d+)\)( with (mean|drift))?$")


def _check_origins(values: np.ndarray, origins: np.ndarray, steps: Sequence[int]) -> None:
    last = int(origins.max()) + max(steps) if len(origins) else 0
    if len(origins) and (origins.min() < 1 or last > len(values)):
        raise ValueError(
            f"origins: expected 1 <= origin and origin + {max(steps)} <= {len(values)}, "
            f"got {int(origins.min())} .. {int(origins.max())}"
        )


def persistence(values: np.ndarray, origins: np.ndarray, steps: Sequence[int]) -> dict[int, np.ndarray]:
    """The last reading before each origin, for each horizon: ``{h: (N,)}``."""
    values = np.asarray(values, dtype=np.float64)
    _check_origins(values, origins, steps)
    return {h: values[origins - 1].copy() for h in steps}


@dataclass(frozen=True)
class ArimaFit:
    """A patient's ARIMA: its label (``ARIMA(2,1,1)``) and the fitted statsmodels results."""

    label: str
    results: Any


def fit_arima(warmup: TimeSeries, order: tuple[int, int, int] | None = None) -> ArimaFit:
    """Choose the order on ``warmup`` (lstmkit's ARIMA search; ``order`` fixes it instead)
    and estimate it there.

    Raises:
        ValueError: the search chose a model this module cannot read (a seasonal one).
    """
    from lstmkit.apps.forecasting.baselines.statistical import ARIMAForecaster

    target = TimeSeries(warmup.values, warmup.index, name=warmup.name, season=1)
    search = ARIMAForecaster(order, log=False, season_policy="never")
    search.predict(1, series=target)
    label = search.selected_[target.name]
    found = _LABEL.match(label)
    if found is None:
        raise ValueError(f"ARIMA: expected a non-seasonal model, the search chose {label!r}")
    p, d, q = (int(found.group(k)) for k in (1, 2, 3))
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SARIMAX(
        target.values,
        order=(p, d, q),
        trend="c" if found.group(4) else "n",
        concentrate_scale=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = model.fit(disp=False)
    log.info("ARIMA %s: %s on %d warm-up readings", warmup.name, label, len(target))
    return ArimaFit(label, results)


def _system(filtered: Any) -> tuple[np.ndarray, ...]:
    """The time-invariant state space matrices Z (k,), d (scalar), T (k, k), c (k,) of k states."""
    parts = []
    for name in ("design", "obs_intercept", "transition", "state_intercept"):
        m = np.asarray(getattr(filtered, name))  # (..., 1), or (..., T) repeating one column
        if not np.allclose(m, m[..., :1]):
            raise ValueError(f"ARIMA: expected a time-invariant {name}, got one varying over time")
        parts.append(m[..., 0])
    Z, d, T, c = parts
    return Z[0], d[0], T, c


def arima_forecasts(
    fit: ArimaFit, values: np.ndarray, origins: np.ndarray, steps: Sequence[int]
) -> dict[int, np.ndarray]:
    """The forecasts of ``fit`` (parameters held fixed) at each origin of the series
    ``values`` (T,), ``steps`` ahead: ``{h: (N,)}``, the value predicted for ``origin + h - 1``.
    """
    values = np.asarray(values, dtype=np.float64)
    _check_origins(values, origins, steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filtered = fit.results.apply(values).filter_results
    Z, d, T, c = _system(filtered)
    state = np.asarray(filtered.predicted_state)[:, origins]  # (k, N): a_{t|t-1}
    out: dict[int, np.ndarray] = {}
    for h in range(1, max(steps) + 1):
        if h in steps:
            out[h] = Z @ state + d  # (N,)
        state = T @ state + c[:, None]
    return out

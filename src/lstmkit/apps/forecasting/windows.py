"""Windowing, scaling and calendar features for forecasting.

A forecaster sees a series through windows: ``L`` input steps ending at an *origin* ``t``,
and the ``H`` target steps after it. :func:`sliding_windows` cuts them (views, no copies),
:class:`SeriesScaler` maps a series to the scale the network works in and back, and
:func:`calendar_features` derives known-future features from the time index.

Scaling (per series, fitted on the training part only):

.. math::

    z_t = \\begin{cases} \\log y_t & \\text{if the log transform is on} \\\\ y_t \\end{cases}
    \\qquad u_t = \\frac{z_t - \\ell}{s}

where ``s`` is the standard deviation of the training ``z`` and ``\\ell`` is either the
training mean (``normalize="global"``) or the window's own level (``normalize="window"``:
the mean of the last ``season`` input values, or of the whole window without a season), which
makes the network translation invariant, so it extrapolates trends it never saw in the
training range. ``normalize="last"`` takes the window's last value as ``\\ell`` (a zero
output is the naive forecast, as in N-BEATS' and the M4 entries' global models) and, in logs,
the same scale :data:`LOG_RATIO_SCALE` for every series, so that the loss weighs relative
errors alike across series (as sMAPE does) instead of magnifying the noise of the flattest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.apps.forecasting.series import freq_unit
from lstmkit.fit.arrays import sliding_windows  # re-exported: the windows of a series

__all__ = [
    "LOG_RATIO_SCALE",
    "NORMALIZE",
    "SeriesScaler",
    "auto_window",
    "calendar_feature_names",
    "calendar_features",
    "sliding_windows",
    "window_origins",
]


def window_origins(length: int, window: int, horizon: int, stride: int = 1) -> np.ndarray:
    """Forecast origins ``t`` (index of the first target step) with a full input window
    ``[t - window, t)`` and a full target ``[t, t + horizon)`` inside a series of ``length``.

    The last origin is always included; earlier ones every ``stride`` steps back from it.
    """
    last = length - horizon
    if last < window:
        raise ValueError(
            f"series too short: {length} steps cannot hold an input window of {window} and a horizon "
            f"of {horizon} (needs at least {window + horizon})"
        )
    return np.arange(last, window - 1, -stride)[::-1]


def auto_window(season: int, horizon: int, train_length: int, max_window: int = 64) -> int:
    """Default input length: two seasons (at least 2 horizons and 8 steps), capped by
    ``max_window`` and so that at least half the training series remains as targets."""
    want = max(2 * season if season > 1 else 0, 2 * horizon, 8)
    cap = max(4, min(max_window, (train_length - horizon) // 2))
    return int(min(want, cap))


#: the choices of ``normalize``
NORMALIZE = ("auto", "window", "global", "last")
#: the scale of log values with ``normalize="last"``: one unit is a change of about 10%
LOG_RATIO_SCALE = 0.1


@dataclass(frozen=True)
class SeriesScaler:
    """Per-series transform to the network's scale and back (see the module docstring).

    Attributes:
        log: whether ``z = log(y)``.
        mean: training mean of ``z``.
        scale: training standard deviation of ``z`` (1 if constant).
        level_span: values averaged for the window level (``normalize="window"``); 0 means
            the global mean is the level, -1 the window's last value (``normalize="last"``).
    """

    log: bool
    mean: float
    scale: float
    level_span: int

    @classmethod
    def fit(cls, values: np.ndarray, *, log: bool | str = "auto", normalize: str = "window", season: int = 1):
        """Fit on a training series ``values`` (T,).

        ``normalize="auto"`` takes the window level for log-transformed series (in logs, the
        window level is a scale: the series' shape relative to its recent size, as DeepAR's mean
        scaling) and for series with a stochastic trend (the KPSS test at 5% rejects level
        stationarity of ``z``: passengers, CO2, prices), and the global mean for additive,
        level-stationary ones (sunspots, temperatures), whose absolute level carries information;
        without statsmodels it takes the window level.

        ``log="auto"`` takes logs of strictly positive series whose max/min ratio is at least 3
        (growth that is multiplicative in practice: passengers, prices, trappings).
        """
        values = np.asarray(values, dtype=np.float64)
        if log == "auto":
            use_log = bool(values.min() > 0 and values.max() / values.min() >= 3.0)
        elif isinstance(log, bool):
            use_log = log
        else:
            raise ValueError(f"log: expected True, False or 'auto', got {log!r}")
        if use_log and values.min() <= 0:
            raise ValueError(f"log: the log transform needs positive values, the minimum is {values.min()}")
        if normalize not in NORMALIZE:
            raise ValueError(f"normalize: expected one of {', '.join(NORMALIZE)}, got {normalize!r}")
        z = np.log(values) if use_log else values
        if normalize == "auto":
            normalize = "window" if use_log or _needs_differencing(z) else "global"
        scale = float(z.std())
        # constant (up to rounding) relative to the values' own size, not to an absolute 1e-8:
        # a series of values around 1e-9 still varies
        if not np.isfinite(scale) or scale <= 1e-12 * float(np.abs(z).max()) or scale == 0.0:
            scale = 1.0
        if normalize == "last":
            return cls(use_log, float(z.mean()), LOG_RATIO_SCALE if use_log else scale, -1)
        span = 0 if normalize == "global" else max(int(season), 1)
        return cls(use_log, float(z.mean()), scale, span)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """``z`` for values (any shape)."""
        values = np.asarray(values, dtype=np.float64)
        if self.log:
            if (values <= 0).any():
                raise ValueError("values: the series was fitted with a log transform but holds values <= 0")
            return np.log(values)
        return values

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.log else z

    def levels(self, z_windows: np.ndarray) -> np.ndarray:
        """Level of each input window (N, L) -> (N,)."""
        if self.level_span == 0:
            return np.full(z_windows.shape[0], self.mean)
        if self.level_span < 0:
            return z_windows[:, -1].copy()
        span = min(self.level_span, z_windows.shape[1])
        if span == 1:
            span = z_windows.shape[1]
        return z_windows[:, -span:].mean(axis=1)

    def normalize(self, z: np.ndarray, level: np.ndarray) -> np.ndarray:
        """(z - level) / scale with ``level`` broadcast over the trailing axis."""
        return (z - level[..., None]) / self.scale

    def denormalize(self, u: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`normalize` followed by :meth:`inverse`, back to data units.

        ``u`` (N, ...) with ``level`` (N,)."""
        shape = (-1,) + (1,) * (u.ndim - 1)
        return self.inverse(u * self.scale + level.reshape(shape))

    def to_dict(self) -> dict[str, Any]:
        return {"log": self.log, "mean": self.mean, "scale": self.scale, "level_span": self.level_span}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeriesScaler:
        return cls(bool(d["log"]), float(d["mean"]), float(d["scale"]), int(d["level_span"]))


def _needs_differencing(z: np.ndarray) -> bool:
    """KPSS level-stationarity test at 5% (statsmodels); True when it is rejected."""
    try:
        from lstmkit.apps.forecasting.baselines.seasonality import ndiffs
    except ImportError:
        return True
    try:
        return ndiffs(np.asarray(z, dtype=np.float64), max_d=1) > 0
    except ImportError:
        return True


# ---------------------------------------------------------------------- calendar
def _cycles(freq: str | None) -> list[tuple[str, int, int]]:
    """(field, period, harmonics) for a frequency: which calendar cycles sit below it."""
    return {
        "quarter": [("quarter", 4, 1)],
        "month": [("month", 12, 2)],
        "semimonth": [("month", 12, 2)],
        "week": [("dayofyear", 366, 2)],
        "day": [("dayofweek", 7, 1), ("dayofyear", 366, 2)],
        "business day": [("dayofweek", 7, 1), ("dayofyear", 366, 2)],
        "hour": [("hour", 24, 2), ("dayofweek", 7, 1), ("dayofyear", 366, 1)],
        "minute": [("minute", 60, 1), ("hour", 24, 2), ("dayofweek", 7, 1)],
        "second": [("minute", 60, 1), ("hour", 24, 2), ("dayofweek", 7, 1)],
    }.get(freq_unit(freq) or "", [])


def calendar_feature_names(freq: str | None) -> list[str]:
    """Names of the features :func:`calendar_features` makes for ``freq``."""
    names = []
    for fld, _, harmonics in _cycles(freq):
        for k in range(1, harmonics + 1):
            names += [f"{fld}_sin{k}", f"{fld}_cos{k}"]
    return names


def calendar_features(index: Any, freq: str | None) -> np.ndarray:
    """Sine/cosine encodings of the calendar cycles below the sampling frequency.

    Monthly data get the month of the year (2 harmonics), daily data the day of the week and
    of the year, hourly data the hour, weekday and day of the year, and so on; yearly or
    integer-indexed data get none. Known for any future date, so they are known-future
    covariates.

    Args:
        index: (T,) a pandas ``DatetimeIndex`` (anything else gives no features).
        freq: the series' frequency string.

    Returns:
        (T, K) float64, K = ``len(calendar_feature_names(freq))``.

    Example::

        >>> calendar_features(pd.date_range("2020-01", periods=3, freq="MS"), "MS").shape
        (3, 4)
    """
    import pandas as pd

    cycles = _cycles(freq) if isinstance(index, pd.DatetimeIndex) else []
    cols = []
    for fld, period, harmonics in cycles:
        value = np.asarray(getattr(index, fld), dtype=np.float64)
        if fld in ("month", "quarter", "dayofyear"):
            value = value - 1
        angle = 2 * np.pi * value / period
        for k in range(1, harmonics + 1):
            cols += [np.sin(k * angle), np.cos(k * angle)]
    if not cols:
        return np.zeros((len(index), 0))
    return np.stack(cols, axis=1)

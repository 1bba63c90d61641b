r"""The forecaster's inputs: series scaled and cut into the windows its network reads.

For a panel of series, :func:`panel_layout` fixes what every series must share (covariates,
frequency) and the window length ``L``. Each series gets its own statistics
(:func:`series_stats`: a power-of-two exponent for extreme magnitudes, the
:class:`~lstmkit.apps.forecasting.windows.SeriesScaler` of its target, the standardization of its
covariates), saved with the model so that a forecast scales a series as its fit did;
:func:`prepare` applies them. :func:`window_inputs` and :func:`window_targets` cut the windows
that end before each origin ``t`` (the target of origin ``t`` is ``[t, t + H)``), and
:func:`split_origins` holds the last part of a series out for early stopping.

Shapes: T steps, F known-future rows, N windows, L window, H horizon, C_in features per input
step, C_f known-future features per target step.

Example::

    >>> layout = panel_layout([y], calendar=True, window=None, horizon=12, recursive=False)
    >>> stats = series_stats(y, log="auto", normalize="auto", season=layout["season"])
    >>> p = prepare(y, 0, layout, stats)
    >>> past, future, level = window_inputs(p, np.array([100]), layout["window"], 12, "auto")
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.forecasting.windows import (
    SeriesScaler,
    auto_window,
    calendar_feature_names,
    calendar_features,
)
from lstmkit.fit.arrays import robust_mean_std, scale_exponent
from lstmkit.fit.estimator import finite

__all__ = [
    "Prepared",
    "check_series",
    "continues",
    "level_is_input",
    "panel_layout",
    "prepare",
    "series_stats",
    "split_origins",
    "stack_windows",
    "window_inputs",
    "window_targets",
]

log = logging.getLogger("lstmkit.forecast")


@dataclass
class Prepared:
    """One series turned into arrays the network reads (all in the scaled space)."""

    name: str
    z: np.ndarray  # (T,) transformed target
    past_feats: np.ndarray  # (T, K_p) standardized past covariates
    future_feats: np.ndarray  # (T + F, K_f) calendar + standardized future covariates
    scaler: SeriesScaler
    exponent: int = 0  # the series was divided by 2**exponent first (see scale_exponent)


def panel_layout(
    series: Sequence[TimeSeries], *, calendar: bool, window: int | None, horizon: int, recursive: bool
) -> dict[str, Any]:
    """What every series of a fit shares: the window, frequency, calendar features, covariate
    names and season (plain values, saved with the model).

    Raises:
        ValueError: series with other covariates or (with calendar features) frequencies, or
            past covariates with the recursive strategy (their future is unknown).
    """
    first = series[0]
    for s in series[1:]:
        for attr in ("past_covariate_names", "future_covariate_names"):
            if getattr(s, attr) != getattr(first, attr):
                raise ValueError(
                    f"series: all series must have the same {attr.replace('_names', '')} "
                    f"({getattr(first, attr)} in {first.name!r}, {getattr(s, attr)} in {s.name!r})"
                )
    freqs = {s.freq for s in series}
    cal = calendar_feature_names(first.freq) if calendar else []
    if cal and len(freqs) > 1:
        raise ValueError(f"series: calendar features need one frequency, got {sorted(map(str, freqs))}")
    season = max(s.season for s in series)
    if recursive and first.past_covariates is not None:
        raise ValueError(
            "past_covariates: the recursive strategy cannot roll past covariates forward (their "
            "future is unknown); use strategy='direct' or 'seq2seq', or make them future covariates"
        )
    return {
        "window": int(window or auto_window(season, horizon, min(len(s) for s in series))),
        "freq": first.freq,
        "calendar": cal,
        "past": list(first.past_covariate_names),
        "future": list(first.future_covariate_names),
        "season": int(season),
    }


def check_series(s: TimeSeries, layout: dict[str, Any], extra: int) -> None:
    """``ValueError`` unless ``s`` fits ``layout`` (covariates, frequency), knows ``extra``
    future rows of its future covariates, and holds finite values only."""
    if list(s.past_covariate_names) != layout["past"] or list(s.future_covariate_names) != layout["future"]:
        raise ValueError(
            f"series {s.name!r}: covariates {list(s.past_covariate_names)} / "
            f"{list(s.future_covariate_names)} differ from the fitted ones "
            f"{layout['past']} / {layout['future']}"
        )
    if layout["calendar"] and s.freq != layout["freq"]:
        raise ValueError(f"series {s.name!r}: frequency {s.freq} differs from the fitted {layout['freq']}")
    if s.future_covariates is not None and s.known_future < extra:
        raise ValueError(
            f"future_covariates: {s.name!r} knows {s.known_future} future rows, the forecast needs {extra}"
        )
    finite(f"series {s.name!r}", s.values, axes=("step",))
    for kind, cov in (("past", s.past_covariates), ("future", s.future_covariates)):
        if cov is not None:
            finite(f"{kind}_covariates of {s.name!r}", cov, axes=("step", "covariate"))


def _digest(values: np.ndarray) -> str:
    """A fingerprint of a series' values."""
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()[:32]


def continues(values: np.ndarray, stats: dict[str, Any]) -> bool:
    """Whether ``values`` begin with the series that ``stats`` were fitted on (the same series,
    perhaps longer now); files saved before fingerprints were kept count as yes."""
    if "digest" not in stats:
        return True
    n = int(stats["length"])
    return len(values) >= n and _digest(values[:n]) == stats["digest"]


def _standardizer(values: np.ndarray | None) -> tuple[list[float], list[float]]:
    """Mean and deviation (1 where constant) of each column of covariates (none: empty)."""
    if values is None:
        return [], []
    mean, std = robust_mean_std(values)
    return mean.tolist(), np.where(std > 1e-12, std, 1.0).tolist()


def series_stats(s: TimeSeries, *, log: bool | str, normalize: str, season: int) -> dict[str, Any]:
    """The scaling of one series (plain values): its power-of-two exponent
    (:func:`~lstmkit.fit.arrays.scale_exponent`), target scaler, covariate standardization, and
    a fingerprint of its values (:func:`continues`)."""
    exponent = scale_exponent(s.values)
    scaler = SeriesScaler.fit(np.ldexp(s.values, -exponent), log=log, normalize=normalize, season=season)
    past_mean, past_std = _standardizer(s.past_covariates)
    fut_mean, fut_std = _standardizer(
        s.future_covariates[: len(s)] if s.future_covariates is not None else None
    )
    return {
        "length": len(s),
        "digest": _digest(s.values),
        "exponent": exponent,
        "scaler": scaler.to_dict(),
        "past_mean": past_mean,
        "past_std": past_std,
        "fut_mean": fut_mean,
        "fut_std": fut_std,
    }


def prepare(s: TimeSeries, extra: int, layout: dict[str, Any], stats: dict[str, Any]) -> Prepared:
    """Scale ``s`` by ``stats`` and build its features, with ``extra`` known-future rows."""
    scaler = SeriesScaler.from_dict(stats["scaler"])
    exponent = int(stats.get("exponent", 0))
    z = scaler.transform(np.ldexp(s.values, -exponent))
    past = (
        (s.past_covariates - np.array(stats["past_mean"])) / np.array(stats["past_std"])
        if s.past_covariates is not None
        else np.zeros((len(s), 0))
    )
    parts = []
    if layout["calendar"]:
        parts.append(calendar_features(s.extended_index(extra), s.freq))
    if s.future_covariates is not None:
        fut = s.future_covariates[: len(s) + extra]
        parts.append((fut - np.array(stats["fut_mean"])) / np.array(stats["fut_std"]))
    future = np.hstack(parts) if parts else np.zeros((len(s) + extra, 0))
    return Prepared(s.name, z, past, future, scaler, exponent)


def level_is_input(normalize: str) -> bool:
    """Whether the windows carry their level as an input channel: with ``normalize="window"``
    (and ``"auto"``), where it tells the network where the series stands in its own range
    (0 for series normalized globally); not with ``"global"`` (the values themselves say it)
    nor ``"last"`` (a global model of many series extrapolates better without it)."""
    return normalize not in ("global", "last")


def window_inputs(
    p: Prepared, origins: np.ndarray, window: int, horizon: int, normalize: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The windows ending before each origin: past (N, L, C_in), future (N, H, C_f) and the
    window levels (N,). Steps before the series' start repeat its first step (edge padding).
    The past features: the normalized target, the window level (if :func:`level_is_input`),
    past covariates, known-future features."""
    # (N, L); a window reaching before the series' start repeats its first step there
    idx = np.maximum(origins[:, None] + np.arange(-window, 0)[None, :], 0)
    zw = p.z[idx]  # (N, L)
    level = p.scaler.levels(zw)  # (N,)
    u = p.scaler.normalize(zw, level)[..., None]  # (N, L, 1)
    feats = [u]
    if level_is_input(normalize):
        lvl = ((level - p.scaler.mean) / p.scaler.scale)[:, None, None]
        feats.append(np.broadcast_to(lvl, (len(origins), window, 1)))
    if p.past_feats.shape[1]:
        feats.append(p.past_feats[idx])
    if p.future_feats.shape[1]:
        feats.append(p.future_feats[idx])
    past = np.concatenate(feats, axis=2)
    fidx = origins[:, None] + np.arange(horizon)[None, :]  # (N, H)
    future = p.future_feats[fidx] if p.future_feats.shape[1] else np.zeros((len(origins), horizon, 0))
    return past, future, level


def window_targets(p: Prepared, origins: np.ndarray, horizon: int, level: np.ndarray) -> np.ndarray:
    """(N, H) the normalized targets ``[t, t + H)`` of each origin ``t``."""
    fidx = origins[:, None] + np.arange(horizon)[None, :]
    return p.scaler.normalize(p.z[fidx], level)


def split_origins(
    s: TimeSeries, window: int, horizon: int, val_size: int | None, patience: int | None, pad: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The training and validation origins of ``s``: validation targets lie in its last
    ``val_size`` steps (default: the larger of the horizon and 15%), training targets end
    before them; all origins train (none validates) without ``patience`` or when ``s`` is too
    short to hold some out. With ``pad`` (a panel: some series are long enough), a series
    shorter than ``window + horizon`` gives one window whose start :func:`window_inputs` pads
    instead of being refused."""
    L, H = window, horizon
    if len(s) < (H + 1 if pad else L + H):
        raise ValueError(
            f"series {s.name!r}: {len(s)} steps are too short for an input window of {L} and a "
            f"horizon of {H} (needs at least {H + 1 if pad else L + H}); pass a smaller window= or horizon"
        )
    if len(s) < L + H:  # one window, its start padded: the series adapts, it is not dropped
        log.info("series %r: %d steps, shorter than window + horizon; one padded window", s.name, len(s))
    origins = np.arange(min(L, len(s) - H), len(s) - H + 1)
    V = val_size if val_size is not None else max(H, round(0.15 * len(s)))
    val_o = origins[origins >= len(s) - V]
    train_o = origins[origins <= len(s) - V - H]
    if not patience or len(train_o) < 8 or not len(val_o):
        if patience:
            log.info(
                "series %r: too short to hold out validation windows; trained for max_epochs "
                "without early stopping",
                s.name,
            )
        return origins, origins[:0]
    return train_o, val_o


def stack_windows(parts: list[tuple[np.ndarray, ...]]) -> TensorDataset | None:
    """The windows of every series in one float32 dataset (``None`` for none)."""
    if not parts:
        return None
    return TensorDataset(*[torch.as_tensor(np.concatenate(a), dtype=torch.float32) for a in zip(*parts)])

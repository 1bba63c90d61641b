"""Fitting and forecasting of ``Forecaster(architecture="es-lstm")`` (the ES-hybrid of
:mod:`lstmkit.apps.forecasting.eslstm`): a mixin of :class:`~lstmkit.apps.forecasting.estimator.Forecaster`.

The training data is a set of whole series (a batch is a set of series, not of windows): the
validation split holds out each series' last ``horizon`` values (series too short to spare
them train on all of theirs), early stopping watches the loss of the window that forecasts
them, and the refit runs on the whole series for the epochs that led to the best weights. The
ensemble's members (seeds) are combined by the median of their quantiles in data units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from lstmkit.apps.forecasting.base import LEVELS, Forecast
from lstmkit.apps.forecasting.eslstm import (
    WINDOWS_PER_SERIES,
    ESLSTMNet,
    check_positive,
    initial_season,
    padded,
    sample_ends,
)
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.apps.forecasting.windows import LOG_RATIO_SCALE
from lstmkit.fit.losses import masked_mae, quantile_loss
from lstmkit.fit.step import StepOutput

__all__ = ["ESHybrid", "es_window"]

#: the wiggliness penalty of the log level for seasonal series when ``level_penalty=None``
#: (none for non-seasonal ones: their level carries the trend the network extrapolates)
SEASONAL_LEVEL_PENALTY = 10.0
#: a series needs this many values besides the held-out horizon to take part in validation
MIN_TRAIN = 4


def es_window(season: int, horizon: int) -> int:
    """The default input window: two seasons, at least the horizon and 8 steps."""
    return max(2 * season if season > 1 else 0, horizon, 8)


class ESHybrid:
    """The ``es-lstm`` half of the Forecaster (it provides ``config``, ``layout_``,
    ``_fit_ensemble``, ``_fit_member``, ``_members`` and ``name``)."""

    config: Any
    layout_: dict[str, Any]
    name: str
    _es_init: Tensor | None = None

    # ------------------------------------------------------------------ fitting
    def _fit_es(self, series: list[TimeSeries]) -> None:
        cfg, H = self.config, self.config.horizon
        for s in series:
            check_positive(s.name, s.values)
        season = int(series[0].season)
        if any(s.season != season for s in series):
            raise ValueError(
                "series: architecture 'es-lstm' fits one seasonal period, got "
                f"{sorted({s.season for s in series})}"
            )
        self.layout_ = {
            "es": True,
            "window": int(cfg.window or es_window(season, H)),
            "season": season,
            "names": [s.name for s in series],
            "freq": series[0].freq,
            "calendar": False,
            "past": [],
            "future": [],
        }
        values = [s.values for s in series]
        self._es_init = torch.tensor(
            np.stack([initial_season(v, season) for v in values]), dtype=torch.float32
        )
        y, n = padded(values)
        rows = torch.arange(len(series))
        holds = (n >= H + MIN_TRAIN) & bool(cfg.patience)
        train = TensorDataset(rows, y, torch.where(holds, n - H, n), torch.zeros_like(n))
        val = (
            TensorDataset(rows[holds], y[holds], n[holds], torch.ones_like(n[holds])) if holds.any() else None
        )
        full = TensorDataset(rows, y, n, torch.zeros_like(n))
        self._fit_ensemble(  # type: ignore[attr-defined]
            cfg.ensemble,
            cfg.max_epochs,
            f"fit {self.name}",
            lambda k, bar: self._fit_member(k, train, val, bar, refit_data=full),  # type: ignore[attr-defined]
        )

    def _build_es_net(self) -> ESLSTMNet:
        cfg, lay = self.config, self.layout_
        return ESLSTMNet(
            len(lay["names"]),
            lay["season"],
            lay["window"],
            cfg.horizon,
            likelihood=cfg.likelihood,
            season_init=self._es_init,
            dropout=cfg.dropout,
            **self._lstm_settings(),  # type: ignore[attr-defined]
        )

    def _es_step(self, model: ESLSTMNet, batch: tuple[Tensor, ...]) -> StepOutput:
        rows, y, n, last = batch
        H = self.config.horizon
        # validation: the window that forecasts each series' held-out end
        ends = (n - H - 1).clamp(min=0)[:, None] if bool(last[0]) else sample_ends(n, H, WINDOWS_PER_SERIES)
        out, tgt, logl, _ = model(y, n, rows, ends)
        if self.config.likelihood == "quantile":
            loss = quantile_loss(out, tgt, LEVELS)
        else:
            loss = masked_mae(out[..., 0], tgt)
        if model.training:
            loss = loss + self._level_penalty() * ESLSTMNet.level_penalty(logl, n)
        return StepOutput(loss, weight=float(tgt.numel()))

    def _level_penalty(self) -> float:
        given = self.config.level_penalty
        if given is not None:
            return float(given)
        return SEASONAL_LEVEL_PENALTY if self.layout_["season"] > 1 else 0.0

    # ------------------------------------------------------------------ forecasting
    @torch.no_grad()
    def _forecast_es(self, series: TimeSeries, horizon: int) -> Forecast:
        H = self.config.horizon
        if horizon > H:
            raise ValueError(f"horizon: this es-lstm model was trained for {H} steps, got {horizon}")
        check_positive(series.name, series.values)
        names = self.layout_["names"]
        row = names.index(series.name) if series.name in names else -1
        season = torch.tensor(initial_season(series.values, self.layout_["season"]), dtype=torch.float32)
        y, n = padded([series.values])
        ends = (n - 1)[:, None]
        qs = []
        for net in self._members():  # type: ignore[attr-defined]
            assert isinstance(net, ESLSTMNet)
            out, _, logl, logs = net(y, n, torch.tensor([row]), ends, season[None])
            u = out[0, 0].double() * LOG_RATIO_SCALE  # (H, P)
            if u.shape[1] == 1:
                u = u.expand(-1, len(LEVELS))
            scale = logl[0, -1].double() + logs[0, len(series) : len(series) + H].double()  # (H,)
            qs.append(torch.exp(u + scale[:, None]).numpy())
        q = np.sort(np.median(np.stack(qs), axis=0), axis=1)[:horizon]
        mid = len(LEVELS) // 2
        return Forecast(series.future_index(horizon), q[:, mid], q, series.name, self.name)

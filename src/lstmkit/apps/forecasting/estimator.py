r"""The LSTM forecaster: windowed, scaled, probabilistic, ensembled; fit / predict / backtest.

:class:`Forecaster` is what users hold: it turns series into windows, scales them, trains an
ensemble of :class:`~lstmkit.apps.forecasting.model.ForecastNet` networks (its fitting,
ensembling, progress and saving come from :class:`lstmkit.fit.estimator.Estimator`), and turns
network outputs back into :class:`~lstmkit.apps.forecasting.base.Forecast` objects with
prediction intervals. The horizon strategies (``"direct"``, ``"seq2seq"``, ``"recursive"``)
are described in :mod:`lstmkit.apps.forecasting.model`.

The encoder is an LSTM unless ``architecture=`` names a comparison model (``"gru"``, ``"rnn"``,
``"transformer"``, ``"tcn"``): the same windows, scaling, losses, training and ensemble, so
the architectures compare on equal terms.

Losses (``likelihood=``): ``"quantile"`` (21 monotone quantiles trained with the pinball
loss), ``"gaussian"`` (mean and standard deviation, Gaussian NLL) or ``"point"`` (the L1 loss,
a median forecast). The point forecast is always the median in data units.

Inputs at each window step: the scaled target (see :class:`lstmkit.apps.forecasting.windows.SeriesScaler`),
the window level (with ``normalize="window"``), standardized past covariates, and the
known-future features (calendar features of the time stamp and the user's future covariates).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import ConcatDataset, Dataset, TensorDataset

from lstmkit.apps.forecasting.base import LEVELS, Forecast, ForecastModel, as_series_list
from lstmkit.apps.forecasting.config import NAMES, ForecasterConfig
from lstmkit.apps.forecasting.es_fit import ESHybrid
from lstmkit.apps.forecasting.eslstm import ESLSTMNet
from lstmkit.apps.forecasting.inputs import (
    Prepared,
    check_series,
    continues,
    panel_layout,
    prepare,
    series_stats,
    split_origins,
    stack_windows,
    window_inputs,
    window_targets,
)
from lstmkit.apps.forecasting.model import ARCHITECTURES, LIKELIHOODS, STRATEGIES, ForecastNet
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.fit.config import TrainConfig
from lstmkit.fit.estimator import Estimator, settings
from lstmkit.fit.history import History
from lstmkit.fit.losses import gaussian_nll, masked_mae, quantile_loss
from lstmkit.fit.step import StepOutput
from lstmkit.io.progress import ProgressBar, shrink_total

__all__ = ["ARCHITECTURES", "LIKELIHOODS", "STRATEGIES", "ForecastNet", "Forecaster", "ForecasterConfig"]

log = logging.getLogger("lstmkit.forecast")

FORMAT = "lstmkit.Forecaster"
FORMAT_VERSION = 1


class Forecaster(ESHybrid, Estimator, ForecastModel):
    r"""An LSTM forecaster with sensible defaults: scaled windows, quantile output, an ensemble;
    a GRU, Elman RNN, causal Transformer or TCN in the LSTM's place with ``architecture=``.

    Defaults that matter (each is an argument):

    * log transform of strongly growing positive series (``log="auto"``), per-window level
      normalization for trending series so trends extrapolate and a global level for stationary
      ones (``normalize="auto"``, by a KPSS test), per-series scale;
    * input window of two seasons (``window=None``), calendar features of the time index;
    * early stopping on the last part of each series (``val_size``), then a refit on all data
      for the best number of epochs (``refit=True``);
    * an ensemble of ``ensemble`` networks from different seeds, combined by averaging their
      quantiles (and medians).

    Args:
        horizon: H, steps to forecast.
        window: L, input steps (``None``: :func:`~lstmkit.apps.forecasting.windows.auto_window`).
        strategy: ``"direct"``, ``"seq2seq"`` or ``"recursive"`` (see :mod:`~lstmkit.apps.forecasting.model`).
        likelihood: ``"quantile"``, ``"gaussian"`` or ``"point"``.
        architecture: the encoder: ``"lstm"`` (default), ``"gru"``, ``"rnn"`` (Elman),
            ``"transformer"`` (causal, pre-LN) or ``"tcn"`` (Bai et al. 2018); see
            :mod:`lstmkit.core.layers.encoder`. ``"tcn"`` has no ``"seq2seq"`` strategy.
        hidden_size, num_layers, dropout, variant, engine: the encoder (``variant`` and
            ``engine`` of an LSTM; ``hidden_size`` is a Transformer's width and a TCN's
            channels, ``num_layers`` its blocks).
        num_heads: the Transformer's attention heads (dividing ``hidden_size``).
        kernel_size: the TCN's kernel (at least 2).
        log, normalize: scaling (see :class:`~lstmkit.apps.forecasting.windows.SeriesScaler`);
            ``normalize="last"`` (each window relative to its last value, one scale for all
            series in logs) suits global models of many short series (the M competitions).
        calendar: add calendar features of the time index as known-future inputs.
        ensemble: networks trained from different seeds.
        max_epochs, patience, batch_size, lr, weight_decay: training (AdamW, gradient norm
            clipped at 1, :class:`lstmkit.fit.Trainer`); ``batch_size=None`` takes 32 windows,
            or a sixteenth of the training windows for long series.
        val_size: the last ``val_size`` steps of each series hold the validation targets for
            early stopping (default: the larger of the horizon and 15% of the series).
        refit: after early stopping, retrain on all windows for the best number of epochs.
        num_samples: sampled paths of the recursive Gaussian model.
        seed: base seed (member k uses ``seed + k``).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``; a device this
            machine lacks is refused here (:func:`~lstmkit.fit.config.resolve_device`).
        progress: show progress bars on stderr.

    The networks are float32 whatever ``torch.get_default_dtype()`` is. Series of extreme
    magnitude (around 1e200 or 1e-300) are divided by a power of two before scaling and the
    forecast multiplied back (:func:`~lstmkit.fit.arrays.scale_exponent`); ordinary
    series are untouched.

    Example::

        >>> from lstmkit import Forecaster
        >>> from lstmkit.apps.datasets import sources
        >>> y = sources.load_series("airline")
        >>> fc = Forecaster(horizon=12).fit(y).predict()
        >>> fc.point.shape, fc.interval(0.8)[0].shape
        ((12,), (12,))
        >>> Forecaster(horizon=12, architecture="transformer", num_heads=4).fit(y).name
        'Transformer'
    """

    name = "LSTM"
    is_global = True
    format = FORMAT
    format_version = FORMAT_VERSION

    def __init__(
        self,
        horizon: int,
        *,
        window: int | None = None,
        strategy: str = "direct",
        likelihood: str = "quantile",
        architecture: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.1,
        variant: str = "classic",
        engine: str | None = None,
        num_heads: int = 4,
        kernel_size: int = 3,
        log: bool | str = "auto",
        normalize: str = "auto",
        calendar: bool = True,
        ensemble: int = 5,
        max_epochs: int = 200,
        patience: int | None = 20,
        batch_size: int | None = None,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        level_penalty: float | None = None,
        val_size: int | None = None,
        refit: bool = True,
        num_samples: int = 200,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = True,
    ) -> None:
        ForecastModel.__init__(self)
        Estimator.__init__(self, settings(ForecasterConfig, locals()), progress)
        self.name = NAMES[architecture]
        self.layout_: dict[str, Any] = {}
        self.stats_: dict[str, Any] = {}

    def __repr__(self) -> str:
        fitted = f", fitted on {len(self.stats_)} series" if self.nets_ else ""
        return f"Forecaster({self.config}{fitted})"

    @property
    def horizon(self) -> int:
        return self.config.horizon

    def min_history(self, horizon: int) -> int:
        """An input window (the configured one, or the automatic window's smallest, 4) and
        ``horizon`` targets."""
        return (self.config.window or 4) + horizon

    # ------------------------------------------------------------------ inputs
    def _prepare(self, s: TimeSeries, extra: int, fit_stats: bool) -> Prepared:
        """Scale one series and build its features, with ``extra`` known-future rows: by the
        fitted statistics of the series of that name, or by its own (kept with ``fit_stats``)."""
        check_series(s, self.layout_, extra)
        stats = self.stats_.get(s.name) if not fit_stats else None
        if stats is not None and not continues(s.values, stats):
            log.info("series %r: not the fitted series of that name; scaled by its own statistics", s.name)
            stats = None
        if stats is None:
            cfg = self.config
            stats = series_stats(s, log=cfg.log, normalize=cfg.normalize, season=self.layout_["season"])
            if fit_stats:
                self.stats_[s.name] = stats
        return prepare(s, extra, self.layout_, stats)

    def _datasets(self, series: list[TimeSeries]) -> tuple[TensorDataset, TensorDataset | None]:
        """The training and validation windows of every series: (past, future, target)."""
        cfg, L, H = self.config, self.layout_["window"], self.config.horizon
        tr: list[tuple[np.ndarray, ...]] = []
        va: list[tuple[np.ndarray, ...]] = []
        pad = any(len(s) >= L + H for s in series)  # a panel: short series adapt, not dropped
        for s in series:
            origins = split_origins(s, L, H, cfg.val_size, cfg.patience, pad)
            p = self._prepare(s, 0, fit_stats=True)
            for part, os_ in zip((tr, va), origins):
                if len(os_):
                    past, fut, level = window_inputs(p, os_, L, H, cfg.normalize)
                    part.append((past, fut, window_targets(p, os_, H, level)))
        train, val = stack_windows(tr), stack_windows(va)
        if train is None:
            raise ValueError(
                "series: no training windows; the series are too short for the window and horizon"
            )
        return train, val

    # ------------------------------------------------------------------ fitting
    def _step(self, model: nn.Module, batch: tuple[Tensor, ...]) -> StepOutput:
        if isinstance(model, ESLSTMNet):
            return self._es_step(model, batch)
        assert isinstance(model, ForecastNet)
        past, fut, y = batch
        out = model(past, fut, target=y if model.strategy == "recursive" else None)  # (N, H, P)
        if model.likelihood == "quantile":
            loss = quantile_loss(out, y, LEVELS)
        elif model.likelihood == "gaussian":
            loss = gaussian_nll(out[..., 0], out[..., 1] ** 2, y)
        else:
            loss = masked_mae(out[..., 0], y)
        return StepOutput(loss, weight=float(y.numel()))

    def _build_net(self) -> nn.Module:
        cfg, lay = self.config, self.layout_
        if lay.get("es"):
            return self._build_es_net()
        return ForecastNet(
            lay["input_size"],
            lay["future_size"],
            cfg.horizon,
            strategy=cfg.strategy,
            likelihood=cfg.likelihood,
            dropout=cfg.dropout,
            architecture=cfg.architecture,
            num_heads=cfg.num_heads,
            kernel_size=cfg.kernel_size,
            **self._lstm_settings(),
        )

    def _train_one(
        self, member: int, train: Dataset[Any], val: Dataset[Any] | None, epochs: int, bar: ProgressBar
    ) -> tuple[nn.Module, History]:
        """Member ``member`` trained for up to ``epochs`` (early stopping on ``val``)."""
        cfg = self.config
        # default batch: 32 windows, more for long series (at most ~16 updates per epoch)
        batch = cfg.batch_size or max(32, -(-len(train) // 16))  # type: ignore[arg-type]
        net = self._new_net(member)
        settings = TrainConfig(
            optimizer="adamw",
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            clip_norm=1.0,
            max_epochs=epochs,
            patience=cfg.patience if val is not None else None,
            restore_best=True,
        )
        label = f"member {member + 1}/{cfg.ensemble} "
        history = self._train_member(
            member,
            net,
            train,
            settings=settings,
            step=self._step,
            batch_size=batch,
            bar=bar,
            val=val,
            label=label,
        )
        net.eval()
        return net, history

    def _fit_member(
        self,
        member: int,
        train: Dataset[Any],
        val: Dataset[Any] | None,
        bar: ProgressBar,
        refit_data: Dataset[Any] | None = None,
    ) -> tuple[nn.Module, dict[str, list[float]]]:
        """One member: early stopping on ``val``, then (``refit``) a refit on all data
        (``refit_data``, default ``train`` and ``val``) for the epochs that led to the best
        weights. Returns it and its loss curves."""
        cfg = self.config
        net, hist = self._train_one(member, train, val, cfg.max_epochs, bar)
        epochs_done = len(hist.epochs)
        curves = {
            "train_loss": [float(v) for v in hist["train_loss"]],
            "val_loss": [float(v) for v in hist["val_loss"]],
            "refit_loss": [],
        }
        if val is None or not cfg.refit:
            shrink_total(bar, cfg.max_epochs - epochs_done)
            return net, curves
        # best_epoch counts from 0: the refit runs as many epochs as led to the best weights
        best = hist.best_epoch + 1 if hist.best_epoch is not None else epochs_done
        shrink_total(bar, cfg.max_epochs - best - epochs_done)
        everything = refit_data if refit_data is not None else ConcatDataset([train, val])
        net, refit = self._train_one(member, everything, None, best, bar)
        curves["refit_loss"] = [float(v) for v in refit["train_loss"]]
        return net, curves

    def fit(self, series: TimeSeries | Sequence[TimeSeries]) -> Forecaster:  # type: ignore[override]
        """Train the ensemble on one or several series (a global model); returns ``self``.

        Raises:
            ValueError: a series too short for the window and horizon, covariates that differ
                between series, or past covariates with the recursive strategy.
        """
        series_list = as_series_list(series)
        names = [s.name for s in series_list]
        if len(set(names)) != len(names):
            raise ValueError(f"series: names must be unique to keep their scalers apart, got {names}")
        cfg = self.config
        self.stats_ = {}
        if cfg.architecture == "es-lstm":
            self._fit_es(series_list)
            self._fitted = series_list
            return self
        self.layout_ = panel_layout(
            series_list,
            calendar=cfg.calendar,
            window=cfg.window,
            horizon=cfg.horizon,
            recursive=cfg.strategy == "recursive",
        )
        train, val = self._datasets(series_list)
        self.layout_["input_size"] = int(train.tensors[0].shape[2])
        self.layout_["future_size"] = int(train.tensors[1].shape[2])
        log.info(
            "Forecaster: %d series, window %d, horizon %d, %d training / %d validation windows, %d members",
            len(series_list),
            self.layout_["window"],
            cfg.horizon,
            len(train),
            0 if val is None else len(val),
            cfg.ensemble,
        )
        self._fit_ensemble(
            cfg.ensemble,
            cfg.max_epochs,
            f"fit {self.name}",
            lambda k, bar: self._fit_member(k, train, val, bar),
        )
        self._fitted = series_list
        log.info("Forecaster: trained %d members in %.1fs", len(self.nets_), self.fit_seconds_)
        return self

    # ------------------------------------------------------------------ predicting
    @torch.no_grad()
    def _forecast(self, series: TimeSeries, horizon: int) -> Forecast:
        self._check_fitted("predict()")
        if self.layout_.get("es"):
            return self._forecast_es(series, horizon)
        cfg, L = self.config, self.layout_["window"]
        if horizon > cfg.horizon and cfg.strategy != "recursive":
            raise ValueError(
                f"horizon: this {cfg.strategy} model was trained for {cfg.horizon} steps, got {horizon}; "
                "fit with a longer horizon or use strategy='recursive'"
            )
        if len(series) < L:  # its window's start repeats the first step, as in training
            log.info(
                "series %r: %d steps, shorter than the window of %d; padded", series.name, len(series), L
            )
        H = max(horizon, cfg.horizon) if cfg.strategy == "recursive" else cfg.horizon
        p = self._prepare(series, H, fit_stats=False)
        past, fut, level = window_inputs(p, np.array([len(series)]), L, H, cfg.normalize)  # fut: (1, H, C_f)
        dev = self._device()
        past_t = torch.as_tensor(past, dtype=torch.float32, device=dev)
        fut_t = torch.as_tensor(fut, dtype=torch.float32, device=dev)
        member_q = [self._quantiles(k, net, past_t, fut_t) for k, net in enumerate(self._members())]
        q = np.mean(member_q, axis=0)[:horizon]  # (H, Q) Vincentized ensemble
        q = np.sort(q, axis=1)
        mid = len(LEVELS) // 2
        with np.errstate(over="ignore"):  # beyond the float range: Forecast says it is not finite
            q_data = np.ldexp(p.scaler.denormalize(q[None], level)[0], p.exponent)  # (H, Q)
        return Forecast(series.future_index(horizon), q_data[:, mid], q_data, series.name, self.name)

    def _quantiles(self, member: int, net: nn.Module, past: Tensor, future: Tensor) -> np.ndarray:
        """(H, Q) member ``member``'s quantiles at :data:`LEVELS` (scaled space) of one window."""
        cfg, dev = self.config, past.device
        assert isinstance(net, ForecastNet)
        if cfg.strategy == "recursive" and cfg.likelihood == "gaussian":
            gen = torch.Generator(device=dev).manual_seed(cfg.seed + 1000 + member)
            paths = net.sample_paths(past, future, cfg.num_samples, gen)[0]  # (S, H)
            levels = torch.tensor(LEVELS, dtype=paths.dtype, device=dev)
            q = torch.quantile(paths, levels, dim=0).T  # (H, Q)
        else:
            out = net(past, future)[0]  # (H, P)
            if cfg.likelihood == "quantile":
                q = out
            elif cfg.likelihood == "gaussian":
                z = torch.tensor([NormalDist().inv_cdf(t) for t in LEVELS], dtype=torch.float32, device=dev)
                q = out[:, :1] + out[:, 1:2] * z[None, :]
            else:
                q = out[:, :1].expand(-1, len(LEVELS))
        return q.double().cpu().numpy()

    def predict(  # type: ignore[override]
        self, horizon: int | None = None, series: TimeSeries | Sequence[TimeSeries] | None = None
    ) -> Forecast | list[Forecast]:
        """Forecast ``horizon`` steps (default: the fitted horizon) after the end of ``series``
        (default: the fitted series). The series may be new (a global model), with the same
        covariates and frequency."""
        self._check_fitted("predict()")
        if series is None and self._fitted is None:
            raise ValueError(
                "series: a loaded forecaster keeps no data; pass series= (the history to forecast from)"
            )
        return super().predict(self.config.horizon if horizon is None else horizon, series)

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, Any]:
        return {
            "layout": copy.deepcopy(self.layout_),
            "stats": copy.deepcopy(self.stats_),
            "history": copy.deepcopy(self.history_),
        }

    def _set_state(self, payload: Any) -> None:
        self.layout_ = payload["layout"]
        self.stats_ = payload["stats"]
        self.history_ = payload["history"]

r"""The LSTM forecaster: windowed, scaled, probabilistic, ensembled; fit / predict / backtest.

:class:`ForecastNet` is the network (a plain ``nn.Module`` built on :class:`lstmkit.core.layers.LSTM`);
:class:`Forecaster` is what users hold: it turns series into windows, scales them, trains an
ensemble of networks with :class:`lstmkit.fit.Trainer`, and turns network outputs back into
:class:`~lstmkit.apps.forecasting.base.Forecast` objects with prediction intervals.

Horizon strategies (``strategy=``):

* ``"direct"`` (multi-output, MIMO): the encoder's last state and the known-future features of
  the ``H`` target steps go through an MLP that emits all ``H`` steps at once.
* ``"seq2seq"`` (encoder-decoder): a decoder LSTM, started from the encoder's final state,
  runs over the ``H`` target steps reading their known-future features and a learned step
  embedding, and emits one step each (no feedback of its own outputs: no exposure bias).
* ``"recursive"``: a one-step model trained with teacher forcing and unrolled on its own
  predictions (Gaussian paths are sampled, so intervals widen with the horizon).

Outputs (``likelihood=``): ``"quantile"`` (21 monotone quantiles trained with the pinball
loss), ``"gaussian"`` (mean and standard deviation, Gaussian NLL) or ``"point"`` (the L1 loss,
a median forecast). The point forecast is always the median in data units.

Inputs at each window step: the scaled target (see :class:`lstmkit.apps.forecasting.windows.SeriesScaler`),
the window level (with ``normalize="window"``), standardized past covariates, and the
known-future features (calendar features of the time stamp and the user's future covariates).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lstmkit.apps.forecasting.base import (
    LEVELS,
    Forecast,
    ForecastModel,
    as_series_list,
    progress_bar,
    scale_exponent,
)
from lstmkit.apps.forecasting.data import TimeSeries
from lstmkit.apps.forecasting.windows import (
    SeriesScaler,
    auto_window,
    calendar_feature_names,
    calendar_features,
)
from lstmkit.core.layers import LSTM
from lstmkit.fit.checks import check_engine_name, check_variant, finite, float32_modules, robust_mean_std
from lstmkit.fit.config import resolve_device

__all__ = ["LIKELIHOODS", "STRATEGIES", "ForecastNet", "Forecaster", "ForecasterConfig"]

log = logging.getLogger("lstmkit.forecast")

STRATEGIES = ("direct", "seq2seq", "recursive")
LIKELIHOODS = ("quantile", "gaussian", "point")
FORMAT = "lstmkit.Forecaster"
FORMAT_VERSION = 1


def _num_params(likelihood: str) -> int:
    return {"quantile": len(LEVELS), "gaussian": 2, "point": 1}[likelihood]


# ---------------------------------------------------------------------- the network
class ForecastNet(nn.Module):
    r"""LSTM encoder with a direct, encoder-decoder or recursive head.

    Args:
        input_size: C_in, features per input step.
        future_size: C_f, known-future features per target step.
        horizon: H.
        strategy: ``"direct"``, ``"seq2seq"`` or ``"recursive"``.
        likelihood: ``"quantile"``, ``"gaussian"`` or ``"point"`` (P = 21, 2, 1 outputs per step).
        hidden_size, num_layers, dropout, variant: of the :class:`~lstmkit.core.layers.LSTM` encoder
            (``dropout`` also on the head's input; ``variant`` also of the seq2seq decoder).
        engine: passed to :class:`~lstmkit.core.layers.LSTM` when given (a fused engine).

    Shapes (batch-first):
        * past: (N, L, C_in); the first feature is the scaled target.
        * future: (N, H, C_f) known-future features of the target steps.
        * target: (N, H) scaled targets, only for the recursive strategy in training
          (teacher forcing).
        * output: (N, H, P) distribution parameters in the scaled space: quantiles (increasing
          along P), ``(mean, std)`` or the point value.

    Example::

        >>> net = ForecastNet(5, 4, 12, strategy="seq2seq", likelihood="gaussian", hidden_size=32)
        >>> net(torch.randn(8, 24, 5), torch.randn(8, 12, 4)).shape
        torch.Size([8, 12, 2])
    """

    def __init__(
        self,
        input_size: int,
        future_size: int,
        horizon: int,
        *,
        strategy: str = "direct",
        likelihood: str = "quantile",
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        variant: str = "classic",
        engine: str | None = None,
    ) -> None:
        super().__init__()
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy: expected one of {STRATEGIES}, got {strategy!r}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood: expected one of {LIKELIHOODS}, got {likelihood!r}")
        self.input_size, self.future_size, self.horizon = input_size, future_size, horizon
        self.strategy, self.likelihood = strategy, likelihood
        self.num_params = _num_params(likelihood)
        extra: dict[str, Any] = {} if engine is None else {"engine": engine}
        rec_in = input_size + future_size if strategy == "recursive" else input_size
        self.encoder = LSTM(
            rec_in,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            variant=variant,
            forget_bias=1.0,
            **extra,
        )
        self.drop = nn.Dropout(dropout)
        P = self.num_params
        if strategy == "direct":
            fut = horizon * future_size
            self.head = nn.Sequential(
                nn.Linear(hidden_size + fut, 2 * hidden_size),
                nn.ReLU(),
                nn.Linear(2 * hidden_size, horizon * P),
            )
        elif strategy == "seq2seq":
            self.step_embedding = nn.Embedding(horizon, 8)
            self.decoder = LSTM(
                future_size + 8,
                hidden_size,
                num_layers,
                batch_first=True,
                variant=variant,
                forget_bias=1.0,
                **extra,
            )
            self.head = nn.Linear(hidden_size, P)
        else:
            self.head = nn.Linear(hidden_size, P)

    # ------------------------------------------------------------------ outputs
    def _params(self, raw: Tensor) -> Tensor:
        """Raw head output (..., P) -> distribution parameters (..., P)."""
        if self.likelihood == "quantile":
            # median in the middle, monotone increments outwards: no quantile crossing
            mid = len(LEVELS) // 2
            centre = raw[..., mid : mid + 1]
            up = nn.functional.softplus(raw[..., mid + 1 :]).cumsum(-1)
            down = nn.functional.softplus(raw[..., :mid]).flip(-1).cumsum(-1).flip(-1)
            return torch.cat([centre - down, centre, centre + up], dim=-1)
        if self.likelihood == "gaussian":
            return torch.stack([raw[..., 0], nn.functional.softplus(raw[..., 1]) + 1e-3], dim=-1)
        return raw

    def point(self, params: Tensor) -> Tensor:
        """The median (..., P) -> (...)."""
        if self.likelihood == "quantile":
            return params[..., len(LEVELS) // 2]
        return params[..., 0]

    # ------------------------------------------------------------------ forward
    def forward(self, past: Tensor, future: Tensor, target: Tensor | None = None) -> Tensor:
        if past.dim() != 3 or past.shape[2] != self.input_size:
            raise ValueError(f"past: expected (N, L, {self.input_size}), got {tuple(past.shape)}")
        if future.dim() != 3 or future.shape[2] != self.future_size:
            raise ValueError(f"future: expected (N, H, {self.future_size}), got {tuple(future.shape)}")
        if self.strategy == "recursive":
            return self._recursive(past, future, target)
        _, state = self.encoder(past)  # h: (layers, N, H_hid)
        n, horizon = past.shape[0], future.shape[1]
        if self.strategy == "direct":
            if horizon != self.horizon:
                raise ValueError(
                    f"future: the direct strategy forecasts exactly {self.horizon} steps, got {horizon}"
                )
            z = torch.cat([self.drop(state.h[-1]), future.reshape(n, -1)], dim=1)  # (N, H_hid + H*C_f)
            raw = self.head(z).reshape(n, horizon, self.num_params)  # (N, H, P)
            return self._params(raw)
        if horizon > self.horizon:
            raise ValueError(f"future: the decoder was trained for up to {self.horizon} steps, got {horizon}")
        steps = self.step_embedding(torch.arange(horizon, device=past.device)).expand(n, -1, -1)  # (N, H, 8)
        dec, _ = self.decoder(torch.cat([future, steps], dim=2), state)  # (N, H, H_hid)
        return self._params(self.head(self.drop(dec)))  # (N, H, P)

    def _recursive(self, past: Tensor, future: Tensor, target: Tensor | None) -> Tensor:
        """Teacher forcing with ``target``; otherwise a greedy roll-out on the median."""
        _n, length, _ = past.shape
        horizon = future.shape[1]
        # step t reads x_t and the known-future features of step t+1 (the one it predicts)
        next_feats = torch.cat(
            [past[:, 1:, -self.future_size :] if self.future_size else past[:, 1:, :0], future[:, :1]], dim=1
        )  # (N, L, C_f)
        if target is not None:
            # inputs after the window: the true targets, with the other features carried
            steps = self._teacher_inputs(past, future, target)  # (N, H-1, C_in)
            x = torch.cat([past, steps], dim=1)  # (N, L+H-1, C_in)
            nf = torch.cat([next_feats, future[:, 1:]], dim=1)  # (N, L+H-1, C_f)
            out, _ = self.encoder(torch.cat([x, nf], dim=2))
            raw = self.head(self.drop(out[:, length - 1 :]))  # (N, H, P)
            return self._params(raw)
        out, state = self.encoder(torch.cat([past, next_feats], dim=2))
        params = [self._params(self.head(out[:, -1]))]  # (N, P)
        for h in range(1, horizon):
            x_t = self._step_input(past, future, h, self.point(params[-1]))  # (N, C_in)
            inp = torch.cat([x_t, future[:, h]], dim=1)[:, None]  # (N, 1, C_in + C_f)
            out, state = self.encoder(inp, state)
            params.append(self._params(self.head(out[:, -1])))
        return torch.stack(params, dim=1)  # (N, H, P)

    def _step_input(self, past: Tensor, future: Tensor, h: int, value: Tensor) -> Tensor:
        """Input features of target step h-1 (0-based), with ``value`` as its scaled target."""
        last = past[:, -1].clone()  # (N, C_in): carries the level feature
        last[:, 0] = value
        if self.future_size:
            last[:, -self.future_size :] = future[:, h - 1]
        return last

    def _teacher_inputs(self, past: Tensor, future: Tensor, target: Tensor) -> Tensor:
        horizon = future.shape[1]
        if horizon == 1:
            return past[:, :0]
        rows = [self._step_input(past, future, h, target[:, h - 1]) for h in range(1, horizon)]
        return torch.stack(rows, dim=1)  # (N, H-1, C_in)

    @torch.no_grad()
    def sample_paths(
        self, past: Tensor, future: Tensor, num_samples: int, generator: torch.Generator
    ) -> Tensor:
        """Recursive Gaussian model: ``num_samples`` sampled paths (N, S, H) in the scaled space."""
        if self.strategy != "recursive" or self.likelihood != "gaussian":
            raise ValueError("sample_paths: only for the recursive strategy with a gaussian likelihood")
        n = past.shape[0]
        past = past.repeat_interleave(num_samples, 0)  # (N*S, L, C_in)
        future = future.repeat_interleave(num_samples, 0)  # (N*S, H, C_f)
        horizon = future.shape[1]
        next_feats = torch.cat(
            [past[:, 1:, -self.future_size :] if self.future_size else past[:, 1:, :0], future[:, :1]], dim=1
        )
        out, state = self.encoder(torch.cat([past, next_feats], dim=2))
        p = self._params(self.head(out[:, -1]))
        draws = [p[:, 0] + p[:, 1] * torch.randn(p.shape[0], generator=generator, device=p.device)]
        for h in range(1, horizon):
            x_t = self._step_input(past, future, h, draws[-1])
            out, state = self.encoder(torch.cat([x_t, future[:, h]], dim=1)[:, None], state)
            p = self._params(self.head(out[:, -1]))
            draws.append(p[:, 0] + p[:, 1] * torch.randn(p.shape[0], generator=generator, device=p.device))
        return torch.stack(draws, dim=1).reshape(n, num_samples, horizon)


# ---------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class ForecasterConfig:
    """All settings of a :class:`Forecaster` (see its docstring); saved with the model."""

    horizon: int
    window: int | None = None
    strategy: str = "direct"
    likelihood: str = "quantile"
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.1
    variant: str = "classic"
    engine: str | None = None
    log: bool | str = "auto"
    normalize: str = "auto"
    calendar: bool = True
    ensemble: int = 5
    max_epochs: int = 200
    patience: int | None = 20
    batch_size: int | None = None
    lr: float = 3e-3
    weight_decay: float = 1e-4
    val_size: int | None = None
    refit: bool = True
    num_samples: int = 200
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        def check_int(name: str, low: int, allow_none: bool = False) -> None:
            v = getattr(self, name)
            if v is None and allow_none:
                return
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ValueError(f"{name}: expected an int >= {low}, got {v!r}")

        check_int("horizon", 1)
        check_int("window", 2, allow_none=True)
        for name in ("hidden_size", "num_layers", "ensemble", "max_epochs", "num_samples"):
            check_int(name, 1)
        check_int("batch_size", 1, allow_none=True)
        check_int("patience", 1, allow_none=True)
        check_int("val_size", 1, allow_none=True)
        if self.val_size is not None and self.val_size < self.horizon:
            raise ValueError(
                f"val_size: expected at least the horizon ({self.horizon}) so that one validation "
                f"window fits, got {self.val_size}"
            )
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy: expected one of {STRATEGIES}, got {self.strategy!r}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood: expected one of {LIKELIHOODS}, got {self.likelihood!r}")
        if self.normalize not in ("auto", "window", "global"):
            raise ValueError(f"normalize: expected 'auto', 'window' or 'global', got {self.normalize!r}")
        if self.log not in (True, False, "auto"):
            raise ValueError(f"log: expected True, False or 'auto', got {self.log!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout: expected a value in [0, 1), got {self.dropout}")
        if not 0 < self.lr < math.inf:
            raise ValueError(f"lr: expected a finite learning rate > 0, got {self.lr}")
        if not 0 <= self.weight_decay < math.inf:
            raise ValueError(f"weight_decay: expected a finite value >= 0, got {self.weight_decay}")
        check_variant(self.variant)
        check_engine_name(self.engine)
        resolve_device(self.device)
        if self.strategy == "recursive" and self.likelihood == "quantile":
            raise ValueError(
                "likelihood: the recursive strategy feeds its own outputs back and needs 'gaussian' "
                "(sampled paths) or 'point'; use strategy='direct' or 'seq2seq' for quantiles"
            )


# ---------------------------------------------------------------------- per-series preparation
@dataclass
class _Prepared:
    """One series turned into arrays the network reads (all in the scaled space)."""

    name: str
    z: np.ndarray  # (T,) transformed target
    past_feats: np.ndarray  # (T, K_p) standardized past covariates
    future_feats: np.ndarray  # (T + F, K_f) calendar + standardized future covariates
    scaler: SeriesScaler
    exponent: int = 0  # the series was divided by 2**exponent first (see scale_exponent)


def _digest(values: np.ndarray) -> str:
    """A fingerprint of a series' values."""
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()[:32]


def _continues(values: np.ndarray, stats: dict[str, Any]) -> bool:
    """Whether ``values`` begin with the series that ``stats`` were fitted on (the same series,
    perhaps longer now); files saved before fingerprints were kept count as yes."""
    if "digest" not in stats:
        return True
    n = int(stats["length"])
    return len(values) >= n and _digest(values[:n]) == stats["digest"]


def _shrink(bar: Any, epochs: int) -> None:
    """Take epochs that will not run (early stop) off the progress bar's total."""
    if getattr(bar, "total", None) is not None:
        bar.total = max(bar.n, bar.total - epochs)
        bar.refresh()


class Forecaster(ForecastModel):
    r"""An LSTM forecaster with sensible defaults: scaled windows, quantile output, an ensemble.

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
        strategy: ``"direct"``, ``"seq2seq"`` or ``"recursive"`` (see the module docstring).
        likelihood: ``"quantile"``, ``"gaussian"`` or ``"point"``.
        hidden_size, num_layers, dropout, variant, engine: the LSTM.
        log, normalize: scaling (see :class:`~lstmkit.apps.forecasting.windows.SeriesScaler`).
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
    forecast multiplied back (:func:`~lstmkit.apps.forecasting.base.scale_exponent`); ordinary
    series are untouched.

    Example::

        >>> from lstmkit import Forecaster
        >>> from lstmkit.apps.datasets import sources
        >>> y = sources.load_series("airline")
        >>> fc = Forecaster(horizon=12).fit(y).predict()
        >>> fc.point.shape, fc.interval(0.8)[0].shape
        ((12,), (12,))
    """

    name = "LSTM"
    is_global = True

    def __init__(
        self,
        horizon: int,
        *,
        window: int | None = None,
        strategy: str = "direct",
        likelihood: str = "quantile",
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.1,
        variant: str = "classic",
        engine: str | None = None,
        log: bool | str = "auto",
        normalize: str = "auto",
        calendar: bool = True,
        ensemble: int = 5,
        max_epochs: int = 200,
        patience: int | None = 20,
        batch_size: int | None = None,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        val_size: int | None = None,
        refit: bool = True,
        num_samples: int = 200,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = True,
    ) -> None:
        super().__init__()
        self.config = ForecasterConfig(
            horizon=horizon,
            window=window,
            strategy=strategy,
            likelihood=likelihood,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            variant=variant,
            engine=engine,
            log=log,
            normalize=normalize,
            calendar=calendar,
            ensemble=ensemble,
            max_epochs=max_epochs,
            patience=patience,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            val_size=val_size,
            refit=refit,
            num_samples=num_samples,
            seed=seed,
            device=device,
        )
        self.progress = progress
        self.nets_: list[ForecastNet] = []
        self.layout_: dict[str, Any] = {}
        self.stats_: dict[str, Any] = {}
        self.history_: dict[str, list[float]] = {}
        self.fit_seconds_: float | None = None

    def __repr__(self) -> str:
        fitted = f", fitted on {len(self.stats_)} series" if self.nets_ else ""
        return f"Forecaster({self.config}{fitted})"

    @property
    def horizon(self) -> int:
        return self.config.horizon

    def clone(self) -> Forecaster:
        return Forecaster(**asdict(self.config), progress=self.progress)

    # ------------------------------------------------------------------ features
    def min_history(self, horizon: int) -> int:
        """An input window (the configured one, or the automatic window's smallest, 4) and
        ``horizon`` targets."""
        return (self.config.window or 4) + horizon

    def _device(self) -> torch.device:
        return resolve_device(self.config.device)

    def _layout(self, series: list[TimeSeries]) -> dict[str, Any]:
        first = series[0]
        for s in series[1:]:
            for attr in ("past_covariate_names", "future_covariate_names"):
                if getattr(s, attr) != getattr(first, attr):
                    raise ValueError(
                        f"series: all series must have the same {attr.replace('_names', '')} "
                        f"({getattr(first, attr)} in {first.name!r}, {getattr(s, attr)} in {s.name!r})"
                    )
        freqs = {s.freq for s in series}
        cal = calendar_feature_names(first.freq) if self.config.calendar else []
        if cal and len(freqs) > 1:
            raise ValueError(f"series: calendar features need one frequency, got {sorted(map(str, freqs))}")
        train_len = min(len(s) for s in series)
        season = max(s.season for s in series)
        cfg = self.config
        if cfg.strategy == "recursive" and first.past_covariates is not None:
            raise ValueError(
                "past_covariates: the recursive strategy cannot roll past covariates forward (their "
                "future is unknown); use strategy='direct' or 'seq2seq', or make them future covariates"
            )
        window = cfg.window or auto_window(season, cfg.horizon, train_len)
        return {
            "window": int(window),
            "freq": first.freq,
            "calendar": cal,
            "past": list(first.past_covariate_names),
            "future": list(first.future_covariate_names),
            "season": int(season),
        }

    def _prepare(self, s: TimeSeries, extra: int, fit_stats: bool) -> _Prepared:
        """Scale one series and build its features, with ``extra`` known-future rows."""
        lay, cfg = self.layout_, self.config
        if list(s.past_covariate_names) != lay["past"] or list(s.future_covariate_names) != lay["future"]:
            raise ValueError(
                f"series {s.name!r}: covariates {list(s.past_covariate_names)} / "
                f"{list(s.future_covariate_names)} differ from the fitted ones "
                f"{lay['past']} / {lay['future']}"
            )
        if lay["calendar"] and s.freq != lay["freq"]:
            raise ValueError(f"series {s.name!r}: frequency {s.freq} differs from the fitted {lay['freq']}")
        if s.future_covariates is not None and s.known_future < extra:
            raise ValueError(
                f"future_covariates: {s.name!r} knows {s.known_future} future rows, "
                f"the forecast needs {extra}"
            )
        finite(f"series {s.name!r}", s.values, axes=("step",))
        for kind, cov in (("past", s.past_covariates), ("future", s.future_covariates)):
            if cov is not None:
                finite(f"{kind}_covariates of {s.name!r}", cov, axes=("step", "covariate"))
        stats = self.stats_.get(s.name) if not fit_stats else None
        if stats is not None and not _continues(s.values, stats):
            log.info("series %r: not the fitted series of that name; scaled by its own statistics", s.name)
            stats = None
        if stats is None:
            exponent = scale_exponent(s.values)
            scaler = SeriesScaler.fit(
                np.ldexp(s.values, -exponent), log=cfg.log, normalize=cfg.normalize, season=lay["season"]
            )
            empty = (np.zeros(0), np.zeros(0))
            pm, ps = robust_mean_std(s.past_covariates) if s.past_covariates is not None else empty
            fcv = s.future_covariates[: len(s)] if s.future_covariates is not None else None
            fm, fs = robust_mean_std(fcv) if fcv is not None else empty
            stats = {
                "length": len(s),
                "digest": _digest(s.values),
                "exponent": exponent,
                "scaler": scaler.to_dict(),
                "past_mean": pm.tolist(),
                "past_std": np.where(ps > 1e-12, ps, 1.0).tolist(),
                "fut_mean": fm.tolist(),
                "fut_std": np.where(fs > 1e-12, fs, 1.0).tolist(),
            }
            if fit_stats:
                self.stats_[s.name] = stats
        scaler = SeriesScaler.from_dict(stats["scaler"])
        exponent = int(stats.get("exponent", 0))
        z = scaler.transform(np.ldexp(s.values, -exponent))
        past = (
            (s.past_covariates - np.array(stats["past_mean"])) / np.array(stats["past_std"])
            if s.past_covariates is not None
            else np.zeros((len(s), 0))
        )
        parts = []
        if lay["calendar"]:
            parts.append(calendar_features(s.extended_index(extra), s.freq))
        if s.future_covariates is not None:
            fut = s.future_covariates[: len(s) + extra]
            parts.append((fut - np.array(stats["fut_mean"])) / np.array(stats["fut_std"]))
        future = np.hstack(parts) if parts else np.zeros((len(s) + extra, 0))
        return _Prepared(s.name, z, past, future, scaler, exponent)

    def _inputs(
        self, p: _Prepared, origins: np.ndarray, horizon: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Windows ending before each origin: past (N, L, C_in), future (N, H, C_f), levels (N,)."""
        L, H = self.layout_["window"], horizon or self.config.horizon
        idx = origins[:, None] + np.arange(-L, 0)[None, :]  # (N, L)
        zw = p.z[idx]  # (N, L)
        level = p.scaler.levels(zw)  # (N,)
        u = p.scaler.normalize(zw, level)[..., None]  # (N, L, 1)
        feats = [u]
        if self.config.normalize != "global":  # the window level as an input (0 for global series)
            lvl = ((level - p.scaler.mean) / p.scaler.scale)[:, None, None]
            feats.append(np.broadcast_to(lvl, (len(origins), L, 1)))
        if p.past_feats.shape[1]:
            feats.append(p.past_feats[idx])
        if p.future_feats.shape[1]:
            feats.append(p.future_feats[idx])
        past = np.concatenate(feats, axis=2)
        fidx = origins[:, None] + np.arange(H)[None, :]  # (N, H)
        future = p.future_feats[fidx] if p.future_feats.shape[1] else np.zeros((len(origins), H, 0))
        return past, future, level

    def _targets(self, p: _Prepared, origins: np.ndarray, level: np.ndarray) -> np.ndarray:
        H = self.config.horizon
        fidx = origins[:, None] + np.arange(H)[None, :]
        return p.scaler.normalize(p.z[fidx], level)  # (N, H)

    # ------------------------------------------------------------------ fitting
    def _datasets(self, series: list[TimeSeries]) -> tuple[Any, Any | None]:
        from torch.utils.data import TensorDataset

        cfg, L, H = self.config, self.layout_["window"], self.config.horizon
        tr: list[tuple[np.ndarray, ...]] = []
        va: list[tuple[np.ndarray, ...]] = []
        for s in series:
            if len(s) < L + H:
                raise ValueError(
                    f"series {s.name!r}: {len(s)} steps are too short for an input window of {L} and a "
                    f"horizon of {H} (needs at least {L + H}); pass a smaller window= or horizon"
                )
            p = self._prepare(s, 0, fit_stats=True)
            origins = np.arange(L, len(s) - H + 1)  # target of origin t: [t, t + H)
            # validation targets lie in the last V steps; training targets end before them
            V = cfg.val_size if cfg.val_size is not None else max(H, round(0.15 * len(s)))
            val_o = origins[origins >= len(s) - V]
            train_o = origins[origins <= len(s) - V - H]
            if not cfg.patience or len(train_o) < 8 or not len(val_o):
                if cfg.patience:
                    log.info(
                        "series %r: too short to hold out validation windows; trained for max_epochs "
                        "without early stopping",
                        s.name,
                    )
                val_o, train_o = origins[:0], origins  # too short to hold data out: no early stopping
            for part, os_ in ((tr, train_o), (va, val_o)):
                if len(os_):
                    past, fut, level = self._inputs(p, os_)
                    part.append((past, fut, self._targets(p, os_, level)))

        def stack(parts: list[tuple[np.ndarray, ...]]) -> Any:
            if not parts:
                return None
            return TensorDataset(
                *[torch.as_tensor(np.concatenate(a), dtype=torch.float32) for a in zip(*parts)]
            )

        train, val = stack(tr), stack(va)
        if train is None:
            raise ValueError(
                "series: no training windows; the series are too short for the window and horizon"
            )
        return train, val

    def _step(self, model: ForecastNet, batch: tuple[Tensor, ...]) -> Any:
        from lstmkit.fit import StepOutput, gaussian_nll, masked_mae, quantile_loss

        past, fut, y = batch
        out = model(past, fut, target=y if model.strategy == "recursive" else None)  # (N, H, P)
        if model.likelihood == "quantile":
            loss = quantile_loss(out, y, LEVELS)
        elif model.likelihood == "gaussian":
            loss = gaussian_nll(out[..., 0], out[..., 1] ** 2, y)
        else:
            loss = masked_mae(out[..., 0], y)
        return StepOutput(loss, weight=float(y.numel()))

    def _new_net(self, member: int) -> ForecastNet:
        cfg, lay = self.config, self.layout_
        torch.manual_seed(cfg.seed + member)
        with float32_modules():  # the windows are float32 whatever the default dtype
            return ForecastNet(
                lay["input_size"],
                lay["future_size"],
                cfg.horizon,
                strategy=cfg.strategy,
                likelihood=cfg.likelihood,
                hidden_size=cfg.hidden_size,
                num_layers=cfg.num_layers,
                dropout=cfg.dropout,
                variant=cfg.variant,
                engine=cfg.engine,
            )

    def _train_one(
        self, member: int, train: Any, val: Any | None, epochs: int, bar: Any
    ) -> tuple[ForecastNet, Any]:
        from torch.utils.data import DataLoader

        from lstmkit.fit import Callback, TrainConfig, Trainer

        cfg = self.config

        class _Tick(Callback):
            def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
                bar.update(1)
                v = row.get("val_loss")
                bar.set_postfix_str(
                    f"member {member + 1}/{cfg.ensemble} loss={row['train_loss']:.4f}"
                    + (f" val={v:.4f}" if v is not None and math.isfinite(v) else "")
                )

        gen = torch.Generator().manual_seed(cfg.seed + member)
        # default batch: 32 windows, more for long series (at most ~16 updates per epoch)
        batch = cfg.batch_size or max(32, -(-len(train) // 16))
        loader = DataLoader(train, batch_size=batch, shuffle=True, generator=gen)
        val_loader = DataLoader(val, batch_size=512) if val is not None else None
        net = self._new_net(member)
        tcfg = TrainConfig(
            optimizer="adamw",
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            clip_norm=1.0,
            max_epochs=epochs,
            patience=cfg.patience if val_loader is not None else None,
            restore_best=True,
            progress=False,
            plot=False,
            seed=cfg.seed + member,
            device=str(self._device()),
        )
        trainer = Trainer(net, tcfg, step=self._step, callbacks=[_Tick()])
        history = trainer.fit(loader, val_loader)
        net.eval()
        return net, history

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
        t0 = time.perf_counter()
        self.stats_ = {}
        self.layout_ = self._layout(series_list)
        train, val = self._datasets(series_list)
        past_example, fut_example = train.tensors[0], train.tensors[1]
        self.layout_["input_size"] = int(past_example.shape[2])
        self.layout_["future_size"] = int(fut_example.shape[2])
        log.info(
            "Forecaster: %d series, window %d, horizon %d, %d training / %d validation windows, %d members",
            len(series_list),
            self.layout_["window"],
            cfg.horizon,
            len(train),
            0 if val is None else len(val),
            cfg.ensemble,
        )
        from torch.utils.data import ConcatDataset

        nets, curves = [], {"train_loss": [], "val_loss": [], "refit_loss": []}
        bar = progress_bar(cfg.ensemble * cfg.max_epochs, f"fit {self.name}", enable=self.progress)
        for k in range(cfg.ensemble):
            net, hist = self._train_one(k, train, val, cfg.max_epochs, bar)
            epochs_done = len(hist.epochs)
            if k == 0:
                curves["train_loss"] = [float(v) for v in hist["train_loss"]]
                curves["val_loss"] = [float(v) for v in hist["val_loss"]]
            if val is not None and cfg.refit:
                # best_epoch counts from 0: the refit runs as many epochs as led to the best weights
                best = hist.best_epoch + 1 if hist.best_epoch is not None else epochs_done
                _shrink(bar, cfg.max_epochs - best - epochs_done)
                # refit on everything (training + validation windows) for the best epoch count
                net, hist2 = self._train_one(k, ConcatDataset([train, val]), None, best, bar)
                if k == 0:
                    curves["refit_loss"] = [float(v) for v in hist2["train_loss"]]
            else:
                _shrink(bar, cfg.max_epochs - epochs_done)
            nets.append(net)
        bar.close()
        self.nets_ = nets
        self.history_ = curves
        self._fitted = series_list
        self.fit_seconds_ = time.perf_counter() - t0
        log.info("Forecaster: trained %d members in %.1fs", len(nets), self.fit_seconds_)
        return self

    # ------------------------------------------------------------------ predicting
    def _check_fitted(self) -> None:
        if not self.nets_:
            raise RuntimeError("Forecaster: call fit() (or Forecaster.load) before predict()")

    @torch.no_grad()
    def _forecast(self, series: TimeSeries, horizon: int) -> Forecast:
        self._check_fitted()
        cfg, L = self.config, self.layout_["window"]
        if horizon > cfg.horizon and cfg.strategy != "recursive":
            raise ValueError(
                f"horizon: this {cfg.strategy} model was trained for {cfg.horizon} steps, got {horizon}; "
                "fit with a longer horizon or use strategy='recursive'"
            )
        if len(series) < L:
            raise ValueError(
                f"series {series.name!r}: {len(series)} steps are shorter than the input window of {L}"
            )
        H = max(horizon, cfg.horizon) if cfg.strategy == "recursive" else cfg.horizon
        p = self._prepare(series, H, fit_stats=False)
        origin = np.array([len(series)])
        past, fut, level = self._inputs(p, origin, H)  # fut: (1, H, C_f), known for every step
        dev = self._device()
        past_t = torch.as_tensor(past, dtype=torch.float32, device=dev)
        fut_t = torch.as_tensor(fut, dtype=torch.float32, device=dev)
        from statistics import NormalDist

        z = torch.tensor([NormalDist().inv_cdf(t) for t in LEVELS], dtype=torch.float32, device=dev)
        member_q = []
        for k, net in enumerate(self.nets_):
            net.to(dev).eval()
            if cfg.strategy == "recursive" and cfg.likelihood == "gaussian":
                gen = torch.Generator(device=dev).manual_seed(cfg.seed + 1000 + k)
                paths = net.sample_paths(past_t, fut_t, cfg.num_samples, gen)[0]  # (S, H)
                levels = torch.tensor(LEVELS, dtype=paths.dtype, device=dev)
                q = torch.quantile(paths, levels, dim=0).T  # (H, Q)
            else:
                out = net(past_t, fut_t)[0]  # (H, P)
                if cfg.likelihood == "quantile":
                    q = out
                elif cfg.likelihood == "gaussian":
                    q = out[:, :1] + out[:, 1:2] * z[None, :]
                else:
                    q = out[:, :1].expand(-1, len(LEVELS))
            member_q.append(q.double().cpu().numpy())
        q = np.mean(member_q, axis=0)[:horizon]  # (H, Q) Vincentized ensemble
        q = np.sort(q, axis=1)
        mid = len(LEVELS) // 2
        with np.errstate(over="ignore"):  # beyond the float range: Forecast says it is not finite
            q_data = np.ldexp(p.scaler.denormalize(q[None], level)[0], p.exponent)  # (H, Q)
        return Forecast(series.future_index(horizon), q_data[:, mid], q_data, series.name, self.name)

    def predict(  # type: ignore[override]
        self, horizon: int | None = None, series: TimeSeries | Sequence[TimeSeries] | None = None
    ) -> Forecast | list[Forecast]:
        """Forecast ``horizon`` steps (default: the fitted horizon) after the end of ``series``
        (default: the fitted series). The series may be new (a global model), with the same
        covariates and frequency."""
        self._check_fitted()
        if series is None and self._fitted is None:
            raise ValueError(
                "series: a loaded forecaster keeps no data; pass series= (the history to forecast from)"
            )
        return super().predict(self.config.horizon if horizon is None else horizon, series)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted forecaster to ``path`` (atomically; tensors on the CPU).

        The file holds only tensors and plain Python values, so :meth:`load` reads it with
        ``torch.load(weights_only=True)`` on any machine, CPU or GPU.
        """
        self._check_fitted()
        payload = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "config": asdict(self.config),
            "layout": copy.deepcopy(self.layout_),
            "stats": copy.deepcopy(self.stats_),
            "history": copy.deepcopy(self.history_),
            "members": [{k: v.detach().cpu() for k, v in net.state_dict().items()} for net in self.nets_],
        }
        from lstmkit.fit.checkpoint import atomic_save

        atomic_save(payload, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "cpu", progress: bool = False) -> Forecaster:
        """Read a forecaster written by :meth:`save` onto ``device`` (``"cpu"``, ``"cuda"``, ``"auto"``)."""
        from lstmkit.fit.checkpoint import load_file

        payload = load_file(path, "a saved lstmkit Forecaster")
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"path: {os.fspath(path)!r} is not a saved lstmkit Forecaster")
        if payload["version"] > FORMAT_VERSION:
            raise ValueError(f"path: written by a newer lstmkit (format {payload['version']})")
        config = dict(payload["config"])
        config["device"] = device
        model = cls(**config, progress=progress)
        model.layout_ = payload["layout"]
        model.stats_ = payload["stats"]
        model.history_ = payload["history"]
        dev = model._device()
        nets = []
        for k, state in enumerate(payload["members"]):
            net = model._new_net(k)
            net.load_state_dict(state)
            nets.append(net.to(dev).eval())
        model.nets_ = nets
        return model

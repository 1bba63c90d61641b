r"""Why the forecaster forecast what it did: attributions over its input window, and the
importance of each covariate.

* **Integrated gradients** and **occlusion** of the ensemble's median forecast of each horizon
  step over the input window (past steps x input channels: the scaled target, the window level,
  past covariates, calendar and future covariates at the past steps): which past steps and
  channels drove each horizon step. The baseline is zeros: the training mean of each
  standardized channel (for the target: the window's level). The known-future features of the
  target steps are held at their values (they are no part of the window).
* **Permutation importance** of the covariates: the increase of the mean MASE over the last
  ``windows`` forecast origins of the series when one covariate's values are shuffled in time
  (``repeats`` shuffles: mean and spread). The forecaster is not refitted, so pass a series
  whose last windows it was not trained on.

Attributions are in the scaled space the networks read and write (see
:mod:`lstmkit.apps.forecasting.inputs`). Shapes: H horizon, L window, C input channels.

Example::

    >>> fc = Forecaster(12).fit(y.head(len(y) - 36))
    >>> ex = explain_forecaster(fc, y)
    >>> ex.integrated.shape, ex.max_gap < 0.01       # (H, L, C)
    >>> sections = ex.write("runs/airline")             # PNGs, and (heading, HTML) sections
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.inputs import level_is_input, window_inputs
from lstmkit.apps.forecasting.model import ForecastNet
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.explain.attribution_plots import plot_bars, plot_heatmap
from lstmkit.explain.attributions import (
    float64_copy,
    integrated_gradients,
    module_dtype,
    occlusion,
    relative_gap,
)
from lstmkit.fit.evaluation import mase
from lstmkit.io.html import metrics_table_html

__all__ = ["ForecastExplanation", "PermutationImportance", "explain_forecaster", "permutation_importance"]


@dataclass(frozen=True)
class PermutationImportance:
    """Covariate importance: ``increase[k, r]`` is the mean MASE with covariate ``names[k]``
    shuffled (repeat r) minus ``base_mase``, the mean MASE of the intact series."""

    names: list[str]
    base_mase: float
    increase: np.ndarray  # (K, R)
    windows: int

    @property
    def mean(self) -> np.ndarray:
        """(K,) the mean increase of MASE per covariate."""
        return self.increase.mean(1)

    @property
    def spread(self) -> np.ndarray:
        """(K,) the standard deviation of the increase over repeats."""
        return self.increase.std(1)


@dataclass(frozen=True)
class ForecastExplanation:
    """Attributions of one forecast (from the end of ``series``) and the covariates' importance.

    Attributes:
        series: the series' name.
        channels: (C,) the input channels' names.
        steps: (L,) the time stamps of the input window; ``targets`` (H,) those forecast.
        integrated: (H, L, C) integrated gradients of each horizon step's median.
        occlusion: (H, L, C) occlusion attributions (windows of ``window`` steps, one channel).
        gap: (H,) the relative completeness gap of each horizon step's attributions.
        output, baseline_output: (H,) the median at the input and at the baseline (scaled).
        importance: the covariates' permutation importance (``None``: none computed).
    """

    series: str
    channels: list[str]
    steps: list[str]
    targets: list[str]
    integrated: np.ndarray
    occlusion: np.ndarray
    gap: np.ndarray
    output: np.ndarray
    baseline_output: np.ndarray
    importance: PermutationImportance | None = None

    @property
    def max_gap(self) -> float:
        """The largest relative completeness gap over the horizon."""
        return float(self.gap.max())

    def channel_totals(self) -> np.ndarray:
        """(H, C) integrated gradients summed over the window's steps."""
        return self.integrated.sum(1)

    def metrics(self) -> dict[str, Any]:
        """Plain numbers for ``metrics.json``."""
        out: dict[str, Any] = {
            "max_relative_gap": self.max_gap,
            "channel_attribution": dict(zip(self.channels, self.channel_totals().sum(0).tolist())),
        }
        if self.importance is not None:
            imp = self.importance
            out["base_mase"] = imp.base_mase
            out["permutation_importance"] = dict(zip(imp.names, imp.mean.tolist()))
        return out

    def write(self, folder: str | os.PathLike[str], prefix: str = "forecast_") -> list[tuple[str, str]]:
        """Write the PNGs into ``folder`` (names starting with ``prefix``) and return the
        (heading, HTML) sections that show them (:func:`lstmkit.io.html.write_page`)."""
        names = _write_plots(self, os.fspath(folder), prefix)
        return _sections(self, names)


# ---------------------------------------------------------------------- inputs
def channel_names(forecaster: Forecaster) -> list[str]:
    """(C,) the names of the forecaster's input channels, in the order of its windows."""
    lay, cfg = forecaster.layout_, forecaster.config
    names = ["target (scaled)"]
    if level_is_input(cfg.normalize):
        names.append("window level")
    names += [f"past: {n}" for n in lay["past"]]
    names += [f"calendar: {n}" for n in lay["calendar"]]
    names += [f"future: {n}" for n in lay["future"]]
    size = int(lay["input_size"])
    return names if len(names) == size else [f"channel {k}" for k in range(size)]


def _window(forecaster: Forecaster, series: TimeSeries) -> tuple[Tensor, Tensor]:
    """The input window before the end of ``series``: past (1, L, C), future (1, H, C_f)."""
    cfg, L, H = forecaster.config, forecaster.layout_["window"], forecaster.config.horizon
    if len(series) < L:
        raise ValueError(f"series: {len(series)} steps are shorter than the input window of {L}")
    p = forecaster._prepare(series, H, fit_stats=False)
    past, fut, _ = window_inputs(p, np.array([len(series)]), L, H, cfg.normalize)
    return torch.as_tensor(past), torch.as_tensor(fut)


def median_function(nets: list[nn.Module]) -> Any:
    """``f(past, future)`` -> (N, H): the ensemble's mean of its members' medians."""

    def f(past: Tensor, future: Tensor) -> Tensor:
        outs = []
        for net in nets:
            assert isinstance(net, ForecastNet)
            outs.append(net.point(net(past, future)))
        return torch.stack(outs).mean(0)

    return f


def _stamp(t: Any) -> str:
    """A time stamp as text (midnight left out)."""
    text = str(t)
    return text[: -len(" 00:00:00")] if text.endswith(" 00:00:00") else text


# ---------------------------------------------------------------------- entry
def explain_forecaster(
    forecaster: Forecaster,
    series: TimeSeries,
    *,
    n_steps: int = 128,
    tolerance: float = 0.005,
    window: int = 1,
    importance: bool = True,
    windows: int = 4,
    repeats: int = 5,
    seed: int = 0,
) -> ForecastExplanation:
    """Attribute the forecast from the end of ``series`` to its input window, and (with
    ``importance`` and covariates) the covariates' permutation importance.

    Args:
        forecaster: a fitted :class:`~lstmkit.apps.forecasting.estimator.Forecaster`.
        series: the history to forecast from (with the covariates the forecaster knows).
        n_steps, tolerance: quadrature points of integrated gradients, and the relative
            completeness gap to refine them to (see
            :func:`~lstmkit.explain.attributions.integrated_gradients`).
        window: occluded time steps per window (one channel at a time, stride 1).
        importance, windows, repeats, seed: see :func:`permutation_importance`.

    Returns:
        a :class:`ForecastExplanation`.
    """
    forecaster._check_fitted("explain_forecaster()")
    H, L = forecaster.config.horizon, forecaster.layout_["window"]
    nets = [float64_copy(n) for n in forecaster.nets_]
    dtype, dev = module_dtype(nets[0]), next(nets[0].parameters()).device
    past, fut = (t.to(dev, dtype) for t in _window(forecaster, series))
    f = median_function(nets)
    past_h, fut_h = past.expand(H, -1, -1).contiguous(), fut.expand(H, -1, -1).contiguous()
    target = torch.arange(H, device=dev)
    ig = integrated_gradients(
        f, past_h, target=target, n_steps=n_steps, tolerance=tolerance, additional_args=(fut_h,)
    )
    occ = occlusion(f, past_h, window=(window, 1), target=target, additional_args=(fut_h,))
    imp = None
    if importance and (series.past_covariate_names or series.future_covariate_names):
        imp = permutation_importance(forecaster, series, windows=windows, repeats=repeats, seed=seed)
    return ForecastExplanation(
        series=series.name,
        channels=channel_names(forecaster),
        steps=[_stamp(t) for t in series.index[-L:]],
        targets=[_stamp(t) for t in series.future_index(H)],
        integrated=ig.values.cpu().numpy(),
        occlusion=occ.cpu().numpy(),
        gap=relative_gap(ig).cpu().numpy(),
        output=ig.output.cpu().numpy(),
        baseline_output=ig.baseline_output.cpu().numpy(),
        importance=imp,
    )


# ---------------------------------------------------------------------- permutation importance
def _origins(series: TimeSeries, horizon: int, window: int, windows: int) -> list[int]:
    """The last ``windows`` non-overlapping forecast origins of ``series`` (oldest first)."""
    if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
        raise ValueError(f"windows: expected an int >= 1, got {windows!r}")
    origins = [len(series) - horizon * (k + 1) for k in range(windows)]
    if origins[-1] < window + 1:
        raise ValueError(
            f"windows: {windows} windows of {horizon} steps after an input window of {window} need "
            f"{window + 1 + horizon * windows} steps, the series has {len(series)}"
        )
    return origins[::-1]


def _mean_mase(forecaster: Forecaster, series: TimeSeries, origins: list[int]) -> float:
    """The mean MASE of the forecasts from each origin of ``series`` (no refit)."""
    H, errs = forecaster.config.horizon, []
    for o in origins:
        head = series.head(o)
        fc: Any = forecaster.predict(H, series=head)
        errs.append(mase(series.values[o : o + H], fc.point, head.values, series.season))
    return float(np.mean(errs))


def _shuffled(series: TimeSeries, kind: str, column: int, rng: np.random.Generator) -> TimeSeries:
    """``series`` with one column of its ``kind`` (``"past"``/``"future"``) covariates shuffled."""
    field = f"{kind}_covariates"
    values = np.array(getattr(series, field), dtype=np.float64)
    values[:, column] = rng.permutation(values[:, column])
    return dataclasses.replace(series, **{field: values})


def permutation_importance(
    forecaster: Forecaster, series: TimeSeries, *, windows: int = 4, repeats: int = 5, seed: int = 0
) -> PermutationImportance:
    """The increase of the mean MASE over the last ``windows`` origins of ``series`` when each
    covariate (past and future) is shuffled in time, ``repeats`` times each (no refit).

    Raises:
        ValueError: a series without covariates, too short for the windows, or bad counts.
    """
    forecaster._check_fitted("permutation_importance()")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats: expected an int >= 1, got {repeats!r}")
    columns = [("past", k, n) for k, n in enumerate(series.past_covariate_names)]
    columns += [("future", k, n) for k, n in enumerate(series.future_covariate_names)]
    if not columns:
        raise ValueError(f"series: {series.name!r} has no covariates to permute")
    origins = _origins(series, forecaster.config.horizon, forecaster.layout_["window"], windows)
    base = _mean_mase(forecaster, series, origins)
    rng = np.random.default_rng(seed)
    increase = np.zeros((len(columns), repeats))
    for i, (kind, k, _) in enumerate(columns):
        for r in range(repeats):
            increase[i, r] = _mean_mase(forecaster, _shuffled(series, kind, k, rng), origins) - base
    return PermutationImportance([f"{kind}: {n}" for kind, _, n in columns], base, increase, windows)


# ---------------------------------------------------------------------- report
def _write_plots(ex: ForecastExplanation, folder: str, prefix: str) -> dict[str, str]:
    """The PNGs of ``ex`` in ``folder``; returns their file names by kind."""
    names = {
        "channels": f"{prefix}attribution_channels.png",
        "horizon": f"{prefix}attribution_horizon.png",
        "occlusion": f"{prefix}occlusion_channels.png",
    }
    common = {"col_labels": ex.steps, "xlabel": "input step"}
    plot_heatmap(
        ex.integrated.sum(0).T,
        os.path.join(folder, names["channels"]),
        row_labels=ex.channels,
        title=f"{ex.series}: integrated gradients of the summed horizon, by input step and channel",
        **common,
    )
    plot_heatmap(
        ex.integrated.sum(2),
        os.path.join(folder, names["horizon"]),
        row_labels=[f"h={h + 1}" for h in range(len(ex.targets))],
        title=f"{ex.series}: integrated gradients of each horizon step (channels summed)",
        ylabel="horizon step",
        **common,
    )
    plot_heatmap(
        ex.occlusion.sum(0).T,
        os.path.join(folder, names["occlusion"]),
        row_labels=ex.channels,
        title=f"{ex.series}: occlusion of the summed horizon, by input step and channel",
        **common,
    )
    if ex.importance is not None:
        imp = ex.importance
        names["importance"] = f"{prefix}permutation_importance.png"
        plot_bars(
            imp.names,
            imp.mean,
            imp.spread,
            os.path.join(folder, names["importance"]),
            title=f"increase of MASE with the covariate shuffled (base {imp.base_mase:.3f})",
            xlabel="MASE increase (bar: mean, line: spread over repeats)",
        )
    return names


def _sections(ex: ForecastExplanation, names: dict[str, str]) -> list[tuple[str, str]]:
    totals = ex.channel_totals().sum(0)  # (C,)
    magnitude = np.abs(ex.integrated).sum((0, 1))  # (C,)
    share = magnitude / max(float(magnitude.sum()), 1e-300)
    rows = [
        {"channel": c, "attribution": float(t), "share of |attribution|": float(s)}
        for c, t, s in zip(ex.channels, totals, share)
    ]
    body = (
        f"<p>Integrated gradients (zero baseline: each channel's training mean) of the median "
        f"forecast of every horizon step from {ex.targets[0]}; completeness holds within "
        f"{100 * ex.max_gap:.3g}% (sum of attributions vs output minus baseline output).</p>"
        + metrics_table_html(rows, ["channel", "attribution", "share of |attribution|"])
        + f"<img src='{names['channels']}'><img src='{names['horizon']}'>"
        + "<p class='note'>Occlusion (one channel, consecutive steps set to 0):</p>"
        + f"<img src='{names['occlusion']}'>"
    )
    sections = [("Attributions: which past steps and channels drove each horizon", body)]
    if ex.importance is not None:
        imp = ex.importance
        table = [
            {"covariate": n, "MASE increase": float(m), "spread": float(s)}
            for n, m, s in zip(imp.names, imp.mean, imp.spread)
        ]
        sections.append(
            (
                "Permutation importance of the covariates",
                f"<p>Mean MASE over the last {imp.windows} forecast origins: {imp.base_mase:.4f}; "
                f"with one covariate shuffled in time ({imp.increase.shape[1]} shuffles):</p>"
                + metrics_table_html(table, ["covariate", "MASE increase", "spread"], floatfmt=".4f")
                + f"<img src='{names['importance']}'>",
            )
        )
    return sections

"""The report of ``lstmkit run``: the metrics table for stdout, and the run folder.

:func:`summary` is the text the command prints (what was backtested, the metrics of every
model, the LSTM (or the architecture in its place) against seasonal naive and the best of
ARIMA/ETS). :func:`write_report` writes
the run folder of a :class:`~lstmkit.apps.forecasting.job.RunJobResult`:

======================  ==============================================================
``index.html``          the page: data, metrics table, forecast, backtest, loss curves
``forecast.png``        the forecast beyond the data with its 80% and 95% intervals
``backtest.png``        each model's forecasts over the backtest windows
``loss.png``            the LSTM's training and validation loss per epoch
``gates_*.png``         the encoder's gate saturation per unit and gate heatmaps (last windows)
``metrics.csv/.json``   the metrics table; the JSON adds the settings and the data
``forecast.csv``        the forecast; ``backtest.csv`` every backtest window
``model.pt``            the final forecaster (``lstmkit.Forecaster.load``)
======================  ==============================================================

Example::

    >>> result = job.run(job.RunJobConfig(out=None))
    >>> print(summary(result))
    >>> write_report(result, "runs/airline")
"""

from __future__ import annotations

import html
import os
import platform
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lstmkit.apps.common.gates import gate_sections
from lstmkit.apps.common.reports import write_summary
from lstmkit.apps.forecasting.inputs import window_inputs
from lstmkit.io import plots
from lstmkit.io.html import format_table, metrics_table_html
from lstmkit.io.runfolder import run_folder
from lstmkit.io.tables import write_csv

if TYPE_CHECKING:
    from lstmkit.apps.forecasting.job import RunJobResult

__all__ = ["METRIC_COLUMNS", "summary", "write_report"]

#: the columns of the metrics table
METRIC_COLUMNS = ["model", "MASE", "sMAPE", "MAE", "RMSE", "CRPS", "coverage80", "coverage95", "seconds"]


def summary(result: RunJobResult) -> str:
    """The metrics table with a line on the backtest before it and the verdict after it."""
    rows = result.rows
    refit = "at every origin" if result.refit == "every" else "once"
    lines = [
        f"{result.label}: backtest over {result.windows} windows of {result.horizon} steps "
        f"(stride {result.stride}), mean over windows; {rows[0]['model']} refit {refit}",
        format_table(rows, METRIC_COLUMNS),
    ]
    best_stat = min(
        (r for r in rows if r["model"] in ("ARIMA", "ETS")), key=lambda r: r["MASE"], default=None
    )
    lstm = rows[0]
    snaive = next((r for r in rows if r["model"] == "seasonal naive"), None)
    verdict = []
    if snaive:
        verdict.append(f"{lstm['model']} vs seasonal naive: MASE {lstm['MASE']:.3f} vs {snaive['MASE']:.3f}")
    if best_stat:
        verdict.append(f"vs best of ARIMA/ETS ({best_stat['model']}): {best_stat['MASE']:.3f}")
    if verdict:
        lines.append("; ".join(verdict))
    return "\n".join(lines)


def write_report(result: RunJobResult, folder: str, *, overwrite: bool = False) -> None:
    """Write the run folder ``folder`` (built aside, swapped in when complete; see
    :func:`lstmkit.io.runfolder.run_folder`)."""
    with run_folder(folder, "run", overwrite=overwrite) as tmp:
        _write_plots(result, tmp)
        _write_tables(result, tmp)
        result.final.save(os.path.join(tmp, "model.pt"))
        with np.errstate(all="ignore"):
            sections = _sections(result) + _gate_sections(result, tmp)
            write_summary(tmp, f"lstmkit run: {result.series.name}", sections, _metrics(result))


def _write_plots(result: RunJobResult, tmp: str) -> None:
    main, horizon = result.series, result.horizon
    plots.plot_forecast(
        main,
        result.forecast,
        os.path.join(tmp, "forecast.png"),
        history=max(4 * horizon, 3 * main.season),
        title=f"{main.name}: {result.final.name} forecast, {horizon} steps, 80% and 95% intervals",
    )
    plots.plot_backtest(result.backtests, main, os.path.join(tmp, "backtest.png"))
    curves = result.final.history_ or {}
    plots.plot_losses(
        curves,
        os.path.join(tmp, "loss.png"),
        title=f"{result.final.name} (first ensemble member) loss per epoch",
    )


def _write_tables(result: RunJobResult, tmp: str) -> None:
    import pandas as pd

    write_csv(pd.DataFrame(result.rows), os.path.join(tmp, "metrics.csv"), index=False)
    write_csv(result.forecast.to_frame(), os.path.join(tmp, "forecast.csv"), index_label="time")
    backtests = pd.concat([r.to_frame().assign(model=n) for n, r in result.backtests.items()])
    write_csv(backtests, os.path.join(tmp, "backtest.csv"), index=False)


def _source(result: RunJobResult) -> dict[str, Any] | None:
    """The series' source as :class:`~lstmkit.apps.forecasting.job.SeriesSource` fields (a CSV
    file's absolute path), for ``lstmkit explain``."""
    if result.source is None:
        return None
    fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(result.source).items()}
    if fields.get("csv"):
        fields["csv"] = os.path.abspath(str(fields["csv"]))
    return fields


def _metrics(result: RunJobResult) -> dict[str, Any]:
    """``metrics.json``: the data, the backtest's shape, the metrics and the settings."""
    main, final = result.series, result.final
    return {
        "series": main.name,
        "data": _source(result),
        "description": main.description,
        "length": len(main),
        "freq": main.freq,
        "season": main.season,
        "horizon": result.horizon,
        "windows": result.windows,
        "stride": result.stride,
        "lstm_refit": result.refit,
        "metrics": result.rows,
        "lstm_config": dict(vars(final.config)),
        "window": final.layout_["window"],
        "selected": result.selected,
        "seconds": time.perf_counter() - result.started,
        "python": platform.python_version(),
    }


def _sections(result: RunJobResult) -> list[tuple[str, str]]:
    """The (heading, HTML) sections of ``index.html``."""
    main, fc = result.series, result.forecast
    intro = (
        f"<p>{html.escape(main.description or main.name)}: {len(main)} observations, "
        f"frequency {html.escape(str(main.freq or 'integer steps'))}, season {main.season}.</p>"
        f"<p class='note'>Backtest: expanding window, {result.windows} origins "
        f"{result.stride} steps apart, horizon {result.horizon}; every model forecasts the same windows; "
        "metrics are means over windows (MASE scaled by the in-sample seasonal naive error of each "
        "window's history; CRPS approximated by 19 quantiles; coverage of the 80% and 95% "
        f"intervals). Baselines are refitted at every origin; the {result.final.name} "
        f"{'too' if result.refit == 'every' else 'once, before the first origin'}.</p>"
    )
    return [
        ("", intro),
        ("Backtest metrics", metrics_table_html(result.rows, METRIC_COLUMNS, best_by="MASE")),
        (
            "Forecast beyond the data",
            "<img src='forecast.png' alt='forecast'>"
            + fc.to_frame().to_html(float_format=lambda v: f"{v:.2f}"),
        ),
        ("Backtest errors per model", "<img src='backtest.png' alt='backtest'>"),
        (
            "Training and validation loss",
            "<img src='loss.png' alt='loss curves'>" + _lstm_description(result),
        ),
        (
            "Files",
            "<p>metrics.csv, metrics.json, forecast.csv, backtest.csv, model.pt "
            "(<code>lstmkit.Forecaster.load('model.pt')</code>)</p>",
        ),
    ]


def _gate_sections(result: RunJobResult, folder: str) -> list[tuple[str, str]]:
    """The gates of the first ensemble member's encoder on the input windows of the last (up to)
    4 forecast origins, a horizon apart (the last one: the end of the series)."""
    fc, series = result.final, result.series
    L, H = fc.layout_["window"], fc.config.horizon
    origins = np.array([o for o in range(len(series) - 3 * H, len(series) + 1, H) if o >= L])
    if not len(origins):
        return []
    prepared = fc._prepare(series, H, fit_stats=False)
    past, future, _ = window_inputs(prepared, origins, L, H, fc.config.normalize)
    net = fc.nets_[0]
    dev, dtype = next(net.parameters()).device, next(net.parameters()).dtype
    past_t, future_t = (torch.as_tensor(a, dtype=dtype, device=dev) for a in (past, future))
    return gate_sections(
        net,
        lambda: net(past_t, future_t),
        folder,
        what=f"the first ensemble member, on the input windows ({L} steps) of the last {len(origins)} "
        f"forecast origins, {H} steps apart",
    )


def _lstm_description(result: RunJobResult) -> str:
    final = result.final
    cfg = final.config
    variant = f"variant {cfg.variant}, " if cfg.architecture == "lstm" else ""
    return (
        f"<p>{final.name} forecaster: strategy {cfg.strategy}, likelihood {cfg.likelihood}, window "
        f"{final.layout_['window']}, hidden {cfg.hidden_size} x {cfg.num_layers} layer(s), "
        f"{variant}"
        f"ensemble of {cfg.ensemble}, early stopping (patience {cfg.patience}) then refit on all data. "
        f"Total run time {time.perf_counter() - result.started:.0f} s.</p>"
    )

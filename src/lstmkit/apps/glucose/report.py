"""The glucose job's report folder: the tables, the Clarke grids, and a test patient's day."""

from __future__ import annotations

import html
import os
from typing import Any

import numpy as np

from lstmkit.apps.common.reports import write_summary
from lstmkit.apps.glucose.clarke import plot_clarke
from lstmkit.apps.glucose.job import MODELS, GlucoseJobConfig, GlucoseJobResult
from lstmkit.apps.glucose.simulate import GROUPS, SENSOR, STEP_MINUTES
from lstmkit.io.html import metrics_table_html
from lstmkit.io.plots import COLORS, pyplot, save_figure
from lstmkit.io.runfolder import run_folder

__all__ = ["plot_day", "write_report"]

_COLORS = {"persistence": COLORS["naive"], "ARIMA": COLORS["ARIMA"], "LSTM": COLORS["LSTM"]}


def plot_day(result: GlucoseJobResult, minutes: int, path: str | os.PathLike[str]) -> None:
    """The first test patient's CGM over the first day after its warm-up, each model's
    prediction ``minutes`` ahead drawn at the time it predicts, and the meals."""
    s = result.series[0]
    origins = result.origins[s.name]
    h = minutes // STEP_MINUTES
    shown = slice(0, min(len(origins), 24 * 60 // STEP_MINUTES))
    targets = origins[shown] + h - 1
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(11, 4.2))
    ax.plot(s.index[targets], s.values[targets], color="black", lw=1.4, label="CGM")
    for model in MODELS:
        _, pred, who = result.pairs[(model, minutes)]
        mine = pred[who == s.name][shown]
        ax.plot(s.index[targets], mine, color=_COLORS[model], lw=1.0, label=f"{model}, {minutes} min ahead")
    if s.past_covariates is not None:
        carbs = s.past_covariates[:, 0]
        meals = [t for t in targets if carbs[t] > 0]
        for t in meals:
            ax.axvline(s.index[t], color="#2ca02c", lw=0.6, alpha=0.5)
    ax.set_ylabel("glucose (mg/dL)")
    ax.set_title(f"{s.name} (test patient): predictions {minutes} min ahead (green lines: meals)")
    ax.legend(loc="upper right", fontsize=8)
    save_figure(fig, path)


def _settings_html(result: GlucoseJobResult, config: GlucoseJobConfig) -> str:
    n_origins = sum(len(o) for o in result.origins.values())
    cov = "meals (g) and insulin (U) as past covariates, " if config.covariates else ""
    arima = "; ".join(f"{k}: {v}" for k, v in result.arima.items())
    return (
        f"<p>{config.patients} virtual patient(s) per group of the UVa/Padova simulator (simglucose), "
        f"{config.days:g} simulated days each: random meals, basal-bolus controller, {SENSOR} CGM every "
        f"{STEP_MINUTES} min. Simulated patients, not real ones.</p>"
        f"<p>Training patients ({len(result.train)}): {html.escape(', '.join(result.train))}.<br>"
        f"Test patients ({len(result.test)}, never seen in training): {html.escape(', '.join(result.test))}; "
        f"{n_origins} forecast origins after a warm-up of {config.warmup_hours:g} h (at most half a trace), "
        f"every {config.stride * STEP_MINUTES} min.</p>"
        f"<p>LSTM: one global Forecaster per horizon, window {config.window} steps, hidden {config.hidden}, "
        f"ensemble {config.ensemble}, {cov}time of day as future covariates; its median is the point "
        f"forecast. ARIMA per test patient, fitted on its warm-up ({html.escape(arima)}).</p>"
    )


def write_report(result: GlucoseJobResult, config: GlucoseJobConfig) -> None:
    """Write ``index.html``, ``metrics.json``, ``clarke_<minutes>.png`` and ``day_<minutes>.png``."""
    assert result.folder is not None
    cols = ["model", "horizon", "RMSE", "MAE", "A", "B", "C", "D", "E", "A+B"]
    group_cols = ["model", "horizon"] + [f"RMSE {g}" for g in GROUPS]
    sections: list[tuple[str, str]] = [
        ("", _settings_html(result, config)),
        (
            "Accuracy at the horizon",
            "<p class='note'>RMSE and MAE in mg/dL; Clarke zones in % of the forecast origins.</p>"
            + metrics_table_html(result.rows, cols, floatfmt=".1f"),
        ),
        ("RMSE by group of test patients", metrics_table_html(result.rows, group_cols, floatfmt=".1f")),
    ]
    with run_folder(result.folder, "glucose", overwrite=config.overwrite) as tmp:
        for minutes in config.horizons:
            panels: dict[str, tuple[np.ndarray, np.ndarray]] = {
                m: result.pairs[(m, minutes)][:2] for m in MODELS
            }
            plot_clarke(panels, os.path.join(tmp, f"clarke_{minutes}.png"), title=f"{minutes} minutes ahead")
            plot_day(result, minutes, os.path.join(tmp, f"day_{minutes}.png"))
            sections.append(
                (
                    f"{minutes} minutes ahead",
                    f"<img src='clarke_{minutes}.png' alt='Clarke error grid'>"
                    f"<img src='day_{minutes}.png' alt='a test patient'>",
                )
            )
        metrics: dict[str, Any] = dict(result.metrics)
        write_summary(tmp, f"lstmkit glucose: {config.name}", sections, metrics)

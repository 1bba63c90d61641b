"""``lstmkit run``: the main job. Train the LSTM forecaster on a real series, backtest it next to
seasonal naive, ARIMA and ETS on the same windows, print the metrics table and write a report
folder (HTML page, PNG plots, CSV/JSON tables, the fitted model).

Works on a bundled dataset (``--dataset airline``, the default) or a user's CSV file
(``--csv my.csv --target y [--time date]``). The work is :func:`lstmkit.apps.forecasting.job.run`.
"""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.forecasting import job
from lstmkit.apps.forecasting.commands.options import (
    add_model_args,
    add_series_args,
    model_settings,
    series_source,
)

HELP = "the main job: LSTM forecaster vs seasonal naive, ARIMA and ETS, with a report"
DESCRIPTION = """
Train the LSTM forecaster on a real series, backtest it next to seasonal naive, ARIMA and ETS on the
same expanding windows, print the metrics table (stdout) and write runs/NAME/ with index.html, PNG
plots, CSV/JSON tables and the fitted model. Examples: `lstmkit run`, `lstmkit run --dataset
sunspots`, `lstmkit run --csv my.csv --target y --time date`.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "run", HELP, DESCRIPTION, run_main)
    add_series_args(p)
    add_model_args(p)
    g = p.add_argument_group("backtest and report")
    g.add_argument("--windows", type=int, default=3, help="backtest windows (default 3)")
    g.add_argument(
        "--stride", type=int, default=None, help="steps between backtest origins (default: horizon)"
    )
    g.add_argument(
        "--refit",
        default="every",
        choices=["every", "once"],
        help="LSTM refit at every origin (default, as the baselines) or once before the first",
    )
    g.add_argument(
        "--baselines",
        default="seasonal_naive,arima,ets",
        help="comma-separated, from naive, seasonal_naive, arima, ets, theta, naive2, ses, holt, damped, "
        "comb (default: seasonal_naive, arima, ets)",
    )
    g.add_argument("--name", default=None, help="report folder name under --out (default: the dataset name)")
    opt.add_output_args(g, out_help="parent folder of reports (default runs)")
    opt.add_progress_arg(g)


def run_main(args: argparse.Namespace) -> int:
    values = {"series": series_source(args), "model": model_settings(args), "echo": True}
    job.run(
        opt.config_from_args(job.RunJobConfig, args, values | {"baselines": opt.comma_list(args.baselines)})
    )
    return 0

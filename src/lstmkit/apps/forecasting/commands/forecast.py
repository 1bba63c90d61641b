"""``lstmkit forecast``: fit the LSTM forecaster (or load a saved one) and print the forecast.

The work is :func:`lstmkit.apps.forecasting.job.forecast`.
"""

from __future__ import annotations

import argparse
import logging

from lstmkit.apps.common import options as opt
from lstmkit.apps.forecasting import job
from lstmkit.apps.forecasting.commands.options import (
    add_model_args,
    add_series_args,
    model_settings,
    series_source,
)
from lstmkit.fit.distributed import is_main_process, relaunch, without_option

HELP = "forecast a series with the LSTM forecaster (prints the forecast with intervals)"
DESCRIPTION = """
Fit the LSTM forecaster on the whole series (or --load a saved one) and print the point forecast
with 80% and 95% intervals as CSV on stdout. --backtest K also prints a K-window backtest next to
seasonal naive, ARIMA and ETS (see `lstmkit run` for the report). --processes N trains in N
processes on this machine (torchrun, the cores split between them; see docs/training.md).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "forecast", HELP, DESCRIPTION, forecast_main)
    add_series_args(p)
    add_model_args(p)
    p.add_argument("--save", default=None, help="write the fitted forecaster here (.pt)")
    p.add_argument("--load", default=None, help="use a saved forecaster instead of fitting")
    p.add_argument("--backtest", type=int, default=0, metavar="K", help="also backtest over K windows")
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="train in N processes on this machine (torchrun; same result as one; default 1)",
    )
    opt.add_progress_arg(p)


def forecast_main(args: argparse.Namespace) -> int:
    if args.processes < 1:
        raise ValueError(f"--processes: expected an integer >= 1, got {args.processes}")
    if args.processes > 1:
        if args.load:
            raise ValueError("--processes: trains in several processes; --load trains nothing")
        # the same command in N processes, each training its share of every batch
        return relaunch(args.processes, "lstmkit.cli", without_option(args.argv, "--processes"))
    values = {"series": series_source(args), "model": model_settings(args), "echo": True}
    if not is_main_process():  # one of several processes: rank 0 prints and writes
        logging.getLogger("lstmkit").setLevel(logging.WARNING)
        values |= {"echo": False, "save": None, "progress": False}
    job.forecast(opt.config_from_args(job.ForecastJobConfig, args, values))
    return 0

"""``lstmkit forecast``: fit the LSTM forecaster (or load a saved one) and print the forecast."""

from __future__ import annotations

import argparse
import logging
import sys

from lstmkit.apps.forecasting.commands.run import (
    add_model_args,
    add_series_args,
    backtest_start,
    default_horizon,
    forecaster_from_args,
    series_from_args,
)

log = logging.getLogger("lstmkit.forecast")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forecast",
        help="forecast a series with the LSTM forecaster (prints the forecast with intervals)",
        description="Fit the LSTM forecaster on the whole series (or --load a saved one) and print the "
        "point forecast with 80% and 95% intervals as CSV on stdout. --backtest K also prints a "
        "K-window backtest next to seasonal naive, ARIMA and ETS (see `lstmkit run` for the report).",
    )
    add_series_args(p)
    add_model_args(p)
    p.add_argument("--save", default=None, help="write the fitted forecaster here (.pt)")
    p.add_argument("--load", default=None, help="use a saved forecaster instead of fitting")
    p.add_argument("--backtest", type=int, default=0, metavar="K", help="also backtest over K windows")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=forecast_main)


def forecast_main(args: argparse.Namespace) -> int:
    from lstmkit.apps.forecasting.base import as_series_list
    from lstmkit.apps.forecasting.estimator import Forecaster
    from lstmkit.io.atomic import check_output_file
    from lstmkit.io.html import format_table
    from lstmkit.io.tables import csv_text

    series, _ = series_from_args(args)
    if args.save:
        check_output_file(args.save, "--save", torch_file=True)  # before the training, not after
    main = max(as_series_list(series), key=len)
    progress = not args.no_progress
    if args.load:
        if args.backtest:
            raise ValueError("--backtest: refits the model at every origin; it cannot be used with --load")
        model = Forecaster.load(args.load, device=args.device, progress=progress)
        horizon = args.horizon if args.horizon is not None else model.horizon
    else:
        horizon = args.horizon if args.horizon is not None else default_horizon(series)
        model = forecaster_from_args(args, horizon, progress)
        if args.backtest:
            from lstmkit.apps.forecasting.base import backtest
            from lstmkit.apps.forecasting.baselines import make_baseline

            start = backtest_start(main, horizon, args.backtest, horizon, "--backtest")
            rows = []
            for m in [model, *(make_baseline(b) for b in ("seasonal_naive", "arima", "ets"))]:
                r = backtest(m, series, horizon, start=start, refit=True, progress=progress)
                rows.append({"model": m.name, **r.metrics()})
            print(  # to stderr: stdout is the forecast CSV, clean for `> forecast.csv`
                format_table(
                    rows, ["model", "MASE", "sMAPE", "MAE", "RMSE", "CRPS", "coverage80", "coverage95"]
                ),
                file=sys.stderr,
            )
        model.fit(series)
        if args.save:
            model.save(args.save)
            log.info("saved the forecaster to %s", args.save)
    fc = model.predict(horizon, series=main)
    assert not isinstance(fc, list)
    sys.stdout.write(csv_text(fc.to_frame(), index_label="time", float_format="%.4f"))
    return 0

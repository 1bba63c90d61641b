"""``lstmkit run``: the main job. Train the LSTM forecaster on a real series, backtest it next to
seasonal naive, ARIMA and ETS on the same windows, print the metrics table and write a report
folder (HTML page, PNG plots, CSV/JSON tables, the fitted model).

Works on a bundled dataset (``--dataset airline``, the default) or a user's CSV file
(``--csv my.csv --target y [--time date]``).
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import platform
import sys
import time
from typing import Any

from lstmkit.io.runfolder import OVERWRITE_HELP

log = logging.getLogger("lstmkit.run")

METRIC_COLUMNS = ["model", "MASE", "sMAPE", "MAE", "RMSE", "CRPS", "coverage80", "coverage95", "seconds"]


# ---------------------------------------------------------------------- shared with `forecast`
def add_series_args(p: argparse.ArgumentParser, default_dataset: str | None = "airline") -> None:
    g = p.add_argument_group("data (a bundled dataset or a CSV file)")
    g.add_argument(
        "--dataset",
        default=None,
        help=f"bundled forecasting dataset (default {default_dataset}; "
        "`lstmkit data list --task forecasting` lists them)",
    )
    g.add_argument("--csv", default=None, help="a CSV file with your series")
    g.add_argument("--encoding", default="utf-8", help="text encoding of --csv (default utf-8)")
    g.add_argument("--target", default=None, help="column to forecast (required with --csv)")
    g.add_argument("--time", default=None, help="column of dates or integer steps (default: row number)")
    g.add_argument(
        "--covariates", default="", help="comma-separated past covariate columns (observed with the target)"
    )
    g.add_argument(
        "--future-covariates",
        default="",
        help="comma-separated known-future covariate columns; rows "
        "after the last target value hold their future",
    )
    g.add_argument(
        "--freq", default=None, help="pandas frequency (e.g. D, W-SUN, MS); resamples an irregular index"
    )
    g.add_argument(
        "--season", type=int, default=0, help="observations per seasonal cycle (default: from the frequency)"
    )
    g.add_argument(
        "--missing",
        default="interpolate",
        choices=["interpolate", "ffill", "zero", "error"],
        help="treatment of missing values in a CSV (default interpolate, logged)",
    )
    p.set_defaults(_default_dataset=default_dataset)


def _cols(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def series_from_args(args: argparse.Namespace) -> tuple[Any, str]:
    """The series (a TimeSeries or list of them) and a short name for the run; checks
    ``--device`` first, before any data is read or folder made."""
    from lstmkit.apps.datasets import sources
    from lstmkit.apps.forecasting.data import from_csv
    from lstmkit.fit.config import resolve_device

    resolve_device(args.device, "--device")

    if args.csv:
        if args.dataset:
            raise ValueError("--csv and --dataset: give one of them, not both")
        if not args.target:
            raise ValueError("--target: required with --csv (the column to forecast)")
        series = from_csv(
            args.csv,
            args.target,
            time=args.time,
            past_covariates=_cols(args.covariates),
            future_covariates=_cols(args.future_covariates),
            freq=args.freq,
            season=args.season,
            missing=args.missing,
            encoding=args.encoding,
        )
        return series, os.path.splitext(os.path.basename(args.csv))[0]
    for flag in ("target", "time", "freq"):
        if getattr(args, flag):
            raise ValueError(f"--{flag}: only used with --csv")
    name = args.dataset or args._default_dataset
    if name is None:
        raise ValueError("--dataset or --csv: tell which series to use")
    data = sources.load_panel(name)
    info = sources.info(name)
    if args.season:
        import dataclasses

        data = [dataclasses.replace(s, season=args.season) for s in data]
    return (data[0] if len(data) == 1 else data), info.name


def backtest_start(main: Any, horizon: int, windows: int, stride: int, flag: str) -> int:
    """The first backtest origin for ``windows`` windows of ``horizon`` steps, ``stride`` apart,
    ending at the end of ``main``; a clear error naming ``flag`` when the series is too short."""
    if windows < 1:
        raise ValueError(f"{flag}: expected at least 1 window, got {windows}")
    start = len(main) - horizon - (windows - 1) * stride
    if start < max(2 * horizon, 8):
        raise ValueError(
            f"series {main.name!r}: {len(main)} steps are too short for {windows} backtest windows of "
            f"{horizon} steps with stride {stride}; use fewer {flag} or a shorter --horizon"
        )
    return start


def default_horizon(series: Any) -> int:
    s = series if not isinstance(series, list) else series[0]
    if 1 < s.season <= 52:
        return s.season
    return max(1, min(14, len(s) // 10))


def add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("LSTM forecaster")
    g.add_argument(
        "--horizon", type=int, default=None, help="steps to forecast (default: one season, else 14)"
    )
    g.add_argument("--window", type=int, default=None, help="input steps (default: two seasons)")
    g.add_argument(
        "--strategy",
        default="direct",
        choices=["direct", "seq2seq", "recursive"],
        help="multi-step strategy: all steps at once, encoder-decoder, or one step unrolled (default direct)",
    )
    g.add_argument(
        "--likelihood",
        default="quantile",
        choices=["quantile", "gaussian", "point"],
        help="output distribution: 21 quantiles, mean and deviation, or a median (default quantile)",
    )
    g.add_argument("--hidden", type=int, default=64, help="LSTM hidden size (default 64)")
    g.add_argument("--layers", type=int, default=1, help="LSTM layers (default 1)")
    g.add_argument("--variant", default="classic", help="LSTM variant (classic, vanilla, cifg, ...)")
    g.add_argument("--ensemble", type=int, default=5, help="networks from different seeds (default 5)")
    g.add_argument(
        "--max-epochs", type=int, default=200, help="epochs per network before early stopping (200)"
    )
    g.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    g.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default cpu)")


def forecaster_from_args(args: argparse.Namespace, horizon: int, progress: bool = True) -> Any:
    from lstmkit.apps.forecasting.estimator import Forecaster

    return Forecaster(
        horizon,
        window=args.window,
        strategy=args.strategy,
        likelihood=args.likelihood,
        hidden_size=args.hidden,
        num_layers=args.layers,
        variant=args.variant,
        ensemble=args.ensemble,
        max_epochs=args.max_epochs,
        seed=args.seed,
        device=args.device,
        progress=progress,
    )


# ---------------------------------------------------------------------- the command
def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="the main job: LSTM forecaster vs seasonal naive, ARIMA and ETS, with a report",
        description="Train the LSTM forecaster on a real series, backtest it next to seasonal naive, "
        "ARIMA and ETS on the same expanding windows, print the metrics table (stdout) and write "
        "runs/NAME/ with index.html, PNG plots, CSV/JSON tables and the fitted model. "
        "Examples: `lstmkit run`, `lstmkit run --dataset sunspots`, "
        "`lstmkit run --csv my.csv --target y --time date`.",
    )
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
        help="comma-separated: naive, seasonal_naive, arima, ets (default: the last three)",
    )
    g.add_argument("--name", default=None, help="report folder name under --out (default: the dataset name)")
    g.add_argument("--out", default="runs", help="parent folder of reports (default runs)")
    g.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run_main)


def run_main(args: argparse.Namespace) -> int:
    import numpy as np

    from lstmkit.apps.forecasting.base import as_series_list, backtest
    from lstmkit.apps.forecasting.baselines import make_baseline
    from lstmkit.io import plots
    from lstmkit.io.html import (
        format_table,
        metrics_table_html,
        prepare_run_folder,
        run_folder,
        write_json,
        write_page,
    )
    from lstmkit.io.tables import write_csv

    t_start = time.perf_counter()
    series, base_name = series_from_args(args)
    slist = as_series_list(series)
    main = max(slist, key=len)
    if args.name is not None and (args.name in ("", ".", "..") or any(c in args.name for c in "/\\")):
        raise ValueError(
            f"--name: expected a folder name (no path separators, not . or ..), got {args.name!r}"
        )
    target = os.path.join(args.out, args.name or base_name)
    prepare_run_folder(target, "run", overwrite=args.overwrite)  # before the work, not after
    horizon = args.horizon if args.horizon is not None else default_horizon(series)
    stride = args.stride if args.stride is not None else horizon
    if horizon < 1 or stride < 1:
        raise ValueError(f"--horizon, --stride: expected values >= 1, got {horizon} and {stride}")
    start = backtest_start(main, horizon, args.windows, stride, "--windows")
    progress = not args.no_progress
    label = (
        main.name
        if len(slist) == 1
        else f"{base_name} ({len(slist)} series: {', '.join(s.name for s in slist)})"
    )
    log.info(
        "series %s: %d steps, freq %s, season %d; horizon %d, %d backtest windows",
        main.name,
        len(main),
        main.freq,
        main.season,
        horizon,
        args.windows,
    )
    model = forecaster_from_args(args, horizon, progress)
    names = _cols(args.baselines)
    baselines = [make_baseline(b) for b in names]
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for m in [model, *baselines]:
        t0 = time.perf_counter()
        refit = bool(m is not model or args.refit == "every")
        log.info("backtest %s", m.name)
        results[m.name] = backtest(
            m, series, horizon, start=start, stride=stride, refit=refit, progress=progress
        )
        seconds[m.name] = time.perf_counter() - t0
    rows = []
    for name, r in results.items():
        row: dict[str, Any] = {"model": name, **r.metrics(), "seconds": seconds[name]}
        rows.append(row)
    # final model on all data, for the forecast beyond the end
    log.info("fitting the final model on all %d steps", len(main))
    final = model.clone().fit(series)
    fc = final.predict(horizon, series=main)
    assert not isinstance(fc, list)

    print(
        f"{label}: backtest over {args.windows} windows of {horizon} steps (stride {stride}), "
        f"mean over windows; LSTM refit {'at every origin' if args.refit == 'every' else 'once'}"
    )
    print(format_table(rows, METRIC_COLUMNS))
    best_stat = min(
        (r for r in rows if r["model"] in ("ARIMA", "ETS")), key=lambda r: r["MASE"], default=None
    )
    lstm = rows[0]
    snaive = next((r for r in rows if r["model"] == "seasonal naive"), None)
    verdict = []
    if snaive:
        verdict.append(f"LSTM vs seasonal naive: MASE {lstm['MASE']:.3f} vs {snaive['MASE']:.3f}")
    if best_stat:
        verdict.append(f"vs best of ARIMA/ETS ({best_stat['model']}): {best_stat['MASE']:.3f}")
    if verdict:
        print("; ".join(verdict))
    sys.stdout.flush()

    with run_folder(target, "run", overwrite=args.overwrite) as tmp:
        plots.plot_forecast(
            main,
            fc,
            os.path.join(tmp, "forecast.png"),
            history=max(4 * horizon, 3 * main.season),
            title=f"{main.name}: LSTM forecast, {horizon} steps, 80% and 95% intervals",
        )
        plots.plot_backtest(results, main, os.path.join(tmp, "backtest.png"))
        curves = final.history_ or {}
        plots.plot_losses(
            curves, os.path.join(tmp, "loss.png"), title="LSTM (first ensemble member) loss per epoch"
        )
        import pandas as pd

        write_csv(pd.DataFrame(rows), os.path.join(tmp, "metrics.csv"), index=False)
        write_csv(fc.to_frame(), os.path.join(tmp, "forecast.csv"), index_label="time")
        backtests = pd.concat([r.to_frame().assign(model=n) for n, r in results.items()])
        write_csv(backtests, os.path.join(tmp, "backtest.csv"), index=False)
        final.save(os.path.join(tmp, "model.pt"))
        summary = {
            "series": main.name,
            "description": main.description,
            "length": len(main),
            "freq": main.freq,
            "season": main.season,
            "horizon": horizon,
            "windows": args.windows,
            "stride": stride,
            "lstm_refit": args.refit,
            "metrics": rows,
            "lstm_config": {k: v for k, v in vars(final.config).items()},
            "window": final.layout_["window"],
            "selected": {b.name: getattr(b, "selected_", None) for b in baselines},
            "seconds": time.perf_counter() - t_start,
            "python": platform.python_version(),
        }
        write_json(os.path.join(tmp, "metrics.json"), summary)
        cfg = final.config
        intro = (
            f"<p>{html.escape(main.description or main.name)}: {len(main)} observations, "
            f"frequency {html.escape(str(main.freq or 'integer steps'))}, season {main.season}.</p>"
            f"<p class='note'>Backtest: expanding window, {args.windows} origins "
            f"{stride} steps apart, horizon {horizon}; every model forecasts the same windows; "
            "metrics are means over windows (MASE scaled by the in-sample seasonal naive error of each "
            "window's history; CRPS approximated by 19 quantiles; coverage of the 80% and 95% "
            "intervals). Baselines are refitted at "
            "every origin; the LSTM "
            f"{'too' if args.refit == 'every' else 'once, before the first origin'}.</p>"
        )
        lstm_desc = (
            f"<p>LSTM forecaster: strategy {cfg.strategy}, likelihood {cfg.likelihood}, window "
            f"{final.layout_['window']}, hidden {cfg.hidden_size} x {cfg.num_layers} layer(s), "
            f"variant {cfg.variant}, "
            f"ensemble of {cfg.ensemble}, early stopping (patience {cfg.patience}) then refit on all data. "
            f"Total run time {time.perf_counter() - t_start:.0f} s.</p>"
        )
        np.seterr(all="ignore")
        write_page(
            os.path.join(tmp, "index.html"),
            f"lstmkit run: {main.name}",
            [
                ("", intro),
                ("Backtest metrics", metrics_table_html(rows, METRIC_COLUMNS, best_by="MASE")),
                (
                    "Forecast beyond the data",
                    "<img src='forecast.png' alt='forecast'>"
                    + fc.to_frame().to_html(float_format=lambda v: f"{v:.2f}"),
                ),
                ("Backtest errors per model", "<img src='backtest.png' alt='backtest'>"),
                ("Training and validation loss", "<img src='loss.png' alt='loss curves'>" + lstm_desc),
                (
                    "Files",
                    "<p>metrics.csv, metrics.json, forecast.csv, backtest.csv, model.pt "
                    "(<code>lstmkit.Forecaster.load('model.pt')</code>)</p>",
                ),
            ],
        )
    print(f"report: {os.path.join(target, 'index.html')}")
    log.info("done in %.0f s", time.perf_counter() - t_start)
    return 0

"""``lstmkit glucose``: CGM forecasting 30 and 60 minutes ahead on simulated type-1 diabetes
patients, a global LSTM against persistence and ARIMA on unseen patients. The work is
:func:`lstmkit.apps.glucose.job.run`."""

from __future__ import annotations

import argparse
import dataclasses

from lstmkit.apps.common import options as opt
from lstmkit.apps.glucose import job

HELP = "glucose forecasting on simulated T1D patients (UVa/Padova): LSTM vs persistence and ARIMA"
DESCRIPTION = """
Simulate (once, cached) a cohort of virtual type-1 diabetes patients of the UVa/Padova simulator
(simglucose: adults, adolescents, children; random meals, basal-bolus controller, CGM every 5 min),
split it by patient, fit one global LSTM per horizon on the training patients (meals and insulin as
covariates) and forecast the unseen test patients at every origin after a warm-up; print RMSE and
the Clarke error grid zones of the LSTM, persistence and a per-patient ARIMA, and write
runs/NAME/ with the grids. --quick: 2 patients per group, 2 days, a short training.
"""


def _order(text: str) -> tuple[int, int, int]:
    parts = opt.comma_list(text)
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected p,d,q (three ints >= 0), got {text!r}")
    p, d, q = (int(v) for v in parts)
    return p, d, q


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "glucose", HELP, DESCRIPTION, glucose_main)
    data = p.add_argument_group("cohort (simulated once, cached in $LSTMKIT_DATA or ~/.cache/lstmkit)")
    data.add_argument(
        "--patients", type=int, default=None, help="patients per group, 1..10 (default 10: all 30)"
    )
    data.add_argument("--days", type=float, default=None, help="simulated days per patient (default 4)")
    data.add_argument("--cache", default=None, help="the cohort's cache folder ('' caches nothing)")
    data.add_argument("--quick", action="store_true", help="2 patients per group, 2 days, short training")
    ev = p.add_argument_group("split and evaluation")
    ev.add_argument(
        "--horizons", type=int, nargs="+", default=[30, 60], help="horizons in minutes (default 30 60)"
    )
    ev.add_argument("--test-share", type=float, default=0.3, help="share of each group held out (0.3)")
    ev.add_argument(
        "--warmup-hours", type=float, default=24.0, help="history-only start of a test trace (24)"
    )
    ev.add_argument("--stride", type=int, default=1, help="5-minute steps between forecast origins (1)")
    ev.add_argument(
        "--arima-order",
        type=_order,
        default=None,
        help="fix the ARIMA's p,d,q (default: searched per patient)",
    )
    g = p.add_argument_group("global LSTM")
    g.add_argument("--window", type=int, default=36, help="input window in 5-minute steps (36: 3 hours)")
    g.add_argument("--hidden", type=int, default=64, help="hidden size (64)")
    g.add_argument("--epochs", type=int, default=None, help="most epochs (default 60)")
    g.add_argument("--ensemble", type=int, default=None, help="networks from other seeds (default 2)")
    g.add_argument(
        "--no-covariates", action="store_true", help="without meals and insulin (CGM and time of day only)"
    )
    opt.add_seed_arg(g)
    opt.add_device_arg(g)
    p.add_argument("--name", default=None, help="report folder name (default glucose, glucose-quick)")
    opt.add_output_args(p, out_help="parent folder of the report (default runs)")
    opt.add_progress_arg(p)


def glucose_main(args: argparse.Namespace) -> int:
    defaults = (
        job.QUICK if args.quick else {f.name: f.default for f in dataclasses.fields(job.GlucoseJobConfig)}
    )
    chosen = {k: getattr(args, k) if getattr(args, k) is not None else defaults[k] for k in job.QUICK}
    values = {**chosen, "horizons": tuple(args.horizons), "covariates": not args.no_covariates, "echo": True}
    job.run(opt.config_from_args(job.GlucoseJobConfig, args, values))
    return 0

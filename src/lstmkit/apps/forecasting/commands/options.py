"""The options ``lstmkit run`` and ``lstmkit forecast`` share: the series (a bundled dataset
or a CSV file) and the LSTM forecaster, and the job settings they become."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.forecasting.job import ForecasterSettings, SeriesSource
from lstmkit.apps.forecasting.model import ARCHITECTURES
from lstmkit.apps.forecasting.windows import NORMALIZE

__all__ = ["add_model_args", "add_series_args", "model_settings", "series_source"]


def add_series_args(p: argparse.ArgumentParser, default_dataset: str | None = "airline") -> None:
    """The options of the data: ``--dataset``, or ``--csv`` with its columns and treatment."""
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


def add_model_args(p: argparse.ArgumentParser) -> None:
    """The options of the LSTM forecaster (or the architecture in the LSTM's place), its seed
    and device."""
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
    g.add_argument(
        "--architecture",
        default="lstm",
        choices=list(ARCHITECTURES),
        help="the encoder: an LSTM (default), a GRU, an Elman RNN, a causal Transformer or a TCN "
        "(comparison models: same data, training and budget), or es-lstm (Smyl's ES-hybrid: "
        "per-series exponential smoothing and a global LSTM; positive series)",
    )
    g.add_argument(
        "--normalize",
        default="auto",
        choices=list(NORMALIZE),
        help="window scaling: auto, window (its level), global (the series mean) or last (its last "
        "value; suits global models of many short series) (default auto)",
    )
    g.add_argument("--hidden", type=int, default=64, help="hidden size (default 64)")
    g.add_argument("--layers", type=int, default=1, help="layers (Transformer or TCN blocks; default 1)")
    g.add_argument("--variant", default="classic", help="LSTM variant (classic, vanilla, cifg, ...)")
    g.add_argument(
        "--heads", dest="num_heads", type=int, default=4, help="Transformer attention heads (default 4)"
    )
    g.add_argument("--kernel-size", type=int, default=3, help="TCN kernel size (default 3)")
    g.add_argument("--ensemble", type=int, default=5, help="networks from different seeds (default 5)")
    g.add_argument(
        "--max-epochs", type=int, default=200, help="epochs per network before early stopping (200)"
    )
    opt.add_seed_arg(g, help="base seed (default 0)")
    opt.add_device_arg(g)


def series_source(args: argparse.Namespace) -> SeriesSource:
    """The :class:`~lstmkit.apps.forecasting.job.SeriesSource` of :func:`add_series_args`'s options."""
    columns = {
        "covariates": opt.comma_list(args.covariates),
        "future_covariates": opt.comma_list(args.future_covariates),
    }
    return opt.config_from_args(SeriesSource, args, columns | {"default_dataset": args._default_dataset})


def model_settings(args: argparse.Namespace) -> ForecasterSettings:
    """The :class:`~lstmkit.apps.forecasting.job.ForecasterSettings` of :func:`add_model_args`'s options."""
    return opt.config_from_args(ForecasterSettings, args)

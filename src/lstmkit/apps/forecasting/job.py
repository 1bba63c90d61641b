"""The forecasting jobs: :func:`run` (``lstmkit run``: backtest of the LSTM forecaster next to
the baselines, final fit, forecast and report) and :func:`forecast` (``lstmkit forecast``: fit
or load, then forecast).

A job takes a config of plain values and returns a result object; the command modules only
turn their arguments into the config. The series comes from a bundled dataset or a CSV file
(:class:`SeriesSource`), the LSTM forecaster's settings from :class:`ForecasterSettings`.
Errors name the command-line flags of the setting at fault (``--device``, ``--windows``...),
and come before any long work: the device, the data and the output folder are checked first.

Backtest: every model forecasts the same ``W`` windows of ``H`` steps, whose origins lie
``stride`` steps apart and end at the end of the series; the first origin is

.. math::

    t_0 = T - H - (W - 1) \\cdot \\text{stride}

Example::

    >>> from lstmkit.apps.forecasting import job
    >>> config = job.RunJobConfig(
    ...     job.SeriesSource(dataset="airline"),
    ...     job.ForecasterSettings(ensemble=1, max_epochs=5),
    ...     windows=2, baselines=("seasonal_naive",), out=None,
    ... )
    >>> result = job.run(config)
    >>> [row["model"] for row in result.rows]
    ['LSTM', 'seasonal naive']
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from lstmkit.apps.common.bundled import resolve
from lstmkit.apps.common.options import pick
from lstmkit.apps.common.reports import OutputOptions, check_device, check_folder_name
from lstmkit.apps.forecasting import datasets
from lstmkit.apps.forecasting.base import BacktestResult, Forecast, ForecastModel, as_series_list, backtest
from lstmkit.apps.forecasting.baselines import make_baseline
from lstmkit.apps.forecasting.data import from_csv
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.series import TimeSeries
from lstmkit.io.atomic import check_output_file
from lstmkit.io.runfolder import prepare_run_folder

__all__ = [
    "ForecastJobConfig",
    "ForecastJobResult",
    "ForecasterSettings",
    "RunJobConfig",
    "RunJobResult",
    "SeriesSource",
    "backtest_rows",
    "backtest_start",
    "default_horizon",
    "forecast",
    "load_series",
    "run",
]

log = logging.getLogger("lstmkit.run")


# ---------------------------------------------------------------------- settings
@dataclass(frozen=True)
class SeriesSource:
    """Which series a job works on: a bundled dataset, or a column of a CSV file.

    Args:
        dataset: a bundled forecasting dataset (``lstmkit data list --task forecasting``).
        csv: a CSV file (give ``target``; ``dataset`` must then be ``None``).
        encoding: the text encoding of ``csv``.
        target: the column to forecast (``csv`` only).
        time: the column of dates or integer steps (``csv`` only; default: the row number).
        covariates: past covariate columns (observed with the target).
        future_covariates: known-future covariate columns.
        freq: a pandas frequency to resample an irregular index to (``csv`` only).
        season: observations per seasonal cycle (0: from the frequency).
        missing: ``"interpolate"``, ``"ffill"``, ``"zero"`` or ``"error"`` (``csv`` only).
        default_dataset: the dataset used when neither ``dataset`` nor ``csv`` is given.
    """

    dataset: str | None = None
    csv: str | None = None
    encoding: str = "utf-8"
    target: str | None = None
    time: str | None = None
    covariates: Sequence[str] = ()
    future_covariates: Sequence[str] = ()
    freq: str | None = None
    season: int = 0
    missing: str = "interpolate"
    default_dataset: str | None = "airline"


@dataclass(frozen=True)
class ForecasterSettings:
    """The settings of the LSTM forecaster a job trains (see :class:`~lstmkit.Forecaster`).

    Args:
        horizon: steps to forecast (``None``: one season, else up to 14).
        window: input steps (``None``: the forecaster's choice).
        strategy, likelihood, architecture, variant, num_heads, kernel_size: as
            :class:`~lstmkit.Forecaster` (``architecture``: ``"lstm"``, ``"gru"``, ``"rnn"``,
            ``"transformer"``, ``"tcn"`` or ``"es-lstm"``). normalize: the window scaling.
        hidden: hidden size (a Transformer's width, a TCN's channels). layers: layers (blocks).
        ensemble: networks from different seeds. max_epochs: epochs per network.
        lr: the learning rate. seed: base seed.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``.
    """

    horizon: int | None = None
    window: int | None = None
    strategy: str = "direct"
    likelihood: str = "quantile"
    architecture: str = "lstm"
    normalize: str = "auto"
    hidden: int = 64
    layers: int = 1
    variant: str = "classic"
    num_heads: int = 4
    kernel_size: int = 3
    ensemble: int = 5
    max_epochs: int = 200
    lr: float = 3e-3
    seed: int = 0
    device: str = "cpu"

    def build(self, horizon: int, progress: bool = True) -> Forecaster:
        """An unfitted :class:`~lstmkit.Forecaster` with these settings."""
        same = pick(self, "window", "strategy", "likelihood", "variant", "ensemble", "max_epochs", "lr")
        same |= pick(self, "architecture", "normalize", "num_heads", "kernel_size", "seed", "device")
        return Forecaster(horizon, hidden_size=self.hidden, num_layers=self.layers, progress=progress, **same)


@dataclass(frozen=True)
class RunJobConfig(OutputOptions):
    """The settings of :func:`run` (``lstmkit run``).

    Args:
        series: the data. model: the LSTM forecaster.
        windows: backtest windows. stride: steps between origins (``None``: the horizon).
        refit: ``"every"`` (refit the LSTM at every origin, as the baselines) or ``"once"``.
        baselines: names for :func:`~lstmkit.apps.forecasting.baselines.make_baseline`.
        name: the report folder's name under ``out`` (``None``: the data's name).
        (and :class:`~lstmkit.apps.common.reports.OutputOptions`: out, overwrite, progress, echo)
    """

    series: SeriesSource = field(default_factory=SeriesSource)
    model: ForecasterSettings = field(default_factory=ForecasterSettings)
    windows: int = 3
    stride: int | None = None
    refit: str = "every"
    baselines: Sequence[str] = ("seasonal_naive", "arima", "ets")
    name: str | None = None


@dataclass
class RunJobResult:
    """What :func:`run` found.

    Attributes:
        series: the longest series (the one forecast and plotted); label: its name in the table.
        horizon, stride, windows: the backtest's shape. refit: the LSTM's refit rule.
        rows: one metrics row per model (``model``, MASE, sMAPE, ..., ``seconds``), LSTM first.
        backtests: each model's :class:`~lstmkit.apps.forecasting.base.BacktestResult`.
        final: the LSTM fitted on all data. forecast: its forecast beyond the data.
        selected: each baseline's selected model (ARIMA orders, ETS form), or ``None``.
        folder: the report folder (``None`` without one). started: ``time.perf_counter()`` at
            the start.
        source: where the series came from (``metrics.json`` records it, so that ``lstmkit
            explain`` finds the data again).
    """

    series: TimeSeries
    label: str
    horizon: int
    stride: int
    windows: int
    refit: str
    rows: list[dict[str, Any]]
    backtests: dict[str, BacktestResult]
    final: Forecaster
    forecast: Forecast
    selected: dict[str, Any]
    folder: str | None
    started: float
    source: SeriesSource | None = None


@dataclass(frozen=True)
class ForecastJobConfig:
    """The settings of :func:`forecast` (``lstmkit forecast``).

    Args:
        series: the data. model: the LSTM forecaster (its horizon and device also apply to a
            loaded one).
        save: write the fitted forecaster here. load: use this saved forecaster instead of fitting.
        backtest: also backtest over this many windows next to the baselines (not with ``load``).
        progress: progress bars on stderr.
        echo: print the backtest table (stderr) and the forecast as CSV (stdout).
    """

    series: SeriesSource = field(default_factory=SeriesSource)
    model: ForecasterSettings = field(default_factory=ForecasterSettings)
    save: str | None = None
    load: str | None = None
    backtest: int = 0
    progress: bool = True
    echo: bool = False


@dataclass
class ForecastJobResult:
    """What :func:`forecast` made: the forecaster, its forecast and the backtest rows (if any)."""

    model: Forecaster
    forecast: Forecast
    backtest_rows: list[dict[str, Any]]


# ---------------------------------------------------------------------- the series
def load_series(source: SeriesSource, device: str = "cpu") -> tuple[TimeSeries | list[TimeSeries], str]:
    """The series (one, or a list of them) and a short name for the run; checks ``device``
    first, before any data is read."""
    check_device(device)
    if source.csv:
        if source.dataset:
            raise ValueError("--csv and --dataset: give one of them, not both")
        if not source.target:
            raise ValueError("--target: required with --csv (the column to forecast)")
        series = from_csv(
            source.csv,
            source.target,
            time=source.time,
            past_covariates=list(source.covariates),
            future_covariates=list(source.future_covariates),
            freq=source.freq,
            season=source.season,
            missing=source.missing,
            encoding=source.encoding,
        )
        return series, os.path.splitext(os.path.basename(source.csv))[0]
    for flag in ("target", "time", "freq"):
        if getattr(source, flag):
            raise ValueError(f"--{flag}: only used with --csv")
    name = source.dataset or source.default_dataset
    if name is None:
        raise ValueError("--dataset or --csv: tell which series to use")
    info = resolve(name, datasets.DATASETS, datasets.ALIASES)
    data = datasets.load_panel(info.name)
    if source.season:
        data = [dataclasses.replace(s, season=source.season) for s in data]
    return (data[0] if len(data) == 1 else data), info.name


def default_horizon(series: TimeSeries | list[TimeSeries]) -> int:
    """One season (when it is 2 to 52 steps), else a tenth of the series, between 1 and 14."""
    s = series if not isinstance(series, list) else series[0]
    if 1 < s.season <= 52:
        return s.season
    return max(1, min(14, len(s) // 10))


def backtest_start(main: TimeSeries, horizon: int, windows: int, stride: int, flag: str) -> int:
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


def backtest_rows(
    models: Sequence[ForecastModel],
    series: TimeSeries | list[TimeSeries],
    horizon: int,
    *,
    start: int,
    stride: int | None = None,
    refit_lstm: bool = True,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, BacktestResult]]:
    """Backtest each model on the same windows: one row per model (its metrics and the
    ``seconds`` it took) and each model's backtest. The first model is the LSTM, refitted at
    every origin only with ``refit_lstm``; the baselines always are."""
    rows, results = [], {}
    for k, m in enumerate(models):
        t0 = time.perf_counter()
        log.info("backtest %s", m.name)
        extra = {} if stride is None else {"stride": stride}
        results[m.name] = backtest(
            m, series, horizon, start=start, refit=bool(k > 0 or refit_lstm), progress=progress, **extra
        )
        rows.append({"model": m.name, **results[m.name].metrics(), "seconds": time.perf_counter() - t0})
    return rows, results


# ---------------------------------------------------------------------- lstmkit run
def run(config: RunJobConfig) -> RunJobResult:
    """The main job: backtest the LSTM forecaster next to the baselines on the same expanding
    windows, fit it on all data, forecast beyond the end and (with ``config.out``) write the
    report folder (see :mod:`lstmkit.apps.forecasting.report`).

    Args:
        config: the settings.

    Returns:
        the metrics, backtests, final model and forecast (:class:`RunJobResult`).
    """
    started = time.perf_counter()
    series, base_name = load_series(config.series, config.model.device)
    slist = as_series_list(series)
    main = max(slist, key=len)
    folder = _report_folder(config, base_name)
    horizon = config.model.horizon if config.model.horizon is not None else default_horizon(series)
    stride, start = _check_run(config, main, horizon)
    model = config.model.build(horizon, config.progress)
    baselines = [make_baseline(b) for b in config.baselines]
    rows, backtests = backtest_rows(
        [model, *baselines],
        series,
        horizon,
        start=start,
        stride=stride,
        refit_lstm=config.refit == "every",
        progress=config.progress,
    )
    log.info("fitting the final model on all %d steps", len(main))
    final = cast(Forecaster, model.clone()).fit(series)
    fc = final.predict(horizon, series=main)
    assert not isinstance(fc, list)
    label = (
        main.name
        if len(slist) == 1
        else f"{base_name} ({len(slist)} series: {', '.join(s.name for s in slist)})"
    )
    selected = {b.name: getattr(b, "selected_", None) for b in baselines}
    result = RunJobResult(
        main,
        label,
        horizon,
        stride,
        config.windows,
        config.refit,
        rows,
        backtests,
        final,
        fc,
        selected,
        folder,
        started,
        config.series,
    )
    _deliver(result, config)
    return result


def _deliver(result: RunJobResult, config: RunJobConfig) -> None:
    """Print the table (with ``echo``) and write the report folder (with ``out``)."""
    from lstmkit.apps.forecasting import report

    if config.echo:
        print(report.summary(result))
        sys.stdout.flush()
    if result.folder is not None:
        report.write_report(result, result.folder, overwrite=config.overwrite)
        if config.echo:
            print(f"report: {os.path.join(result.folder, 'index.html')}")
    log.info("done in %.0f s", time.perf_counter() - result.started)


def _report_folder(config: RunJobConfig, base_name: str) -> str | None:
    """The report folder, checked and prepared before the work (``None`` without ``out``)."""
    check_folder_name(config.name)
    if config.out is None:
        return None
    folder = os.path.join(config.out, config.name or base_name)
    prepare_run_folder(folder, "run", overwrite=config.overwrite)  # before the work, not after
    return folder


def _check_run(config: RunJobConfig, main: TimeSeries, horizon: int) -> tuple[int, int]:
    """The backtest's stride and first origin, checked (and logged with the series)."""
    stride = config.stride if config.stride is not None else horizon
    if horizon < 1 or stride < 1:
        raise ValueError(f"--horizon, --stride: expected values >= 1, got {horizon} and {stride}")
    start = backtest_start(main, horizon, config.windows, stride, "--windows")
    log.info(
        "series %s: %d steps, freq %s, season %d; horizon %d, %d backtest windows",
        main.name,
        len(main),
        main.freq,
        main.season,
        horizon,
        config.windows,
    )
    return stride, start


# ---------------------------------------------------------------------- lstmkit forecast
def forecast(config: ForecastJobConfig) -> ForecastJobResult:
    """Fit the LSTM forecaster on the whole series (or load a saved one) and forecast beyond
    the end; with ``config.backtest``, backtest it first next to seasonal naive, ARIMA and ETS.

    Args:
        config: the settings.

    Returns:
        the forecaster, its forecast and the backtest rows (:class:`ForecastJobResult`).
    """
    series, _ = load_series(config.series, config.model.device)
    if config.save:
        check_output_file(config.save, "--save", torch_file=True)  # before the training, not after
    main = max(as_series_list(series), key=len)
    rows: list[dict[str, Any]] = []
    if config.load:
        if config.backtest:
            raise ValueError("--backtest: refits the model at every origin; it cannot be used with --load")
        model = Forecaster.load(config.load, device=config.model.device, progress=config.progress)
        horizon = config.model.horizon if config.model.horizon is not None else model.horizon
    else:
        horizon = config.model.horizon if config.model.horizon is not None else default_horizon(series)
        model = config.model.build(horizon, config.progress)
        if config.backtest:
            rows = _forecast_backtest(config, model, series, main, horizon)
        model.fit(series)
        if config.save:
            model.save(config.save)
            log.info("saved the forecaster to %s", config.save)
    fc = model.predict(horizon, series=main)
    assert not isinstance(fc, list)
    if config.echo:
        from lstmkit.io.tables import csv_text

        sys.stdout.write(csv_text(fc.to_frame(), index_label="time", float_format="%.4f"))
    return ForecastJobResult(model, fc, rows)


def _forecast_backtest(
    config: ForecastJobConfig,
    model: Forecaster,
    series: TimeSeries | list[TimeSeries],
    main: TimeSeries,
    horizon: int,
) -> list[dict[str, Any]]:
    """``lstmkit forecast --backtest K``: the rows of the LSTM and the three baselines over K
    windows one horizon apart (printed on stderr with ``echo``: stdout is the forecast)."""
    from lstmkit.io.html import format_table

    start = backtest_start(main, horizon, config.backtest, horizon, "--backtest")
    models = [model, *(make_baseline(b) for b in ("seasonal_naive", "arima", "ets"))]
    rows, _ = backtest_rows(models, series, horizon, start=start, progress=config.progress)
    if config.echo:
        columns = ["model", "MASE", "sMAPE", "MAE", "RMSE", "CRPS", "coverage80", "coverage95"]
        print(format_table(rows, columns), file=sys.stderr)
    return rows

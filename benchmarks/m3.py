"""The M3 and M1 competitions: global LSTMs against the competitions' classical methods.

Every model forecasts every series of a competition from its training part, for the official
horizon, and is scored by the competitions' sMAPE and by MASE, pooled over all forecast points
per category and overall (:mod:`lstmkit.apps.forecasting.competitions`):

* the statistical methods of the M4 benchmark code, per series
  (:mod:`lstmkit.apps.forecasting.baselines.classical`: seasonal naive, Naive2, SES, Holt,
  damped, Theta, Comb), and the automatic ETS and ARIMA of :mod:`lstmkit.baselines`;
* ``lstm``: one global LSTM per category over all its series (``normalize="last"``, log values,
  a direct head, an ensemble of seeds);
* ``es-lstm``: the ES-hybrid (``Forecaster(architecture="es-lstm")``), one per category.

The LSTMs' settings (:data:`SETTINGS`) were chosen from a few runs on M3 and are used as they
are on M1. Results are kept per (competition, model, category) in
``benchmarks/results/m3.json`` (forecasts in ``benchmarks/results/m3/``): a rerun skips what
is there (``--force`` redoes it), ``--render`` writes ``docs/m3.md`` from them.

    python benchmarks/m3.py                               # M3, every model and category
    python benchmarks/m3.py --competition m1              # M1 with the same settings
    python benchmarks/m3.py --models lstm --categories yearly --members 1   # one quick piece
    python benchmarks/m3.py --render
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from common import load_average
from m3_report import PAIR_NAME, pair_rows, render

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "m3.json"
FORECASTS = ROOT / "benchmarks" / "results" / "m3"
CLASSICAL = ("seasonal_naive", "naive2", "ses", "holt", "damped", "theta", "comb")
STATISTICAL = ("ets", "arima")
LSTMS = ("lstm", "es-lstm")
MODELS = (*CLASSICAL, *STATISTICAL, *LSTMS)
CATEGORIES = ("yearly", "quarterly", "monthly", "other")

#: the LSTMs' settings per category (chosen on M3, used unchanged on M1); ``members`` is the
#: ensemble (``--members`` overrides it)
_GLOBAL = {"calendar": False, "likelihood": "point", "normalize": "last", "log": True, "hidden_size": 32,
           "dropout": 0.2, "max_epochs": 30, "patience": None}  # fmt: skip
_ES = {"architecture": "es-lstm", "hidden_size": 32, "lr": 3e-3, "max_epochs": 40, "patience": 6}
SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "lstm": {
        "yearly": {**_GLOBAL, "window": 6},
        "quarterly": {**_GLOBAL, "window": 8},
        "monthly": {**_GLOBAL, "window": 24},
        "other": {**_GLOBAL, "window": 8},
    },
    "es-lstm": {c: dict(_ES) for c in CATEGORIES},
}
MEMBERS = 5

#: published sMAPE on M3 (all points pooled): Makridakis & Hibon (2000), Table 6 and the
#: M3 averages; N-BEATS: Oreshkin et al. (2020), Table 2
PUBLISHED = {
    "Naive2": {"yearly": 17.88, "quarterly": 9.95, "monthly": 16.91, "other": 6.30, "overall": 15.47},
    "Comb S-H-D": {"overall": 13.52},
    "ForecastPro": {"overall": 13.19},
    "Theta (M3 winner)": {
        "yearly": 16.90,
        "quarterly": 8.96,
        "monthly": 13.85,
        "other": 4.41,
        "overall": 13.01,
    },
    "N-BEATS": {"yearly": 15.93, "quarterly": 8.84, "monthly": 13.11, "other": 4.24, "overall": 12.37},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--competition", choices=("m3", "m1"), default="m3", help="default m3")
    p.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    p.add_argument("--categories", default=",".join(CATEGORIES), help="comma-separated (default all)")
    p.add_argument("--members", type=int, default=MEMBERS, help=f"LSTM ensemble size (default {MEMBERS})")
    p.add_argument("--jobs", type=int, default=1, help="pieces run at once, one thread each (default 1)")
    p.add_argument("--force", action="store_true", help="redo pieces already in the results")
    p.add_argument("--render", action="store_true", help="only write docs/m3.md from the results")
    p.add_argument("--markdown", default=str(ROOT / "docs" / "m3.md"), help="the page --render writes")
    args = p.parse_args(argv)
    for name, given, known in (
        ("--models", args.models, MODELS),
        ("--categories", args.categories, CATEGORIES),
    ):
        bad = [x for x in given.split(",") if x not in known]
        if bad:
            p.error(f"{name}: expected some of {', '.join(known)}, got {', '.join(bad)}")
    return args


# ---------------------------------------------------------------------- one piece
def run_piece(competition: str, model: str, category: str, members: int) -> dict[str, Any]:
    """Forecasts of one model for one category of a competition, their scores and seconds."""
    import torch

    from lstmkit.apps.forecasting.competitions import load_competition, pooled

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    series = load_competition(competition, category)
    start = time.perf_counter()
    if model in CLASSICAL:
        forecasts = _classical(series, model)
        settings: dict[str, Any] = {}
    elif model in STATISTICAL:
        forecasts = _statistical(series, model)
        settings = {}
    else:
        settings = {**SETTINGS[model][category], "ensemble": members}
        forecasts = _lstm(series, settings)
    seconds = time.perf_counter() - start
    score = pooled(series, forecasts)[category]
    FORECASTS.mkdir(parents=True, exist_ok=True)
    np.save(FORECASTS / f"{competition}-{model}-{category}.npy", np.concatenate(forecasts))
    return {**score, "points": int(sum(s.horizon for s in series)), "seconds": seconds, "settings": settings,
            "threads": torch.get_num_threads()}  # fmt: skip


def _classical(series: list, model: str) -> list[np.ndarray]:
    from lstmkit.apps.forecasting.baselines import classical

    method = getattr(classical, model)
    return [method(s.train, s.horizon, s.period) for s in series]


def _statistical(series: list, model: str) -> list[np.ndarray]:
    from lstmkit.apps.forecasting.baselines import make_baseline

    out = []
    for s in series:
        f = make_baseline(model).fit(s.series()).predict(s.horizon)
        out.append(np.asarray(f.point, dtype=float))  # type: ignore[union-attr]
    return out


def _lstm(series: list, settings: dict[str, Any]) -> list[np.ndarray]:
    from lstmkit import Forecaster

    panel = [s.series() for s in series]
    model = Forecaster(series[0].horizon, **settings, progress=False, seed=0)
    model.fit(panel)
    forecasts = model.predict(series=panel)
    assert isinstance(forecasts, list)
    return [np.asarray(f.point, dtype=float) for f in forecasts]


# ---------------------------------------------------------------------- the study
def load_results() -> dict[str, Any]:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def save_results(results: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=True))
    tmp.replace(RESULTS)


def study(args: argparse.Namespace) -> None:
    results = load_results()
    done = results.setdefault(args.competition, {})
    pieces = [
        (m, c)
        for m in args.models.split(",")
        for c in args.categories.split(",")
        if (args.force or c not in done.get(m, {})) and not (args.competition == "m1" and c == "other")
    ]
    # the long pieces first, so that parallel jobs end together
    pieces.sort(key=lambda p: (p[0] not in LSTMS, p[1] != "monthly"))
    print(f"{len(pieces)} pieces; load average {load_average()}", file=sys.stderr)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        running = {(m, c): pool.submit(run_piece, args.competition, m, c, args.members) for m, c in pieces}
        for (m, c), future in running.items():
            row = future.result()
            results = load_results()
            results.setdefault(args.competition, {}).setdefault(m, {})[c] = row
            save_results(results)
            print(f"{args.competition} {m:14s} {c:9s} sMAPE {row['sMAPE']:6.2f}  MASE {row['MASE']:5.2f}  "
                  f"{row['seconds']:7.1f} s", flush=True)  # fmt: skip
    print(f"{time.perf_counter() - start:.0f} s wall; load average {load_average()}", file=sys.stderr)
    results = load_results()
    pair = pair_rows(args.competition, results)
    if pair:
        results[args.competition][PAIR_NAME] = pair
        save_results(results)


def main() -> None:
    args = parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1" if args.jobs > 1 else "2")
    if not args.render:
        study(args)

    Path(args.markdown).write_text(render(load_results(), SETTINGS, PUBLISHED))
    print(f"wrote {args.markdown}", file=sys.stderr)


if __name__ == "__main__":
    main()

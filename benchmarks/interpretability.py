"""The forecaster's explanations on held-out data, for docs/interpretability.md.

Fits the LSTM forecaster on Seattle's daily maximum temperature (bundled ``seattle_weather``:
minimum temperature, precipitation and wind as past covariates) without its last ``--windows``
weeks, then explains the forecast from the end of the full series: integrated gradients and
occlusion of each horizon day over the input window, and the covariates' permutation importance
(the increase of the mean MASE over the held-out weeks when one covariate's values are
shuffled, ``--repeats`` shuffles). Prints the numbers; writes the pictures into ``--out``.

    python benchmarks/interpretability.py                         # pictures into docs/images
    python benchmarks/interpretability.py --quick --out /tmp/x    # a smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from lstmkit.apps.forecasting.datasets import load_series
from lstmkit.apps.forecasting.estimator import Forecaster
from lstmkit.apps.forecasting.explain import explain_forecaster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/images", help="folder of the pictures (default docs/images)")
    parser.add_argument("--windows", type=int, default=8, help="held-out weeks (default 8)")
    parser.add_argument("--repeats", type=int, default=10, help="shuffles per covariate (default 10)")
    parser.add_argument("--epochs", type=int, default=100, help="training epochs at most (default 100)")
    parser.add_argument("--quick", action="store_true", help="a tiny model and few shuffles (smoke run)")
    args = parser.parse_args(argv)
    series, horizon = load_series("seattle_weather"), 7
    epochs, repeats = (2, 2) if args.quick else (args.epochs, args.repeats)
    model = Forecaster(
        horizon=horizon,
        window=28,
        hidden_size=32,
        ensemble=1 if args.quick else 3,
        max_epochs=epochs,
        progress=False,
    )
    started = time.process_time()
    model.fit(series.head(len(series) - args.windows * horizon))
    fitted = time.process_time() - started
    ex = explain_forecaster(model, series, windows=args.windows, repeats=repeats)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ex.write(out, "interpret-forecast-")
    imp = ex.importance
    assert imp is not None
    print(f"seattle_weather: fitted on {len(series) - args.windows * horizon} days in {fitted:.0f} s CPU")
    print(f"integrated gradients: largest relative completeness gap {ex.max_gap:.2e}")
    print(f"held-out MASE (last {args.windows} weeks): {imp.base_mase:.3f}")
    print("| covariate | MASE increase when shuffled (mean ± sd over shuffles) |\n|---|---:|")
    for name, mean, sd in zip(imp.names, imp.mean, imp.spread):
        print(f"| {name} | {mean:+.3f} ± {sd:.3f} |")
    totals = ex.channel_totals().sum(0)
    order = np.argsort(-np.abs(totals))
    print("\n| input channel | integrated gradients, summed over steps and horizon |\n|---|---:|")
    for k in order:
        print(f"| {ex.channels[k]} | {totals[k]:+.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

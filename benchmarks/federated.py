"""Federated training study (issue 20, docs/federated.md): FedAvg (Flower, in one process) of the
Forecaster over the M3 monthly domains and of the char LM over the bundled corpora, against
centralized training and each client alone, for the same total epochs; one torch thread.

    OMP_NUM_THREADS=1 python benchmarks/federated.py                      # both studies
    OMP_NUM_THREADS=1 python benchmarks/federated.py --tasks forecast --rounds 20 --local-epochs 2
    OMP_NUM_THREADS=1 python benchmarks/federated.py --tasks lm --by fortune-file --rounds 80
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

from lstmkit.apps.federated import job


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default="forecast,lm", help="forecast, lm or both (default)")
    p.add_argument("--rounds", type=int, default=40, help="rounds (40)")
    p.add_argument("--local-epochs", type=int, default=1, help="local epochs per round (1)")
    p.add_argument("--strategy", choices=("fedavg", "fedprox"), default="fedavg")
    p.add_argument("--by", choices=tuple(job.LM_CLIENTS), default="corpus", help="the LM's clients (corpus)")
    p.add_argument("--personalize", type=int, default=1, help="local epochs of the +local row (1)")
    p.add_argument("--out", default=None, help="parent of the run folders (none: print only)")
    args = p.parse_args(argv)
    for task in [t.strip() for t in args.tasks.split(",") if t.strip()]:
        config = job.FederatedJobConfig(
            task,
            rounds=args.rounds,
            local_epochs=args.local_epochs,
            strategy=args.strategy,
            personalize=args.personalize,
            by=args.by,
            out=args.out,
        )
        result = job.run(config)
        print(job.summary_text(result))
        central = next(r for r in result.rows if r["method"] == "centralized")["mean"]
        fed = next(r for r in result.rows if r["method"] == args.strategy)
        alone = next(r for r in result.rows if r["method"] == "alone")["scores"]
        local = next((r for r in result.rows if r["method"].endswith("+local")), None)
        for row in [fed] + ([local] if local else []):
            beats = sum(f < a for f, a in zip(row["scores"], alone))
            print(
                f"{task}: {row['method']} / centralized = {row['mean'] / central:.3f} (must reach <= 1.05); "
                f"better than alone on {beats} of {len(alone)} clients"
            )
        print(f"{task}: {result.seconds:.0f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

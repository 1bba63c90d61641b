"""``lstmkit federated forecast|lm``: federated (Flower FedAvg / FedProx) against centralized and
client-alone training. The work is :func:`lstmkit.apps.federated.job.run`."""

from __future__ import annotations

import argparse

from lstmkit.apps.common import options as opt
from lstmkit.apps.federated import job

HELP = "federated training (Flower FedAvg/FedProx) vs centralized and each client alone"
DESCRIPTION = """
Train one model over clients that each hold different data (non-IID), with Flower's FedAvg or
FedProx run in this process, and compare it with centralized training on every client's data and
with each client alone, for the same total epochs. forecast: the Forecaster over M3 monthly
series, one client per domain (micro, industry, macro, finance, demographic, other), scored by
MASE on each series' official hold-out. lm: a char LSTM LM, one client per bundled corpus (kjv,
fortunes, pydoc) or per fortune file (--by fortune-file: computers, people, politics, science,
songs-poems, work), one shared vocabulary; every method keeps the epoch or round that scored
best on the clients' validation text and is scored by bits per character on their test text.
The table goes to stdout, federated.json and report.md to runs/NAME/.
"""

TASK_HELP = {
    "forecast": "the Forecaster over M3 monthly domains (MASE)",
    "lm": "the char LM over the bundled corpora or fortune files (bits/char)",
}


def _add_task(sub: argparse._SubParsersAction, task: str) -> None:
    p = opt.add_command(sub, task, TASK_HELP[task], TASK_HELP[task] + ".", federated_main)
    p.set_defaults(task=task)
    p.add_argument("--rounds", type=int, default=10, help="federated rounds R (10)")
    p.add_argument("--local-epochs", type=int, default=2, help="local epochs e per round (2)")
    p.add_argument("--clients", type=opt.comma_list, default=None, help="client names, comma-separated (all)")
    p.add_argument("--strategy", choices=("fedavg", "fedprox"), default="fedavg", help="fedavg (default)")
    p.add_argument("--mu", type=float, default=0.01, help="FedProx's proximal weight (0.01)")
    p.add_argument(
        "--personalize",
        type=int,
        default=0,
        metavar="P",
        help="also score the global model after P more local epochs on each client (0: off)",
    )
    if task == "forecast":
        p.add_argument("--per-client", type=int, default=40, help="series per client (40)")
    else:
        p.add_argument(
            "--by",
            choices=tuple(job.LM_CLIENTS),
            default="corpus",
            help="one client per corpus (default: kjv, fortunes, pydoc) or per fortune file",
        )
        p.add_argument(
            "--chars",
            type=int,
            default=None,
            help="training characters per client (40000 a corpus, 20000 a fortune file)",
        )
        p.add_argument(
            "--last",
            dest="select",
            action="store_false",
            help="score every method at its last epoch or round, not at its best on validation text",
        )
    p.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    p.add_argument("--name", default=None, help="run folder name (federated-TASK)")
    opt.add_seed_arg(p)
    opt.add_output_args(p, out_help="parent of the run folder (runs)")


def register(sub: argparse._SubParsersAction) -> None:
    p = opt.add_command(sub, "federated", HELP, DESCRIPTION)
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task in job.TASKS:
        _add_task(tasks, task)


def federated_main(args: argparse.Namespace) -> int:
    clients = tuple(args.clients) if args.clients is not None else None
    result = job.run(opt.config_from_args(job.FederatedJobConfig, args, {"clients": clients}))
    print(job.summary_text(result))
    return 0

"""The federated job: build the clients, compare centralized, federated and client-alone training,
print the table and write ``<out>/<name>/federated.json`` and ``report.md``.

Example::

    >>> result = run(FederatedJobConfig("lm", rounds=2, local_epochs=1, out=None))
    >>> [row["method"] for row in result.rows]
    ['centralized', 'fedavg', 'alone']
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from lstmkit.apps.federated.data import (
    FORTUNE_CLIENTS,
    TEXT_CORPORA,
    forecast_clients,
    fortune_clients,
    text_clients,
)
from lstmkit.apps.federated.federation import Task, compare
from lstmkit.apps.federated.flower import STRATEGIES
from lstmkit.io.atomic import atomic_write_text
from lstmkit.io.html import format_table
from lstmkit.io.runfolder import prepare_run_folder, run_folder

__all__ = ["LM_CLIENTS", "TASKS", "FederatedJobConfig", "FederatedJobResult", "run", "summary_text"]

TASKS = ("forecast", "lm")

#: who the LM's clients are, and the training characters each holds by default
LM_CLIENTS = {"corpus": 40_000, "fortune-file": 20_000}


@dataclass(frozen=True)
class FederatedJobConfig:
    """Settings of one federated study.

    Args:
        task: ``"forecast"`` (M3 monthly domains) or ``"lm"`` (bundled corpora).
        rounds, local_epochs: R rounds of e local epochs; centralized and alone train R * e epochs.
        clients: the client names (default: every domain / corpus).
        strategy: ``"fedavg"`` or ``"fedprox"`` (``mu``: FedProx's proximal weight).
        personalize: P > 0 adds the row ``"<strategy>+local"``: the final global model trained P
            more local epochs by each client, scored on its data (0: no such row).
        per_client: series per forecasting client.
        by: the LM's clients: one per bundled ``"corpus"`` (kjv, fortunes, pydoc) or one per
            ``"fortune-file"`` (computers, people, politics, science, songs-poems, work).
        chars: training characters per text client (None: 40,000 a corpus, 20,000 a fortune file).
        select: where the clients hold validation data (the LM), every method keeps its epoch
            or round that scored best there, and test data scores it (False: the last epoch or
            round, scored on the test data).
        seed, threads, out, name, overwrite: the run.
    """

    task: str
    rounds: int = 10
    local_epochs: int = 2
    clients: tuple[str, ...] | None = None
    strategy: str = "fedavg"
    mu: float = 0.01
    personalize: int = 0
    per_client: int = 40
    by: str = "corpus"
    chars: int | None = None
    select: bool = True
    seed: int = 0
    threads: int = 1
    out: str | None = "runs"
    name: str | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task: expected one of {', '.join(TASKS)}, got {self.task!r}")
        if self.by not in LM_CLIENTS:
            raise ValueError(f"by: expected one of {', '.join(LM_CLIENTS)}, got {self.by!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy: expected one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        for name in ("rounds", "local_epochs", "per_client", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name.replace('_', '-')}: expected an int >= 1, got {value!r}")
        if (
            isinstance(self.personalize, bool)
            or not isinstance(self.personalize, int)
            or self.personalize < 0
        ):
            raise ValueError(f"personalize: expected an int >= 0, got {self.personalize!r}")
        if not 0 <= self.mu < float("inf"):
            raise ValueError(f"mu: expected a finite value >= 0, got {self.mu}")


@dataclass
class FederatedJobResult:
    """The rows of :func:`~lstmkit.apps.federated.federation.compare`, the client names, the
    metric and the run folder (``None`` without ``out``)."""

    config: FederatedJobConfig
    clients: list[str]
    metric: str
    rows: list[dict[str, Any]]
    seconds: float = 0.0
    folder: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _task(config: FederatedJobConfig) -> Task:
    if config.task == "forecast":
        from lstmkit.apps.federated.forecast import ForecastTask

        chosen = forecast_clients(config.per_client, config.clients, seed=config.seed)
        return ForecastTask(chosen, seed=config.seed)
    from lstmkit.apps.federated.textlm import TextTask

    chars = config.chars if config.chars is not None else LM_CLIENTS[config.by]
    if config.by == "fortune-file":
        files = config.clients if config.clients is not None else FORTUNE_CLIENTS
        return TextTask(fortune_clients(files, train_chars=chars), seed=config.seed)
    corpora = config.clients if config.clients is not None else TEXT_CORPORA
    return TextTask(text_clients(corpora, train_chars=chars), seed=config.seed)


def run(config: FederatedJobConfig) -> FederatedJobResult:
    """Run the study (one torch thread by default) and write the run folder (``out``)."""
    name = config.name or f"federated-{config.task}"
    folder = None if config.out is None else os.path.join(config.out, name)
    if folder is not None:
        prepare_run_folder(folder, "federated", overwrite=config.overwrite)
    torch.set_num_threads(config.threads)
    t0 = time.perf_counter()
    task = _task(config)
    select = config.select and task.selects
    rows = compare(
        task, config.rounds, config.local_epochs, (config.strategy,), config.mu, config.personalize, select
    )
    result = FederatedJobResult(
        config, list(task.clients), task.metric, rows, time.perf_counter() - t0, folder, {"select": select}
    )
    if folder is not None:
        with run_folder(folder, "federated", overwrite=config.overwrite) as tmp:
            atomic_write_text(os.path.join(tmp, "federated.json"), json.dumps(_payload(result), indent=2))
            atomic_write_text(os.path.join(tmp, "report.md"), report_markdown(result))
    return result


def _payload(result: FederatedJobResult) -> dict[str, Any]:
    return {
        "config": dataclasses.asdict(result.config),
        "clients": result.clients,
        "metric": result.metric,
        "rows": result.rows,
        "seconds": result.seconds,
    }


def _table_rows(result: FederatedJobResult) -> list[dict[str, Any]]:
    return [
        {
            "method": r["method"],
            **dict(zip(result.clients, r["scores"])),
            "mean": r["mean"],
            "seconds": r["seconds"],
        }
        for r in result.rows
    ]


def summary_text(result: FederatedJobResult) -> str:
    """The table printed on stdout: each method's score on every client's held-out data."""
    c = result.config
    head = (
        f"{result.metric} (lower is better) on each client's held-out data; {c.rounds} rounds x "
        f"{c.local_epochs} local epochs (centralized and alone: {c.rounds * c.local_epochs} epochs); "
        "alone: each client's own model on its own data"
    )
    if result.extra.get("select"):
        kept = ", ".join(f"{r['method']} round {r['round']}" for r in result.rows if "round" in r)
        head += (
            "; every method at its epoch or round with the best validation score, scored on test "
            f"data ({kept})"
        )
    columns = ["method", *result.clients, "mean", "seconds"]
    return "\n".join([head, format_table(_table_rows(result), columns, floatfmt=".4f")])


def report_markdown(result: FederatedJobResult) -> str:
    """``report.md``: the command's settings, the table and the global model's curve per round."""
    lines = [f"# Federated {result.config.task}", "", "```", summary_text(result), "```", ""]
    for r in result.rows:
        if "curve" in r:
            curve = ", ".join(f"{v:.4f}" for v in r["curve"])
            lines.append(
                f"- {r['method']}: mean {r['curve_split']} {result.metric} of the global model after "
                f"each round (kept: round {r['round']}): {curve}"
            )
    return "\n".join(lines) + "\n"

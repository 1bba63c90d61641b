r"""Federated, centralized and client-alone training of one task, compared on the same data.

A :class:`Task` (the forecaster's, :mod:`~lstmkit.apps.federated.forecast`; the char LM's,
:mod:`~lstmkit.apps.federated.textlm`) trains a model on some clients' data from given weights
and scores a model on one client's held-out data (lower is better). :func:`compare` runs, with
the same total epochs :math:`E = R \cdot e` (rounds times local epochs):

* ``centralized``: one model on every client's data pooled, :math:`E` epochs;
* ``fedavg`` / ``fedprox``: :math:`R` rounds of :math:`e` local epochs per client from the
  global weights, aggregated by Flower (:mod:`~lstmkit.apps.federated.flower`);
* ``alone``: each client's model on its own data only, :math:`E` epochs, scored on its own
  held-out data;
* ``<strategy>+local`` (optional, ``personalize`` = P): the final global model trained P more
  epochs by each client on its own data, scored there (personalization).

With ``select`` (tasks whose clients hold validation data, ``Task.selects``) no method is scored
at its last epoch or round: centralized training keeps the epoch with the best score on every
client's validation data, each client alone its best on its own, FedAvg the round whose global
model scores best on the clients' validation data (mean over clients; Flower's federated
evaluation), and the test data scores only the kept weights. Without it, overfitting rows are
compared at an arbitrary budget.

FedProx's local loss adds the proximal term (:func:`proximal_term`)

.. math::
    \frac{\mu}{2} \lVert w - w_g \rVert^2, \qquad \nabla_w = \mu (w - w_g).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from lstmkit.apps.federated.flower import Client, run_round

__all__ = ["Task", "compare", "from_arrays", "proximal_term", "to_arrays"]

log = logging.getLogger("lstmkit.federated")


def to_arrays(net: nn.Module) -> list[np.ndarray]:
    """The network's ``state_dict`` values as float arrays, in its key order."""
    return [v.detach().cpu().numpy().copy() for v in net.state_dict().values()]


def from_arrays(net: nn.Module, weights: Sequence[np.ndarray]) -> dict[str, Tensor]:
    """A ``state_dict`` for ``net`` from arrays in its key order (dtypes kept); a one-line error
    when the count or a shape differs."""
    own = net.state_dict()
    if len(weights) != len(own):
        raise ValueError(f"weights: expected {len(own)} arrays for this network, got {len(weights)}")
    state = {}
    for (k, v), w in zip(own.items(), weights):
        if tuple(w.shape) != tuple(v.shape):
            raise ValueError(f"weights: {k} expected shape {tuple(v.shape)}, got {tuple(w.shape)}")
        state[k] = torch.as_tensor(np.asarray(w), dtype=v.dtype)
    return state


def proximal_term(global_state: dict[str, Tensor], mu: float) -> Callable[[nn.Module], Tensor]:
    r"""FedProx's :math:`\frac{\mu}{2}\sum_p \lVert w_p - w_{g,p}\rVert^2` over the floating-point
    parameters of a network (``global_state`` keyed as its ``state_dict``)."""
    if not 0 <= mu < float("inf"):
        raise ValueError(f"mu: expected a finite value >= 0, got {mu}")
    anchors = {k: v.detach().clone() for k, v in global_state.items() if v.is_floating_point()}

    def term(net: nn.Module) -> Tensor:
        total = torch.zeros(())
        for name, p in net.named_parameters():
            if name in anchors:
                total = total + ((p - anchors[name].to(p.device)) ** 2).sum()
        return 0.5 * mu * total

    return term


class Task(Protocol):
    """What :func:`compare` needs of a task (clients indexed 0..K-1)."""

    #: the clients' names
    @property
    def clients(self) -> Sequence[str]: ...

    #: name of the score (lower is better), e.g. ``"MASE"``
    @property
    def metric(self) -> str: ...

    #: whether the clients hold validation data (``fit(select=True)``, ``score(split="valid")``)
    @property
    def selects(self) -> bool: ...

    def fit(
        self,
        clients: Sequence[int],
        weights: list[np.ndarray] | None,
        epochs: int,
        mu: float,
        round_number: int = 0,
        select: bool = False,
    ) -> tuple[Any, int]:
        """A model trained on ``clients``' data from ``weights`` (``None``: the seeded
        initial weights, the same for every client) for ``epochs``, with FedProx's ``mu``;
        and its sample count. ``round_number`` (federated rounds count from 1) draws the data order
        and dropout afresh: a client that saw its data in the same order every round would
        end every round biased the same way. ``select``: keep the epoch that scores best on
        ``clients``' validation data (not the last)."""
        ...

    def weights(self, model: Any) -> list[np.ndarray]: ...

    def with_weights(self, model: Any, weights: list[np.ndarray]) -> Any: ...

    def score(self, model: Any, client: int, split: str = "test") -> float:
        """The model's score on ``client``'s ``"test"`` (or ``"valid"``) data."""
        ...


def _federated(
    task: Task, rounds: int, epochs: int, strategy: str, mu: float, select: bool
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """``rounds`` rounds of Flower aggregation; the global model after the last round (with
    ``select``: after the round that scored best on the clients' validation data) scored on
    every client's test data, and its weights."""
    latest: dict[int, Any] = {}

    def local(k: int) -> Client:
        def local_fit(weights: list[np.ndarray], prox: float, round_: int) -> tuple[list[np.ndarray], int]:
            model, n = task.fit([k], weights or None, epochs, prox, round_number=round_)
            latest[k] = model
            return task.weights(model), n

        return Client(local_fit)

    clients = [local(k) for k in range(len(task.clients))]
    split = "valid" if select else "test"
    weights: list[np.ndarray] = []
    curve: list[float] = []
    best = (float("inf"), 0, weights)
    for r in range(rounds):
        weights = run_round(clients, weights, strategy, mu, r + 1)
        scores = [task.score(task.with_weights(latest[k], weights), k, split) for k in latest]
        curve.append(float(np.mean(scores)))
        log.info("%s round %d/%d: mean %s %s %.4f", strategy, r + 1, rounds, split, task.metric, curve[-1])
        if not select or curve[-1] < best[0]:
            best = (curve[-1], r + 1, weights)
    _, kept, weights = best
    if select:  # the kept round's global model on the test data (without: the last round's scores)
        scores = [task.score(task.with_weights(latest[k], weights), k) for k in latest]
    return {"scores": scores, "curve": curve, "curve_split": split, "round": kept}, weights


def _personalized(
    task: Task, weights: list[np.ndarray], epochs: int, rounds: int, select: bool
) -> list[float]:
    """Each client's score after ``epochs`` local epochs from the global ``weights`` (no
    aggregation after them)."""
    everyone = range(len(task.clients))
    return [
        task.score(task.fit([k], weights, epochs, 0.0, round_number=rounds + 1, select=select)[0], k)
        for k in everyone
    ]


def compare(
    task: Task,
    rounds: int,
    local_epochs: int,
    strategies: Sequence[str] = ("fedavg",),
    mu: float = 0.01,
    personalize: int = 0,
    select: bool = False,
) -> list[dict[str, Any]]:
    """Rows ``{"method", "scores" (per client), "mean", "seconds"}`` for centralized training,
    each strategy and each client alone (see the module docstring); with ``personalize`` = P
    > 0 also a row ``"<strategy>+local"`` per strategy: the final global model trained P more
    epochs by each client on its own data and scored there (personalization: P epochs more
    than the others had). ``select``: each method keeps its epoch or round that scored best on
    validation data (the module docstring; the task must hold some, ``task.selects``)."""
    if select and not task.selects:
        raise ValueError("select: this task's clients hold no validation data to select on")
    total = rounds * local_epochs
    everyone = list(range(len(task.clients)))
    rows = []
    t0 = time.perf_counter()
    central, _ = task.fit(everyone, None, total, 0.0, select=select)
    rows.append({"method": "centralized", "scores": [task.score(central, k) for k in everyone]})
    rows[-1]["seconds"] = time.perf_counter() - t0
    for strategy in strategies:
        t0 = time.perf_counter()
        prox = mu if strategy == "fedprox" else 0.0
        out, weights = _federated(task, rounds, local_epochs, strategy, prox, select)
        rows.append({"method": strategy, **out, "seconds": time.perf_counter() - t0})
        if personalize:
            t0 = time.perf_counter()
            scores = _personalized(task, weights, personalize, rounds, select)
            rows.append(
                {"method": f"{strategy}+local", "scores": scores, "seconds": time.perf_counter() - t0}
            )
    t0 = time.perf_counter()
    alone = [task.score(task.fit([k], None, total, 0.0, select=select)[0], k) for k in everyone]
    rows.append({"method": "alone", "scores": alone, "seconds": time.perf_counter() - t0})
    for row in rows:
        row["mean"] = float(np.mean(row["scores"]))
    return rows

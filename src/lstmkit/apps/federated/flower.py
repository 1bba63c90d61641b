r"""The Flower-facing code, all of it: clients as Flower ``NumPyClient``\ s, rounds aggregated by
Flower's strategies (``FedAvg``, ``FedProx``), run in this process (no simulation engine).

A round sends the global weights to every client in turn (``NumPyClient.fit``), wraps each
answer in a ``FitRes`` and lets the strategy's ``aggregate_fit`` average them; FedAvg and
FedProx aggregate alike, the sample-weighted mean

.. math::
    w_g \leftarrow \sum_k \frac{n_k}{\sum_j n_j} w_k,

and differ on the client, where FedProx adds :math:`\frac{\mu}{2}\lVert w - w_g\rVert^2` to
the local loss (``config["proximal_mu"]``, as Flower's ``FedProx`` sends it).

Swapping Flower out means rewriting :class:`Client` and :func:`aggregate`; nothing else
imports ``flwr``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

with warnings.catch_warnings():  # typer (Flower's CLI) imports a deprecated click helper
    warnings.simplefilter("ignore", DeprecationWarning)
    from flwr.client import NumPyClient
    from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
    from flwr.server.strategy import FedAvg, FedProx

__all__ = ["STRATEGIES", "Client", "LocalFit", "aggregate"]

#: the aggregation strategies :func:`aggregate` knows
STRATEGIES = ("fedavg", "fedprox")

#: a client's local update: ``(global weights, proximal mu, round) -> (its weights, its sample count)``
LocalFit = Callable[[list[np.ndarray], float, int], tuple[list[np.ndarray], int]]


class Client(NumPyClient):  # type: ignore[misc]
    """A Flower client around a local update ``local_fit`` (see :data:`LocalFit`)."""

    def __init__(self, local_fit: LocalFit) -> None:
        self.local_fit = local_fit

    def fit(
        self, parameters: list[np.ndarray], config: dict[str, Any]
    ) -> tuple[list[np.ndarray], int, dict[str, Any]]:
        mu, round_ = float(config.get("proximal_mu", 0.0)), int(config.get("server_round", 0))
        weights, n = self.local_fit(parameters, mu, round_)
        return weights, n, {}


def _strategy(name: str, mu: float) -> FedAvg:
    if name == "fedprox":
        return FedProx(proximal_mu=mu, fit_metrics_aggregation_fn=lambda _: {})
    return FedAvg(fit_metrics_aggregation_fn=lambda _: {})


def aggregate(
    updates: Sequence[tuple[list[np.ndarray], int]], strategy: str = "fedavg", mu: float = 0.0
) -> list[np.ndarray]:
    r"""Aggregate one round's client updates with Flower's ``strategy`` (``"fedavg"`` or
    ``"fedprox"``): the mean of the clients' weights, weighted by their sample counts.

    Args:
        updates: per client, its weights (arrays in one order for every client) and its
            sample count :math:`n_k \geq 1`.

    Returns:
        the aggregated weights, float arrays in the same order and shapes.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy: expected one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if not updates or any(n < 1 for _, n in updates):
        raise ValueError("updates: expected at least one client update with a sample count >= 1")
    ok = Status(code=Code.OK, message="")
    results = [(None, FitRes(ok, ndarrays_to_parameters(list(w)), int(n), {})) for w, n in updates]
    params, _ = _strategy(strategy, mu).aggregate_fit(1, results, [])  # type: ignore[arg-type]
    assert params is not None
    return parameters_to_ndarrays(params)


def run_round(
    clients: Sequence[Client], weights: list[np.ndarray], strategy: str, mu: float, server_round: int = 1
) -> list[np.ndarray]:
    """Round ``server_round`` (from 1): every client's local update from ``weights`` (one after
    another), then :func:`aggregate`."""
    config = {"proximal_mu": mu if strategy == "fedprox" else 0.0, "server_round": server_round}
    updates = []
    for c in clients:
        w, n, _ = c.fit(weights, config)
        updates.append((w, n))
    return aggregate(updates, strategy, mu)

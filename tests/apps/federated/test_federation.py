"""Flower aggregation, the FedProx term, the start_from hook, the client split and a tiny run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lstmkit.apps.federated.data import M3_MONTHLY_DOMAINS, TextClient, forecast_clients, fortune_clients
from lstmkit.apps.federated.federation import compare, from_arrays, proximal_term, to_arrays
from lstmkit.apps.federated.flower import Client, aggregate, run_round
from lstmkit.apps.federated.forecast import ForecastTask
from lstmkit.apps.federated.textlm import TextTask


def test_fedavg_is_the_sample_weighted_mean() -> None:
    a = [np.array([1.0, 2.0]), np.array([[4.0]])]
    b = [np.array([3.0, -2.0]), np.array([[0.0]])]
    for strategy in ("fedavg", "fedprox"):
        out = aggregate([(a, 1), (b, 3)], strategy, mu=0.5)
        # by hand: (1 * a + 3 * b) / 4
        np.testing.assert_allclose(out[0], [2.5, -1.0])
        np.testing.assert_allclose(out[1], [[1.0]])


def test_aggregate_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="strategy"):
        aggregate([([np.ones(1)], 1)], "fedsgd")
    with pytest.raises(ValueError, match="sample count"):
        aggregate([([np.ones(1)], 0)])


def test_proximal_term_value_and_gradient() -> None:
    torch.manual_seed(0)
    net = nn.Linear(3, 2)
    anchor = {k: v + 0.1 * torch.randn_like(v) for k, v in net.state_dict().items()}
    assert float(proximal_term(net.state_dict(), 0.3)(net).detach()) == 0.0
    term = proximal_term(anchor, 0.3)(net)
    term.backward()
    value = float(term.detach())
    for name, p in net.named_parameters():
        assert p.grad is not None
        torch.testing.assert_close(p.grad, 0.3 * (p.detach() - anchor[name]))
    expected = 0.15 * sum(float(((p.detach() - anchor[n]) ** 2).sum()) for n, p in net.named_parameters())
    assert value == pytest.approx(expected)
    with pytest.raises(ValueError, match="mu"):
        proximal_term(anchor, -1.0)


def test_arrays_round_trip_and_shape_errors() -> None:
    net = nn.Linear(3, 2)
    state = from_arrays(net, to_arrays(net))
    for k, v in net.state_dict().items():
        torch.testing.assert_close(state[k], v)
    with pytest.raises(ValueError, match="expected shape"):
        from_arrays(net, [np.zeros((3, 3)), np.zeros(2)])


def test_client_split_is_deterministic_and_disjoint() -> None:
    a = forecast_clients(per_client=5, seed=1)
    b = forecast_clients(per_client=5, seed=1)
    assert [[s.name for s in c.series] for c in a] == [[s.name for s in c.series] for c in b]
    names = [s.name for c in a for s in c.series]
    assert len(names) == len(set(names)) == 5 * len(M3_MONTHLY_DOMAINS)
    for c in a:  # each client's series lie in its domain's range
        lo, hi = M3_MONTHLY_DOMAINS[c.name]
        assert all(lo <= int(s.name[1:]) <= hi for s in c.series)
    other = forecast_clients(per_client=5, seed=2)
    assert [s.name for c in other for s in c.series] != names
    with pytest.raises(ValueError, match="clients"):
        forecast_clients(domains=["micro", "retail"])


def test_fortune_clients_hold_different_files() -> None:
    clients = fortune_clients(["computers", "law"], train_chars=5_000, valid_chars=2_000, test_chars=2_000)
    assert [c.name for c in clients] == ["computers", "law"]
    assert [(len(c.train), len(c.valid), len(c.test)) for c in clients] == [(5_000, 2_000, 2_000)] * 2
    assert clients[0].train != clients[1].train
    with pytest.raises(ValueError, match="clients: expected distinct names"):
        fortune_clients(["computers", "computers"])
    with pytest.raises(ValueError, match="train_chars"):
        fortune_clients(["law"], train_chars=10)


def test_forecaster_local_update_starts_from_the_given_weights() -> None:
    torch.set_num_threads(1)
    task = ForecastTask(forecast_clients(per_client=3, domains=["micro", "macro"]), hidden_size=8)
    first, n = task.fit([0], None, 1, 0.0)
    assert n == sum(len(s.train) for s in task.data[0].series)
    w = task.weights(first)
    shifted = [a + 0.5 for a in w]
    # with the FedProx term very strong, a local update stays at its starting weights
    stays, _ = task.fit([1], shifted, 2, mu=1e4)
    moved = max(float(np.abs(a - b).max()) for a, b in zip(task.weights(stays), shifted))
    assert moved < 0.05
    free, _ = task.fit([1], shifted, 2, mu=0.0)
    assert max(float(np.abs(a - b).max()) for a, b in zip(task.weights(free), shifted)) > 5 * moved
    assert np.isfinite(task.score(free, 0))


def test_two_clients_two_rounds_beat_the_untrained_model() -> None:
    torch.set_num_threads(1)
    clients = [
        TextClient("a", "the cat sat on the mat. " * 150, *["the cat sat on the mat. " * 20] * 2),
        TextClient("b", "a dog ran in the fog! " * 150, *["a dog ran in the fog! " * 20] * 2),
    ]
    task = TextTask(clients, hidden_size=32, batch_size=8, bptt=32)
    untrained = task._new_model()  # the seeded initial weights every client starts from
    before = np.mean([task.score(untrained, k) for k in range(2)])
    rows = compare(task, rounds=2, local_epochs=3, strategies=("fedavg", "fedprox"), mu=0.01, personalize=1)
    by = {r["method"]: r for r in rows}
    assert set(by) == {"centralized", "fedavg", "fedavg+local", "fedprox", "fedprox+local", "alone"}
    # one more local epoch on a client's own text from the global model fits that text better
    assert by["fedavg+local"]["mean"] < by["fedavg"]["mean"]
    assert by["fedavg"]["mean"] < 0.85 * before
    assert by["fedprox"]["mean"] < 0.85 * before
    assert by["centralized"]["mean"] < 0.85 * before


def test_each_round_draws_a_fresh_data_order() -> None:
    # the Forecaster's seed orders the windows: the same order in every round biased every
    # round's local update alike (a bug: rounds passed no round number)
    torch.set_num_threads(1)
    task = ForecastTask(forecast_clients(per_client=3, domains=["micro"]), hidden_size=8, batch_size=8)
    start = task.weights(task.fit([0], None, 1, 0.0)[0])
    again = [task.weights(task.fit([0], start, 1, 0.0, round_number=r)[0]) for r in (2, 2, 3)]
    assert all(np.array_equal(a, b) for a, b in zip(again[0], again[1]))  # a round is reproducible
    assert any(not np.allclose(a, b) for a, b in zip(again[0], again[2]))


def test_rounds_reach_the_clients_through_flower() -> None:
    seen: list[int] = []

    def local_fit(weights: list[np.ndarray], mu: float, round_: int) -> tuple[list[np.ndarray], int]:
        seen.append(round_)
        return [w + round_ for w in weights], 1

    out = run_round([Client(local_fit), Client(local_fit)], [np.zeros(2)], "fedavg", 0.0, server_round=4)
    assert seen == [4, 4]
    np.testing.assert_allclose(out[0], [4.0, 4.0])


def _overfitting_clients() -> list[TextClient]:
    """Two clients whose training text is one short phrase and whose held-out text is another:
    early epochs learn letters and spaces, later ones the phrase, so the best validation epoch
    is not the last."""
    return [
        TextClient("a", "the cat sat on the mat. " * 20, "a hen ate the oat. " * 10, "a hen ate it. " * 10),
        TextClient("b", "a dog ran in the fog! " * 20, "the pig dug a bog! " * 10, "the pig dug! " * 10),
    ]


def test_select_keeps_the_best_validation_epoch_and_round() -> None:
    torch.set_num_threads(1)
    task = TextTask(_overfitting_clients(), hidden_size=32, batch_size=4, bptt=16, lr=1e-2)
    last, _ = task.fit([0, 1], None, 30, 0.0)
    kept, _ = task.fit([0, 1], None, 30, 0.0, select=True)
    valid = [np.mean([task.score(m, k, "valid") for k in (0, 1)]) for m in (last, kept)]
    assert valid[1] < 0.8 * valid[0]  # the last epoch overfits; select kept an earlier one
    rows = compare(task, rounds=12, local_epochs=2, select=True)
    fed = next(r for r in rows if r["method"] == "fedavg")
    assert fed["curve_split"] == "valid" and len(fed["curve"]) == 12
    assert fed["round"] == int(np.argmin(fed["curve"])) + 1
    assert fed["round"] < 12  # overfitting: the kept round is not the last
    with pytest.raises(ValueError, match="select"):
        compare(ForecastTask(forecast_clients(per_client=2, domains=["micro"])), 1, 1, select=True)

"""Training in several processes (lstmkit.fit.distributed): two processes reach the parameters
of one, the shards of a batch make the batch, the errors say how to launch."""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from tests.fit import ddp_worker
from tests.fit.nets import SeqRegressor, loaders, quiet
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.fit import TrainConfig, Trainer
from lstmkit.fit import distributed as dd
from lstmkit.fit.checkpoint import loader_generators, loader_info
from lstmkit.fit.estimator import Estimator

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank_main(rank: int, world: int, port: int, out: str) -> None:
    """One process of the group, as torchrun starts it: its environment, one thread."""
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        OMP_NUM_THREADS="1",
    )
    torch.set_num_threads(1)
    torch.save(ddp_worker.train("ddp"), f"{out}.{rank}")


# ---------------------------------------------------------------------- (a) 2 processes == 1
@pytest.mark.skipif(sys.platform != "linux", reason="forks the processes (no torch import per process)")
def test_two_processes_reach_the_parameters_of_one(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")  # inherits the imported torch: a fast start
    port, out = _free_port(), str(tmp_path / "result")
    procs = [ctx.Process(target=_rank_main, args=(r, 2, port, out)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    for p in procs:
        if p.is_alive():  # a hung rank: end it, the exit codes below fail the test
            p.kill()
            p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    one = ddp_worker.train("single")
    results = [torch.load(f"{out}.{r}", weights_only=True) for r in range(2)]
    assert one["steps"] == ddp_worker.STEPS
    for two in results:  # every process holds the weights one process reaches
        assert two["steps"] == ddp_worker.STEPS
        for name, value in one["params"].items():
            assert value.dtype == torch.float64
            torch.testing.assert_close(two["params"][name], value, rtol=0, atol=1e-10)
        assert len(two["epochs"]) == len(one["epochs"]) == 2
        for row1, row2 in zip(one["epochs"], two["epochs"]):
            assert row2["train_loss"] == pytest.approx(row1["train_loss"], rel=1e-10)
            assert row2["val_loss"] == pytest.approx(row1["val_loss"], rel=1e-10)
    # the training moved the weights: the comparison is not of untouched ones
    torch.manual_seed(0)
    start = ddp_worker.Net().double().state_dict()
    assert (start["head.weight"] - one["params"]["head.weight"]).abs().max() > 1e-3


# ---------------------------------------------------------------------- (b) the errors
def test_unknown_strategy_is_one_line() -> None:
    with pytest.raises(ValueError, match=r"^strategy: expected one of 'single', 'ddp', got 'dp'$"):
        Trainer(nn.Linear(2, 1), quiet(), loss_fn=nn.functional.mse_loss, strategy="dp")


def test_ddp_without_torchrun_says_how_to_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)
    assert not torch.distributed.is_initialized()
    with pytest.raises(ValueError, match=r"torchrun --nproc-per-node N") as info:
        Trainer(nn.Linear(2, 1), quiet(), loss_fn=nn.functional.mse_loss, strategy="ddp")
    message = str(info.value)
    assert "\n" not in message and "RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT" in message


def test_ddp_refuses_truncated_bptt() -> None:
    with pytest.raises(ValueError, match=r"^strategy: 'ddp' trains with full BPTT, got config.tbptt_k1=4$"):
        Trainer(SeqRegressor(), quiet(tbptt_k1=4), loss_fn=nn.functional.mse_loss, strategy="ddp")


def test_strategy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(dd.STRATEGY_ENV, raising=False)
    assert dd.default_strategy() == "single"
    monkeypatch.setenv(dd.STRATEGY_ENV, "ddp")
    assert dd.default_strategy() == "ddp"
    monkeypatch.setenv(dd.STRATEGY_ENV, "fast")
    with pytest.raises(ValueError, match=r"^LSTMKIT_STRATEGY: expected one of 'single', 'ddp', got 'fast'$"):
        dd.default_strategy()


@dataclass(frozen=True)
class _Config:
    seed: int = 0
    device: str = "cpu"


def test_estimator_strategy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(dd.STRATEGY_ENV, raising=False)
    assert Estimator(_Config()).trainer_strategy == "single"
    assert Estimator(_Config(), trainer_strategy="ddp").trainer_strategy == "ddp"
    monkeypatch.setenv(dd.STRATEGY_ENV, "ddp")  # as `lstmkit forecast --processes N` sets it
    assert Estimator(_Config()).trainer_strategy == "ddp"
    with pytest.raises(ValueError, match=r"^trainer_strategy: expected one of"):
        Estimator(_Config(), trainer_strategy="gpu")


# ---------------------------------------------------------------------- (c) the shards
@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_shard_slices_cover_the_rows_in_order(world: int) -> None:
    for rows in range(0, 14):
        parts = [dd.shard_slice(rows, r, world) for r in range(world)]
        assert [i for p in parts for i in range(rows)[p]] == list(range(rows))
        sizes = [p.stop - p.start for p in parts]
        assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    with pytest.raises(ValueError, match=r"^rank: expected 0 <= rank < world_size = 2, got 2$"):
        dd.shard_slice(4, 2, 2)


def _loader(n: int, batch: int) -> DataLoader:
    data = TensorDataset(torch.arange(n), torch.arange(n).double()[:, None] * 2)
    return DataLoader(data, batch_size=batch, shuffle=True, generator=torch.Generator().manual_seed(5))


def _epochs(loader, epochs: int = 2) -> list[list]:
    """The batches of ``loader`` epoch by epoch (a ShardedLoader's with its padding flag)."""
    flag = isinstance(loader, dd.ShardedLoader)
    return [[(b, loader.padding) if flag else b for b in loader] for _ in range(epochs)]


@pytest.mark.parametrize(
    ("n", "batch", "world"), [(12, 4, 2), (11, 4, 2), (11, 5, 2), (11, 5, 3), (10, 4, 4)]
)
def test_shards_make_the_single_process_batches(n: int, batch: int, world: int) -> None:
    """Each process's loader (the same seed) gives its shards; the shards of batch k, in rank
    order, are batch k of one process, for even, uneven and one-row last batches, epoch after
    epoch; an empty shard is one stand-in row flagged as padding."""
    single = _epochs(_loader(n, batch))
    ranks = [_epochs(dd.ShardedLoader(_loader(n, batch), r, world)) for r in range(world)]
    padded = 0
    for e, epoch in enumerate(single):
        for k, (ids, values) in enumerate(epoch):
            shards = [ranks[r][e][k] for r in range(world)]
            empty = [
                dd.shard_slice(len(ids), r, world).stop == dd.shard_slice(len(ids), r, world).start
                for r in range(world)
            ]
            assert [pad for _, pad in shards] == empty
            assert all(len(b[0]) == 1 for b, pad in shards if pad)
            real = [b for b, pad in shards if not pad]
            assert torch.equal(torch.cat([b[0] for b in real]), ids)
            assert torch.equal(torch.cat([b[1] for b in real]), values)
            padded += sum(empty)
    assert (padded > 0) == (0 < n % batch < world)


def test_sharded_loader_keeps_the_loaders_identity() -> None:
    """Checkpoints see the global batch and the loader's generator (a resume works across strategies)."""
    base = _loader(11, 4)
    sharded = dd.ShardedLoader(base, 1, 2)
    assert len(sharded) == 3 and sharded.batch_size == 4 and sharded.dataset is base.dataset
    assert loader_info(sharded) == loader_info(base)
    assert loader_generators(sharded) == loader_generators(base)


def test_batch_rows_must_agree() -> None:
    assert dd.batch_rows({"x": torch.zeros(3, 2), "n": [torch.ones(3)], "t": torch.tensor(1.0)}) == 3
    with pytest.raises(ValueError, match=r"expected tensors of one row count, got tensors of \[2, 3\] rows$"):
        dd.batch_rows((torch.zeros(3, 2), torch.zeros(2)))
    assert dd.shard_batch((torch.arange(6), torch.tensor(7), "id"), slice(2, 4))[0].tolist() == [2, 3]


# ---------------------------------------------------------------------- one process's duties
def test_only_the_main_process_writes_the_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def other_rank(strategy: str, device: torch.device) -> dd.SingleProcess:
        parallel = dd.SingleProcess(device)
        parallel.is_main = False
        return parallel

    monkeypatch.setattr("lstmkit.fit.trainer.make_strategy", other_rank)
    train, val = loaders(n=32)
    trainer = Trainer(
        SeqRegressor(),
        TrainConfig(max_epochs=1, run_dir=str(tmp_path / "run")),
        loss_fn=nn.functional.mse_loss,
    )
    assert trainer.config.progress is False and trainer.config.plot is False
    trainer.fit(train, val)
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").rglob("*.*"))


def test_thread_split(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert dd.split_threads(2) == torch.get_num_threads()  # the user's count is kept
        monkeypatch.delenv("OMP_NUM_THREADS")
        monkeypatch.setattr(dd, "_cores", lambda: 16)
        assert dd.split_threads(2) == 8 and torch.get_num_threads() == 8
        assert dd.split_threads(32) == 1
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------------- launching
def test_torchrun_command_and_arguments() -> None:
    argv = ["-v", "forecast", "--processes", "2", "--dataset", "airline", "--processes=3", "--hidden", "8"]
    args = dd.without_option(argv, "--processes")
    assert args == ["-v", "forecast", "--dataset", "airline", "--hidden", "8"]
    command = dd.torchrun_command(2, "lstmkit.cli", args)
    assert command[:4] == [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    assert command[4:] == ["--nproc-per-node", "2", "-m", "lstmkit.cli", *args]
    with pytest.raises(ValueError, match=r"^processes: expected an integer >= 1, got 0$"):
        dd.torchrun_command(0, "lstmkit.cli", args)

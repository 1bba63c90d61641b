r"""Training in several processes on PyTorch's own distributed engine (``torch.distributed``).

:class:`~lstmkit.fit.Trainer` takes ``strategy="single"`` (one process, the default) or
``strategy="ddp"``: every process holds the whole model, wrapped in
:class:`torch.nn.parallel.DistributedDataParallel`, and trains on its shard of every global
batch; the gradients are averaged across the processes after each backward pass, so all of
them take the same optimizer step.

The pieces, each usable alone:

* :class:`WorldInfo`, :func:`world_info`, :func:`is_main_process`: which process this is (rank
  ``0`` is the main one, the only one that writes files and shows progress);
* :func:`init_process_group`: joins the group from the environment ``torchrun`` sets
  (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), backend
  ``"gloo"`` on the CPU and ``"nccl"`` on CUDA;
* :func:`split_threads`: ``cores // local_world_size`` threads per process, unless
  ``OMP_NUM_THREADS`` is set;
* :func:`shard_slice`, :func:`shard_batch`, :class:`ShardedLoader`: the rows of a global batch
  this process trains on;
* :class:`SingleProcess` and :class:`DataParallel`: what the training loop asks of a strategy
  (the model the steps call, the loader, one step's loss, agreement on an epoch's row);
* :func:`torchrun_command`, :func:`relaunch`: a command line run again under ``torchrun``.

**The same gradients as one process.** Every process iterates the same loader (the same
shuffle from the same seed) and keeps its contiguous share of the rows of each global batch
(:func:`shard_slice`; the union of the shards is the global batch). A process's loss is the
mean over its shard; before backward it is scaled by ``world_size * w_r / W``, where ``w_r`` is
the shard's :attr:`~lstmkit.fit.StepOutput.weight` (its number of real target elements by
default) and ``W`` the global batch's (summed across processes). The average that
``DistributedDataParallel`` takes is then :math:`\sum_r w_r \nabla L_r / W`, the gradient of
the global batch's mean loss, for uneven last batches too. A process whose shard is empty (a
global batch of fewer rows than processes) steps on one row of the batch with weight 0.
Randomness inside the step (dropout) draws other numbers than one process would: the same
training in distribution, not the same numbers.

Example (run with ``torchrun --nproc-per-node 2 train.py``)::

    >>> trainer = Trainer(model, TrainConfig(max_epochs=5), loss_fn=masked_mse, strategy="ddp")
    >>> history = trainer.fit(train_loader, val_loader)  # every process: the same weights
    >>> if is_main_process():
    ...     torch.save(model.state_dict(), "model.pt")
"""

from __future__ import annotations

import atexit
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from lstmkit.core.tree import tree_map
from lstmkit.fit.step import StepOutput, Stepper

__all__ = [
    "STRATEGIES",
    "DataParallel",
    "ShardedLoader",
    "SingleProcess",
    "WorldInfo",
    "default_strategy",
    "init_process_group",
    "is_main_process",
    "make_strategy",
    "relaunch",
    "shard_batch",
    "shard_slice",
    "split_threads",
    "torchrun_command",
    "world_info",
]

#: the names of :class:`~lstmkit.fit.Trainer`'s ``strategy``
STRATEGIES = ("single", "ddp")
#: the environment variable of the task models' default strategy (``Estimator.trainer_strategy``)
STRATEGY_ENV = "LSTMKIT_STRATEGY"
_TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
_LAUNCH_HINT = "launch with `torchrun --nproc-per-node N ...` (or `lstmkit forecast ... --processes N`)"


# ---------------------------------------------------------------------- the world
@dataclass(frozen=True)
class WorldInfo:
    """Where this process stands in a group of training processes.

    Args:
        rank: this process's number, ``0 .. world_size - 1`` (``0``: the main process).
        world_size: processes in all, on every machine.
        local_rank: this process's number on its machine (its GPU on CUDA).
        local_world_size: processes on this machine.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}: expected an integer in the environment, got {value!r}") from None


def world_info() -> WorldInfo:
    """This process's :class:`WorldInfo`: from the initialized process group, else from the
    environment ``torchrun`` sets, else a world of one."""
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1)
    local_rank = _env_int("LOCAL_RANK", rank)
    local_world = _env_int("LOCAL_WORLD_SIZE", world)
    return WorldInfo(rank, world, local_rank, local_world)


def is_main_process() -> bool:
    """``True`` in the process of rank 0 (and when there is only one process): the one that
    writes checkpoints, run folders and results and shows progress."""
    return world_info().rank == 0


def default_strategy() -> str:
    """The strategy the environment asks for (``LSTMKIT_STRATEGY``, set by ``lstmkit ...
    --processes N`` in the processes it launches), else ``"single"``."""
    return check_strategy(os.environ.get(STRATEGY_ENV) or "single", STRATEGY_ENV)


def check_strategy(strategy: object, name: str = "strategy") -> str:
    """``strategy`` if it is one of :data:`STRATEGIES`, else a one-line ``ValueError``."""
    if strategy not in STRATEGIES:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, STRATEGIES))}, got {strategy!r}")
    return str(strategy)


def split_threads(local_world_size: int) -> int:
    """Set ``torch.set_num_threads(max(1, cores // local_world_size))`` so that the processes
    of a machine share its cores, unless ``OMP_NUM_THREADS`` is set (then torch's count is
    kept). Returns the threads of this process."""
    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    threads = max(1, _cores() // max(1, local_world_size))
    torch.set_num_threads(threads)
    return threads


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - platforms without affinity


def init_process_group(device: torch.device | str = "cpu") -> WorldInfo:
    """Join the process group, unless it is initialized: from the environment ``torchrun``
    sets, backend ``"nccl"`` for a CUDA ``device`` (this process's GPU: ``LOCAL_RANK``) and
    ``"gloo"`` otherwise; the group is destroyed when the process exits.

    Raises:
        ValueError: no initialized group and no ``torchrun`` environment (saying how to launch).
    """
    if not dist.is_available():  # pragma: no cover - builds without torch.distributed
        raise ValueError("strategy: 'ddp' needs torch.distributed, which this PyTorch build lacks")
    if dist.is_initialized():
        return world_info()
    missing = [k for k in _TORCHRUN_ENV if not os.environ.get(k)]
    if missing:
        raise ValueError(
            f"strategy: 'ddp' needs a process group; {_LAUNCH_HINT}, got no "
            f"{', '.join(missing)} in the environment and no initialized group"
        )
    info = world_info()
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(info.local_rank)
    dist.init_process_group("nccl" if cuda else "gloo")
    atexit.register(_destroy)
    return info


def _destroy() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


# ---------------------------------------------------------------------- sharding
def shard_slice(rows: int, rank: int, world_size: int) -> slice:
    """The rows of a global batch of ``rows`` that process ``rank`` of ``world_size`` trains
    on: contiguous shards whose sizes differ by at most one, the larger ones first (as
    ``numpy.array_split``); their union, in rank order, is ``range(rows)``.

    Example::

        >>> [shard_slice(5, r, 2) for r in range(2)]
        [slice(0, 3, None), slice(3, 5, None)]
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank: expected 0 <= rank < world_size = {world_size}, got {rank}")
    base, extra = divmod(rows, world_size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))


def batch_rows(batch: Any) -> int:
    """The rows (dimension 0) of the tensors of ``batch`` (any nest); a one-line error if
    they differ or there is no tensor with a dimension."""
    sizes: set[int] = set()

    def visit(t: Tensor) -> Tensor:
        if t.dim() > 0:
            sizes.add(int(t.shape[0]))
        return t

    tree_map(visit, batch)
    if len(sizes) != 1:
        got = "no tensor" if not sizes else f"tensors of {sorted(sizes)} rows"
        raise ValueError(
            f"batch: strategy 'ddp' cuts every tensor of a batch along dimension 0 (the batch), "
            f"expected tensors of one row count, got {got}"
        )
    return sizes.pop()


def shard_batch(batch: Any, rows: slice) -> Any:
    """``batch`` (any nest of tensors) cut to ``rows`` along dimension 0 (0-d tensors and
    other values whole)."""
    return tree_map(lambda t: t[rows] if t.dim() > 0 else t, batch)


class ShardedLoader:
    """The batches of ``loader``, each cut to this process's rows (:func:`shard_slice`).

    Every process iterates the whole loader, so a shuffled ``DataLoader`` draws the same order
    from the same seed everywhere; attributes (``batch_size``, ``dataset``, ``generator``,
    ``sampler``) are the loader's, so checkpoints see the global batch. A shard with no rows
    is one row of the global batch with :attr:`padding` set: the step runs (the gradient
    averaging needs every process) with weight 0.

    Args:
        loader: a re-iterable of batches (any nest of tensors with the batch on dimension 0).
        rank: this process's rank.
        world_size: the processes.
    """

    def __init__(self, loader: Iterable[Any], rank: int, world_size: int) -> None:
        self.loader = loader
        self.rank = rank
        self.world_size = world_size
        #: the batch last given is a stand-in for an empty shard
        self.padding = False

    def __iter__(self) -> Iterator[Any]:
        for batch in self.loader:
            rows = shard_slice(batch_rows(batch), self.rank, self.world_size)
            self.padding = rows.start == rows.stop
            yield shard_batch(batch, slice(0, 1) if self.padding else rows)

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        if name == "loader":  # before __init__ set it (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.loader, name)


# ---------------------------------------------------------------------- strategies
class SingleProcess:
    """One process: the model, loader and losses as they are (the default strategy).

    Args:
        device: where the model lies.
    """

    name = "single"

    def __init__(self, device: torch.device | None = None) -> None:
        #: where the model lies
        self.device = torch.device("cpu") if device is None else device
        #: this process writes files and shows progress
        self.is_main = True

    def train_stepper(self, stepper: Stepper) -> Stepper:
        """What runs the step on the training batches."""
        return stepper

    def loader(self, loader: Iterable[Any]) -> Iterable[Any]:
        """The batches this process trains on."""
        return loader

    def reduce(self, out: StepOutput) -> tuple[StepOutput, Tensor]:
        """A step's output as the loop records it, and the loss to differentiate."""
        return out, out.loss

    def agree(self, row: dict[str, Any]) -> dict[str, Any]:
        """An epoch's row, the same in every process (early stopping, schedules, best weights)."""
        return row


class _StepModule(nn.Module):
    """The training step as a module, so that ``DistributedDataParallel`` runs it whole (as
    Lightning wraps its ``training_step``): the step function gets the model itself (its type,
    attributes and methods), the wrapper sees the model's parameters and the step's output."""

    def __init__(self, stepper: Stepper) -> None:
        super().__init__()
        self.net = stepper.model  # its parameters, the ones DDP averages the gradients of
        self.stepper = stepper

    def forward(self, batch: Any) -> StepOutput:
        return self.stepper.step(batch)


class _DDPStepper(Stepper):
    """A :class:`~lstmkit.fit.step.Stepper` whose plain step runs inside ``DistributedDataParallel``."""

    def __init__(self, stepper: Stepper, ddp: DistributedDataParallel) -> None:
        super().__init__(
            stepper.model,
            loss_fn=stepper.loss_fn,
            step_fn=stepper.step_fn,
            precision=stepper.precision,
            device=stepper.device,
            time_dim=stepper.time_dim,
        )
        self.ddp = ddp

    def step(self, batch: Any) -> StepOutput:
        return self.ddp(batch)


class DataParallel(SingleProcess):
    """Several processes, each on its shard of every global batch, gradients averaged by
    ``DistributedDataParallel`` (see the module docstring).

    Joins the process group (:func:`init_process_group`) and splits the cores
    (:func:`split_threads`) when built.

    Args:
        device: where the model lies: the CPU, or CUDA (then this process's GPU,
            ``cuda:LOCAL_RANK``, see :attr:`device`).
    """

    name = "ddp"

    def __init__(self, device: torch.device) -> None:
        self.info = init_process_group(device)
        split_threads(self.info.local_world_size)
        cuda = device.type == "cuda"
        super().__init__(torch.device("cuda", torch.cuda.current_device()) if cuda else device)
        info = self.info
        self.world = WorldInfo(dist.get_rank(), dist.get_world_size(), info.local_rank, info.local_world_size)
        self.is_main = self.world.rank == 0
        # the loss sums travel where the backend reduces them
        self._comm = self.device if dist.get_backend() == "nccl" else torch.device("cpu")
        self._loader: ShardedLoader | None = None

    def train_stepper(self, stepper: Stepper) -> Stepper:
        """``stepper``'s step run by ``DistributedDataParallel`` (gradients averaged in backward)."""
        ids = [self.device.index] if self.device.type == "cuda" else None
        return _DDPStepper(stepper, DistributedDataParallel(_StepModule(stepper), device_ids=ids))

    def loader(self, loader: Iterable[Any]) -> Iterable[Any]:
        self._loader = ShardedLoader(loader, self.world.rank, self.world.world_size)
        return self._loader

    def reduce(self, out: StepOutput) -> tuple[StepOutput, Tensor]:
        """The global batch's mean loss and weight (summed across processes) in the output the
        loop records, and this process's loss scaled by ``world_size * w_r / W`` to
        differentiate; its value is the global loss, so a non-finite loss stops every process."""
        padding = self._loader is not None and self._loader.padding
        w = 0.0 if padding else float(out.weight or 0.0)
        local = out.loss.detach().double() * w if w else torch.zeros((), dtype=torch.float64)
        sums = torch.stack([local.to(self._comm), torch.tensor(w, dtype=torch.float64, device=self._comm)])
        dist.all_reduce(sums)
        total, weight = (float(v) for v in sums.tolist())
        value = total / weight if weight else math.nan
        scaled = out.loss * (self.world.world_size * w / weight if weight else 0.0)
        loss = scaled + (torch.as_tensor(value, dtype=scaled.dtype, device=scaled.device) - scaled).detach()
        return replace(out, loss=loss.detach(), weight=weight), loss

    def agree(self, row: dict[str, Any]) -> dict[str, Any]:
        """Rank 0's row, given to every process."""
        box: list[Any] = [row]
        dist.broadcast_object_list(box, src=0, device=self._comm if self._comm.type == "cuda" else None)
        return dict(box[0])


def make_strategy(strategy: str, device: torch.device) -> SingleProcess:
    """The strategy object of ``strategy`` (a name of :data:`STRATEGIES`) for a model on
    ``device``."""
    check_strategy(strategy)
    return DataParallel(device) if strategy == "ddp" else SingleProcess(device)


# ---------------------------------------------------------------------- launching
def without_option(argv: Sequence[str], option: str) -> list[str]:
    """``argv`` without ``option`` and its value (``--processes 2`` or ``--processes=2``)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            out.append(arg)
    return out


def torchrun_command(processes: int, module: str, args: Sequence[str]) -> list[str]:
    """The command that runs ``python -m module args`` in ``processes`` processes on this
    machine under ``torchrun`` (``python -m torch.distributed.run --standalone``)."""
    if processes < 1:
        raise ValueError(f"processes: expected an integer >= 1, got {processes}")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    return [*launcher, "--nproc-per-node", str(processes), "-m", module, *args]


def relaunch(processes: int, module: str, args: Sequence[str]) -> int:
    """Run ``python -m module args`` in ``processes`` processes under ``torchrun`` with
    ``LSTMKIT_STRATEGY=ddp`` (and ``OMP_NUM_THREADS`` set to ``cores // processes`` unless
    it is set); returns the launcher's exit status."""
    env = {**os.environ, STRATEGY_ENV: "ddp"}
    if not env.get("OMP_NUM_THREADS"):  # torchrun would set 1
        env["OMP_NUM_THREADS"] = str(max(1, _cores() // processes))
    return subprocess.call(torchrun_command(processes, module, args), env=env)

r"""The training loop: a lean, explicit loop over plain ``nn.Module`` models.

Why a loop of our own and not PyTorch Lightning: truncated BPTT with k2 > k1, state carried
across batches, NT-ASGD's switch to averaged weights and *exact* mid-epoch resume (data order
and every random state) are each a few lines here, while in Lightning they mean overriding
its loop internals (its own TBPTT support was removed in 2.0). The loop stays a few hundred
lines a user can read, the model stays a plain module usable in any other loop, and the
dependency list stays short.

The user gives the model, a :class:`~lstmkit.fit.TrainConfig`, and either a ``loss_fn`` (for
batches ``(x, y)``) or a ``step`` function that computes the loss from a batch. The trainer
knows no cell and no task.

Protocols
---------
* **Plain (full BPTT) step**: ``step(model, batch) -> Tensor | StepOutput``. The default,
  given ``loss_fn``, is ``pred = model(x)`` (the first item if the model returns a tuple,
  e.g. an :class:`~lstmkit.core.layers.LSTM`'s ``(output, state)``) and ``loss_fn(pred, y)``.
* **Stateful (truncated BPTT) step**, used when ``config.tbptt_k1`` is set:
  ``step(model, chunk, state) -> (Tensor | StepOutput, new_state)``, where ``chunk`` is the
  batch cut to a stretch of time steps (every tensor of the batch is sliced along
  ``config.time_dim``) and ``state`` is ``None`` at the start of a sequence. The default,
  given ``loss_fn``, is ``pred, new_state = model(x, state)`` and ``loss_fn(pred, y)``.
  The trainer detaches the state between updates (any nest of tensors).
* :class:`StepOutput` carries the loss and, for metrics, the predictions, targets, mask and
  the weight of the batch in epoch means (default: ``target.numel()``, else 1).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.core.scan import detach_state, tree_map
from lstmkit.fit.checkpoint import (
    atomic_save,
    atomic_write_text,
    get_rng_state,
    load_checkpoint,
    seed_everything,
    set_rng_state,
)
from lstmkit.fit.config import RESUMABLE_FIELDS, TrainConfig, resolve_device
from lstmkit.fit.metrics import BatchMean, Metric
from lstmkit.fit.optim import NTASGD, LRSchedule, build_optimizer
from lstmkit.fit.tbptt import (
    decode_state,
    encode_state,
    slice_time,
    tbptt_windows,
    time_length,
    window_pieces,
)

__all__ = ["Callback", "History", "NonFiniteLossError", "StepOutput", "Trainer"]

log = logging.getLogger("lstmkit.fit")

CHECKPOINT_VERSION = 1


class NonFiniteLossError(FloatingPointError, ValueError):
    """The training loss became NaN or infinite. A ``FloatingPointError`` (as before) and a
    ``ValueError`` (so the ``lstmkit`` commands report it as a one-line error)."""


@dataclass
class StepOutput:
    """What a step function returns.

    Args:
        loss: scalar tensor to minimize (a mean over the batch's elements).
        output: predictions, for metrics (optional).
        target: targets, for metrics (optional).
        mask: bool mask of real elements of ``output``/``target`` (optional).
        weight: weight of this batch in epoch means (e.g. the number of real tokens);
            default ``mask.sum()`` if a mask is given, else ``target.numel()`` if a target is
            given, else 1. A batch (or TBPTT window) of weight 0, padding only, makes no update
            (a cosine schedule sized from the loader's length still counts it as a step).
    """

    loss: Tensor
    output: Tensor | None = None
    target: Tensor | None = None
    mask: Tensor | None = None
    weight: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.loss, Tensor) or self.loss.numel() != 1:
            shape = tuple(self.loss.shape) if isinstance(self.loss, Tensor) else type(self.loss).__name__
            raise ValueError(f"loss: expected a scalar tensor, got {shape}")
        if self.weight is None:
            if self.mask is not None:
                self.weight = float(self.mask.sum())
            elif isinstance(self.target, Tensor):
                self.weight = float(self.target.numel())
            else:
                self.weight = 1.0


@dataclass
class History:
    """What :meth:`Trainer.fit` returns: the epoch rows, the per-step rows and the outcome.

    ``epochs``: one dict per epoch (``epoch``, ``step``, ``train_loss``, ``lr``, ``seconds``,
    and ``val_loss``/``val_<metric>`` on validation epochs). ``steps``: one dict per logged
    optimizer step (``step``, ``epoch``, ``loss``, ``lr``, ``grad_norm``). ``history["val_loss"]``
    gives a column over epochs (NaN where missing).
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    monitor: str = "val_loss"
    best_epoch: int | None = None
    best_value: float | None = None
    stop_reason: str = ""

    def __getitem__(self, key: str) -> list[float]:
        return [float(r.get(key, math.nan)) for r in self.epochs]

    @property
    def losses(self) -> list[float]:
        """The training loss of every logged optimizer step."""
        return [float(r["loss"]) for r in self.steps]

    @property
    def stopped_early(self) -> bool:
        return self.stop_reason == "early_stopping"

    def to_dict(self) -> dict[str, Any]:
        """A snapshot: later rows do not change it."""
        return {
            "epochs": [dict(r) for r in self.epochs],
            "steps": [dict(r) for r in self.steps],
            "monitor": self.monitor,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> History:
        return cls(
            [dict(r) for r in d["epochs"]],
            [dict(r) for r in d["steps"]],
            d["monitor"],
            d["best_epoch"],
            d["best_value"],
            d["stop_reason"],
        )


class Callback:
    """Hooks into :meth:`Trainer.fit`; override the ones you need. Set
    ``trainer.should_stop = True`` to end training after the current batch."""

    def on_fit_start(self, trainer: Trainer) -> None:
        pass

    def on_epoch_start(self, trainer: Trainer) -> None:
        pass

    def on_before_optimizer_step(self, trainer: Trainer) -> None:
        """Gradients are final (clipped); the optimizer has not stepped yet."""

    def on_train_batch_end(self, trainer: Trainer, out: StepOutput) -> None:
        pass

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        pass

    def on_fit_end(self, trainer: Trainer, history: History) -> None:
        pass


StepFn = Callable[..., Any]


class _StopTraining(Exception):
    pass


def _to_device(batch: Any, device: torch.device) -> Any:
    if device.type == "cpu":
        return tree_map(lambda t: t if t.device == device else t.to(device), batch)
    return tree_map(lambda t: t.to(device, non_blocking=True), batch)


def _loader_generators(loader: Iterable[Any]) -> list[torch.Generator]:
    """Random generators a DataLoader draws its order from (its own, its samplers')."""
    gens: list[torch.Generator] = []
    candidates = [
        getattr(loader, "generator", None),
        getattr(getattr(loader, "sampler", None), "generator", None),
        getattr(getattr(getattr(loader, "batch_sampler", None), "sampler", None), "generator", None),
    ]
    for g in candidates:
        if isinstance(g, torch.Generator) and all(g is not h for h in gens):
            gens.append(g)
    return gens


def _loader_info(loader: Iterable[Any]) -> dict[str, int | None]:
    """What a resumed run must find again in its training loader: the batch size, the batches
    per epoch and the samples (each ``None`` where the loader does not say)."""
    dataset = getattr(loader, "dataset", None)
    batch_size = getattr(loader, "batch_size", None)
    return {
        "batch_size": batch_size if isinstance(batch_size, int) else None,
        "batches": len(loader) if hasattr(loader, "__len__") else None,  # type: ignore[arg-type]
        "samples": len(dataset) if dataset is not None and hasattr(dataset, "__len__") else None,
    }


def _plain(value: Any) -> Any:
    """A configuration value comparable across a save (tuples and lists alike)."""
    return list(value) if isinstance(value, (tuple, list)) else value


def _resume_changes(
    ckpt: Mapping[str, Any],
    config: TrainConfig,
    data: Mapping[str, int | None],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
) -> list[str]:
    """Each way this run differs from the one that saved ``ckpt`` beyond what a resume may
    change (:data:`~lstmkit.fit.config.RESUMABLE_FIELDS`), as ``"name old -> new"``."""
    changes = []
    saved = ckpt.get("config") or {}
    now = config.to_dict()
    for name, new in now.items():
        if name in RESUMABLE_FIELDS or name not in saved:
            continue
        if _plain(saved[name]) != _plain(new):
            changes.append(f"{name} {_plain(saved[name])!r} -> {_plain(new)!r}")
    names = {"batch_size": "batch_size", "batches": "batches per epoch", "samples": "training samples"}
    for key, old in (ckpt.get("data") or {}).items():
        new = data.get(key)
        if old is not None and new is not None and old != new:
            changes.append(f"{names.get(key, key)} {old} -> {new}")
    old_opt = ckpt.get("optimizer_class")
    if old_opt is not None and old_opt != type(optimizer).__name__:
        changes.append(f"optimizer class {old_opt} -> {type(optimizer).__name__}")
    saved_model = ckpt.get("model") or {}
    current = model.state_dict()
    for key, tensor in current.items():
        if key not in saved_model:
            changes.append(f"model {key}: not in the checkpoint")
        elif tuple(saved_model[key].shape) != tuple(tensor.shape):
            changes.append(f"model {key} shape {tuple(saved_model[key].shape)} -> {tuple(tensor.shape)}")
    changes += [f"model {key}: only in the checkpoint" for key in saved_model if key not in current]
    return changes


def _check_stateful(model: nn.Module) -> None:
    try:
        sig = inspect.signature(model.forward)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return
    positional = [
        p
        for p in sig.parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    varargs = any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in sig.parameters.values())
    if len(positional) < 2 and not varargs:
        raise TypeError(
            f"model: truncated BPTT needs a stateful model, forward(x, state) -> (output, state); "
            f"{type(model).__name__}.forward{sig} takes no state (or pass step=...)"
        )


class Trainer:
    r"""Train a model: full or truncated BPTT, clipping, optimizers, schedules, early
    stopping, exact checkpoints, logging and a run folder.

    Args:
        model: any ``nn.Module``. With truncated BPTT it must be stateful (see the module
            docstring) unless a custom ``step`` handles the state.
        config: a :class:`~lstmkit.fit.TrainConfig` (defaults if omitted).
        loss_fn: ``loss_fn(pred, target) -> scalar`` for batches ``(x, y)``; or give ``step``.
        step: custom step function (see the module docstring); overrides ``loss_fn``.
        metrics: validation metrics by name, each a function ``fn(StepOutput) -> float`` (a
            batch mean) or a :class:`~lstmkit.fit.metrics.Metric`; logged as ``val_<name>``.
        optimizer: a ready optimizer over the model's parameters, instead of
            ``config.optimizer``.
        callbacks: :class:`Callback` objects.

    Example::

        >>> model = nn.Sequential(...)                     # any module
        >>> trainer = Trainer(model, TrainConfig(lr=1e-2, max_epochs=5, clip_norm=1.0),
        ...                   loss_fn=nn.functional.mse_loss)
        >>> history = trainer.fit(train_loader, val_loader)
        >>> trainer.evaluate(test_loader)["loss"]
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig | None = None,
        *,
        loss_fn: Callable[[Any, Any], Tensor] | None = None,
        step: StepFn | None = None,
        metrics: Mapping[str, Callable[[StepOutput], Any] | Metric] | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
        config = TrainConfig() if config is None else config
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config: expected a TrainConfig, got {type(config).__name__}")
        if step is None and loss_fn is None:
            raise ValueError("loss_fn, step: give a loss_fn(pred, target) or a step function, got neither")
        for name, fn in (("loss_fn", loss_fn), ("step", step)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name}: expected a callable, got {type(fn).__name__}")
        self.model = model
        self.config = config
        self.loss_fn = loss_fn
        self.step_fn = step
        self.metrics: dict[str, Metric] = {}
        for name, m in (metrics or {}).items():
            if isinstance(m, Metric):
                self.metrics[name] = m
            elif callable(m):
                self.metrics[name] = BatchMean(m)
            else:
                raise TypeError(f"metrics[{name!r}]: expected a callable or a Metric, got {type(m).__name__}")
        self.callbacks = list(callbacks)
        self.device = resolve_device(config.device, "config.device")
        self.model.to(self.device)
        self.optimizer = optimizer if optimizer is not None else build_optimizer(model.parameters(), config)
        self.schedule: LRSchedule | None = None
        self.history = History()
        self.global_step = 0
        self.epoch = 0
        self.should_stop = False
        self.run_dir = Path(config.run_dir) if config.run_dir else None
        self._best_state: dict[str, Tensor] | None = None
        self._wait = 0
        self._tb: Any = None
        self._carried: Any = None
        self._epoch_loss = [0.0, 0.0]
        self._data_info: dict[str, int | None] = {}

    # ------------------------------------------------------------------ public API
    @property
    def monitor(self) -> str:
        return self.history.monitor

    def fit(
        self,
        train_loader: Iterable[Any],
        val_loader: Iterable[Any] | None = None,
        *,
        resume: bool | str | Path | None = None,
    ) -> History:
        """Train; returns the :class:`History`.

        Args:
            train_loader: an iterable of batches, iterated once per epoch (a DataLoader, a list).
            val_loader: batches for validation after every ``val_every`` epochs.
            resume: ``True`` to continue from ``run_dir/checkpoints/last.pt`` if it exists, or
                the path of a checkpoint. The run continues exactly where it stopped: same
                data order, random states, optimizer and schedule state, history. The
                configuration may differ from the checkpoint's only in the fields of
                :data:`~lstmkit.fit.config.RESUMABLE_FIELDS` (limits such as ``max_epochs``,
                ``patience``, logging and checkpoint frequency, device; see "Resuming" in
                :class:`~lstmkit.fit.TrainConfig`); other changed settings, a training loader
                with another batch size or length, or a model of other parameter shapes raise
                one ``ValueError`` listing each difference (old -> new).
        """
        cfg = self.config
        if isinstance(train_loader, Iterator):
            raise TypeError(
                "train_loader: expected a re-iterable (DataLoader, list), got a one-shot iterator"
            )
        monitor = cfg.monitor or ("val_loss" if val_loader is not None else "train_loss")
        if monitor.startswith("val_") and val_loader is None:
            raise ValueError(f"monitor: {monitor!r} needs a val_loader, got none")
        self.history = History(monitor=monitor)
        if cfg.tbptt_k1 is not None and self.step_fn is None:
            _check_stateful(self.model)
        total_steps = cfg.max_steps
        if total_steps is None and cfg.tbptt_k1 is None and hasattr(train_loader, "__len__"):
            total_steps = cfg.max_epochs * len(train_loader)  # type: ignore[arg-type]
        self.schedule = LRSchedule(self.optimizer, cfg, total_steps)
        self._data_info = _loader_info(train_loader)
        resume_state = self._resume_source(resume)
        if resume_state is None:
            if cfg.seed is not None:
                seed_everything(cfg.seed)
            self.global_step, self.epoch, self._wait = 0, 0, 0
            self._best_state = None
            self._carried = None
        else:
            self._load_state(resume_state)
            final = resume_state.get("final")
            if final is not None and self._limit_reached():
                # the run ended at these limits: nothing to train, so it ends as it did (its last
                # partial epoch, best weights and value included)
                self.history = History.from_dict(final["history"])
                self._best_state = final["best_state"]
                self.epoch, self._wait = int(final["epoch"]), int(final["wait"])
                log.info("resume: the run already reached its limits; nothing left to train")
        self._open_run_dir(resume_state is not None)
        prev_det = torch.are_deterministic_algorithms_enabled()
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        self.should_stop = False
        try:
            for cb in self.callbacks:
                cb.on_fit_start(self)
            self._fit_loop(train_loader, val_loader, resume_state)
        finally:
            if cfg.deterministic:
                torch.use_deterministic_algorithms(prev_det)
            if self._tb is not None:
                self._tb.close()
                self._tb = None
        self._finish()
        for cb in self.callbacks:
            cb.on_fit_end(self, self.history)
        return self.history

    @torch.no_grad()
    def evaluate(self, loader: Iterable[Any], *, prefix: str = "") -> dict[str, float]:
        """Mean loss and metrics over ``loader`` in eval mode (no gradients).

        Returns ``{prefix + "loss": ..., prefix + name: ...}``. With truncated BPTT each batch
        is run in chunks of ``k1`` steps with the state carried (the same values as a whole
        run, with bounded memory).
        """
        cfg = self.config
        was_training = self.model.training
        self.model.eval()
        for m in self.metrics.values():
            m.reset()
        total, weight = 0.0, 0.0
        carried: Any = None
        averaged = (
            self.optimizer.averaged() if isinstance(self.optimizer, NTASGD) else contextlib.nullcontext()
        )
        try:
            with averaged:
                for batch in loader:
                    batch = _to_device(batch, self.device)
                    if cfg.tbptt_k1 is None:
                        outs = [self._call_step(batch)]
                    else:
                        outs = []
                        state = carried if cfg.carry_state else None
                        length = time_length(batch, cfg.time_dim)
                        for start in range(0, length, cfg.tbptt_k1):
                            chunk = slice_time(batch, start, min(start + cfg.tbptt_k1, length), cfg.time_dim)
                            out, state = self._call_stateful(chunk, state)
                            outs.append(out)
                        carried = state
                    for out in outs:
                        w = float(out.weight or 0.0)
                        total += out.loss.detach().item() * w
                        weight += w
                        for m in self.metrics.values():
                            m.update(out)
        finally:
            self.model.train(was_training)
        if weight == 0:
            raise ValueError("loader: expected at least one batch with non-zero weight, got none")
        result = {prefix + "loss": total / weight}
        for name, m in self.metrics.items():
            result[prefix + name] = float(m.compute())
        return result

    @torch.no_grad()
    def predict(self, loader: Iterable[Any]) -> list[Any]:
        """The ``output`` of the step for every batch of ``loader`` (eval mode, no gradients;
        with truncated BPTT, the chunk outputs of a batch concatenated along ``time_dim``)."""
        cfg = self.config
        was_training = self.model.training
        self.model.eval()
        results: list[Any] = []
        try:
            for batch in loader:
                batch = _to_device(batch, self.device)
                if cfg.tbptt_k1 is None:
                    results.append(self._call_step(batch).output)
                    continue
                state, parts = None, []
                length = time_length(batch, cfg.time_dim)
                for start in range(0, length, cfg.tbptt_k1):
                    chunk = slice_time(batch, start, min(start + cfg.tbptt_k1, length), cfg.time_dim)
                    out, state = self._call_stateful(chunk, state)
                    parts.append(out.output)
                results.append(torch.cat(parts, cfg.time_dim) if parts[0] is not None else None)
        finally:
            self.model.train(was_training)
        return results

    # ------------------------------------------------------------------ steps
    def _autocast(self) -> Any:
        if self.config.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @staticmethod
    def _as_output(result: Any, what: str, weight: float | None = None) -> StepOutput:
        """The step's result as a StepOutput; a bare loss gets ``weight`` (default 1)."""
        if isinstance(result, StepOutput):
            return result
        if isinstance(result, Tensor):
            return StepOutput(result, weight=weight)
        raise TypeError(
            f"{what}: expected the step to return a loss tensor or a StepOutput, got {type(result).__name__}"
        )

    def _split_xy(self, batch: Any) -> tuple[Any, Any]:
        if isinstance(batch, (tuple, list)) and len(batch) == 2:
            return batch[0], batch[1]
        raise ValueError(
            "batch: the default step (loss_fn) expects batches (x, y); got "
            f"{type(batch).__name__}"
            f"{f' of length {len(batch)}' if isinstance(batch, (tuple, list)) else ''}. "
            "Pass step=... for other batch layouts"
        )

    def _call_step(self, batch: Any) -> StepOutput:
        with self._autocast():
            if self.step_fn is not None:
                return self._as_output(self.step_fn(self.model, batch), "step")
            x, y = self._split_xy(batch)
            pred = self.model(x)
            if isinstance(pred, tuple):
                pred = pred[0]
            assert self.loss_fn is not None
            return StepOutput(self.loss_fn(pred, y), output=pred, target=y)

    def _call_stateful(self, chunk: Any, state: Any) -> tuple[StepOutput, Any]:
        with self._autocast():
            if self.step_fn is not None:
                result = self.step_fn(self.model, chunk, state)
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise TypeError(
                        "step: with truncated BPTT the step must return (loss or StepOutput, state), got "
                        f"{type(result).__name__}"
                    )
                # a bare loss is a mean over the chunk's steps: chunks of a window weigh by length
                steps = float(time_length(chunk, self.config.time_dim))
                return self._as_output(result[0], "step", steps), result[1]
            x, y = self._split_xy(chunk)
            result = self.model(x, state)
            if not (isinstance(result, tuple) and len(result) == 2):
                raise TypeError(
                    "model: truncated BPTT needs a stateful model, model(x, state) -> (output, state), "
                    f"got {type(result).__name__}"
                )
            pred, new_state = result
            assert self.loss_fn is not None
            return StepOutput(self.loss_fn(pred, y), output=pred, target=y), new_state

    # ------------------------------------------------------------------ one update
    def _update(self, loss: Tensor) -> tuple[float, float]:
        """Backward, clip, optimizer and schedule step; returns (grad norm, lr used)."""
        cfg = self.config
        if not torch.isfinite(loss.detach()):
            raise NonFiniteLossError(
                f"loss: non-finite value {float(loss.detach())} at epoch {self.epoch}, "
                f"step {self.global_step}; "
                "lower lr or set clip_norm"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        if cfg.clip_value is not None:
            torch.nn.utils.clip_grad_value_(params, cfg.clip_value)
        if cfg.clip_norm is not None:
            norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm))
        else:
            norm = float(torch.nn.utils.get_total_norm([p.grad for p in params])) if params else 0.0
        for cb in self.callbacks:
            cb.on_before_optimizer_step(self)
        self.optimizer.step()
        assert self.schedule is not None
        lr = float(self.optimizer.param_groups[0]["lr"])
        self.schedule.apply()
        self.global_step += 1
        return norm, lr

    def _train_batch(self, batch: Any) -> list[tuple[StepOutput, float, float, int]]:
        """One batch: one update (full BPTT) or one per TBPTT window, all of them (a stop, by a
        callback or ``max_steps``, takes effect between batches, where a checkpoint can resume
        exactly). Returns ``(output, grad_norm, lr, global_step after it)`` per update."""
        cfg = self.config
        if cfg.tbptt_k1 is None:
            out = self._call_step(batch)
            if out.weight == 0:  # padding only (see StepOutput.weight)
                return []
            norm, lr = self._update(out.loss)
            return [(out, norm, lr, self.global_step)]
        length = time_length(batch, cfg.time_dim)
        results = []
        start_state = self._carried if cfg.carry_state else None
        for w in tbptt_windows(length, cfg.tbptt_k1, cfg.k2):
            state, next_state = start_state, start_state
            loss_sum: Tensor | None = None
            weight = 0.0
            pieces_out: list[StepOutput] = []
            for piece in window_pieces(w):
                chunk = slice_time(batch, piece.start, piece.stop, cfg.time_dim)
                out, state = self._call_stateful(chunk, state)
                if piece.in_loss:
                    wgt = float(out.weight or 0.0)
                    loss_sum = out.loss * wgt if loss_sum is None else loss_sum + out.loss * wgt
                    weight += wgt
                    pieces_out.append(out)
                if piece.save_after:
                    next_state = detach_state(state)
            assert loss_sum is not None
            start_state = next_state
            if weight == 0:  # padding only: nothing to learn, and Adam's momentum would still move
                continue
            loss = loss_sum / weight
            out = pieces_out[0] if len(pieces_out) == 1 else StepOutput(loss, weight=weight)
            norm, lr = self._update(loss)
            results.append((out, norm, lr, self.global_step))
        self._carried = start_state if cfg.carry_state else None
        return results

    # ------------------------------------------------------------------ the loop
    def _fit_loop(self, train_loader: Iterable[Any], val_loader: Iterable[Any] | None, resume: Any) -> None:
        cfg = self.config
        stop_reason = ""
        pending = resume  # a checkpoint to continue from, consumed by the first epoch
        while True:
            stop_reason = self._limit_reached()
            if stop_reason:
                break
            self.model.train()
            for cb in self.callbacks:
                cb.on_epoch_start(self)
            gens = _loader_generators(train_loader)
            skip = int(pending["batch_in_epoch"]) if pending is not None else 0
            if skip:  # mid-epoch: replay the epoch's data order, then skip what was done
                assert pending is not None
                rng_epoch_start = pending["rng_epoch_start"]
                gen_states = list(pending["loader_generators"])
                set_rng_state(rng_epoch_start)
                for g, state in zip(gens, gen_states):
                    g.set_state(state)
            else:
                if pending is not None:  # at an epoch boundary: the next epoch's order as it would be
                    set_rng_state(pending["rng"])
                    for g, state in zip(gens, pending["loader_generators"]):
                        g.set_state(state)
                self._epoch_loss = [0.0, 0.0]
                self._carried = None
                rng_epoch_start = get_rng_state()
                gen_states = [g.get_state() for g in gens]
            iterator = iter(train_loader)
            for _ in range(skip):
                next(iterator)
            if skip:
                assert pending is not None
                set_rng_state(pending["rng"])
            pending = None
            done = skip
            resume_point: dict[str, Any] | None = None
            total = len(train_loader) if hasattr(train_loader, "__len__") else None  # type: ignore[arg-type]
            bar = self._progress(total, done)
            epoch_start = time.perf_counter()
            try:
                for batch in iterator:
                    batch = _to_device(batch, self.device)
                    updates = self._train_batch(batch)
                    for out, norm, lr, step in updates:
                        loss = out.loss.detach().item()
                        w = float(out.weight or 0.0)
                        self._epoch_loss[0] += loss * w
                        self._epoch_loss[1] += w
                        if step % cfg.log_every == 0:
                            row = {
                                "step": step,
                                "epoch": self.epoch,
                                "loss": loss,
                                "lr": lr,
                                "grad_norm": norm,
                            }
                            self.history.steps.append(row)
                            self._log_step(row)
                        for cb in self.callbacks:
                            cb.on_train_batch_end(self, out)
                    done += 1
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix_str(self._postfix(), refresh=False)
                    at_limit = cfg.max_steps is not None and self.global_step >= cfg.max_steps
                    if at_limit or self.should_stop:
                        stop_reason = "max_steps" if at_limit else "callback"
                        # the position inside the epoch, before this partial epoch is recorded (a
                        # resume with higher limits continues from here)
                        resume_point = self._save_last(
                            done, rng_epoch_start, gen_states, finished=True, reason=stop_reason
                        )
                        break
                    if cfg.checkpoint_every and any(u[3] % cfg.checkpoint_every == 0 for u in updates):
                        self._save_last(done, rng_epoch_start, gen_states)
            finally:
                if bar is not None:
                    bar.close()
            seconds = time.perf_counter() - epoch_start
            row = self._end_epoch(val_loader, seconds, partial=bool(stop_reason))
            if stop_reason:
                if resume_point is not None:  # also keep how this run ended: its last (partial) row,
                    # best weights and value, for a resume that has nothing left to train
                    resume_point["final"] = {
                        "history": self.history.to_dict(),
                        "best_state": self._best_state,
                        "epoch": self.epoch,
                        "wait": self._wait,
                    }
                    atomic_save(resume_point, self._last_path())
                break
            if (
                cfg.patience is not None
                and self.monitor in row
                and self._wait > 0
                and self._wait >= cfg.patience
            ):
                stop_reason = "early_stopping"
            elif self.should_stop:
                stop_reason = "callback"
            self._save_last(
                0, None, [g.get_state() for g in gens], finished=bool(stop_reason), reason=stop_reason
            )
            if stop_reason:
                break
        self.history.stop_reason = stop_reason

    def _end_epoch(self, val_loader: Iterable[Any] | None, seconds: float, partial: bool) -> dict[str, Any]:
        cfg = self.config
        s, w = self._epoch_loss
        row: dict[str, Any] = {
            "epoch": self.epoch,
            "step": self.global_step,
            "train_loss": s / w if w else math.nan,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "seconds": seconds,
        }
        self.epoch += 1
        validate = val_loader is not None and (
            self.epoch % cfg.val_every == 0 or self.epoch >= cfg.max_epochs or partial
        )
        if validate:
            assert val_loader is not None
            metrics = self.evaluate(val_loader, prefix="val_")
            row.update(metrics)
            for cb in self.callbacks:
                cb.on_validation_end(self, metrics)
        value = row.get(self.monitor)
        if value is not None:
            # a run cut short by max_steps still offers its last weights as the best
            self._track_best(float(value), row["epoch"])
        assert self.schedule is not None
        if not partial:  # the schedule and NT-ASGD's trigger only see whole epochs
            if value is not None:
                self.schedule.observe(float(value), cfg.mode)
            opt = self.optimizer
            if isinstance(opt, NTASGD) and validate and value is not None:
                triggered = opt.observe(float(value) if cfg.mode == "min" else -float(value))
                if triggered:
                    log.info("NT-ASGD: averaging starts at step %d", self.global_step)
            self.schedule.epoch_end()
        self.history.epochs.append(row)
        self._log_epoch(row)
        for cb in self.callbacks:
            cb.on_epoch_end(self, row)
        return row

    def _track_best(self, value: float, epoch: int) -> None:
        cfg = self.config
        best = self.history.best_value
        if math.isnan(value):
            improved = False
        elif best is None:
            improved = True
        else:
            improved = value < best - cfg.min_delta if cfg.mode == "min" else value > best + cfg.min_delta
        if improved:
            self.history.best_value = value
            self.history.best_epoch = epoch
            self._wait = 0
            self._best_state = self._model_state_for_best()
            if self.run_dir is not None:
                atomic_save(
                    {"model": self._best_state, "epoch": epoch, "value": value, "monitor": self.monitor},
                    self.run_dir / "checkpoints" / "best.pt",
                )
        else:
            self._wait += 1

    def _model_state_for_best(self) -> dict[str, Tensor]:
        ctx = self.optimizer.averaged() if isinstance(self.optimizer, NTASGD) else contextlib.nullcontext()
        with ctx:
            return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    def _finish(self) -> None:
        cfg = self.config
        if isinstance(self.optimizer, NTASGD):
            self.optimizer.swap_in_average()
        if cfg.restore_best and self._best_state is not None:
            self.model.load_state_dict(self._best_state)
            log.info(
                "restored the best weights (epoch %s, %s = %.6g)",
                self.history.best_epoch,
                self.monitor,
                self.history.best_value,
            )
        if self.run_dir is not None:
            self._write_logs()
            if cfg.plot and self.history.epochs:
                from lstmkit.fit.logs import plot_curves, write_report

                try:
                    plot_curves(
                        self.run_dir / "curves.png",
                        self.history.epochs,
                        self.history.steps,
                        title=self.run_dir.name,
                    )
                    image: Path | None = self.run_dir / "curves.png"
                except ImportError:
                    log.warning(
                        "plot=True needs matplotlib (pip install 'matplotlib==3.11.*'); no curves.png"
                    )
                    image = None
                summary = {
                    "monitor": self.monitor,
                    "best epoch": self.history.best_epoch,
                    "best value": self.history.best_value,
                    "stop reason": self.history.stop_reason,
                    "optimizer steps": self.global_step,
                }
                write_report(
                    self.run_dir / "report.html",
                    title=f"lstmkit run {self.run_dir.name}",
                    config=cfg.to_dict(),
                    summary=summary,
                    epochs=self.history.epochs,
                    image=image,
                )

    # ------------------------------------------------------------------ checkpoints
    def _resume_source(self, resume: bool | str | Path | None) -> dict[str, Any] | None:
        if resume is None or resume is False:
            return None
        if resume is True:
            if self.run_dir is None:
                raise ValueError("resume: True needs config.run_dir (where last.pt lies), got run_dir=None")
            path = self.run_dir / "checkpoints" / "last.pt"
            if not path.is_file():
                log.info("resume: no checkpoint at %s, starting fresh", path)
                return None
        else:
            path = Path(resume)
        ckpt = load_checkpoint(path)
        if ckpt.get("version") != CHECKPOINT_VERSION:
            raise ValueError(
                f"resume: {path} has checkpoint version {ckpt.get('version')}, expected {CHECKPOINT_VERSION}"
            )
        changes = _resume_changes(ckpt, self.config, self._data_info, self.model, self.optimizer)
        if changes:
            shown = changes if len(changes) <= 8 else [*changes[:8], f"and {len(changes) - 8} more"]
            raise ValueError(
                f"resume: {path} was saved by a run with other settings: {'; '.join(shown)}; resume "
                f"with the saved ones (only {', '.join(RESUMABLE_FIELDS)} may change) or start a new run"
            )
        log.info("resuming from %s (epoch %d, step %d)", path, ckpt["epoch"], ckpt["global_step"])
        return ckpt

    def _load_state(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        assert self.schedule is not None
        self.schedule.load_state_dict(ckpt["schedule"])
        self.global_step = int(ckpt["global_step"])
        self.epoch = int(ckpt["epoch"])
        self._wait = int(ckpt["wait"])
        self._best_state = ckpt["best_state"]
        monitor = self.history.monitor
        self.history = History.from_dict(ckpt["history"])
        if self.history.monitor != monitor:
            raise ValueError(
                f"resume: the checkpoint monitors {self.history.monitor!r}, this run {monitor!r}"
            )
        self.history.stop_reason = ""
        self._epoch_loss = list(ckpt["epoch_loss"])
        self._carried = decode_state(ckpt.get("carried_state"))

    def _save_last(
        self,
        batch_in_epoch: int,
        rng_epoch_start: dict[str, Any] | None,
        gen_states: list[Tensor] | None,
        *,
        finished: bool = False,
        reason: str = "",
    ) -> dict[str, Any] | None:
        """Write ``run_dir/checkpoints/last.pt`` (atomically); returns what was written."""
        if self.run_dir is None:
            return None
        ckpt = {
            "version": CHECKPOINT_VERSION,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict() if self.schedule is not None else None,
            "global_step": self.global_step,
            "epoch": self.epoch,
            "batch_in_epoch": batch_in_epoch,
            "rng_epoch_start": rng_epoch_start,
            "loader_generators": gen_states or [],
            "rng": get_rng_state(),
            "history": self.history.to_dict(),
            "wait": self._wait,
            "best_state": self._best_state,
            "epoch_loss": list(self._epoch_loss) if batch_in_epoch else [0.0, 0.0],
            "carried_state": encode_state(self._carried) if batch_in_epoch else None,
            "config": self.config.to_dict(),
            "data": dict(self._data_info),
            "optimizer_class": type(self.optimizer).__name__,
            "finished": finished,
            "stop_reason": reason,
        }
        atomic_save(ckpt, self._last_path())
        return ckpt

    def _limit_reached(self) -> str:
        """``"max_epochs"`` or ``"max_steps"`` when that limit is reached, else ``""``."""
        cfg = self.config
        if self.epoch >= cfg.max_epochs:
            return "max_epochs"
        if cfg.max_steps is not None and self.global_step >= cfg.max_steps:
            return "max_steps"
        return ""

    def _last_path(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "checkpoints" / "last.pt"

    # ------------------------------------------------------------------ logging
    def _open_run_dir(self, resumed: bool) -> None:
        if self.run_dir is None:
            return
        from lstmkit.io.runfolder import claim_folder

        claim_folder(self.run_dir, "train", what="run_dir")  # never over a folder of the user's
        atomic_write_text(self.run_dir / "config.json", self.config.to_json() + "\n")
        if self.config.tensorboard:
            from lstmkit.fit.logs import TensorBoardLogger

            self._tb = TensorBoardLogger(
                self.run_dir / "tensorboard", purge_step=self.global_step if resumed else None
            )
        self._write_logs()

    def _write_logs(self) -> None:
        if self.run_dir is None:
            return
        from lstmkit.fit.logs import write_csv

        write_csv(self.run_dir / "metrics.csv", self.history.epochs)
        write_csv(self.run_dir / "steps.csv", self.history.steps)
        summary = {
            "monitor": self.monitor,
            "best_epoch": self.history.best_epoch,
            "best_value": self.history.best_value,
            "stop_reason": self.history.stop_reason,
            "global_step": self.global_step,
            "epochs": self.epoch,
        }
        atomic_write_text(self.run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")

    def _log_step(self, row: Mapping[str, Any]) -> None:
        if self._tb is not None:
            self._tb.log(
                {"loss": row["loss"], "lr": row["lr"], "grad_norm": row["grad_norm"]}, row["step"], "step/"
            )

    def _log_epoch(self, row: Mapping[str, Any]) -> None:
        if self._tb is not None:
            self._tb.log(row, row["step"], "epoch/")
        if self.run_dir is not None:
            self._write_logs()
        shown = " ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float) and k != "seconds")
        # A caller that turns the trainer's progress bar off shows progress its own way (an
        # ensemble's bar, a search's table): the epoch lines are then debug output.
        level = logging.INFO if self.config.progress else logging.DEBUG
        log.log(level, "epoch %d step %d %s (%.1fs)", row["epoch"], row["step"], shown, row["seconds"])

    def _progress(self, total: int | None, initial: int) -> Any:
        if not self.config.progress:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(
            total=total,
            initial=initial,
            desc=f"epoch {self.epoch + 1}/{self.config.max_epochs}",
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
            unit="batch",
        )

    def _postfix(self) -> str:
        s, w = self._epoch_loss
        parts = [f"loss={s / w:.4g}" if w else "loss=?"]
        if self.history.epochs:
            last = self.history.epochs[-1]
            if self.monitor in last and self.monitor != "train_loss":
                parts.append(f"{self.monitor}={last[self.monitor]:.4g}")
        parts.append(f"lr={self.optimizer.param_groups[0]['lr']:.2g}")
        return " ".join(parts)

    # ------------------------------------------------------------------ convenience
    def state_dict_copy(self) -> dict[str, Tensor]:
        """A detached CPU copy of the model's state dict."""
        return copy.deepcopy({k: v.detach().cpu() for k, v in self.model.state_dict().items()})

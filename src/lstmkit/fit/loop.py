r"""The epochs of a fit: batches, optimizer updates, validation, the best weights and the
checkpoint after each epoch; and the :class:`Callback` hooks into them.

:class:`TrainingLoop` holds a run's state (``global_step``, ``epoch``, ``history``, the best
weights) and runs the epochs; :class:`~lstmkit.fit.Trainer` builds on it (settings checked, the
start of a fit, fresh or resumed, and its end). An epoch cut short (``max_steps``, a callback)
saves its position, so a resume replays its data order and skips the batches done.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.fit.checkpoint import (
    CHECKPOINT_VERSION,
    atomic_save,
    get_rng_state,
    loader_generators,
    set_rng_state,
)
from lstmkit.fit.config import TrainConfig
from lstmkit.fit.distributed import SingleProcess
from lstmkit.fit.history import History
from lstmkit.fit.logs import RunLogs
from lstmkit.fit.metrics import Metric
from lstmkit.fit.optim import NTASGD, LRSchedule, clip_gradients
from lstmkit.fit.step import NonFiniteLossError, StepOutput, Stepper, to_device
from lstmkit.fit.tbptt import encode_state, tbptt_windows, time_length
from lstmkit.io.progress import progress_bar

__all__ = ["Callback", "TrainingLoop"]

log = logging.getLogger("lstmkit.fit")

#: one optimizer update of a batch: its output, gradient norm, learning rate and global step after it
Update = tuple[StepOutput, float, float, int]


class Callback:
    """Hooks into :meth:`Trainer.fit`; override the ones you need. Set
    ``trainer.should_stop = True`` to end training after the current batch."""

    def on_fit_start(self, trainer: TrainingLoop) -> None:
        pass

    def on_epoch_start(self, trainer: TrainingLoop) -> None:
        pass

    def on_before_optimizer_step(self, trainer: TrainingLoop) -> None:
        """Gradients are final (clipped); the optimizer has not stepped yet."""

    def on_train_batch_end(self, trainer: TrainingLoop, out: StepOutput) -> None:
        pass

    def on_validation_end(self, trainer: TrainingLoop, metrics: dict[str, float]) -> None:
        pass

    def on_epoch_end(self, trainer: TrainingLoop, row: dict[str, Any]) -> None:
        pass

    def on_fit_end(self, trainer: TrainingLoop, history: History) -> None:
        pass


@dataclass
class _EpochStart:
    """Where an epoch starts: its random states (to replay its data order on a resume), the
    loader's generators, and the batches left (``skip`` of them already done)."""

    gens: list[torch.Generator]
    rng: dict[str, Any]
    gen_states: list[Tensor]
    batches: Iterator[Any]
    skip: int


class TrainingLoop:
    """A run's state and its epochs (see the module docstring); the base of
    :class:`~lstmkit.fit.Trainer`, which users hold.

    Args:
        model: the module trained (already on ``device``).
        config: the run's settings.
        stepper: calls the step on batches and chunks.
        optimizer: over the model's parameters.
        metrics: validation metrics by name.
        callbacks: hooks into the epochs.
        device: where batches are moved.
        parallel: one process (default) or several (:mod:`lstmkit.fit.distributed`).
        train_stepper: the training batches' (default ``stepper``; "ddp": run by DDP).
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        *,
        stepper: Stepper,
        optimizer: torch.optim.Optimizer,
        metrics: Mapping[str, Metric],
        callbacks: Sequence[Callback],
        device: torch.device,
        parallel: SingleProcess | None = None,
        train_stepper: Stepper | None = None,
    ) -> None:
        self.model, self.config = model, config
        self.parallel = SingleProcess(device) if parallel is None else parallel
        self.optimizer = optimizer
        self.metrics = dict(metrics)
        self.callbacks = list(callbacks)
        self.device = device
        self.schedule: LRSchedule | None = None
        self.history = History()
        self.global_step = 0
        self.epoch = 0
        self.should_stop = False
        self.run_dir = Path(config.run_dir) if config.run_dir else None
        main = self.parallel.is_main  # the one process that writes the run folder
        self._logs = RunLogs(self.run_dir, config) if self.run_dir is not None and main else None
        self._stepper = stepper
        self._train_stepper = stepper if train_stepper is None else train_stepper
        self._best_state: dict[str, Tensor] | None = None
        self._wait = 0
        self._carried: Any = None
        self._epoch_loss = [0.0, 0.0]
        self._data_info: dict[str, int | None] = {}

    @property
    def monitor(self) -> str:
        return self.history.monitor

    @torch.no_grad()
    def evaluate(self, loader: Iterable[Any], *, prefix: str = "") -> dict[str, float]:
        """Mean loss and metrics over ``loader`` in eval mode (no gradients).

        Returns ``{prefix + "loss": ..., prefix + name: ...}``. With truncated BPTT each batch
        is run in chunks of ``k1`` steps with the state carried (the same values as a whole
        run, with bounded memory).
        """
        cfg = self.config
        for m in self.metrics.values():
            m.reset()
        total, weight = 0.0, 0.0
        carried: Any = None
        with self._eval_mode():
            for batch in loader:
                batch = to_device(batch, self.device)
                if cfg.tbptt_k1 is None:
                    outs = [self._stepper.step(batch)]
                else:
                    start = carried if cfg.carry_state else None
                    outs, carried = self._stepper.chunks(batch, cfg.tbptt_k1, start)
                for out in outs:
                    w = float(out.weight or 0.0)
                    total += out.loss.detach().item() * w
                    weight += w
                    for m in self.metrics.values():
                        m.update(out)
        if weight == 0:
            raise ValueError("loader: expected at least one batch with non-zero weight, got none")
        result = {prefix + "loss": total / weight}
        for name, m in self.metrics.items():
            result[prefix + name] = float(m.compute())
        return result

    @contextlib.contextmanager
    def _eval_mode(self, averaged: bool = True) -> Iterator[None]:
        """The model in eval mode (NT-ASGD's averaged weights with ``averaged``), restored after."""
        was_training = self.model.training
        self.model.eval()
        swap = averaged and isinstance(self.optimizer, NTASGD)
        try:
            with self.optimizer.averaged() if swap else contextlib.nullcontext():  # type: ignore[attr-defined]
                yield
        finally:
            self.model.train(was_training)

    # ------------------------------------------------------------------ the loop
    def _fit_loop(self, train_loader: Iterable[Any], val_loader: Iterable[Any] | None, resume: Any) -> None:
        """Epochs until a limit, early stopping or a callback stops the run; a checkpoint
        after each (with a run folder)."""
        pending = resume  # a checkpoint to continue from, consumed by the first epoch
        while not (stop_reason := self._limit_reached()):
            self.model.train()
            for cb in self.callbacks:
                cb.on_epoch_start(self)
            start = self._start_epoch(train_loader, pending)
            pending = None
            epoch_start = time.perf_counter()
            total = len(train_loader) if hasattr(train_loader, "__len__") else None  # type: ignore[arg-type]
            stop_reason, resume_point = self._train_epoch(start, total)
            row = self._end_epoch(val_loader, time.perf_counter() - epoch_start, partial=bool(stop_reason))
            if stop_reason:
                self._save_final(resume_point)
                break
            stop_reason = self._stop_reason(row)
            gen_states = [g.get_state() for g in start.gens]
            self._save_last(0, None, gen_states, finished=bool(stop_reason), reason=stop_reason)
            if stop_reason:
                break
        self.history.stop_reason = stop_reason

    def _start_epoch(self, train_loader: Iterable[Any], pending: dict[str, Any] | None) -> _EpochStart:
        """Set the random states the epoch starts from: fresh, or a resumed checkpoint's (an
        epoch cut short is replayed in the same data order and its done batches skipped)."""
        gens = loader_generators(train_loader)
        skip = int(pending["batch_in_epoch"]) if pending is not None else 0
        if pending is not None and skip:  # mid-epoch: replay the epoch's data order
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
        batches = iter(train_loader)
        for _ in range(skip):
            next(batches)
        if pending is not None and skip:  # then the random state where the run stopped
            set_rng_state(pending["rng"])
        return _EpochStart(gens, rng_epoch_start, gen_states, batches, skip)

    def _train_epoch(self, start: _EpochStart, total: int | None) -> tuple[str, dict[str, Any] | None]:
        """The epoch's batches; returns why it stopped early (``""`` if it did not) and the
        checkpoint written at that point."""
        cfg = self.config
        done = start.skip
        bar = progress_bar(
            total, f"epoch {self.epoch + 1}/{cfg.max_epochs}", cfg.progress, initial=done, unit="batch"
        )
        try:
            for batch in start.batches:
                updates = self._train_batch(to_device(batch, self.device))
                self._record(updates)
                done += 1
                bar.update(1)
                if cfg.progress:
                    bar.set_postfix_str(self._postfix(), refresh=False)
                at_limit = cfg.max_steps is not None and self.global_step >= cfg.max_steps
                if at_limit or self.should_stop:
                    reason = "max_steps" if at_limit else "callback"
                    # the position inside the epoch, before this partial epoch is recorded (a
                    # resume with higher limits continues from here)
                    return reason, self._save_last(
                        done, start.rng, start.gen_states, finished=True, reason=reason
                    )
                if cfg.checkpoint_every and any(u[3] % cfg.checkpoint_every == 0 for u in updates):
                    self._save_last(done, start.rng, start.gen_states)
        finally:
            bar.close()
        return "", None

    def _record(self, updates: list[Update]) -> None:
        """Add the updates to the epoch's mean loss, the step rows and the callbacks."""
        for out, norm, lr, step in updates:
            loss = out.loss.detach().item()
            w = float(out.weight or 0.0)
            self._epoch_loss[0] += loss * w
            self._epoch_loss[1] += w
            if step % self.config.log_every == 0:
                row = {"step": step, "epoch": self.epoch, "loss": loss, "lr": lr, "grad_norm": norm}
                self.history.steps.append(row)
                if self._logs is not None:
                    self._logs.log_step(row)
            for cb in self.callbacks:
                cb.on_train_batch_end(self, out)

    def _stop_reason(self, row: dict[str, Any]) -> str:
        """After a whole epoch: ``"early_stopping"``, ``"callback"`` or ``""`` (go on)."""
        patience = self.config.patience
        if patience is not None and self.monitor in row and self._wait > 0 and self._wait >= patience:
            return "early_stopping"
        return "callback" if self.should_stop else ""

    def _train_batch(self, batch: Any) -> list[Update]:
        """One batch: one update (full BPTT) or one per TBPTT window, all of them (a stop, by a
        callback or ``max_steps``, takes effect between batches, where a checkpoint can resume
        exactly). Returns ``(output, grad_norm, lr, global_step after it)`` per update."""
        cfg = self.config
        if cfg.tbptt_k1 is None:
            out, loss = self.parallel.reduce(self._train_stepper.step(batch))
            if out.weight == 0:  # padding only (see StepOutput.weight)
                return []
            norm, lr = self._update(loss)
            return [(out, norm, lr, self.global_step)]
        results = []
        state = self._carried if cfg.carry_state else None
        for w in tbptt_windows(time_length(batch, cfg.time_dim), cfg.tbptt_k1, cfg.k2):
            window, state = self._train_stepper.window(batch, w, state)
            if window is None:  # padding only: nothing to learn, and Adam's momentum would still move
                continue
            out, loss = window
            norm, lr = self._update(loss)
            results.append((out, norm, lr, self.global_step))
        self._carried = state if cfg.carry_state else None
        return results

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
        norm = clip_gradients(self.optimizer, clip_value=cfg.clip_value, clip_norm=cfg.clip_norm)
        for cb in self.callbacks:
            cb.on_before_optimizer_step(self)
        self.optimizer.step()
        assert self.schedule is not None
        lr = float(self.optimizer.param_groups[0]["lr"])
        self.schedule.apply()
        self.global_step += 1
        return norm, lr

    # ------------------------------------------------------------------ epoch ends
    def _end_epoch(self, val_loader: Iterable[Any] | None, seconds: float, partial: bool) -> dict[str, Any]:
        """The epoch's row (validated when due), the best weights, the schedule, the logs."""
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
        row = self.parallel.agree(row)  # the same decisions in every process
        value = row.get(self.monitor)
        if value is not None:
            # a run cut short by max_steps still offers its last weights as the best
            self._track_best(float(value), row["epoch"])
        if not partial:  # the schedule and NT-ASGD's trigger only see whole epochs
            self._observe(value if validate else None, value)
        self.history.epochs.append(row)
        self._log_epoch(row)
        for cb in self.callbacks:
            cb.on_epoch_end(self, row)
        return row

    def _observe(self, validated: float | None, value: float | None) -> None:
        """A whole epoch ended: the schedule sees the monitored ``value``, NT-ASGD's trigger
        the ``validated`` one."""
        cfg = self.config
        assert self.schedule is not None
        if value is not None:
            self.schedule.observe(float(value), cfg.mode)
        opt = self.optimizer
        if isinstance(opt, NTASGD) and validated is not None:
            triggered = opt.observe(float(validated) if cfg.mode == "min" else -float(validated))
            if triggered:
                log.info("NT-ASGD: averaging starts at step %d", self.global_step)
        self.schedule.epoch_end()

    def _track_best(self, value: float, epoch: int) -> None:
        cfg = self.config
        best = self.history.best_value
        if math.isnan(value):
            improved = False
        elif best is None:
            improved = True
        else:
            improved = value < best - cfg.min_delta if cfg.mode == "min" else value > best + cfg.min_delta
        if not improved:
            self._wait += 1
            return
        self.history.best_value = value
        self.history.best_epoch = epoch
        self._wait = 0
        averaged = (
            self.optimizer.averaged() if isinstance(self.optimizer, NTASGD) else contextlib.nullcontext()
        )
        with averaged:
            self._best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()
            }
        if self.run_dir is not None and self.parallel.is_main:
            atomic_save(
                {"model": self._best_state, "epoch": epoch, "value": value, "monitor": self.monitor},
                self.run_dir / "checkpoints" / "best.pt",
            )

    def _limit_reached(self) -> str:
        """``"max_epochs"`` or ``"max_steps"`` when that limit is reached, else ``""``."""
        cfg = self.config
        if self.epoch >= cfg.max_epochs:
            return "max_epochs"
        if cfg.max_steps is not None and self.global_step >= cfg.max_steps:
            return "max_steps"
        return ""

    # ------------------------------------------------------------------ checkpoints
    def _save_last(
        self,
        batch_in_epoch: int,
        rng_epoch_start: dict[str, Any] | None,
        gen_states: list[Tensor] | None,
        *,
        finished: bool = False,
        reason: str = "",
    ) -> dict[str, Any] | None:
        """Write ``run_dir/checkpoints/last.pt`` (atomically, main process only); returns it."""
        if self.run_dir is None or not self.parallel.is_main:
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

    def _save_final(self, resume_point: dict[str, Any] | None) -> None:
        """A run stopped inside an epoch: its checkpoint also keeps how the run ended (the last,
        partial row, best weights and value), for a resume that has nothing left to train."""
        if resume_point is None:
            return
        resume_point["final"] = {
            "history": self.history.to_dict(),
            "best_state": self._best_state,
            "epoch": self.epoch,
            "wait": self._wait,
        }
        atomic_save(resume_point, self._last_path())

    def _last_path(self) -> Path:
        assert self.run_dir is not None
        return self.run_dir / "checkpoints" / "last.pt"

    # ------------------------------------------------------------------ logging
    def _write_logs(self) -> None:
        if self._logs is not None:
            self._logs.write(self.history, global_step=self.global_step, epochs=self.epoch)

    def _log_epoch(self, row: Mapping[str, Any]) -> None:
        if self._logs is not None:
            self._logs.log_epoch(row)
            self._write_logs()
        shown = " ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float) and k != "seconds")
        # A caller that turns the trainer's progress bar off shows progress its own way (an
        # ensemble's bar, a search's table): the epoch lines are then debug output.
        level = logging.INFO if self.config.progress else logging.DEBUG
        log.log(level, "epoch %d step %d %s (%.1fs)", row["epoch"], row["step"], shown, row["seconds"])

    def _postfix(self) -> str:
        s, w = self._epoch_loss
        parts = [f"loss={s / w:.4g}" if w else "loss=?"]
        if self.history.epochs:
            last = self.history.epochs[-1]
            if self.monitor in last and self.monitor != "train_loss":
                parts.append(f"{self.monitor}={last[self.monitor]:.4g}")
        parts.append(f"lr={self.optimizer.param_groups[0]['lr']:.2g}")
        return " ".join(parts)

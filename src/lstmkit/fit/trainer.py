r"""The training loop: a lean, explicit loop over plain ``nn.Module`` models.

Why a loop of our own and not PyTorch Lightning: truncated BPTT with k2 > k1, state carried
across batches, NT-ASGD's switch to averaged weights and *exact* mid-epoch resume (data order
and every random state) are each a few lines here, while in Lightning they mean overriding
its loop internals (its own TBPTT support was removed in 2.0). The loop stays a few hundred
lines a user can read, the model stays a plain module usable in any other loop, and the
dependency list stays short.

The user gives the model, a :class:`~lstmkit.fit.TrainConfig`, and either a ``loss_fn`` (for
batches ``(x, y)``) or a ``step`` function that computes the loss from a batch. The trainer
knows no cell and no task. Its parts live beside it: the step protocols and
:class:`~lstmkit.fit.step.StepOutput` in :mod:`lstmkit.fit.step`, the :class:`History` in
:mod:`lstmkit.fit.history`, checkpoints and the checks of a resume in
:mod:`lstmkit.fit.checkpoint`, the run folder's files in :mod:`lstmkit.fit.logs`, the TBPTT
window plan in :mod:`lstmkit.fit.tbptt`.

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

import copy
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.fit.checkpoint import loader_info, read_resume_checkpoint, seed_everything
from lstmkit.fit.config import TrainConfig, resolve_device
from lstmkit.fit.distributed import check_strategy, make_strategy
from lstmkit.fit.history import History
from lstmkit.fit.loop import Callback, TrainingLoop
from lstmkit.fit.metrics import BatchMean, Metric
from lstmkit.fit.optim import NTASGD, LRSchedule, build_optimizer
from lstmkit.fit.step import NonFiniteLossError, StepFn, StepOutput, Stepper, check_stateful, to_device
from lstmkit.fit.tbptt import decode_state

__all__ = ["Callback", "History", "NonFiniteLossError", "StepOutput", "Trainer"]

log = logging.getLogger("lstmkit.fit")


class Trainer(TrainingLoop):
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
        strategy: ``"single"`` (one process) or ``"ddp"``: one of several processes launched by
            ``torchrun``, each training on its shard of every batch with the gradients averaged
            across them (:mod:`lstmkit.fit.distributed`; the same updates as one process on
            the whole batch). Only the process of rank 0 writes the run folder and shows
            progress; a callback that sets ``should_stop`` must decide alike in every process.

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
        strategy: str = "single",
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
        if check_strategy(strategy) == "ddp" and config.tbptt_k1 is not None:
            raise ValueError(f"strategy: 'ddp' trains with full BPTT, got config.tbptt_k1={config.tbptt_k1}")
        self.loss_fn = loss_fn
        self.step_fn = step
        parallel = make_strategy(strategy, resolve_device(config.device, "config.device"))
        device = parallel.device  # with "ddp" on CUDA: this process's GPU
        if not parallel.is_main:  # one progress bar and report, the main process's
            config = config.replace(progress=False, plot=False)
        model.to(device)
        stepper = Stepper(
            model,
            loss_fn=loss_fn,
            step_fn=step,
            precision=config.precision,
            device=device,
            time_dim=config.time_dim,
        )
        super().__init__(
            model,
            config,
            stepper=stepper,
            optimizer=optimizer if optimizer is not None else build_optimizer(model.parameters(), config),
            metrics=_as_metrics(metrics or {}),
            callbacks=callbacks,
            device=device,
            parallel=parallel,
            train_stepper=parallel.train_stepper(stepper),  # the same, or run by DDP
        )

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
        if isinstance(train_loader, Iterator):
            raise TypeError(
                "train_loader: expected a re-iterable (DataLoader, list), got a one-shot iterator"
            )
        monitor = self.config.monitor or ("val_loss" if val_loader is not None else "train_loss")
        if monitor.startswith("val_") and val_loader is None:
            raise ValueError(f"monitor: {monitor!r} needs a val_loader, got none")
        self.history = History(monitor=monitor)
        resume_state = self._start(train_loader, resume)
        if self._logs is not None:
            self._logs.open(purge_step=self.global_step if resume_state is not None else None)
            self._write_logs()
        prev_det = torch.are_deterministic_algorithms_enabled()
        if self.config.deterministic:
            torch.use_deterministic_algorithms(True)
        self.should_stop = False
        try:
            for cb in self.callbacks:
                cb.on_fit_start(self)
            self._fit_loop(self.parallel.loader(train_loader), val_loader, resume_state)
        finally:
            if self.config.deterministic:
                torch.use_deterministic_algorithms(prev_det)
            if self._logs is not None:
                self._logs.close()
        self._finish()
        for cb in self.callbacks:
            cb.on_fit_end(self, self.history)
        return self.history

    @torch.no_grad()
    def predict(self, loader: Iterable[Any]) -> list[Any]:
        """The ``output`` of the step for every batch of ``loader`` (eval mode, no gradients;
        with truncated BPTT, the chunk outputs of a batch concatenated along ``time_dim``)."""
        cfg = self.config
        results: list[Any] = []
        with self._eval_mode(averaged=False):
            for batch in loader:
                batch = to_device(batch, self.device)
                if cfg.tbptt_k1 is None:
                    results.append(self._stepper.step(batch).output)
                    continue
                outs, _ = self._stepper.chunks(batch, cfg.tbptt_k1)
                parts: list[Any] = [out.output for out in outs]
                results.append(torch.cat(parts, cfg.time_dim) if parts[0] is not None else None)
        return results

    def state_dict_copy(self) -> dict[str, Tensor]:
        """A detached CPU copy of the model's state dict."""
        return copy.deepcopy({k: v.detach().cpu() for k, v in self.model.state_dict().items()})

    # ------------------------------------------------------------------ start and end
    def _start(self, train_loader: Iterable[Any], resume: bool | str | Path | None) -> dict[str, Any] | None:
        """The schedule, and either a fresh start (seeded) or the state of the checkpoint
        resumed (returned)."""
        cfg = self.config
        if cfg.tbptt_k1 is not None and self.step_fn is None:
            check_stateful(self.model)
        total_steps = cfg.max_steps
        if total_steps is None and cfg.tbptt_k1 is None and hasattr(train_loader, "__len__"):
            total_steps = cfg.max_epochs * len(train_loader)  # type: ignore[arg-type]
        self.schedule = LRSchedule(self.optimizer, cfg, total_steps)
        self._data_info = loader_info(train_loader)
        resume_state = self._resume_source(resume)
        if resume_state is None:
            if cfg.seed is not None:
                seed_everything(cfg.seed)
            self.global_step, self.epoch, self._wait = 0, 0, 0
            self._best_state = None
            self._carried = None
            return None
        self._load_state(resume_state)
        final = resume_state.get("final")
        if final is not None and self._limit_reached():
            # the run ended at these limits: nothing to train, so it ends as it did (its last
            # partial epoch, best weights and value included)
            self.history = History.from_dict(final["history"])
            self._best_state = final["best_state"]
            self.epoch, self._wait = int(final["epoch"]), int(final["wait"])
            log.info("resume: the run already reached its limits; nothing left to train")
        return resume_state

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
        if self._logs is not None:
            self._write_logs()
            if cfg.plot and self.history.epochs:
                summary = {
                    "monitor": self.monitor,
                    "best epoch": self.history.best_epoch,
                    "best value": self.history.best_value,
                    "stop reason": self.history.stop_reason,
                    "optimizer steps": self.global_step,
                }
                self._logs.report(self.history, summary)

    # ------------------------------------------------------------------ checkpoints
    def _resume_source(self, resume: bool | str | Path | None) -> dict[str, Any] | None:
        if resume is None or resume is False:
            return None
        if resume is True:
            if self.run_dir is None:
                raise ValueError("resume: True needs config.run_dir (where last.pt lies), got run_dir=None")
            path = self._last_path()
            if not path.is_file():
                log.info("resume: no checkpoint at %s, starting fresh", path)
                return None
        else:
            path = Path(resume)
        ckpt = read_resume_checkpoint(path, self.config, self._data_info, self.model, self.optimizer)
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


def _as_metrics(metrics: Mapping[str, Callable[[StepOutput], Any] | Metric]) -> dict[str, Metric]:
    """Each metric as a :class:`~lstmkit.fit.metrics.Metric` (a function: its batch mean)."""
    out: dict[str, Metric] = {}
    for name, m in metrics.items():
        if isinstance(m, Metric):
            out[name] = m
        elif callable(m):
            out[name] = BatchMean(m)
        else:
            raise TypeError(f"metrics[{name!r}]: expected a callable or a Metric, got {type(m).__name__}")
    return out

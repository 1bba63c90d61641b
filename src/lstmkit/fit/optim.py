r"""Optimizers and learning-rate schedules of the trainer.

* :func:`build_optimizer` makes SGD (momentum, Nesterov), Adam, AdamW, RMSprop or
  :class:`NTASGD` from a :class:`~lstmkit.fit.TrainConfig`.
* :class:`NTASGD` is the non-monotonically triggered averaged SGD of AWD-LSTM
  (Merity, Keskar & Socher 2018): SGD until the validation value stops improving, then SGD
  with an average of the iterates :math:`\bar w = \frac{1}{k}\sum_{j=T}^{T+k-1} w_j`, which is
  used for evaluation and becomes the final weights.
* :class:`LRSchedule` is the learning-rate multiplier: linear warmup, then constant, step
  decay, cosine decay, or reduce-on-plateau. Its whole state is a few numbers, so a resumed
  run continues the schedule exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.fit.config import TrainConfig

__all__ = [
    "NTASGD",
    "LRSchedule",
    "build_optimizer",
    "clip_gradients",
]


def build_optimizer(params: Iterable[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named by ``config.optimizer`` over ``params``."""
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("model: expected at least one parameter with requires_grad=True, got none")
    name, lr, wd = config.optimizer, config.lr, config.weight_decay
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=config.momentum, nesterov=config.nesterov, weight_decay=wd
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=config.betas, eps=config.eps, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=config.betas, eps=config.eps, weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum, eps=config.eps, weight_decay=wd)
    if name == "ntasgd":
        return NTASGD(params, lr=lr, weight_decay=wd, nonmono=config.ntasgd_nonmono)
    raise ValueError(f"optimizer: unknown name {name!r}")  # unreachable: TrainConfig validates


def clip_gradients(
    optimizer: torch.optim.Optimizer, *, clip_value: float | None = None, clip_norm: float | None = None
) -> float:
    """Clip the gradients of the optimizer's parameters, each to ``[-clip_value, clip_value]``
    and then their total 2-norm to ``clip_norm`` (either optional); returns the total norm
    before the norm clipping (0 without gradients)."""
    params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
    if clip_value is not None:
        torch.nn.utils.clip_grad_value_(params, clip_value)
    if clip_norm is not None:
        return float(torch.nn.utils.clip_grad_norm_(params, clip_norm))
    return float(torch.nn.utils.get_total_norm([p.grad for p in params])) if params else 0.0


class NTASGD(torch.optim.Optimizer):
    r"""Non-monotonically triggered averaged SGD (Merity et al. 2018, Algorithm 1).

    Plain SGD, :math:`w \leftarrow w - \eta (\nabla L + \lambda w)`, until :meth:`observe`
    sees a validation value worse than the best of those logged more than ``nonmono``
    validations ago (a "non-monotone" trigger); from then on every step also updates the running
    average :math:`\bar w` of the iterates. :meth:`averaged` swaps the average in (for
    evaluation); :meth:`swap_in_average` makes it permanent at the end of training.

    Args:
        params: parameters to optimize.
        lr: learning rate :math:`\eta`.
        weight_decay: L2 penalty :math:`\lambda`.
        nonmono: the non-monotone interval n.

    Example::

        >>> opt = NTASGD(model.parameters(), lr=30.0, nonmono=5)
        >>> ...  # each validation: opt.observe(val_loss); evaluate inside `with opt.averaged():`
    """

    def __init__(self, params: Iterable[Any], lr: float, weight_decay: float = 0.0, nonmono: int = 5) -> None:
        if not lr > 0:
            raise ValueError(f"lr: expected > 0, got {lr}")
        if nonmono < 1:
            raise ValueError(f"nonmono: expected an int >= 1, got {nonmono}")
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})
        self.nonmono = nonmono
        self.logs: list[float] = []
        self.averaging = False
        self.avg_steps = 0

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.averaging:
            self.avg_steps += 1
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = p.grad
                if group["weight_decay"]:
                    d = d.add(p, alpha=group["weight_decay"])
                p.add_(d, alpha=-group["lr"])
                if self.averaging:
                    state = self.state[p]
                    if "ax" not in state:
                        state["ax"] = p.detach().clone()
                    else:  # running mean of the iterates since the trigger
                        state["ax"].add_(p - state["ax"], alpha=1.0 / self.avg_steps)
        return loss

    def observe(self, value: float) -> bool:
        """Log a validation value (lower is better); returns True when averaging starts now."""
        triggered = False
        if not self.averaging and len(self.logs) > self.nonmono and value > min(self.logs[: -self.nonmono]):
            self.averaging = True
            self.avg_steps = 0
            triggered = True
        self.logs.append(float(value))
        return triggered

    def _pairs(self) -> Iterator[tuple[Tensor, Tensor]]:
        for group in self.param_groups:
            for p in group["params"]:
                ax = self.state[p].get("ax")
                if ax is not None:
                    yield p, ax

    @contextmanager
    def averaged(self) -> Iterator[None]:
        """Within the block the parameters hold the averaged weights (if averaging)."""
        saved = [(p, p.detach().clone()) for p, _ in self._pairs()]
        with torch.no_grad():
            for p, ax in self._pairs():
                p.copy_(ax)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, w in saved:
                    p.copy_(w)

    @torch.no_grad()
    def swap_in_average(self) -> None:
        """Copy the averaged weights into the parameters for good (end of training); averaging
        ends, so :meth:`averaged` no longer swaps anything in."""
        for p, ax in self._pairs():
            p.copy_(ax)
            del self.state[p]["ax"]
        self.averaging = False
        self.avg_steps = 0

    def state_dict(self) -> dict[str, Any]:
        sd = super().state_dict()
        sd["ntasgd"] = {"logs": list(self.logs), "averaging": self.averaging, "avg_steps": self.avg_steps}
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        extra = state_dict.pop("ntasgd", None)
        super().load_state_dict(state_dict)
        if extra is not None:
            self.logs = list(extra["logs"])
            self.averaging = bool(extra["averaging"])
            self.avg_steps = int(extra["avg_steps"])


class LRSchedule:
    """Learning-rate multiplier from a :class:`~lstmkit.fit.TrainConfig`.

    The rate is ``lr * warmup(step) * decay``, where ``warmup`` rises linearly from
    ``1 / warmup_steps`` to 1 over the first ``warmup_steps`` optimizer steps and ``decay`` is

    * ``constant``: 1;
    * ``step``: ``gamma ** (epoch // step_size)``;
    * ``cosine``: :math:`r + (1 - r)\\tfrac12(1 + \\cos(\\pi s / S))` with ``r = min_lr / lr``,
      ``s`` the steps after warmup and ``S = total_steps - warmup_steps``;
    * ``plateau``: times ``gamma`` after ``plateau_patience`` validations without improvement
      of the monitored value, not below ``min_lr``.

    Call :meth:`apply` after each optimizer step, :meth:`epoch_end` after each epoch and
    :meth:`observe` with each validation value.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int | None = None
    ) -> None:
        if config.schedule == "cosine" and not total_steps:
            raise ValueError(
                "schedule: 'cosine' needs the number of training steps; set max_steps or use a "
                "training loader with a length"
            )
        self.optimizer = optimizer
        self.config = config
        self.total_steps = total_steps
        # the configured rates, kept in the groups (as torch's schedulers do): a second schedule on
        # the same optimizer (a second fit) starts from them, not from the decayed current rates
        self.base_lrs = [float(g.setdefault("initial_lr", g["lr"])) for g in optimizer.param_groups]
        self.step = 0
        self.epoch = 0
        self.plateau_factor = 1.0
        self.best: float | None = None
        self.bad = 0
        self.apply_lr()

    def factor(self) -> float:
        cfg = self.config
        warm = min(1.0, (self.step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
        if cfg.schedule == "step":
            decay = cfg.gamma ** (self.epoch // cfg.step_size)
        elif cfg.schedule == "cosine":
            assert self.total_steps is not None
            span = max(1, self.total_steps - cfg.warmup_steps)
            s = min(max(0, self.step - cfg.warmup_steps), span)
            r = cfg.min_lr / cfg.lr
            decay = r + (1 - r) * 0.5 * (1 + math.cos(math.pi * s / span))
        elif cfg.schedule == "plateau":
            decay = self.plateau_factor
        else:
            decay = 1.0
        return warm * decay

    def apply_lr(self) -> None:
        f = self.factor()
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * f

    def apply(self) -> None:
        """One optimizer step was taken."""
        self.step += 1
        self.apply_lr()

    def epoch_end(self) -> None:
        self.epoch += 1
        self.apply_lr()

    def observe(self, value: float, mode: str) -> None:
        """A validation value of the monitored quantity (for ``plateau``)."""
        if self.config.schedule != "plateau" or value != value:
            return
        better = self.best is None or (value < self.best if mode == "min" else value > self.best)
        if better:
            self.best, self.bad = value, 0
            return
        self.bad += 1
        if self.bad >= self.config.plateau_patience:
            floor = self.config.min_lr / self.config.lr
            self.plateau_factor = max(self.plateau_factor * self.config.gamma, floor)
            self.bad = 0
        self.apply_lr()

    def state_dict(self) -> dict[str, Any]:
        """The counters, the plateau state and the base rates, in plain values."""
        state: dict[str, Any] = {name: getattr(self, name) for name in _SCHEDULE_STATE}
        return {**state, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.epoch = int(state["epoch"])
        self.plateau_factor = float(state["plateau_factor"])
        self.best = state["best"]
        self.bad = int(state["bad"])
        self.base_lrs = [float(x) for x in state["base_lrs"]]
        self.apply_lr()


#: what :meth:`LRSchedule.state_dict` saves besides the base rates
_SCHEDULE_STATE = ("step", "epoch", "plateau_factor", "best", "bad")

r"""One training step: the :class:`StepOutput` a step returns, and the :class:`Stepper` that
calls a step on a batch or on a stretch of time steps.

Two protocols (see :class:`~lstmkit.fit.Trainer`):

* **plain (full BPTT)**: ``step(model, batch) -> Tensor | StepOutput``; the default step,
  given ``loss_fn``, is ``pred = model(x)`` (the first item of a tuple output) and
  ``loss_fn(pred, y)``;
* **stateful (truncated BPTT)**: ``step(model, chunk, state) -> (Tensor | StepOutput,
  new_state)``; the default is ``pred, new_state = model(x, state)`` and ``loss_fn(pred, y)``.

A bare loss tensor counts as a :class:`StepOutput` of weight 1 (plain) or of the chunk's
number of steps (stateful, so that the chunks of a window weigh by their length).

Example::

    >>> model = nn.Linear(3, 1)
    >>> stepper = Stepper(model, loss_fn=nn.functional.mse_loss)
    >>> out = stepper.step((torch.randn(4, 3), torch.randn(4, 1)))
    >>> out.weight  # target.numel()
    4.0
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.core.tree import detach_state, tree_map
from lstmkit.fit.tbptt import Window, slice_time, time_length, window_pieces

__all__ = ["NonFiniteLossError", "StepFn", "StepOutput", "Stepper", "check_stateful", "to_device"]

#: ``step(model, batch)`` or ``step(model, chunk, state)`` (see the module docstring)
StepFn = Callable[..., Any]


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

    Example::

        >>> StepOutput(torch.tensor(0.5), target=torch.zeros(2, 3)).weight
        6.0
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


def to_device(batch: Any, device: torch.device) -> Any:
    """Every tensor of ``batch`` (any nest) on ``device`` (non-blocking off the CPU)."""
    if device.type == "cpu":
        return tree_map(lambda t: t if t.device == device else t.to(device), batch)
    return tree_map(lambda t: t.to(device, non_blocking=True), batch)


def check_stateful(model: nn.Module) -> None:
    """``TypeError`` unless ``model.forward`` takes a state (``forward(x, state)``), as the
    default step of truncated BPTT needs."""
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


def _as_output(result: Any, weight: float | None = None) -> StepOutput:
    """The step's result as a StepOutput; a bare loss gets ``weight`` (default 1)."""
    if isinstance(result, StepOutput):
        return result
    if isinstance(result, Tensor):
        return StepOutput(result, weight=weight)
    raise TypeError(
        f"step: expected the step to return a loss tensor or a StepOutput, got {type(result).__name__}"
    )


def _split_xy(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(
        "batch: the default step (loss_fn) expects batches (x, y); got "
        f"{type(batch).__name__}"
        f"{f' of length {len(batch)}' if isinstance(batch, (tuple, list)) else ''}. "
        "Pass step=... for other batch layouts"
    )


def _pair(result: Any, expected: str) -> tuple[Any, Any]:
    """``result`` as ``(output, state)``; a ``TypeError`` saying what was ``expected`` otherwise."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(f"{expected}, got {type(result).__name__}")
    return result[0], result[1]


class Stepper:
    """Calls a step (the user's, or the default one built on ``loss_fn``) on a batch or a
    chunk of time steps, under bf16 autocast when ``precision="bf16"``.

    Args:
        model: the module trained.
        loss_fn: ``loss_fn(pred, target) -> scalar`` of the default step.
        step_fn: the user's step (see the module docstring); overrides ``loss_fn``.
        precision: ``"fp32"`` or ``"bf16"``.
        device: where the batches lie (the autocast's device type).
        time_dim: the time dimension of every tensor of a batch (truncated BPTT).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        loss_fn: Callable[[Any, Any], Tensor] | None = None,
        step_fn: StepFn | None = None,
        precision: str = "fp32",
        device: torch.device | None = None,
        time_dim: int = 1,
    ) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.step_fn = step_fn
        self.precision = precision
        self.device = torch.device("cpu") if device is None else device
        self.time_dim = time_dim

    def autocast(self) -> Any:
        """bf16 autocast on the batches' device, or nothing."""
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step(self, batch: Any) -> StepOutput:
        """The plain step on ``batch``."""
        with self.autocast():
            if self.step_fn is not None:
                return _as_output(self.step_fn(self.model, batch))
            x, y = _split_xy(batch)
            pred = self.model(x)
            if isinstance(pred, tuple):
                pred = pred[0]
            assert self.loss_fn is not None
            return StepOutput(self.loss_fn(pred, y), output=pred, target=y)

    def stateful(self, chunk: Any, state: Any) -> tuple[StepOutput, Any]:
        """The stateful step on ``chunk`` from ``state`` (``None``: the initial state)."""
        with self.autocast():
            if self.step_fn is not None:
                result, new_state = _pair(
                    self.step_fn(self.model, chunk, state),
                    "step: with truncated BPTT the step must return (loss or StepOutput, state)",
                )
                # a bare loss is a mean over the chunk's steps: chunks of a window weigh by length
                return _as_output(result, float(time_length(chunk, self.time_dim))), new_state
            x, y = _split_xy(chunk)
            pred, new_state = _pair(
                self.model(x, state),
                "model: truncated BPTT needs a stateful model, model(x, state) -> (output, state)",
            )
            assert self.loss_fn is not None
            return StepOutput(self.loss_fn(pred, y), output=pred, target=y), new_state

    def chunks(self, batch: Any, k1: int, state: Any = None) -> tuple[list[StepOutput], Any]:
        """The stateful step over ``batch`` in chunks of ``k1`` steps, the state carried from
        ``state``: the outputs of every chunk and the final state (evaluation, no updates)."""
        outs = []
        length = time_length(batch, self.time_dim)
        for start in range(0, length, k1):
            chunk = slice_time(batch, start, min(start + k1, length), self.time_dim)
            out, state = self.stateful(chunk, state)
            outs.append(out)
        return outs, state

    def window(self, batch: Any, window: Window, state: Any) -> tuple[tuple[StepOutput, Tensor] | None, Any]:
        """The output and loss of one TBPTT window from ``state`` (``None`` for a window of
        padding only), and the detached state the next window starts from."""
        next_state = state
        loss_sum: Tensor | None = None
        weight = 0.0
        outs: list[StepOutput] = []
        for piece in window_pieces(window):
            chunk = slice_time(batch, piece.start, piece.stop, self.time_dim)
            out, state = self.stateful(chunk, state)
            if piece.in_loss:
                wgt = float(out.weight or 0.0)
                loss_sum = out.loss * wgt if loss_sum is None else loss_sum + out.loss * wgt
                weight += wgt
                outs.append(out)
            if piece.save_after:
                next_state = detach_state(state)
        assert loss_sum is not None
        if weight == 0:
            return None, next_state
        loss = loss_sum / weight
        return (outs[0] if len(outs) == 1 else StepOutput(loss, weight=weight), loss), next_state

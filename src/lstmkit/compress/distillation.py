r"""Knowledge distillation: a smaller student learns a trained teacher's outputs, on the Trainer.

Classifiers and language models (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a
Neural Network"): with temperature :math:`T`, teacher logits :math:`t`, student logits
:math:`s` and labels :math:`y`, per example (per token for a language model)

.. math::

    \mathcal L = \alpha\, T^2\, \mathrm{KL}\bigl(\mathrm{softmax}(t / T)\,\|\,
    \mathrm{softmax}(s / T)\bigr) + (1 - \alpha)\, \mathrm{CE}(s, y)

(the :math:`T^2` keeps the soft term's gradients on the scale of the hard term's as
:math:`T` changes). Quantile forecasters: the student's quantile :math:`\hat y_q` learns the
teacher's quantile :math:`\tilde y_q` of the same level and the observation, each by the
pinball loss :math:`\rho_q(e) = \max(q e, (q - 1) e)`,

.. math::

    \mathcal L = \alpha\, \overline{\rho_q(\tilde y_q - \hat y_q)}
        + (1 - \alpha)\, \overline{\rho_q(y - \hat y_q)}

(means over elements and levels), whose soft term is smallest where the student's
quantiles equal the teacher's.

Batches are tuples ``(*inputs, target)``: the models are called as ``model(*inputs)`` (the
first item of a tuple output is taken: an LSTM's or a language model's ``(output, state)``),
so ``(x, y)``, ``(x, lengths, y)`` and the forecaster's ``(past, future, y)`` all work.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from lstmkit.fit.config import TrainConfig
from lstmkit.fit.history import History
from lstmkit.fit.losses import quantile_loss
from lstmkit.fit.metrics import Metric
from lstmkit.fit.step import StepOutput
from lstmkit.fit.trainer import Trainer

__all__ = ["TASKS", "distill", "distillation_loss", "quantile_distillation_loss"]

TASKS = ("classification", "language_model", "quantile")


def distillation_loss(
    student: Tensor,
    teacher: Tensor,
    target: Tensor,
    *,
    temperature: float = 2.0,
    alpha: float = 0.5,
    ignore_index: int = -100,
) -> Tensor:
    r"""Hinton et al.'s loss (module docstring), a mean over the examples or tokens.

    Args:
        student: (*, C) the student's logits.
        teacher: (*, C) the teacher's logits.
        target: (*) class indices; positions equal to ``ignore_index`` (padding) count in
            neither term.
        temperature: T > 0, the softening of both distributions in the soft term.
        alpha: the weight of the soft term, in [0, 1].

    Example::

        >>> logits = torch.randn(4, 3)
        >>> distillation_loss(logits, logits, torch.tensor([0, 2, 1, 1]), alpha=1.0)
        tensor(0.)
    """
    _check_mix(temperature, alpha)
    if student.shape != teacher.shape or student.shape[:-1] != target.shape:
        raise ValueError(
            f"student, teacher, target: expected (*, C), (*, C) and (*), got {tuple(student.shape)}, "
            f"{tuple(teacher.shape)} and {tuple(target.shape)}"
        )
    classes = student.shape[-1]
    valid = (target != ignore_index).reshape(-1)  # (M,)
    s = student.reshape(-1, classes)[valid]  # (M', C)
    t = teacher.reshape(-1, classes)[valid].detach()
    count = max(int(valid.sum()), 1)
    log_p_s = F.log_softmax(s / temperature, dim=-1)
    log_p_t = F.log_softmax(t / temperature, dim=-1)
    kl = F.kl_div(log_p_s, log_p_t, log_target=True, reduction="sum") / count  # KL(p_t || p_s)
    ce = F.cross_entropy(s, target.reshape(-1)[valid], reduction="sum") / count
    return alpha * temperature**2 * kl + (1 - alpha) * ce


def quantile_distillation_loss(
    student: Tensor,
    teacher: Tensor,
    target: Tensor,
    quantiles: Sequence[float] | Tensor,
    *,
    alpha: float = 0.5,
) -> Tensor:
    r"""The quantile forecaster's distillation loss (module docstring).

    Args:
        student: (*, Q) the student's quantiles.
        teacher: (*, Q) the teacher's quantiles, of the same levels.
        target: (*) observations.
        quantiles: the Q levels in (0, 1).
        alpha: the weight of the teacher's term, in [0, 1].
    """
    _check_mix(1.0, alpha)
    if student.shape != teacher.shape:
        raise ValueError(
            f"teacher: expected the student's shape {tuple(student.shape)}, got {tuple(teacher.shape)}"
        )
    levels = list(torch.as_tensor(quantiles, dtype=torch.float64).reshape(-1).tolist())
    hard = quantile_loss(student, target, levels)
    teacher = teacher.detach()
    soft = torch.stack(
        [quantile_loss(student[..., k : k + 1], teacher[..., k], [q]) for k, q in enumerate(levels)]
    ).mean()  # each level against the teacher's quantile of that level
    return alpha * soft + (1 - alpha) * hard


def _check_mix(temperature: object, alpha: object) -> None:
    for name, value in (("temperature", temperature), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name}: expected a finite number, got {value!r}")
    assert isinstance(temperature, (int, float)) and isinstance(alpha, (int, float))
    if temperature <= 0:
        raise ValueError(f"temperature: expected a number > 0, got {temperature}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha: expected a weight in [0, 1], got {alpha}")


def _output(result: Any) -> Tensor:
    """A model's output: the first item of a tuple (``(output, state)``)."""
    return result[0] if isinstance(result, tuple) else result


def _split(batch: Any) -> tuple[tuple[Any, ...], Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(
            f"data: expected batches (*inputs, target), got {type(batch).__name__}"
            f"{f' of length {len(batch)}' if isinstance(batch, (tuple, list)) else ''}"
        )
    return tuple(batch[:-1]), batch[-1]


def _step(
    teacher: nn.Module, task: str, temperature: float, alpha: float, quantiles: Sequence[float] | None
) -> Callable[[nn.Module, Any], StepOutput]:
    """The Trainer's step: the frozen teacher's outputs (no gradient), the student's, the loss."""

    def step(student: nn.Module, batch: Any) -> StepOutput:
        inputs, target = _split(batch)
        with torch.no_grad():
            soft = _output(teacher(*inputs))
        out = _output(student(*inputs))
        if task == "quantile":
            assert quantiles is not None
            loss = quantile_distillation_loss(out, soft, target, quantiles, alpha=alpha)
            return StepOutput(loss, output=out, target=target)
        loss = distillation_loss(out, soft, target, temperature=temperature, alpha=alpha)
        return StepOutput(loss, output=out, target=target, mask=target != -100)

    return step


def _check_distill(teacher: object, student: object, task: str, quantiles: object) -> None:
    if task not in TASKS:
        raise ValueError(f"task: expected one of {TASKS}, got {task!r}")
    for name, model in (("teacher", teacher), ("student", student)):
        if not isinstance(model, nn.Module):
            raise TypeError(f"{name}: expected an nn.Module, got {type(model).__name__}")
    if teacher is student:
        raise ValueError("student: expected another module than the teacher, got the teacher itself")
    if task == "quantile" and not quantiles:
        raise ValueError("quantiles: task='quantile' needs the output levels, e.g. quantiles=LEVELS")


def _loader(data: Any, batch_size: int, shuffle: bool) -> Iterable[Any]:
    """``data`` as the Trainer takes it: a Dataset batched, anything else (a DataLoader, a list
    of batches) as it is."""
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
    if not isinstance(data, Iterable):
        raise TypeError(f"data: expected a DataLoader, a Dataset or batches, got {type(data).__name__}")
    return data


def _config(epochs: int, lr: float, settings: Mapping[str, Any]) -> TrainConfig:
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"settings: {unknown} are no TrainConfig fields (known: {sorted(known)})")
    if "max_epochs" in settings:
        raise ValueError("max_epochs: pass epochs= instead")
    if settings.get("tbptt_k1") is not None:
        raise ValueError(
            "tbptt_k1: distillation trains on whole sequences (the teacher's state would have to "
            "be carried beside the student's); cut long sequences into batches instead"
        )
    return TrainConfig(**{"max_epochs": epochs, "lr": lr, "progress": False, "plot": False, **settings})


def distill(
    teacher: nn.Module,
    student: nn.Module,
    data: Any,
    *,
    task: str,
    temperature: float = 2.0,
    alpha: float = 0.5,
    epochs: int = 10,
    lr: float = 1e-3,
    batch_size: int = 32,
    val_data: Any = None,
    quantiles: Sequence[float] | None = None,
    metrics: Mapping[str, Callable[[StepOutput], Any] | Metric] | None = None,
    **settings: Any,
) -> History:
    """Train ``student`` to match ``teacher`` on ``data`` with the :class:`~lstmkit.fit.Trainer`.

    The teacher is put in evaluation mode, moved to the training device and never updated
    (its outputs are computed without gradients); the student is trained in place. The loss
    is the module docstring's: soft targets with temperature for ``"classification"`` and
    ``"language_model"`` (per token; targets ``-100`` are padding), the teacher's quantiles for
    ``"quantile"``.

    Args:
        teacher: the trained model; ``teacher(*inputs)`` gives logits (*, C) or quantiles (*, Q).
        student: the model to train, with outputs of the teacher's shape.
        data: the training batches ``(*inputs, target)``: a DataLoader, a list of batches, or
            a Dataset (batched by ``batch_size``, shuffled).
        task: ``"classification"``, ``"language_model"`` or ``"quantile"``.
        temperature: T > 0 (classification and language models).
        alpha: the weight of the teacher's term, in [0, 1] (``1 - alpha``: the true targets').
        epochs, lr: the training length and learning rate (``TrainConfig.max_epochs``, ``lr``).
        batch_size: for a Dataset.
        val_data: validation batches (the same forms); ``val_loss`` is the distillation loss.
        quantiles: the Q levels of the outputs (``"quantile"`` only; the forecaster's are
            :data:`lstmkit.apps.forecasting.base.LEVELS`).
        metrics: validation metrics, as the Trainer takes them (e.g. ``{"acc": accuracy}``).
        **settings: other :class:`~lstmkit.fit.TrainConfig` fields (``optimizer``,
            ``clip_norm``, ``patience``, ``device``, ``seed``, ...); ``progress`` and ``plot``
            default to ``False``. Truncated BPTT is refused.

    Returns:
        the Trainer's :class:`~lstmkit.fit.History`.

    Example::

        >>> history = distill(big_lm, small_lm, loader, task="language_model", epochs=3)
        >>> history["train_loss"][-1]
    """
    _check_distill(teacher, student, task, quantiles)
    _check_mix(temperature, alpha)
    config = _config(epochs, lr, settings)
    step = _step(teacher, task, float(temperature), float(alpha), quantiles)
    trainer = Trainer(student, config, step=step, metrics=metrics)
    teacher.to(trainer.device).eval()
    train = _loader(data, batch_size, shuffle=True)
    val = None if val_data is None else _loader(val_data, batch_size, shuffle=False)
    return trainer.fit(train, val)

r"""The one base of lstmkit's task models: fit / predict / save / load around plain networks.

A task model (:class:`~lstmkit.apps.forecasting.estimator.Forecaster`,
:class:`~lstmkit.apps.classification.estimator.SequenceClassifier`,
:class:`~lstmkit.apps.anomaly.estimator.AnomalyDetector`) is an :class:`Estimator`: it holds its
settings in a frozen dataclass (``config``), builds its network (an ``nn.Module`` of the app's
``model.py``) in :meth:`Estimator._build_net`, and gets from this base

* the device (``config.device``, checked against the devices present);
* an ensemble of networks, member ``k`` built and trained from seed ``config.seed + k``
  (:meth:`Estimator._new_net`, :meth:`Estimator._train_member`, :meth:`Estimator._fit_ensemble`)
  with :class:`~lstmkit.fit.Trainer`;
* one progress bar for the whole ensemble (:class:`EpochTicker`);
* :meth:`Estimator.save` and :meth:`Estimator.load`: one file with a format tag and version,
  tensors and plain values only (``torch.load(weights_only=True)`` reads it on any device);
* one-line errors: an unfitted model, a file of another kind or a newer version.

The checks the task models share live here too: names of LSTM variants and engines
(:func:`check_variant`, :func:`check_engine_name`), numbers (:func:`check_int`, from
:mod:`lstmkit.core.layers.options`,
:func:`check_rates`), finite inputs (:func:`finite`), class labels (:func:`class_indices`),
and networks built in float32 whatever the
default dtype (:func:`float32_modules`).

Example (a minimal task model)::

    >>> @dataclass(frozen=True)
    ... class MeanConfig:
    ...     hidden_size: int = 8
    ...     seed: int = 0
    ...     device: str = "cpu"
    >>> class MeanModel(Estimator):
    ...     format = "lstmkit.MeanModel"
    ...     def __init__(self, hidden_size=8, seed=0, device="cpu", progress=False):
    ...         super().__init__(MeanConfig(hidden_size, seed, device), progress)
    ...     def _build_net(self):
    ...         return nn.Linear(3, self.config.hidden_size)
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, fields
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lstmkit.core.cells.lstm import resolve_variant
from lstmkit.core.engines.select import check_engine
from lstmkit.core.layers.options import check_int
from lstmkit.core.layers.settings import LSTMKeywords
from lstmkit.core.scan import check_finite
from lstmkit.fit.checkpoint import atomic_save, load_file
from lstmkit.fit.config import TrainConfig, resolve_device
from lstmkit.fit.distributed import check_strategy, default_strategy, is_main_process
from lstmkit.fit.history import History
from lstmkit.fit.loop import Callback, TrainingLoop
from lstmkit.fit.step import StepFn, StepOutput
from lstmkit.fit.trainer import Trainer
from lstmkit.io.progress import ProgressBar, progress_bar

__all__ = [
    "EpochTicker",
    "Estimator",
    "also_report_to",
    "check_engine_name",
    "check_int",
    "check_rates",
    "check_variant",
    "class_indices",
    "finite",
    "float32_modules",
    "settings",
]

#: a member's training: ``(member, bar) -> (network, its loss curves)``
MemberFit = Callable[[int, ProgressBar], tuple[nn.Module, dict[str, list[float]]]]
#: a term added to every batch's loss: ``network -> scalar tensor`` (see :meth:`Estimator.start_from`)
Penalty = Callable[[nn.Module], torch.Tensor]


# ---------------------------------------------------------------------- checks
def check_variant(variant: object) -> None:
    """``ValueError`` naming ``variant`` and listing the valid names, unless it names an LSTM
    variant (or is an :class:`~lstmkit.core.cells.lstm.LSTMSpec`)."""
    resolve_variant(variant)  # type: ignore[arg-type]


def check_engine_name(engine: object) -> None:
    """``ValueError`` naming ``engine`` unless it is ``None`` or a known engine."""
    if engine is None:
        return
    check_engine(engine)


class Settings(Protocol):
    """What :func:`check_rates` reads from a task model's settings (``weight_decay`` and
    ``dropout`` where it has them)."""

    @property
    def lr(self) -> float: ...

    @property
    def variant(self) -> str: ...

    @property
    def engine(self) -> str | None: ...

    @property
    def device(self) -> str: ...


def check_rates(settings: Settings) -> None:
    """The settings every task model has: a finite learning rate > 0, a finite weight decay
    >= 0 and dropout in [0, 1) (where it has them), a known LSTM variant and engine, a device
    present; a one-line ``ValueError`` naming the first one that is not."""
    lr = settings.lr
    weight_decay = getattr(settings, "weight_decay", 0.0)
    dropout = getattr(settings, "dropout", 0.0)
    if not 0 < lr < math.inf:
        raise ValueError(f"lr: expected a finite learning rate > 0, got {lr}")
    if not 0 <= weight_decay < math.inf:
        raise ValueError(f"weight_decay: expected a finite value >= 0, got {weight_decay}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout: expected a value in [0, 1), got {dropout}")
    check_variant(settings.variant)
    check_engine_name(settings.engine)
    resolve_device(settings.device)


def finite(
    name: str,
    values: Any,
    *,
    axes: Sequence[str] | None = None,
    valid: np.ndarray | None = None,
    hint: str = "",
) -> None:
    """``ValueError`` naming ``name`` and the first NaN or infinite entry of ``values`` (an
    array or tensor) whose ``valid`` mask (of the leading shape) is true, e.g. ``"series
    'sales': expected finite values, got inf at step 17"``, with ``hint`` appended."""
    x = values if isinstance(values, torch.Tensor) else torch.from_numpy(np.asarray(values, dtype=np.float64))
    mask = None if valid is None else torch.from_numpy(np.asarray(valid, dtype=bool))
    try:
        check_finite(name, x, axes=axes, valid=mask)
    except ValueError as exc:
        if not hint:
            raise
        raise ValueError(f"{exc}; {hint}") from None


def class_indices(y: Any, n: int) -> np.ndarray:
    """``y`` as (n,) int64 class indices 0..K-1, every class present; a clear error otherwise."""
    labels = np.asarray(y)
    if labels.shape != (n,):
        raise ValueError(f"y: expected {n} labels (one per sequence), got shape {tuple(labels.shape)}")
    integral = labels.dtype.kind in "iu" or (
        labels.dtype.kind == "f"
        and bool(np.isfinite(labels).all())
        and bool((labels == np.round(labels)).all())
    )
    if not integral:
        raise TypeError(
            f"y: expected integer class indices 0..K-1, got dtype {labels.dtype} (e.g. "
            f"{labels[:3].tolist()}); map labels to indices with np.unique(y, return_inverse=True)"
        )
    labels = labels.astype(np.int64)
    if (labels < 0).any():
        raise ValueError("y: expected class indices >= 0")
    k = int(labels.max()) + 1
    if k < 2:
        raise ValueError("y: expected at least two classes")
    absent = sorted(set(range(k)) - set(np.unique(labels).tolist()))
    if absent:
        raise ValueError(
            f"y: expected every class 0..{k - 1} to have sequences, none has {absent} (labels 1..K? "
            "map them with np.unique(y, return_inverse=True))"
        )
    return labels


@contextlib.contextmanager
def float32_modules() -> Iterator[None]:
    """Build modules in float32 whatever ``torch.get_default_dtype()`` is: the task models
    feed their networks float32 tensors, and the same seed then draws the same weights."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def settings(config_type: type[Any], arguments: Mapping[str, Any]) -> Any:
    """A task model's settings from its constructor's ``arguments`` (its ``locals()``): the
    dataclass ``config_type`` built from the arguments named as its fields (validated there).

    Example::

        >>> def __init__(self, horizon: int, *, window: int | None = None, progress: bool = True):
        ...     super().__init__(settings(ForecasterConfig, locals()), progress)
    """
    return config_type(**{f.name: arguments[f.name] for f in fields(config_type)})


# ---------------------------------------------------------------------- progress
class EpochTicker(Callback):
    """Advance an ensemble's progress bar by one at every epoch's end, showing
    ``<label>loss=... val=...`` (the validation loss when the epoch has one)."""

    def __init__(self, bar: ProgressBar, label: str = "") -> None:
        self.bar = bar
        self.label = label

    def on_epoch_end(self, trainer: TrainingLoop, row: dict[str, Any]) -> None:
        self.bar.update(1)
        v = row.get("val_loss")
        val = f" val={v:.4f}" if v is not None and math.isfinite(v) else ""
        self.bar.set_postfix_str(f"{self.label}loss={row['train_loss']:.4f}{val}")


#: callbacks every estimator's trainings also get, inside :func:`also_report_to`
_LISTENERS: list[Callback] = []


@contextlib.contextmanager
def also_report_to(*callbacks: Callback) -> Iterator[None]:
    """Every network an estimator trains inside the block also reports to ``callbacks``
    (after its progress ticker): a job server watches epochs this way, and may stop a training
    (``trainer.should_stop``) when its time is spent.

    Example::

        >>> with also_report_to(MyCallback()):
        ...     model.fit(series)
    """
    _LISTENERS.extend(callbacks)
    try:
        yield
    finally:
        for cb in callbacks:
            _LISTENERS.remove(cb)


def _penalized(step: StepFn, penalty: Penalty) -> StepFn:
    """``step`` with ``penalty(model)`` added to its loss."""

    def penalized_step(model: nn.Module, batch: Any) -> StepOutput:
        out = step(model, batch)
        return dataclasses.replace(out, loss=out.loss + penalty(model))

    return penalized_step


# ---------------------------------------------------------------------- the base
class Estimator:
    """Base of the task models (see the module docstring).

    Subclasses set :attr:`format` (and raise :attr:`format_version` when their files change),
    implement :meth:`_build_net`, and keep their fitted state (besides the networks) in
    attributes named by :meth:`_state` / :meth:`_set_state`, so :meth:`save` and :meth:`load`
    handle them.

    Args:
        config: the settings, a frozen dataclass with at least ``seed`` and ``device`` (its
            fields are the subclass constructor's keyword arguments).
        progress: show a progress bar on stderr while fitting.
        trainer_strategy: how the networks train, the :class:`~lstmkit.fit.Trainer`'s
            ``strategy``: ``"single"`` or ``"ddp"`` (in every process launched by ``torchrun``:
            the same networks as one process; only rank 0 shows progress). ``None``: the
            environment's ``LSTMKIT_STRATEGY`` (set by ``lstmkit ... --processes N``), else
            ``"single"``. A setting of the run, not of the model: not saved.

    Attributes:
        nets_: the fitted networks (one per ensemble member); empty before :meth:`fit`.
        history_: loss curves of the first member.
        fit_seconds_: wall time of the last fit.
    """

    #: the tag of saved files, e.g. ``"lstmkit.Forecaster"``
    format: ClassVar[str] = "lstmkit.Estimator"
    #: the newest layout of saved files; files of a higher version are refused
    format_version: ClassVar[int] = 1

    def __init__(self, config: Any, progress: bool = True, trainer_strategy: str | None = None) -> None:
        self.config = config
        self.progress = progress
        self.trainer_strategy = (
            default_strategy()
            if trainer_strategy is None
            else check_strategy(trainer_strategy, "trainer_strategy")
        )
        self.nets_: list[nn.Module] = []
        self.history_: dict[str, list[float]] = {}
        self.fit_seconds_: float | None = None
        self._start_state: Mapping[str, torch.Tensor] | None = None
        self._penalty: Penalty | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config}{', fitted' if self.nets_ else ''})"

    def config_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (JSON-ready)."""
        return asdict(self.config)

    def clone(self) -> Estimator:
        """An unfitted model with the same settings (and training strategy)."""
        model = type(self)(**asdict(self.config), progress=self.progress)
        model.trainer_strategy = self.trainer_strategy
        return model

    # ------------------------------------------------------------------ networks
    def _device(self) -> torch.device:
        return resolve_device(self.config.device)

    def _build_net(self) -> nn.Module:
        """A new network for the fitted data's shapes (the subclass's ``model.py``)."""
        raise NotImplementedError

    def _lstm_settings(self) -> LSTMKeywords:
        """The LSTM settings every task model's network takes (its ``**lstm``), from ``config``."""
        cfg = self.config
        return LSTMKeywords(
            hidden_size=cfg.hidden_size, num_layers=cfg.num_layers, variant=cfg.variant, engine=cfg.engine
        )

    def start_from(
        self, state: Mapping[str, torch.Tensor] | None, penalty: Penalty | None = None
    ) -> Estimator:
        r"""Start the networks of the next fits from ``state`` (a ``state_dict`` of the network
        :meth:`_build_net` makes for the data) instead of seeded random weights, and add
        ``penalty(net)`` to every batch's loss; ``None`` undoes each. Returns ``self``.

        Federated training uses both: a client's local update starts from the global weights
        :math:`w_g`, and FedProx adds :math:`\frac{\mu}{2} \lVert w - w_g \rVert^2`.
        """
        self._start_state = state
        self._penalty = penalty
        return self

    def _new_net(self, member: int) -> nn.Module:
        """Member ``member``'s network, its weights drawn from seed ``config.seed + member``
        (or loaded from the state given to :meth:`start_from`)."""
        torch.manual_seed(self.config.seed + member)
        with float32_modules():  # the inputs are float32 whatever the default dtype
            net = self._build_net()
        if self._start_state is not None:
            net.load_state_dict(self._start_state)
        return net

    def _check_fitted(self, action: str) -> None:
        """``RuntimeError`` before ``action`` (e.g. ``"predict()"``) of an unfitted model."""
        if not self.nets_:
            name = type(self).__name__
            raise RuntimeError(f"{name}: call fit() (or {name}.load) before {action}")

    def _members(self) -> list[nn.Module]:
        """The fitted networks on the device, in eval mode."""
        self._check_fitted("predicting")
        dev = self._device()
        return [net.to(dev).eval() for net in self.nets_]

    # ------------------------------------------------------------------ training
    def _train_member(
        self,
        member: int,
        net: nn.Module,
        train: Dataset[Any],
        *,
        settings: TrainConfig,
        step: StepFn,
        batch_size: int,
        bar: ProgressBar,
        val: Dataset[Any] | None = None,
        label: str = "",
    ) -> History:
        """Train ``net`` on ``train`` (shuffled from seed ``config.seed + member``) with
        ``settings`` (made quiet, seeded and put on the device), validating on ``val``."""
        seed = self.config.seed + member
        gen = torch.Generator().manual_seed(seed)
        loader = DataLoader(train, batch_size=batch_size, shuffle=True, generator=gen)
        val_loader = DataLoader(val, batch_size=512) if val is not None else None
        config = settings.replace(progress=False, plot=False, seed=seed, device=str(self._device()))
        callbacks = [EpochTicker(bar, label), *_LISTENERS]
        if self._penalty is not None:
            step = _penalized(step, self._penalty)
        trainer = Trainer(net, config, step=step, callbacks=callbacks, strategy=self.trainer_strategy)
        return trainer.fit(loader, val_loader)

    def _fit_ensemble(self, members: int, epochs: int, desc: str, fit_member: MemberFit) -> None:
        """Train ``members`` networks with ``fit_member`` under one progress bar of
        ``members * epochs`` epochs; keep them (in eval mode) and the first one's curves."""
        t0 = time.perf_counter()
        bar = progress_bar(members * epochs, desc, enable=self.progress and is_main_process())
        nets: list[nn.Module] = []
        history: dict[str, list[float]] = {}
        try:
            for k in range(members):
                net, curves = fit_member(k, bar)
                if k == 0:
                    history = curves
                nets.append(net.eval())
        finally:
            bar.close()
        self.nets_, self.history_ = nets, history
        self.fit_seconds_ = time.perf_counter() - t0

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, Any]:
        """The fitted state besides the networks, in plain values (saved with them)."""
        return {"history": self.history_}

    def _set_state(self, payload: Mapping[str, Any]) -> None:
        """Restore what :meth:`_state` gave (from a loaded file's ``payload``)."""
        self.history_ = payload["history"]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model to ``path`` (atomically; tensors on the CPU).

        The file holds only tensors and plain Python values, so :meth:`load` reads it with
        ``torch.load(weights_only=True)`` on any machine, CPU or GPU.
        """
        self._check_fitted("save()")
        payload = {
            "format": self.format,
            "version": self.format_version,
            "config": asdict(self.config),
            **self._state(),
            "members": [{k: v.detach().cpu() for k, v in net.state_dict().items()} for net in self.nets_],
        }
        atomic_save(payload, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "cpu", progress: bool = False) -> Any:
        """Read a model written by :meth:`save` onto ``device`` (``"cpu"``, ``"cuda"``, ``"auto"``).

        Raises:
            ValueError: the file is not a saved model of this kind, or was written by a newer
                lstmkit (a higher format version).
        """
        what = "a saved " + cls.format.replace(".", " ")
        payload = load_file(path, what)
        if not isinstance(payload, dict) or payload.get("format") != cls.format:
            raise ValueError(f"path: {os.fspath(path)!r} is not {what}")
        if payload.get("version", 1) > cls.format_version:
            raise ValueError(f"path: written by a newer lstmkit (format {payload['version']})")
        config = {**payload["config"], "device": device}
        model = cls(**config, progress=progress)
        model._set_state(payload)
        dev = model._device()
        nets = []
        for k, state in enumerate(payload["members"]):
            net = model._new_net(k)
            net.load_state_dict(state)
            nets.append(net.to(dev).eval())
        model.nets_ = nets
        return model

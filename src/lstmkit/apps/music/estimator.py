r"""The polyphonic music model users hold: :class:`ChoraleLSTM`, fit / predict / generate /
save / load on :class:`lstmkit.fit.estimator.Estimator` (an LSTM by default; ``architecture=``
a GRU, an Elman RNN, a causal Transformer or a TCN in its place, :func:`matched_hidden_size`
sizing it to an LSTM's parameter count).

Training minimizes the frame-level negative log-likelihood of
:class:`~lstmkit.apps.music.model.PolyphonicNet` (binary cross-entropy with logits, summed over
pitches, averaged over the real frames of a batch) with Adam, gradients clipped to norm 1,
whole chorales per sequence (padded batches with their lengths), and, given validation rolls,
early stopping on their NLL per frame with the best epoch's weights kept.

Generation samples frame by frame: each pitch a Bernoulli variable of probability
:math:`\sigma(z / T)` for the logits z and temperature T, the sampled frame fed back. An LSTM
runs on :meth:`lstmkit.LSTM.stream` (one step per frame, the state carried: O(L) for L frames);
a GRU or RNN carries its state and a Transformer its ``KVCache`` the same way; a TCN, which has
no state, re-reads the frames so far at every step.

Shapes: lists of (L_i, P) 0/1 piano rolls (L_i frames, P pitches).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, TensorDataset

from lstmkit.apps.music import metrics
from lstmkit.apps.music.model import PolyphonicNet, shift_frames
from lstmkit.core.layers.encoder import ARCHITECTURES, count_parameters
from lstmkit.fit.config import TrainConfig
from lstmkit.fit.estimator import Estimator, check_int, check_rates, settings
from lstmkit.fit.step import StepFn, StepOutput
from lstmkit.io.progress import ProgressBar

__all__ = [
    "DEFAULT_LAYERS",
    "ChoraleLSTM",
    "MusicConfig",
    "Sample",
    "as_rolls",
    "matched_hidden_size",
    "nearest_width",
]

#: the layers (blocks) of each architecture when none are asked for: a Transformer of two
#: blocks, a TCN of four (a receptive field of 61 frames at kernel 3), one recurrent layer
DEFAULT_LAYERS = {"transformer": 2, "tcn": 4}


def as_rolls(name: str, rolls: Any, pitches: int | None = None) -> list[np.ndarray]:
    """``rolls`` as a list of (L_i, P) float32 arrays of 0/1 values, every L_i >= 1 and one P
    (``pitches`` when given); a one-line ``ValueError`` naming ``name`` otherwise."""
    if isinstance(rolls, np.ndarray) and rolls.ndim == 2:
        rolls = [rolls]
    if not isinstance(rolls, Sequence | np.ndarray) or len(rolls) == 0:
        raise ValueError(
            f"{name}: expected a non-empty list of (L, P) piano rolls, got {type(rolls).__name__}"
        )
    out = []
    for i, r in enumerate(rolls):
        a = np.asarray(r)
        width = pitches if pitches is not None else (out[0].shape[1] if out else None)
        if a.ndim != 2 or len(a) == 0 or (width is not None and a.shape[1] != width):
            want = f"(L, {width})" if width is not None else "(L, P)"
            raise ValueError(f"{name}[{i}]: expected a piano roll {want} with L >= 1, got shape {a.shape}")
        if a.dtype.kind not in "biuf" or not np.isin(a, (0, 1)).all():
            raise ValueError(f"{name}[{i}]: expected 0/1 values (notes off/on), got other values")
        out.append(a.astype(np.float32))
    return out


def _padded(rolls: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    """(N, L_max, P) zero-padded rolls and their (N,) lengths."""
    lengths = torch.tensor([len(r) for r in rolls])
    batch = torch.zeros(len(rolls), int(lengths.max()), rolls[0].shape[1])
    for i, r in enumerate(rolls):
        batch[i, : len(r)] = torch.from_numpy(r)
    return batch, lengths


def _nll_step(model: nn.Module, batch: tuple[Tensor, Tensor]) -> StepOutput:
    """NLL per frame of a padded batch: BCE summed over pitches, averaged over real frames."""
    rolls, lengths = batch
    steps = int(lengths.max())
    rolls = rolls[:, :steps]
    logits = model(shift_frames(rolls), lengths.cpu())  # (N, L, P)
    mask = torch.arange(steps, device=rolls.device)[None] < lengths[:, None]  # (N, L)
    per_frame = nn.functional.binary_cross_entropy_with_logits(logits, rolls, reduction="none").sum(-1)
    frames = mask.sum()
    return StepOutput((per_frame * mask).sum() / frames, weight=float(frames))


@dataclass(frozen=True)
class MusicConfig:
    """Settings of a :class:`ChoraleLSTM` (see there); saved with it."""

    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.0
    max_epochs: int = 100
    patience: int | None = 10
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "cpu"
    variant: str = "classic"
    engine: str | None = None
    architecture: str = "lstm"
    num_heads: int = 4

    def __post_init__(self) -> None:
        for name in ("hidden_size", "num_layers", "max_epochs", "batch_size", "num_heads"):
            check_int(name, getattr(self, name))
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture: expected one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.architecture == "transformer" and self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size: a Transformer's width must divide into num_heads={self.num_heads} "
                f"heads, got {self.hidden_size}"
            )
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 0):
            raise ValueError(f"patience: expected an int >= 0 or None, got {self.patience!r}")
        check_rates(self)


def _network(cfg: MusicConfig, pitches: int) -> PolyphonicNet:
    return PolyphonicNet(
        pitches,
        cfg.hidden_size,
        cfg.num_layers,
        cfg.dropout,
        cfg.variant,
        cfg.engine,
        cfg.architecture,
        cfg.num_heads,
    )


def nearest_width(count: Callable[[int], int], reference: int, unit: int = 1) -> tuple[int, int]:
    """The multiple of ``unit`` (up to 4096) whose ``count(width)`` (growing with the width) is
    nearest ``reference``, and that count: a bisection finds the first width at or above
    ``reference``; it or the width below, whichever is nearer, is returned."""
    lo, hi = 1, 4096 // unit
    while lo < hi:  # the first multiple with count >= reference
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if count(mid * unit) >= reference else (mid + 1, hi)
    if lo > 1 and abs(count((lo - 1) * unit) - reference) < abs(count(lo * unit) - reference):
        lo -= 1
    return lo * unit, count(lo * unit)


def matched_hidden_size(
    architecture: str, pitches: int, reference: int, num_layers: int | None = None, num_heads: int = 4
) -> tuple[int, int]:
    """The width of ``architecture`` whose :class:`PolyphonicNet` over ``pitches`` has the
    parameter count nearest ``reference`` (a Transformer's a multiple of ``num_heads``), and that
    count: ``(hidden_size, parameters)`` (:func:`nearest_width`). ``num_layers``: ``None`` takes
    :data:`DEFAULT_LAYERS`."""
    layers = num_layers or DEFAULT_LAYERS.get(architecture, 1)

    def count(width: int) -> int:
        cfg = MusicConfig(
            hidden_size=width, num_layers=layers, architecture=architecture, num_heads=num_heads
        )
        return count_parameters(_network(cfg, pitches))

    return nearest_width(count, reference, num_heads if architecture == "transformer" else 1)


def _stepper(net: PolyphonicNet) -> Callable[[Tensor], Tensor]:
    """A function of the next input frame (1, P) to the next logits (1, P), keeping what the
    network has read: an LSTM's :meth:`~lstmkit.LSTM.stream`, a GRU's or RNN's state, a
    Transformer's ``KVCache``; a TCN re-reads every frame so far."""
    encoder = net.encoder
    if encoder.architecture == "lstm":
        stream = encoder.layer.stream(batch_size=1)  # type: ignore[operator]
        return lambda x: net.out(stream.step(x))
    if encoder.architecture == "tcn":
        seen: list[Tensor] = []

        def reread(x: Tensor) -> Tensor:
            seen.append(x)
            return net(torch.stack(seen, 1))[:, -1]  # (1, P)

        return reread
    state: list[Any] = [None]

    def carry(x: Tensor) -> Tensor:
        h, state[0] = encoder(x[:, None], state[0])  # (1, 1, H)
        return net.out(h[:, -1])

    return carry


@dataclass
class Sample:
    """A generated piece: ``roll`` (L, P) uint8 (the primer's frames, then the sampled ones)
    and ``probs`` (L, P), the probabilities each frame was drawn from (or scored by, for the
    primer)."""

    roll: np.ndarray
    probs: np.ndarray


class SequenceModel(Estimator):
    """What the music models share: one network trained by :meth:`_fit_network`."""

    def _fit_network(
        self,
        data: Dataset[Any],
        val: Dataset[Any] | None,
        step: StepFn,
        desc: str,
        batch_size: int | None = None,
    ) -> None:
        """Train one network on ``data`` (batches of ``batch_size`` items, default the config's)
        with Adam (the config's ``lr``, ``weight_decay``),
        gradients clipped to norm 1, for at most ``max_epochs`` epochs; given ``val``, stop after
        ``patience`` epochs without a better validation loss and keep the best epoch's weights."""
        cfg = self.config
        config = TrainConfig(
            optimizer="adam",
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            clip_norm=1.0,
            max_epochs=cfg.max_epochs,
            patience=cfg.patience if val is not None else None,
            restore_best=val is not None,
        )

        def member(k: int, bar: ProgressBar) -> tuple[nn.Module, dict[str, list[float]]]:
            net = self._new_net(k)
            kw = {"settings": config, "step": step, "batch_size": batch_size or cfg.batch_size, "bar": bar}
            history = self._train_member(k, net, data, val=val, **kw)
            keys = ("train_loss", "val_loss") if val is not None else ("train_loss",)
            curves = {key: [float(v) for v in history[key]] for key in keys}
            curves["best_epoch"] = [float(history.best_epoch if history.best_epoch is not None else -1)]
            return net, curves

        self._fit_ensemble(1, cfg.max_epochs, desc, member)


class ChoraleLSTM(SequenceModel):
    """A polyphonic LSTM (or GRU, RNN, Transformer, TCN) over piano rolls: fit / predict_proba /
    score / generate / save / load.

    Args:
        hidden_size: units H (a Transformer's width, a TCN's channels).
        num_layers: stacked layers (Transformer blocks, TCN residual blocks).
        dropout: between layers and before the output layer.
        max_epochs: the most epochs.
        patience: with validation rolls, stop after this many epochs without a better
            validation NLL (``None``: never); the best epoch's weights are kept.
        batch_size: chorales per batch.
        lr, weight_decay: Adam's.
        seed: of the weights and the batch order.
        device: where the network trains and predicts.
        variant, engine: of the LSTM (:class:`lstmkit.LSTM`).
        architecture: the encoder, one of :data:`~lstmkit.core.layers.encoder.ARCHITECTURES`.
        num_heads: the Transformer's attention heads.
        progress: a progress bar on stderr while fitting.

    Attributes:
        meta_: ``pitches`` (P), ``low`` (the MIDI pitch of column 0) and ``resolution``
            (frames per quarter note) of the rolls it was fitted on.

    Example::

        >>> model = ChoraleLSTM(hidden_size=32, max_epochs=5).fit(train_rolls, valid_rolls, low=36)
        >>> model.score(test_rolls)["nll"]
    """

    format = "lstmkit.ChoraleLSTM"

    def __init__(
        self,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        max_epochs: int = 100,
        patience: int | None = 10,
        batch_size: int = 16,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        seed: int = 0,
        device: str = "cpu",
        variant: str = "classic",
        engine: str | None = None,
        architecture: str = "lstm",
        num_heads: int = 4,
        progress: bool = True,
    ) -> None:
        super().__init__(settings(MusicConfig, locals()), progress)
        self.meta_: dict[str, int] = {}

    def _build_net(self) -> nn.Module:
        cfg = self.config
        return _network(cfg, self.meta_["pitches"])

    def fit(self, rolls: Any, valid: Any = None, *, low: int = 0, resolution: int = 1) -> ChoraleLSTM:
        """Train on ``rolls`` (a list of (L_i, P) 0/1 arrays), early-stopping on ``valid``.

        Args:
            rolls: the training chorales.
            valid: validation chorales (``None``: train ``max_epochs`` epochs).
            low: the MIDI pitch of column 0, kept for writing MIDI.
            resolution: frames per quarter note, kept for writing MIDI.
        """
        train = as_rolls("rolls", rolls)
        self.meta_ = {"pitches": train[0].shape[1], "low": int(low), "resolution": int(resolution)}
        val = (
            None
            if valid is None
            else TensorDataset(*_padded(as_rolls("valid", valid, self.meta_["pitches"])))
        )
        data = TensorDataset(*_padded(train))
        self._fit_network(data, val, _nll_step, "fit chorale LSTM")
        return self

    @torch.no_grad()
    def predict_logits(self, rolls: Any) -> list[np.ndarray]:
        """Each frame's logits given the frames before it: one (L_i, P) float32 array per roll."""
        (net,) = self._members()
        data = as_rolls("rolls", rolls, self.meta_["pitches"])
        out: list[np.ndarray] = []
        for i in range(0, len(data), 64):
            batch, lengths = _padded(data[i : i + 64])
            logits = net(shift_frames(batch).to(self._device()), lengths).cpu()
            out += [logits[j, :n].numpy() for j, n in enumerate(lengths.tolist())]
        return out

    def predict_proba(self, rolls: Any) -> list[np.ndarray]:
        """Each frame's pitch probabilities given the frames before it: (L_i, P) float64 arrays."""
        return [1 / (1 + np.exp(-z.astype(np.float64))) for z in self.predict_logits(rolls)]

    def score(self, rolls: Any) -> dict[str, float]:
        """``nll`` (nats per frame) and frame ``accuracy`` (threshold 0.5) on ``rolls``."""
        data = as_rolls("rolls", rolls, self.meta_.get("pitches"))
        probs = self.predict_proba(data)
        return {"nll": metrics.frame_nll(probs, data), "accuracy": metrics.frame_accuracy(probs, data)}

    @torch.no_grad()
    def generate(self, length: int, *, primer: Any = None, temperature: float = 1.0, seed: int = 0) -> Sample:
        """Sample a piece of ``length`` frames, continuing ``primer`` ((L_0, P) 0/1, its frames
        kept as they are; ``None``: from silence), each pitch drawn from
        :math:`\\sigma(z / T)` (``temperature`` T > 0) with a generator seeded by ``seed``."""
        (net,) = self._members()
        check_int("length", length)
        if not 0 < temperature < float("inf"):
            raise ValueError(f"temperature: expected a finite value > 0, got {temperature}")
        pitches = self.meta_["pitches"]
        given = (
            torch.zeros(0, pitches)
            if primer is None
            else torch.from_numpy(as_rolls("primer", [primer], pitches)[0])
        )
        if len(given) > length:
            raise ValueError(f"length: expected at least the primer's {len(given)} frames, got {length}")
        gen = torch.Generator().manual_seed(seed)
        step = _stepper(cast(PolyphonicNet, net))
        x = torch.zeros(1, pitches, device=self._device())
        frames, probs = [], []
        for t in range(length):
            p = torch.sigmoid(step(x) / temperature).cpu()  # (1, P)
            x = given[t : t + 1] if t < len(given) else torch.bernoulli(p, generator=gen)
            frames.append(x)
            probs.append(p)
            x = x.to(self._device())
        return Sample(torch.cat(frames).numpy().astype(np.uint8), torch.cat(probs).double().numpy())

    def _state(self) -> dict[str, Any]:
        return {"meta": self.meta_, "history": self.history_}

    def _set_state(self, payload: Any) -> None:
        self.meta_ = dict(payload["meta"])
        self.history_ = payload["history"]

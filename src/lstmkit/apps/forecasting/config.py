"""The settings of :class:`~lstmkit.apps.forecasting.estimator.Forecaster`, validated on
construction, and the name of each architecture in tables and plots."""

from __future__ import annotations

from dataclasses import dataclass

from lstmkit.apps.forecasting.model import check_head
from lstmkit.apps.forecasting.windows import NORMALIZE
from lstmkit.fit.estimator import check_int, check_rates

__all__ = ["NAMES", "ForecasterConfig"]

#: the model's name in tables and plots, by architecture
NAMES = {
    "lstm": "LSTM",
    "gru": "GRU",
    "rnn": "RNN",
    "transformer": "Transformer",
    "tcn": "TCN",
    "es-lstm": "ES-LSTM",
}


@dataclass(frozen=True)
class ForecasterConfig:
    """All settings of a :class:`Forecaster` (see its docstring); saved with the model."""

    horizon: int
    window: int | None = None
    strategy: str = "direct"
    likelihood: str = "quantile"
    architecture: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.1
    variant: str = "classic"
    engine: str | None = None
    num_heads: int = 4
    kernel_size: int = 3
    log: bool | str = "auto"
    normalize: str = "auto"
    calendar: bool = True
    ensemble: int = 5
    max_epochs: int = 200
    patience: int | None = 20
    batch_size: int | None = None
    lr: float = 3e-3
    weight_decay: float = 1e-4
    level_penalty: float | None = None
    val_size: int | None = None
    refit: bool = True
    num_samples: int = 200
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_int("horizon", self.horizon, numpy=True)
        check_int("window", self.window, 2, optional=True, numpy=True)
        for name in ("hidden_size", "num_layers", "ensemble", "max_epochs", "num_samples", "num_heads"):
            check_int(name, getattr(self, name), numpy=True)
        check_int("kernel_size", self.kernel_size, 2, numpy=True)
        for name in ("batch_size", "patience", "val_size"):
            check_int(name, getattr(self, name), optional=True, numpy=True)
        if self.val_size is not None and self.val_size < self.horizon:
            raise ValueError(
                f"val_size: expected at least the horizon ({self.horizon}) so that one validation "
                f"window fits, got {self.val_size}"
            )
        check_head(self.strategy, self.likelihood, self.architecture)
        if self.level_penalty is not None and not self.level_penalty >= 0:
            raise ValueError(f"level_penalty: expected a number >= 0 or None, got {self.level_penalty!r}")
        if self.architecture == "transformer" and self.hidden_size % self.num_heads:
            raise ValueError(
                f"num_heads: expected a divisor of hidden_size={self.hidden_size} (the Transformer's "
                f"width), got {self.num_heads}"
            )
        if self.normalize not in NORMALIZE:
            raise ValueError(f"normalize: expected one of {', '.join(NORMALIZE)}, got {self.normalize!r}")
        if self.log not in (True, False, "auto"):
            raise ValueError(f"log: expected True, False or 'auto', got {self.log!r}")
        check_rates(self)
        if self.strategy == "recursive" and self.likelihood == "quantile":
            raise ValueError(
                "likelihood: the recursive strategy feeds its own outputs back and needs 'gaussian' "
                "(sampled paths) or 'point'; use strategy='direct' or 'seq2seq' for quantiles"
            )

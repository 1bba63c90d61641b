"""The LSTM inside a task network, as one value: its size, depth, variant and engine.

The networks of the apps (forecasting, classification, anomaly detection) each embed one or two
LSTMs built the same way; they take these four settings as keywords (typed by
:class:`LSTMKeywords`), turn them into an :class:`LSTMSettings` with their own defaults, and
build their layers from it.

Example::

    >>> lstm = LSTMSettings(hidden_size=32, num_layers=2).layer(3, dropout=0.1)
    >>> lstm(torch.randn(4, 10, 3))[0].shape  # batch first
    torch.Size([4, 10, 32])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from lstmkit.core.layers.lstm import LSTM

__all__ = ["LSTMKeywords", "LSTMSettings"]


class LSTMKeywords(TypedDict, total=False):
    """The keywords of :class:`LSTMSettings`, as a network's ``**lstm`` takes them."""

    hidden_size: int
    num_layers: int
    variant: str
    engine: str | None


@dataclass(frozen=True)
class LSTMSettings:
    """The LSTM of a task network.

    Args:
        hidden_size: H, features of the state.
        num_layers: stacked layers.
        variant: a name of :data:`lstmkit.core.cells.VARIANTS`.
        engine: an engine name of :class:`~lstmkit.core.layers.LSTM`; ``None``: ``"auto"``.
    """

    hidden_size: int = 64
    num_layers: int = 1
    variant: str = "classic"
    engine: str | None = None

    def layer(self, input_size: int, *, bidirectional: bool = False, dropout: float = 0.0) -> LSTM:
        """A batch-first :class:`~lstmkit.core.layers.LSTM` of these settings reading
        ``input_size`` features, its forget-gate bias set to 1 (Jozefowicz et al. 2015);
        ``dropout`` acts between stacked layers, so one layer gets none."""
        return LSTM(
            input_size,
            self.hidden_size,
            self.num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if self.num_layers > 1 else 0.0,
            variant=self.variant,
            forget_bias=1.0,
            engine=self.engine or "auto",
        )

r"""The ES-hybrid (Smyl 2020, the M4 winner): per-series exponential smoothing learned jointly
with one global LSTM.

Each series ``i`` owns a level smoothing coefficient :math:`\alpha_i`, a seasonality smoothing
coefficient :math:`\gamma_i` and its initial seasonal indices :math:`s_{i,0..m-1}` (period
``m``; none for ``m = 1``). A multiplicative Holt-Winters recursion without trend runs over the
whole series,

.. math::
    l_t = \alpha\, y_t / s_t + (1 - \alpha)\, l_{t-1}, \qquad
    s_{t+m} = \gamma\, y_t / l_t + (1 - \gamma)\, s_t ,

and the global network reads each input window deseasonalized and divided by the level at
its last step, :math:`u_\tau = \log(y_\tau / (l_t s_\tau)) / 0.1` (the log-ratio scale of
``normalize="last"``), and forecasts the ``H`` following steps on the same scale
(horizon-specific outputs of a direct head); the forecast is
:math:`\exp(0.1\, \hat u_{t+k})\, l_t\, s_{t+k}`. The trend is the network's job. The smoothing
coefficients, the seasonal indices and the network's weights are trained together by
backpropagation through the recursion, on the pinball loss of the quantiles plus a penalty on
the wiggliness of the log level (the mean squared second difference, Smyl's level
variability penalty).

Series of every length train together: a window that reaches before a series' start holds
only the real steps (right-padded; the encoder masks the rest), so a yearly M3 series of 14
values still gives windows. A batch is a set of whole series; each visit samples
:data:`WINDOWS_PER_SERIES` window ends per series.

The values must be positive (multiplicative smoothing); :func:`check_positive` says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn

from lstmkit.apps.forecasting.baselines.classical import seasonal_indices
from lstmkit.apps.forecasting.model import ForecastNet
from lstmkit.apps.forecasting.windows import LOG_RATIO_SCALE
from lstmkit.core.layers.settings import LSTMKeywords

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "WINDOWS_PER_SERIES",
    "ESLSTMNet",
    "check_positive",
    "initial_season",
    "padded",
    "sample_ends",
]

#: window ends sampled per series each time a batch visits it
WINDOWS_PER_SERIES = 16
#: the per-series parameters are stored divided by this, so that the optimizer (Adam's steps
#: are about the learning rate) moves them this many times faster than the network's weights:
#: each series' coefficients see one update per epoch (Smyl 2020 gives them their own rate)
SERIES_RATE = 10.0


def check_positive(name: str, values: np.ndarray) -> None:
    """``ValueError`` unless every value is positive (multiplicative smoothing divides by them)."""
    low = float(np.min(values))
    if not low > 0:
        raise ValueError(
            f"series {name!r}: architecture 'es-lstm' smooths multiplicatively and needs positive "
            f"values, the minimum is {low}"
        )


def initial_season(values: np.ndarray, period: int) -> np.ndarray:
    """(period,) log seasonal indices of a classical multiplicative decomposition
    (:func:`~lstmkit.apps.forecasting.baselines.classical.seasonal_indices`), aligned with the
    series' first step, with geometric mean 1; zeros for ``period == 1`` or fewer than two
    full periods."""
    m = int(period)
    if m <= 1 or len(values) < 2 * m:
        return np.zeros(max(m, 1))
    idx = seasonal_indices(values, m)
    return np.log(np.clip(idx / np.exp(np.log(idx).mean()), 1e-3, None))


def padded(series: Sequence[np.ndarray], extra: int = 0) -> tuple[Tensor, Tensor]:
    """Series of different lengths as one float32 (B, T_max) tensor, each left-aligned and
    padded with its last value, and their lengths (B,)."""
    lengths = torch.tensor([len(s) for s in series])
    out = torch.empty(len(series), int(lengths.max()) + extra, dtype=torch.float32)
    for i, s in enumerate(series):
        out[i, : len(s)] = torch.as_tensor(np.asarray(s, dtype=np.float32))
        out[i, len(s) :] = float(s[-1])
    return out, lengths


def sample_ends(
    lengths: Tensor, horizon: int, count: int, generator: torch.Generator | None = None
) -> Tensor:
    """(B, count) window ends (last input step) drawn uniformly among those whose ``horizon``
    targets lie inside each series (at least the first step as input)."""
    last = (lengths - horizon - 1).clamp(min=0).float()  # (B,)
    u = torch.rand(len(lengths), count, generator=generator)
    return torch.minimum((u * (last[:, None] + 1)).long(), last.long()[:, None])


class ESLSTMNet(nn.Module):
    r"""Per-series exponential smoothing and a global :class:`~lstmkit.apps.forecasting.model.ForecastNet`.

    Args:
        num_series: S, series with their own smoothing parameters (rows 0..S-1).
        period: m, the seasonal period (1: no seasonality).
        window: L, input steps of the global network.
        horizon: H.
        likelihood: ``"quantile"`` or ``"point"`` (the head's outputs, as ForecastNet's).
        season_init: (S, m) initial log seasonal indices (:func:`initial_season`), or ``None``
            for zeros.
        dropout: the network's dropout.
        **lstm: the encoder's settings (``hidden_size``, ``num_layers``, ``variant``, ``engine``).

    Shapes:
        * y: (B, T) positive values, left-aligned (:func:`padded`); lengths (B,).
        * rows: (B,) the series' rows, or -1 for a series the model has not seen (it gets the
          median coefficients and ``season`` as initial indices).
        * :meth:`smooth` -> log levels (B, T) and log seasonal indices (B, T + H).
        * :meth:`forward` (y, lengths, rows, ends (B, K)) -> (B, K, H, P) outputs on the
          normalized log scale, and the targets (B, K, H) where they lie inside the series.
    """

    def __init__(
        self,
        num_series: int,
        period: int,
        window: int,
        horizon: int,
        *,
        likelihood: str = "quantile",
        season_init: Tensor | None = None,
        dropout: float = 0.0,
        **lstm: Unpack[LSTMKeywords],
    ) -> None:
        super().__init__()
        self.period, self.window, self.horizon = int(period), int(window), int(horizon)
        # logits / SERIES_RATE: alpha = 0.5 and gamma = 0.27 at the start
        self.alpha = nn.Parameter(torch.zeros(num_series))
        self.gamma = nn.Parameter(torch.full((num_series,), -1.0 / SERIES_RATE))
        init = torch.zeros(num_series, self.period) if season_init is None else season_init.float()
        self.season = nn.Parameter(init / SERIES_RATE)
        self.net = ForecastNet(
            1,
            0,
            horizon,
            strategy="direct",
            likelihood=likelihood,
            dropout=dropout,
            **lstm,  # type: ignore[arg-type]
        )

    def coefficients(self, rows: Tensor, season: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """alpha (B,), gamma (B,) and initial log seasonal indices (B, m) of ``rows``; rows -1
        take the median coefficients and ``season`` (B, m) (zeros if ``None``)."""
        known = rows >= 0
        safe = rows.clamp(min=0)
        alpha, gamma = self.alpha * SERIES_RATE, self.gamma * SERIES_RATE
        a = torch.where(known, alpha[safe], alpha.detach().median())
        g = torch.where(known, gamma[safe], gamma.detach().median())
        s0 = self.season[safe] * SERIES_RATE
        if not bool(known.all()):
            other = torch.zeros_like(s0) if season is None else season.to(s0)
            s0 = torch.where(known[:, None], s0, other)
        return torch.sigmoid(a), torch.sigmoid(g), s0

    def smooth(
        self, y: Tensor, lengths: Tensor, rows: Tensor, season: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """The recursion over each series' real steps (carried unchanged past its end)."""
        alpha, gamma, s0 = self.coefficients(rows, season)
        m, T = self.period, y.shape[1]
        seas = list(torch.exp(s0).unbind(1))  # s_0 .. s_{m-1}, each (B,)
        level = y[:, 0] / seas[0]
        levels = []
        for t in range(T):
            real = t < lengths
            if t > 0:
                level = torch.where(real, alpha * y[:, t] / seas[t] + (1 - alpha) * level, level)
            levels.append(level)
            if m > 1:
                seas.append(torch.where(real, gamma * y[:, t] / level + (1 - gamma) * seas[t], seas[t]))
            else:
                seas.append(seas[t])
        while len(seas) < T + self.horizon:
            seas.append(seas[len(seas) - m])
        return torch.log(torch.stack(levels, 1)), torch.log(torch.stack(seas[: T + self.horizon], 1))

    def windows(
        self, logy: Tensor, logl: Tensor, logs: Tensor, ends: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Inputs (B*K, L, 1) right-padded, their real steps (B*K,), and the normalized log
        targets (B*K, H) (garbage past a series' end: the caller masks them)."""
        B, K = ends.shape
        L, H, T = self.window, self.horizon, logy.shape[1]
        real = torch.minimum(ends + 1, torch.tensor(L))  # (B, K)
        pos = ends[..., None] - real[..., None] + 1 + torch.arange(L)  # (B, K, L)
        valid = torch.arange(L) < real[..., None]
        b = torch.arange(B)[:, None, None]
        at = pos.clamp(0, T - 1)
        level = logl[torch.arange(B)[:, None], ends]  # (B, K)
        u = (
            torch.where(valid, logy[b, at] - logs[b, at] - level[..., None], torch.zeros(()))
            / LOG_RATIO_SCALE
        )
        fut = ends[..., None] + 1 + torch.arange(H)  # (B, K, H)
        tgt = (logy[b, fut.clamp(max=T - 1)] - logs[b, fut] - level[..., None]) / LOG_RATIO_SCALE
        return u.reshape(B * K, L, 1), real.reshape(-1), tgt.reshape(B * K, H)

    def forward(
        self, y: Tensor, lengths: Tensor, rows: Tensor, ends: Tensor, season: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Outputs (B, K, H, P), targets (B, K, H), and the log levels (B, T) and seasonal
        indices (B, T + H) of the recursion (for the penalty and for forecasting)."""
        logl, logs = self.smooth(y, lengths, rows, season)
        logy = torch.log(y)
        u, real, tgt = self.windows(logy, logl, logs, ends)
        out = self.net(u, u.new_zeros(u.shape[0], self.horizon, 0), lengths=real)
        B, K = ends.shape
        return out.reshape(B, K, self.horizon, -1), tgt.reshape(B, K, -1), logl, logs

    @staticmethod
    def level_penalty(logl: Tensor, lengths: Tensor) -> Tensor:
        """Mean squared second difference of the log level over each series' real steps."""
        if logl.shape[1] < 3:
            return logl.new_zeros(())
        d2 = logl[:, 2:] - 2 * logl[:, 1:-1] + logl[:, :-2]  # (B, T-2)
        real = torch.arange(2, logl.shape[1]) < lengths[:, None]
        return (d2.pow(2) * real).sum() / real.sum().clamp(min=1)

r"""Anomaly-detection networks: an LSTM autoencoder of windows, and a next-step LSTM whose
residuals score samples.

* :class:`LSTMAutoencoder` (after Malhotra et al. 2016, EncDec-AD): an encoder LSTM compresses
  a window into its final state, a decoder LSTM rebuilds the window from it.
* :class:`NextStepLSTM` (after Malhotra et al. 2015): an LSTM predicts every next sample.

:class:`~lstmkit.apps.anomaly.estimator.AnomalyDetector` trains them on normal data and turns
their errors into scores. Shapes: N windows, W window length, L steps, C channels.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from lstmkit.core.layers.settings import LSTMKeywords, LSTMSettings

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["LSTMAutoencoder", "NextStepLSTM"]


class LSTMAutoencoder(nn.Module):
    r"""Sequence autoencoder: :math:`z = h^{enc}_W`, decoder inputs :math:`[z; e_t]` at each
    step t (``e_t`` a learned position embedding), output :math:`\hat x_t = W_o h^{dec}_t + b_o`.

    Args:
        input_size: C.
        window: W, the window length (for the position embedding).
        **lstm: ``hidden_size`` (32: the width of the encoder, the code and the decoder),
            ``num_layers``, ``variant``, ``engine``: both LSTMs'
            :class:`~lstmkit.core.layers.settings.LSTMSettings`.

    Inputs: ``x`` (N, W, C). Output: the reconstruction (N, W, C).

    Example::

        >>> ae = LSTMAutoencoder(1, 32, hidden_size=16)
        >>> ae(torch.randn(4, 32, 1)).shape
        torch.Size([4, 32, 1])
    """

    def __init__(self, input_size: int, window: int, **lstm: Unpack[LSTMKeywords]) -> None:
        super().__init__()
        settings = replace(LSTMSettings(hidden_size=32), **lstm)
        self.input_size, self.window = input_size, window
        self.encoder = settings.layer(input_size)
        self.position = nn.Embedding(window, 8)
        self.decoder = settings.layer(settings.hidden_size + 8)
        self.out = nn.Linear(settings.hidden_size, input_size)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[1] != self.window or x.shape[2] != self.input_size:
            raise ValueError(f"x: expected (N, {self.window}, {self.input_size}), got {tuple(x.shape)}")
        n = x.shape[0]
        _, state = self.encoder(x)
        code = state.h[-1]  # (N, H)
        pos = self.position(torch.arange(self.window, device=x.device)).expand(n, -1, -1)  # (N, W, 8)
        dec, _ = self.decoder(torch.cat([code[:, None].expand(-1, self.window, -1), pos], dim=2))  # (N, W, H)
        return self.out(dec)  # (N, W, C)


class NextStepLSTM(nn.Module):
    r"""LSTM predicting each next sample: output t is the prediction of :math:`x_{t+1}`,
    :math:`\hat x_{t+1} = W_o h_t + b_o`.

    Args:
        input_size: C.
        **lstm: ``hidden_size`` (32), ``num_layers``, ``variant``, ``engine``: the LSTM's
            :class:`~lstmkit.core.layers.settings.LSTMSettings`.

    Inputs: ``x`` (N, L, C), optional ``state``. Outputs: predictions (N, L, C) and the state.

    Example::

        >>> net = NextStepLSTM(2, hidden_size=8)
        >>> net(torch.randn(4, 30, 2))[0].shape
        torch.Size([4, 30, 2])
    """

    def __init__(self, input_size: int, **lstm: Unpack[LSTMKeywords]) -> None:
        super().__init__()
        settings = replace(LSTMSettings(hidden_size=32), **lstm)
        self.input_size = input_size
        self.lstm = settings.layer(input_size)
        self.out = nn.Linear(settings.hidden_size, input_size)

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x: expected (N, L, {self.input_size}), got {tuple(x.shape)}")
        out, state = self.lstm(x, state)
        return self.out(out), state  # (N, L, C)

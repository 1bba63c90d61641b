r"""The forecasting network: a sequence encoder (an LSTM by default; a GRU, an Elman RNN, a
causal Transformer or a TCN to compare) with a direct, encoder-decoder or recursive head.

:class:`ForecastNet` is a plain ``nn.Module``; :class:`~lstmkit.apps.forecasting.estimator.Forecaster`
builds, trains and ensembles it.

Horizon strategies (``strategy=``):

* ``"direct"`` (multi-output, MIMO): the encoder's output at the last input step (an LSTM's
  final ``h`` of its last layer) and the known-future features of the ``H`` target steps go
  through an MLP that emits all ``H`` steps at once.
* ``"seq2seq"`` (encoder-decoder): a decoder of the encoder's architecture, started from the
  encoder's final state (a Transformer decoder continues from the encoder's keys and values),
  runs over the ``H`` target steps reading their known-future features and a learned step
  embedding, and emits one step each (no feedback of its own outputs: no exposure bias). A
  TCN has no state to start a decoder from: ``ValueError``.
* ``"recursive"``: a one-step model trained with teacher forcing and unrolled on its own
  predictions (Gaussian paths are sampled, so intervals widen with the horizon). The roll-out
  carries the encoder's state (a Transformer's ``KVCache``); a TCN re-reads the steps seen.

Architectures (``architecture=``): see :mod:`lstmkit.core.layers.encoder`; the Transformer is
causal (step t sees steps up to t), as the TCN, so teacher forcing never sees the future.

Outputs (``likelihood=``): ``"quantile"`` (21 monotone quantiles at
:data:`~lstmkit.apps.forecasting.base.LEVELS`), ``"gaussian"`` (mean and standard deviation)
or ``"point"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from lstmkit.apps.forecasting.base import LEVELS
from lstmkit.core.layers.encoder import ARCHITECTURES as ENCODERS
from lstmkit.core.layers.encoder import EncoderSettings, last_step
from lstmkit.core.layers.settings import LSTMKeywords

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ARCHITECTURES", "LIKELIHOODS", "STRATEGIES", "ForecastNet", "check_head"]

STRATEGIES = ("direct", "seq2seq", "recursive")
#: the forecaster's architectures: the encoders, and the ES-hybrid (:mod:`~lstmkit.apps.forecasting.eslstm`)
ARCHITECTURES = (*ENCODERS, "es-lstm")
LIKELIHOODS = ("quantile", "gaussian", "point")


def check_head(strategy: str, likelihood: str, architecture: str = "lstm") -> None:
    """``ValueError`` naming a ``strategy``, ``likelihood`` or ``architecture`` that is none of
    :data:`STRATEGIES`, :data:`LIKELIHOODS` or :data:`ARCHITECTURES`, or a ``strategy`` the
    ``architecture`` cannot run (seq2seq of a TCN)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy: expected one of {STRATEGIES}, got {strategy!r}")
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood: expected one of {LIKELIHOODS}, got {likelihood!r}")
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture: expected one of {ARCHITECTURES}, got {architecture!r}")
    if architecture == "es-lstm" and (strategy != "direct" or likelihood == "gaussian"):
        raise ValueError(
            "architecture: 'es-lstm' forecasts with a direct head (strategy='direct') of quantiles or a "
            f"point (likelihood='quantile' or 'point'), got strategy={strategy!r}, likelihood={likelihood!r}"
        )
    if strategy == "seq2seq" and architecture == "tcn":
        raise ValueError(
            "strategy: 'seq2seq' starts a decoder from the encoder's state and architecture 'tcn' "
            "has none; use strategy='direct' or 'recursive'"
        )


def _num_params(likelihood: str) -> int:
    return {"quantile": len(LEVELS), "gaussian": 2, "point": 1}[likelihood]


class ForecastNet(nn.Module):
    r"""A sequence encoder with a direct, encoder-decoder or recursive head.

    Args:
        input_size: C_in, features per input step.
        future_size: C_f, known-future features per target step.
        horizon: H.
        strategy: ``"direct"``, ``"seq2seq"`` or ``"recursive"``.
        likelihood: ``"quantile"``, ``"gaussian"`` or ``"point"`` (P = 21, 2, 1 outputs per step).
        dropout: between the encoder's recurrent layers (inside Transformer and TCN blocks) and
            on the head's input.
        architecture: the encoder's (and seq2seq decoder's), one of
            :data:`~lstmkit.core.layers.encoder.ARCHITECTURES`: ``"lstm"``, ``"gru"``,
            ``"rnn"``, ``"transformer"`` (causal) or ``"tcn"``.
        num_heads: the Transformer's attention heads (dividing ``hidden_size``).
        kernel_size: the TCN's kernel.
        **lstm: ``hidden_size`` (64; a Transformer's width, a TCN's channels), ``num_layers``
            (recurrent layers, Transformer blocks or TCN residual blocks), ``variant``,
            ``engine`` (an LSTM's): the :class:`~lstmkit.core.layers.encoder.EncoderSettings`
            of the encoder (and of the seq2seq decoder).

    Shapes (batch-first):
        * past: (N, L, C_in); the first feature is the scaled target.
        * future: (N, H, C_f) known-future features of the target steps.
        * target: (N, H) scaled targets, only for the recursive strategy in training
          (teacher forcing).
        * lengths: (N,) real steps of each window (right-padded windows of short series,
          masked in the encoder; direct and seq2seq only), ``None`` for full windows.
        * output: (N, H, P) distribution parameters in the scaled space: quantiles (increasing
          along P), ``(mean, std)`` or the point value.

    Example::

        >>> net = ForecastNet(5, 4, 12, strategy="seq2seq", likelihood="gaussian", hidden_size=32)
        >>> net(torch.randn(8, 24, 5), torch.randn(8, 12, 4)).shape
        torch.Size([8, 12, 2])
        >>> net = ForecastNet(5, 4, 12, architecture="transformer", hidden_size=32, num_heads=4)
        >>> net(torch.randn(8, 24, 5), torch.randn(8, 12, 4)).shape
        torch.Size([8, 12, 21])
    """

    def __init__(
        self,
        input_size: int,
        future_size: int,
        horizon: int,
        *,
        strategy: str = "direct",
        likelihood: str = "quantile",
        dropout: float = 0.0,
        architecture: str = "lstm",
        num_heads: int = 4,
        kernel_size: int = 3,
        **lstm: Unpack[LSTMKeywords],
    ) -> None:
        super().__init__()
        check_head(strategy, likelihood, architecture)
        self.input_size, self.future_size, self.horizon = input_size, future_size, horizon
        self.strategy, self.likelihood = strategy, likelihood
        self.num_params = _num_params(likelihood)
        settings = EncoderSettings(
            architecture, **{"hidden_size": 64, **lstm}, num_heads=num_heads, kernel_size=kernel_size
        )
        hidden_size = settings.hidden_size
        rec_in = input_size + future_size if strategy == "recursive" else input_size
        self.encoder = settings.encoder(rec_in, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        P = self.num_params
        if strategy == "direct":
            fut = horizon * future_size
            self.head = nn.Sequential(
                nn.Linear(hidden_size + fut, 2 * hidden_size),
                nn.ReLU(),
                nn.Linear(2 * hidden_size, horizon * P),
            )
        elif strategy == "seq2seq":
            self.step_embedding = nn.Embedding(horizon, 8)
            self.decoder = settings.encoder(future_size + 8)
            self.head = nn.Linear(hidden_size, P)
        else:
            self.head = nn.Linear(hidden_size, P)

    # ------------------------------------------------------------------ outputs
    def _params(self, raw: Tensor) -> Tensor:
        """Raw head output (..., P) -> distribution parameters (..., P)."""
        if self.likelihood == "quantile":
            # median in the middle, monotone increments outwards: no quantile crossing
            mid = len(LEVELS) // 2
            centre = raw[..., mid : mid + 1]
            up = nn.functional.softplus(raw[..., mid + 1 :]).cumsum(-1)
            down = nn.functional.softplus(raw[..., :mid]).flip(-1).cumsum(-1).flip(-1)
            return torch.cat([centre - down, centre, centre + up], dim=-1)
        if self.likelihood == "gaussian":
            return torch.stack([raw[..., 0], nn.functional.softplus(raw[..., 1]) + 1e-3], dim=-1)
        return raw

    def point(self, params: Tensor) -> Tensor:
        """The median (..., P) -> (...)."""
        if self.likelihood == "quantile":
            return params[..., len(LEVELS) // 2]
        return params[..., 0]

    # ------------------------------------------------------------------ forward
    def forward(
        self, past: Tensor, future: Tensor, target: Tensor | None = None, lengths: Tensor | None = None
    ) -> Tensor:
        if past.dim() != 3 or past.shape[2] != self.input_size:
            raise ValueError(f"past: expected (N, L, {self.input_size}), got {tuple(past.shape)}")
        if future.dim() != 3 or future.shape[2] != self.future_size:
            raise ValueError(f"future: expected (N, H, {self.future_size}), got {tuple(future.shape)}")
        if self.strategy == "recursive":
            if lengths is not None:
                raise ValueError("lengths: the recursive strategy reads whole windows (got lengths)")
            return self._recursive(past, future, target)
        out, state = self.encoder(past, lengths=lengths)  # out: (N, L, H_hid)
        n, horizon = past.shape[0], future.shape[1]
        if self.strategy == "direct":
            if horizon != self.horizon:
                raise ValueError(
                    f"future: the direct strategy forecasts exactly {self.horizon} steps, got {horizon}"
                )
            z = torch.cat(
                [self.drop(last_step(out, lengths)), future.reshape(n, -1)], dim=1
            )  # (N, H_hid + H*C_f)
            raw = self.head(z).reshape(n, horizon, self.num_params)  # (N, H, P)
            return self._params(raw)
        if horizon > self.horizon:
            raise ValueError(f"future: the decoder was trained for up to {self.horizon} steps, got {horizon}")
        steps = self.step_embedding(torch.arange(horizon, device=past.device)).expand(n, -1, -1)  # (N, H, 8)
        dec, _ = self.decoder(torch.cat([future, steps], dim=2), state)  # (N, H, H_hid)
        return self._params(self.head(self.drop(dec)))  # (N, H, P)

    def _recursive(self, past: Tensor, future: Tensor, target: Tensor | None) -> Tensor:
        """Teacher forcing with ``target``; otherwise a greedy roll-out on the median."""
        _n, length, _ = past.shape
        horizon = future.shape[1]
        next_feats = self._next_features(past, future)  # (N, L, C_f)
        if target is not None:
            # inputs after the window: the true targets, with the other features carried
            steps = self._teacher_inputs(past, future, target)  # (N, H-1, C_in)
            x = torch.cat([past, steps], dim=1)  # (N, L+H-1, C_in)
            nf = torch.cat([next_feats, future[:, 1:]], dim=1)  # (N, L+H-1, C_f)
            out, _ = self.encoder(torch.cat([x, nf], dim=2))
            raw = self.head(self.drop(out[:, length - 1 :]))  # (N, H, P)
            return self._params(raw)
        seen = torch.cat([past, next_feats], dim=2)  # (N, L, C_in + C_f)
        out, state = self.encoder(seen)
        params = [self._params(self.head(out[:, -1]))]  # (N, P)
        for h in range(1, horizon):
            x_t = self._step_input(past, future, h, self.point(params[-1]))  # (N, C_in)
            inp = torch.cat([x_t, future[:, h]], dim=1)[:, None]  # (N, 1, C_in + C_f)
            last, state, seen = self._advance(inp, state, seen)
            params.append(self._params(self.head(last)))
        return torch.stack(params, dim=1)  # (N, H, P)

    def _advance(self, step: Tensor, state: Any, seen: Tensor) -> tuple[Tensor, Any, Tensor]:
        """The encoder's output (N, H_hid) at one more input ``step`` (N, 1, C) after the steps
        ``seen`` (N, S, C), and what continues the roll-out: the encoder's state and the steps
        seen (a TCN has no state and re-reads them)."""
        if self.encoder.architecture == "tcn":
            seen = torch.cat([seen, step], dim=1)  # (N, S + 1, C)
            out, _ = self.encoder(seen)
            return out[:, -1], None, seen
        out, state = self.encoder(step, state)
        return out[:, -1], state, seen

    def _next_features(self, past: Tensor, future: Tensor) -> Tensor:
        """(N, L, C_f): step t reads x_t and the known-future features of step t+1 (the one it
        predicts)."""
        ahead = past[:, 1:, -self.future_size :] if self.future_size else past[:, 1:, :0]
        return torch.cat([ahead, future[:, :1]], dim=1)

    def _step_input(self, past: Tensor, future: Tensor, h: int, value: Tensor) -> Tensor:
        """Input features of target step h-1 (0-based), with ``value`` as its scaled target."""
        last = past[:, -1].clone()  # (N, C_in): carries the level feature
        last[:, 0] = value
        if self.future_size:
            last[:, -self.future_size :] = future[:, h - 1]
        return last

    def _teacher_inputs(self, past: Tensor, future: Tensor, target: Tensor) -> Tensor:
        horizon = future.shape[1]
        if horizon == 1:
            return past[:, :0]
        rows = [self._step_input(past, future, h, target[:, h - 1]) for h in range(1, horizon)]
        return torch.stack(rows, dim=1)  # (N, H-1, C_in)

    @torch.no_grad()
    def sample_paths(
        self, past: Tensor, future: Tensor, num_samples: int, generator: torch.Generator
    ) -> Tensor:
        """Recursive Gaussian model: ``num_samples`` sampled paths (N, S, H) in the scaled space."""
        if self.strategy != "recursive" or self.likelihood != "gaussian":
            raise ValueError("sample_paths: only for the recursive strategy with a gaussian likelihood")
        n = past.shape[0]
        past = past.repeat_interleave(num_samples, 0)  # (N*S, L, C_in)
        future = future.repeat_interleave(num_samples, 0)  # (N*S, H, C_f)
        horizon = future.shape[1]
        seen = torch.cat([past, self._next_features(past, future)], dim=2)  # (N*S, L, C_in + C_f)
        out, state = self.encoder(seen)
        p = self._params(self.head(out[:, -1]))
        draws = [p[:, 0] + p[:, 1] * torch.randn(p.shape[0], generator=generator, device=p.device)]
        for h in range(1, horizon):
            x_t = self._step_input(past, future, h, draws[-1])
            last, state, seen = self._advance(torch.cat([x_t, future[:, h]], dim=1)[:, None], state, seen)
            p = self._params(self.head(last))
            draws.append(p[:, 0] + p[:, 1] * torch.randn(p.shape[0], generator=generator, device=p.device))
        return torch.stack(draws, dim=1).reshape(n, num_samples, horizon)

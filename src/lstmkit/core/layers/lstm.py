"""The LSTM layer: every variant of the family, stacked, bidirectional, regularized."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from lstmkit.core.cells.lstm import (
    VARIANTS,
    FGRState,
    LSTMParams,
    LSTMSpec,
    LSTMState,
    lstm_param_shapes,
    resolve_variant,
    variant_name,
)
from lstmkit.core.engines.base import Regularizers
from lstmkit.core.engines.fused.stream import LSTMStream
from lstmkit.core.engines.native import native_unsupported
from lstmkit.core.gates import GateTrace, gate_trace
from lstmkit.core.layers.options import LayerOptions, check_positive_int
from lstmkit.core.layers.stacked import StackedRecurrent
from lstmkit.core.regularizers import check_probability, check_zoneout, drop_connect
from lstmkit.core.tree import State

__all__ = ["LSTM", "LSTMContract"]


class LSTMContract(StackedRecurrent):
    """What every LSTM layer shares beyond :class:`StackedRecurrent`: its parameters and state
    per its :class:`~lstmkit.core.cells.LSTMSpec` (:class:`LSTM`, and the int8
    :class:`lstmkit.compress.QuantizedLSTM`, which holds the same tensors as buffers)."""

    spec: LSTMSpec
    proj_size: int

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def _param_shapes(self, layer: int) -> dict[str, tuple[int, ...]]:
        return lstm_param_shapes(
            self.spec, self.layer_input_size(layer), self.hidden_size, self.proj_size, self.bias
        )

    def _state_sizes(self) -> tuple[int, ...]:
        sizes = (self.output_size, self.hidden_size)
        if self.spec.full_gate_recurrence:
            return (*sizes, len(self.spec.sigmoid_gates) * self.hidden_size)
        return sizes

    def _wrap_state(self, fields: Sequence[Tensor]) -> State:
        return FGRState(*fields) if self.spec.full_gate_recurrence else LSTMState(*fields)

    def _state_names(self) -> tuple[str, ...]:
        return ("h", "c", "gates") if self.spec.full_gate_recurrence else ("h", "c")

    def _cell(self) -> LSTMSpec:
        return self.spec

    def forward(
        self,
        input: Tensor | PackedSequence,
        state: LSTMState | FGRState | tuple[Tensor, ...] | None = None,
        lengths: Tensor | Sequence[int] | None = None,
        *,
        mask: Tensor | None = None,
        return_cell_states: bool = False,
        return_gates: bool = False,
    ) -> Any:
        """Run the layer; see the class docstring for shapes. Returns ``(output, state)``, then
        the cell states of ``return_cell_states`` and the :class:`GateTrace` of ``return_gates``
        where asked for: ``(output, state, cell_states)``, ``(output, state, gates)`` or
        ``(output, state, cell_states, gates)``."""
        run = self._forward(input, state, lengths, mask, return_cell_states, return_gates=return_gates)
        extra = ((run.cells,) if return_cell_states else ()) + ((run.gates,) if return_gates else ())
        return (run.output, run.state, *extra)

    def _gate_trace(self, records: list[tuple[Tensor, State]], mask: Tensor | None) -> GateTrace:
        if len(records) != self.num_layers * self.num_directions:  # an engine that returned none
            raise ValueError(f"return_gates: {type(self).__name__} returns no gate trace")
        return gate_trace(self.spec, records, mask)


class LSTM(LSTMContract):
    r"""A multi-layer LSTM of any variant, with PyTorch's parameter contract.

    For each layer and step the cell computes (classic variant; the others are in
    :mod:`lstmkit.core.cells.lstm` and the README's variant table):

    .. math::

        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)

    Args:
        input_size: H_in, features of the input.
        hidden_size: H, features of the cell state.
        num_layers: stacked layers; layer k > 0 reads layer k-1's output.
        variant: a name from :data:`lstmkit.core.cells.VARIANTS` (``"classic"``, ``"vanilla"``,
            ``"nig"``, ``"nfg"``, ``"nog"``, ``"niaf"``, ``"noaf"``, ``"np"``, ``"cifg"``,
            ``"fgr"``, ``"original1997"``) or an :class:`~lstmkit.core.cells.LSTMSpec`.
        proj_size: if > 0, h is projected to this size by ``weight_hr`` (as torch.nn.LSTM).
        layer_norm: layer normalization of both products and the cell (Ba et al., 2016).
        bias: use ``bias_ih``/``bias_hh``.
        forget_bias: if given, initialize the forget gate's bias to it (``bias_ih``; ``bias_hh``
            gets 0), e.g. 1.0 as Gers et al. (2000) and Jozefowicz et al. (2015) advise.
        recurrent_init: ``"uniform"`` (PyTorch's) or ``"orthogonal"`` (each gate block of
            ``weight_hh`` orthogonal).
        batch_first: input and output are (N, L, *) instead of (L, N, *); states are not affected.
        bidirectional: run a reverse direction too and concatenate the outputs.
        dropout: dropout on the outputs of every layer but the last (as torch.nn.LSTM; with
            ``num_layers=1`` it has no effect, and a ``UserWarning`` says so).
        input_dropout: variational dropout on every layer's input (one mask per sequence).
        recurrent_dropout: variational dropout on h_{t-1} before ``weight_hh`` (Gal & Ghahramani).
        zoneout: zoneout probability for h and c, or a pair ``(z_h, z_c)`` (Krueger et al.).
        weight_drop: DropConnect on ``weight_hh`` (AWD-LSTM), one mask per forward pass.
        check_finite: if ``True``, ``forward``, ``step`` and :meth:`stream` raise ``ValueError``
            naming the first NaN or +-inf in the input (padded steps are not checked) or in a
            given initial state. Off by default (it reads every value once); then a NaN in the
            input gives NaN outputs, and an inf may give NaN gradients, without an error.
            Padding past ``lengths`` or where the mask is false is never read, checked or not.
            A plain attribute, changeable later.
        engine: what runs the recurrence, ``"auto"`` (default), ``"native"``, ``"fused"`` or
            ``"reference"`` (see *Engines* below); a plain attribute, changeable later.

    Engines: each layer and direction of a call runs on the engine that the policy table of
    :mod:`lstmkit.core.engines.select` picks for it (``"auto"``), or on the one ``engine`` names.
    All engines compute the same function: the fused and native paths are tested against the
    reference path, outputs and gradients. One difference in training: with the fused engine,
    zoneout's Bernoulli masks are drawn inside the kernel (a counter-based hash seeded from
    torch's generator, redrawn in the backward pass, never stored), so under the same seed the
    fused and reference engines draw different, equally distributed masks; each engine is
    deterministic under a seed.

    Inputs: ``input``, ``state``, ``lengths``
        * **input**: (L, N, H_in), (N, L, H_in) with ``batch_first``, unbatched (L, H_in),
          or a :class:`~torch.nn.utils.rnn.PackedSequence`.
        * **state**: optional :class:`~lstmkit.core.cells.LSTMState` ``(h_0, c_0)``, each
          (D * num_layers, N, H_out) and (D * num_layers, N, H), or without N for unbatched
          input; an :class:`~lstmkit.core.cells.FGRState` adds ``gates`` for the FGR variant. Zeros
          if not given.
        * **lengths**: optional (N,) real lengths of a padded batch; or ``mask``, a boolean
          (L, N) ((N, L) with ``batch_first``) tensor of real steps.

    Outputs: ``output``, ``state``
        * **output**: (L, N, D * H_out) (batch-first or unbatched as the input, or packed),
          the last layer's h_t, zero at padded steps.
        * **state**: the final (h_n, c_n), each sequence's state at its last real step.
        * with ``return_cell_states=True`` a third item: every step's c_t of the last layer,
          laid out like ``output`` with D * H features.
        * with ``return_gates=True`` a last item, a :class:`~lstmkit.core.layers.GateTrace`:
          every step's gates i, f, g, o and states c, h of every layer and direction, each
          (L, N, num_layers * D, H) in the output's time layout, zero at padded steps (absent
          gates as the constant of the variant: NIG i = 1, NFG / 1997 f = 1, CIFG f = 1 - i,
          NOG o = 1). The engines return what they compute anyway (the fused kernel's saved
          activations); on the fused engine the trace carries no gradient.

    where N = batch size, L = sequence length, D = 2 if bidirectional else 1,
    H_out = proj_size or hidden_size.

    Example::

        >>> lstm = LSTM(10, 20, num_layers=2, variant="vanilla", batch_first=True)
        >>> out, (h, c) = lstm(torch.randn(3, 7, 10), lengths=torch.tensor([7, 5, 2]))
        >>> out.shape, h.shape
        (torch.Size([3, 7, 20]), torch.Size([2, 3, 20]))
    """

    _torch_class = nn.LSTM
    _family = "lstm"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        variant: str | LSTMSpec = "classic",
        proj_size: int = 0,
        layer_norm: bool = False,
        bias: bool = True,
        forget_bias: float | None = None,
        recurrent_init: str = "uniform",
        batch_first: bool = False,
        bidirectional: bool = False,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        zoneout: float | tuple[float, float] = 0.0,
        weight_drop: float = 0.0,
        check_finite: bool = False,
        engine: str = "auto",
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(LayerOptions.of(locals()))
        spec = resolve_variant(variant)
        self.spec = spec.with_options(layer_norm=True) if layer_norm and not spec.layer_norm else spec
        self.proj_size = check_positive_int("proj_size", proj_size, allow_zero=True)
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"proj_size: expected a value smaller than hidden_size ({hidden_size}), got {proj_size}"
            )
        self.zoneout = check_zoneout(zoneout)
        self.weight_drop = check_probability("weight_drop", weight_drop)
        self.forget_bias = _check_forget_bias(forget_bias)
        if recurrent_init not in ("uniform", "orthogonal"):
            raise ValueError(f"recurrent_init: expected 'uniform' or 'orthogonal', got {recurrent_init!r}")
        self.recurrent_init = recurrent_init
        if self.engine == "native":
            reason = native_unsupported(self.spec, regularizers=self._torch_lacks())
            if reason:
                raise ValueError(f"engine='native': {reason}; use engine='auto' or 'fused'")
        self._register_parameters(device, dtype)
        self.reset_parameters()

    def _cudnn_weights(self, layer: int, direction: int) -> tuple[str, list[Tensor]] | None:
        if native_unsupported(self.spec) is not None:
            return None
        params = self.layer_params(layer, direction)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        return "lstm", [params[name] for name in names if name in params]

    def reset_parameters(self) -> None:
        """PyTorch's uniform init, layer-norm gains 1 and shifts 0, then the chosen options."""
        super().reset_parameters()
        gates = self.spec.gates
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                p = self.layer_params(layer, direction)
                with torch.no_grad():
                    for name in ("ln_ih_weight", "ln_hh_weight", "ln_c_weight"):
                        if name in p:
                            p[name].fill_(1.0)
                    if "ln_c_bias" in p:
                        p["ln_c_bias"].zero_()
                    if self.recurrent_init == "orthogonal":
                        for block in p["weight_hh"].chunk(len(gates), 0):
                            nn.init.orthogonal_(block)
                    if self.forget_bias is not None and "f" in gates and self.bias:
                        k = gates.index("f")
                        p["bias_ih"].chunk(len(gates))[k].fill_(float(self.forget_bias))
                        p["bias_hh"].chunk(len(gates))[k].zero_()

    def params(self, layer: int, direction: int = 0) -> LSTMParams:
        """The :class:`~lstmkit.core.cells.LSTMParams` of one layer and direction."""
        return LSTMParams(**self.layer_params(layer, direction))

    # ------------------------------------------------------------------ running
    def _prepare(self, layer: int, direction: int, x: Tensor) -> tuple[LSTMParams, Regularizers]:
        params = self.params(layer, direction)
        if self.weight_drop:
            params = params._replace(
                weight_hh=drop_connect(params.weight_hh, self.weight_drop, self.training)
            )
        x_mask, h_mask = self._dropout_masks(layer, x.shape[1], x)
        weight_drop = self.weight_drop if self.training else 0.0
        return params, Regularizers(x_mask, h_mask, weight_drop, self.zoneout)

    def stream(self, batch_size: int = 1) -> LSTMStream:
        """A streaming-inference runtime: ``step(x_t) -> y_t`` with the state carried.

        Every layer advances in one call into the fused kernel, without autograd, with
        preallocated buffers; the result equals ``self.eval()`` run over the whole sequence.
        See :class:`lstmkit.core.engines.fused.stream.LSTMStream` (bidirectional layers are refused). With
        ``check_finite``, each step's input and a loaded state are checked for NaN/inf.

        Example::

            >>> lstm = LSTM(8, 16, num_layers=2).eval()
            >>> stream = lstm.stream(batch_size=4)
            >>> stream.step(torch.randn(4, 8)).shape
            torch.Size([4, 16])
        """
        return LSTMStream(self, batch_size)

    # ------------------------------------------------------------------ torch interop
    @classmethod
    def _torch_kwargs(cls, module: nn.Module) -> dict[str, Any]:
        return {"proj_size": module.proj_size}

    def _torch_lacks(self) -> list[str]:
        custom = {"weight_drop": bool(self.weight_drop), "zoneout": any(self.zoneout)}
        lacks = [k for k, v in custom.items() if v]
        return (["variant"] if self.spec != VARIANTS["classic"] else []) + super()._torch_lacks() + lacks

    def _to_torch_kwargs(self) -> dict[str, Any]:
        return {"proj_size": self.proj_size}

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.spec != VARIANTS["classic"]:
            name = variant_name(self.spec)
            s += f", variant={name!r}" if name else f", spec={self.spec}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if any(self.zoneout):
            s += f", zoneout={self.zoneout}"
        if self.weight_drop:
            s += f", weight_drop={self.weight_drop}"
        return s


def _check_forget_bias(forget_bias: object) -> float | None:
    """Validate ``forget_bias``: a finite float or ``None``."""
    if forget_bias is None:
        return None
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)):
        raise TypeError(f"forget_bias: expected a finite float or None, got {type(forget_bias).__name__}")
    if not math.isfinite(forget_bias):
        raise ValueError(f"forget_bias: expected a finite float or None, got {forget_bias}")
    return forget_bias

"""GRU and Elman RNN layers, for comparison, with the same machinery as :class:`~lstmkit.core.layers.LSTM`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from lstmkit.core.cells.gru import GRUParams, gru_input_projection, gru_param_shapes, gru_step
from lstmkit.core.cells.rnn import NONLINEARITIES, RNNParams, rnn_input_projection, rnn_param_shapes, rnn_step
from lstmkit.core.engines.native import mask_lengths, native_run
from lstmkit.core.layers.stacked import StackedRecurrent
from lstmkit.core.scan import RunResult, run

__all__ = ["GRU", "RNN"]

ENGINES = ("auto", "native", "reference")


def check_engine(engine: object) -> str:
    """Validate an engine name of the GRU and RNN layers; ``ValueError`` naming ``engine``."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, got {engine!r}")
    return engine


_SHAPES_DOC = """
    Engines: ``engine="auto"`` (default) runs torch's own kernel (oneDNN / cuDNN, through
    :func:`lstmkit.core.engines.native.native_run`) whenever it computes the same thing: no active
    variational dropout (training mode only) and no mask with holes; otherwise the reference
    loop. ``"native"`` insists (``ValueError`` where it cannot run), ``"reference"`` always
    runs the loop. Both are tested against each other, outputs and gradients. Where torch's
    CPU kernel cannot compute a low-precision dtype on this machine (bfloat16 / float16
    without hardware support, also under autocast), ``"auto"`` runs the loop (one
    ``RuntimeWarning``) and ``"native"`` raises a ``RuntimeError`` naming the dtype.

    ``check_finite=True`` makes ``forward`` and ``step`` raise ``ValueError`` naming the first
    NaN or +-inf in the input (padded steps are not checked) or in a given h_0. Off by default
    (it reads every value once); then a NaN in the input gives NaN outputs, and an inf may give
    NaN gradients, without an error. Padding past ``lengths`` or where the mask is false is
    never read, checked or not. ``dropout`` acts between layers only: with ``num_layers=1`` it
    has no effect, and a ``UserWarning`` says so.

    Inputs: ``input`` (L, N, H_in) / (N, L, H_in) / unbatched (L, H_in) / PackedSequence,
    ``state`` h_0 (D * num_layers, N, H) (zeros if omitted), ``lengths`` (N,) or ``mask``.
    Outputs: ``output`` (L, N, D * H) laid out like the input, zero at padded steps, and
    ``h_n`` (D * num_layers, N, H), each sequence's state at its last real step.
"""


class _HiddenStateLayer(StackedRecurrent):
    """Base of the layers whose state is the tensor h: a projection and a step per cell."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bias: bool = True,
        batch_first: bool = False,
        bidirectional: bool = False,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        engine: str = "auto",
        check_finite: bool = False,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias=bias,
            batch_first=batch_first,
            bidirectional=bidirectional,
            dropout=dropout,
            input_dropout=input_dropout,
            recurrent_dropout=recurrent_dropout,
            check_finite=check_finite,
        )
        self.engine = check_engine(engine)
        self._register_parameters(device, dtype)
        self.reset_parameters()

    def _native_kind(self) -> str:
        """The ``torch._VF`` kernel of this cell."""
        raise NotImplementedError

    def _cudnn_weights(self, layer: int, direction: int) -> tuple[str, list[Tensor]] | None:
        return self._native_kind(), list(self.layer_params(layer, direction).values())

    def _cell(self, layer: int, direction: int) -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
        """``(project(x, x_mask), step(xw_t, h, h_mask))`` of one layer and direction."""
        raise NotImplementedError

    def _run_direction(
        self, layer: int, direction: int, x: Tensor, state: Any, mask: Tensor | None, return_states: bool
    ) -> RunResult:
        engine = check_engine(self.engine)  # a plain attribute: it may have changed
        x_mask, h_mask = self._dropout_masks(layer, x.shape[1], x)
        why_not = (
            "variational dropout is active (training mode)"
            if x_mask is not None or h_mask is not None
            else "the mask has holes (torch's kernel needs lengths)"
            if mask is not None and mask_lengths(mask) is None
            else "every step's state is asked for"
            if return_states
            else None
        )
        if engine == "native" and why_not:
            raise ValueError(f"engine='native': torch's kernel cannot run this call: {why_not}")
        if engine != "reference" and why_not is None:
            weights = list(self.layer_params(layer, direction).values())  # torch's order
            result = self._native_or_none(
                lambda: native_run(
                    self._native_kind(),
                    x,
                    (state,),
                    weights,
                    has_bias=self.bias,
                    mask=mask,
                    reverse=direction == 1,
                    training=self.training,
                )
            )
            if result is not None:
                out, (h,) = result
                return RunResult(out, h, None)
        project, step = self._cell(layer, direction)
        return run(
            lambda xw_t, h: step(xw_t, h, h_mask),
            project(x, x_mask),  # (L, N, G*H)
            state,
            mask=mask,
            reverse=direction == 1,
            return_states=return_states,
        )

    def forward(
        self,
        input: Tensor | PackedSequence,
        state: Tensor | None = None,
        lengths: Tensor | Sequence[int] | None = None,
        *,
        mask: Tensor | None = None,
    ) -> tuple[Any, Tensor]:
        """Run the layer: ``(output, h_n)``; shapes in the class docstring."""
        output, final, _ = self._forward(input, state, lengths, mask, False)
        return output, final


class GRU(_HiddenStateLayer):
    __doc__ = (
        """A multi-layer GRU with :class:`torch.nn.GRU`'s parameters and math
    (:mod:`lstmkit.core.cells.gru`), plus lengths/masks and variational dropout.

    Args: as :class:`~lstmkit.core.layers.LSTM` (``input_size``, ``hidden_size``, ``num_layers``,
    ``bias``, ``batch_first``, ``bidirectional``, ``dropout``, ``input_dropout``,
    ``recurrent_dropout``, ``engine``, ``check_finite``, ``device``, ``dtype``).
"""
        + _SHAPES_DOC
    )

    _torch_class = nn.GRU

    def _native_kind(self) -> str:
        return "gru"

    def _param_shapes(self, layer: int) -> dict[str, tuple[int, ...]]:
        return gru_param_shapes(self.layer_input_size(layer), self.hidden_size, self.bias)

    def _cell(self, layer: int, direction: int) -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
        params = GRUParams(**self.layer_params(layer, direction))
        return (
            lambda x, x_mask: gru_input_projection(x, params, x_mask),
            lambda xw_t, h, h_mask: gru_step(xw_t, h, params, h_mask),
        )


class RNN(_HiddenStateLayer):
    __doc__ = (
        """A multi-layer Elman RNN with :class:`torch.nn.RNN`'s parameters and math
    (:mod:`lstmkit.core.cells.rnn`), plus lengths/masks and variational dropout.

    Args: as :class:`GRU`, plus ``nonlinearity`` (``"tanh"`` or ``"relu"``).
"""
        + _SHAPES_DOC
    )

    _torch_class = nn.RNN

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        bidirectional: bool = False,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        engine: str = "auto",
        check_finite: bool = False,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity: expected one of {sorted(NONLINEARITIES)}, got {nonlinearity!r}")
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias=bias,
            batch_first=batch_first,
            bidirectional=bidirectional,
            dropout=dropout,
            input_dropout=input_dropout,
            recurrent_dropout=recurrent_dropout,
            engine=engine,
            check_finite=check_finite,
            device=device,
            dtype=dtype,
        )
        self.nonlinearity = nonlinearity

    def _native_kind(self) -> str:
        return f"rnn_{self.nonlinearity}"

    def _param_shapes(self, layer: int) -> dict[str, tuple[int, ...]]:
        return rnn_param_shapes(self.layer_input_size(layer), self.hidden_size, self.bias)

    def _cell(self, layer: int, direction: int) -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
        params = RNNParams(**self.layer_params(layer, direction))
        return (
            lambda x, x_mask: rnn_input_projection(x, params, x_mask),
            lambda xw_t, h, h_mask: rnn_step(xw_t, h, params, self.nonlinearity, h_mask),
        )

    @classmethod
    def _torch_kwargs(cls, module: nn.Module) -> dict[str, Any]:
        return {"nonlinearity": module.nonlinearity}

    def _to_torch_kwargs(self) -> dict[str, Any]:
        return {"nonlinearity": self.nonlinearity}

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")

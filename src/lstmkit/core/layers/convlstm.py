r"""The convolutional LSTM layer (Shi et al., 2015): stacked, bidirectional, padded, streaming.

The cell's math is in :mod:`lstmkit.core.cells.convlstm`; each layer and direction goes to the
engines as a :class:`~lstmkit.core.engines.base.Call` (the fused engine on the CPU, the
reference loop elsewhere: :mod:`lstmkit.core.engines.select`), bidirectional layers through the
:func:`~lstmkit.core.layers.bidirectional.bidirectional` combinator, padding and reversal by the
runner's rules (:func:`~lstmkit.core.scan.scan`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from lstmkit.core.cells.convlstm import ConvLSTMParams, conv_output_size, convlstm_param_shapes
from lstmkit.core.cells.lstm import LSTMState
from lstmkit.core.engines.base import Call, Regularizers
from lstmkit.core.engines.select import check_engine, run_call
from lstmkit.core.layers.bidirectional import bidirectional
from lstmkit.core.layers.convlstm_options import ConvOptions, keras_params
from lstmkit.core.layers.options import check_bool, check_factory_kwargs, check_positive_int
from lstmkit.core.regularizers import check_probability, variational_mask
from lstmkit.core.scan import RunResult, check_finite, time_mask

__all__ = ["ConvLSTM", "ConvLSTMStream"]


class ConvLSTM(nn.Module):
    r"""A stacked convolutional LSTM over sequences of 1-D, 2-D or 3-D maps (ConvLSTM1D/2D/3D).

    Each layer runs the cell of :mod:`lstmkit.core.cells.convlstm` over time; layer k > 0 reads
    the outputs of layer k - 1 (both directions' channels side by side when bidirectional).

    Args:
        in_channels: C_in, the channels of the input frames.
        hidden_channels: F, the channels of h and c in every layer.
        kernel_size: the kernel of every convolution, an int or one size per dimension.
        num_layers: the number of stacked layers.
        dims: 1, 2 or 3 spatial dimensions.
        batch_first: input and output (N, L, C, \*S) (default), else (L, N, C, \*S).
        bias: the biases ``bias_ih`` and ``bias_hh``.
        peepholes: Shi's Hadamard peepholes ``weight_ch`` (3, F, \*S); needs ``spatial_size``.
        spatial_size: the input frames' spatial size (needed with ``peepholes``: each peephole
            weight has one value per position of the state).
        stride, padding, dilation: of the first layer's input convolution (``padding``:
            ``"same"``, ``"valid"`` or explicit zero padding per dimension); every other
            convolution has stride 1, "same" padding and no dilation.
        layer_norm: layer normalization of each gate block and of the cell (the cell's docstring).
        return_sequences: return every step's output; else only the last one (each direction's
            final h, as Keras's ``return_sequences=False``).
        bidirectional: a second direction per layer, reading each sequence backwards.
        dropout: variational dropout on each layer's input (one mask per sequence, the same at
            every step, as Keras's ``dropout``), in training.
        recurrent_dropout: variational dropout on :math:`h_{t-1}` (Keras's ``recurrent_dropout``).
        forget_bias: added to the forget gate's ``bias_ih`` at initialization (Keras's
            ``unit_forget_bias`` is ``forget_bias=1.0``).
        engine: ``"auto"``, ``"fused"`` or ``"reference"`` (:mod:`lstmkit.core.engines.select`).
        check_finite: refuse NaN / inf in the input and state (one-line ``ValueError``).

    Inputs: ``input``, ``state`` (optional), ``lengths`` or ``mask`` (optional)
        * **input**: (N, L, C_in, \*S_in) with ``batch_first``, else (L, N, C_in, \*S_in).
        * **state**: :class:`~lstmkit.core.cells.LSTMState` ``(h, c)``, each
          (num_layers * num_directions, N, F, \*S); zeros if not given.
        * **lengths**: (N,) real lengths of a padded batch; or **mask**, bool (N, L)
          ((L, N) without ``batch_first``), true at real steps.

    Outputs: ``output``, ``LSTMState(h_n, c_n)``
        * **output**: (N, L, F * num_directions, \*S) (zero at padded steps), or
          (N, F * num_directions, \*S) without ``return_sequences``.
        * **h_n**, **c_n**: (num_layers * num_directions, N, F, \*S), each sequence's state at
          its last real step (the backward direction's at its first).

    where N = batch size, L = sequence length, \*S_in the input's spatial size and \*S the
    state's (equal with the default stride 1 and "same" padding).

    Example::

        >>> conv = ConvLSTM(1, 8, 3, num_layers=2)
        >>> out, (h, c) = conv(torch.rand(4, 10, 1, 16, 16))
        >>> out.shape, h.shape
        (torch.Size([4, 10, 8, 16, 16]), torch.Size([2, 4, 8, 16, 16]))
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int | Sequence[int],
        num_layers: int = 1,
        *,
        dims: int = 2,
        batch_first: bool = True,
        bias: bool = True,
        peepholes: bool = False,
        spatial_size: int | Sequence[int] | None = None,
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = "same",
        dilation: int | Sequence[int] = 1,
        layer_norm: bool = False,
        return_sequences: bool = True,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        forget_bias: float = 0.0,
        engine: str = "auto",
        check_finite: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.hidden_channels = check_positive_int("hidden_channels", hidden_channels)
        self.num_layers = check_positive_int("num_layers", num_layers)
        opts = ConvOptions.check(dims, kernel_size, stride, padding, dilation, spatial_size, peepholes)
        self.dims, self.kernel_size, self.spatial_size = opts.dims, opts.kernel_size, opts.spatial_size
        self.stride, self.padding, self.dilation = opts.stride, opts.padding, opts.dilation
        self.peepholes = check_bool("peepholes", peepholes)
        self.layer_norm = check_bool("layer_norm", layer_norm)
        self.batch_first = check_bool("batch_first", batch_first)
        self.bias = check_bool("bias", bias)
        self.return_sequences = check_bool("return_sequences", return_sequences)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.check_finite = check_bool("check_finite", check_finite)
        self.dropout = check_probability("dropout", dropout)
        self.recurrent_dropout = check_probability("recurrent_dropout", recurrent_dropout)
        if (
            isinstance(forget_bias, bool)
            or not isinstance(forget_bias, (int, float))
            or not math.isfinite(forget_bias)
        ):
            raise ValueError(f"forget_bias: expected a finite float, got {forget_bias!r}")
        self.forget_bias = float(forget_bias)
        self.engine = check_engine(engine, "convlstm")
        self._specs = [opts.spec(layer, self.peepholes, self.layer_norm) for layer in range(self.num_layers)]
        device, dtype = check_factory_kwargs(device, dtype)
        for layer in range(self.num_layers):
            for name, shape in self._param_shapes(layer).items():
                for direction in range(self.num_directions):
                    tensor = torch.empty(shape, device=device, dtype=dtype)
                    self.register_parameter(self.param_name(name, layer, direction), nn.Parameter(tensor))
        self.reset_parameters()

    # ------------------------------------------------------------------ parameters
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @staticmethod
    def param_name(name: str, layer: int, direction: int = 0) -> str:
        """PyTorch's name of parameter ``name`` of ``layer`` and ``direction``: ``weight_ih_l0_reverse``."""
        return f"{name}_l{layer}{'_reverse' if direction else ''}"

    def state_size(self, size: Sequence[int]) -> tuple[int, ...]:
        """The state's spatial size for input frames of spatial ``size``."""
        return conv_output_size(self._specs[0], tuple(size))

    def _param_shapes(self, layer: int) -> dict[str, tuple[int, ...]]:
        channels = self.in_channels if layer == 0 else self.hidden_channels * self.num_directions
        spatial = None if self.spatial_size is None else self.state_size(self.spatial_size)
        return convlstm_param_shapes(self._specs[layer], channels, self.hidden_channels, self.bias, spatial)

    def params(self, layer: int, direction: int = 0) -> ConvLSTMParams:
        """The parameters of one layer and direction."""
        found = {
            name: getattr(self, self.param_name(name, layer, direction)) for name in self._param_shapes(layer)
        }
        return ConvLSTMParams(**found)

    def reset_parameters(self) -> None:
        """Each convolution's weights and biases uniform in ±1/sqrt(fan_in) (torch's convolution
        layers' bound), peepholes too with the recurrent fan-in; layer-norm gains 1, shifts 0;
        the forget gate's ``bias_ih`` block plus ``forget_bias``."""
        recurrent_fan = self.hidden_channels * math.prod(self.kernel_size)
        with torch.no_grad():
            for layer in range(self.num_layers):
                for direction in range(self.num_directions):
                    p = self.params(layer, direction)
                    fan_ih = p.weight_ih.shape[1] * math.prod(self.kernel_size)
                    for name, tensor in p._asdict().items():
                        if tensor is None:
                            continue
                        if name.startswith("ln_"):
                            tensor.fill_(0.0 if name == "ln_c_bias" else 1.0)
                            continue
                        bound = 1.0 / math.sqrt(fan_ih if name.endswith("_ih") else recurrent_fan)
                        nn.init.uniform_(tensor, -bound, bound)
                    if p.bias_ih is not None and self.forget_bias:
                        p.bias_ih.chunk(4)[1].add_(self.forget_bias)

    @classmethod
    def from_keras(cls, weights: Any, **kwargs: Any) -> ConvLSTM:
        """A layer with the weights of Keras's ``ConvLSTM1D/2D/3D`` (``layer.get_weights()``:
        ``[kernel (*k, C_in, 4F), recurrent_kernel (*k, F, 4F), bias (4F,)]``, gate order i, f,
        c, o as here), or a list of those, one per stacked layer (first layer first).

        Keras's cell uses ``recurrent_activation="sigmoid"`` (its default since Keras 2.?; a
        model trained with ``"hard_sigmoid"`` will not match) and one bias (here ``bias_ih``;
        ``bias_hh`` is zero). Keyword arguments go to the constructor (``kernel_size``,
        ``in_channels``, ``hidden_channels``, ``dims`` and ``num_layers`` are read from the
        arrays); Keras's ``padding="same"`` and ``strides`` map to ``padding`` and ``stride``.
        """
        layers = keras_params(weights)
        first = layers[0]
        kernel = tuple(first["weight_ih"].shape[2:])
        kwargs |= {"dims": len(kernel), "num_layers": len(layers), "bias": "bias_ih" in first}
        module = cls(int(first["weight_ih"].shape[1]), int(first["weight_hh"].shape[1]), kernel, **kwargs)
        with torch.no_grad():
            for layer, found in enumerate(layers):
                own = module.params(layer)._asdict()
                for name, value in found.items():
                    target = own[name]
                    if target is None or tuple(target.shape) != tuple(value.shape):
                        got = tuple(value.shape)
                        want = None if target is None else tuple(target.shape)
                        raise ValueError(f"weights: layer {layer} {name}: expected shape {want}, got {got}")
                    target.copy_(value)
                if "bias_hh" in own and own["bias_hh"] is not None:
                    own["bias_hh"].zero_()
        return module

    # ------------------------------------------------------------------ state and input
    def initial_state(
        self, batch_size: int, size: Sequence[int], *, dtype: Any = None, device: Any = None
    ) -> LSTMState:
        """Zero ``(h, c)``, each (num_layers * num_directions, batch_size, F, *S) for input frames of
        spatial ``size``."""
        ref = next(self.parameters())
        shape = self._state_shape(batch_size, size)
        make = lambda: torch.zeros(shape, dtype=dtype or ref.dtype, device=device or ref.device)  # noqa: E731
        return LSTMState(make(), make())

    def _state_shape(self, batch_size: int, size: Sequence[int]) -> tuple[int, ...]:
        """(num_layers * num_directions, N, F, *S) for input frames of spatial ``size``."""
        lead = self.num_layers * self.num_directions
        return (lead, batch_size, self.hidden_channels, *self.state_size(size))

    def _check_input(self, x: Any, name: str, dims: int) -> Tensor:
        ref = next(self.parameters())
        if not isinstance(x, Tensor) or x.dim() != dims:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            layout = "(N, L, C_in, *S)" if self.batch_first else "(L, N, C_in, *S)"
            if dims == self.dims + 2:
                layout = "(N, C_in, *S)"
            raise ValueError(
                f"{name}: expected {dims} dimensions {layout} with {self.dims} spatial, got {got}"
            )
        channel = 1 if dims == self.dims + 2 else 2
        if x.shape[channel] != self.in_channels:
            raise ValueError(
                f"{name}: expected {self.in_channels} channels (in_channels) in dimension {channel}, "
                f"got shape {tuple(x.shape)}"
            )
        if x.dtype != ref.dtype or x.device != ref.device:
            raise TypeError(
                f"{name}: expected {ref.dtype} on {ref.device} (the parameters'), got {x.dtype} on {x.device}"
            )
        spatial = tuple(x.shape[channel + 1 :])
        if self.spatial_size is not None and spatial != self.spatial_size:
            raise ValueError(
                f"{name}: expected spatial size {self.spatial_size} (spatial_size), got {spatial}"
            )
        if min(self.state_size(spatial)) < 1:
            raise ValueError(f"{name}: spatial size {spatial} is smaller than the input convolution's kernel")
        return x

    def _check_state(self, state: Any, shape: tuple[int, ...], x: Tensor) -> LSTMState:
        """``state`` checked against the state ``shape`` and the input ``x``'s dtype and device."""
        if (
            not isinstance(state, (tuple, list))
            or len(state) != 2
            or not all(isinstance(s, Tensor) for s in state)
        ):
            raise TypeError(f"state: expected LSTMState(h, c) of tensors, got {type(state).__name__}")
        for name, given in zip(("h", "c"), state):
            if tuple(given.shape) != shape or given.dtype != x.dtype or given.device != x.device:
                raise ValueError(
                    f"state.{name}: expected shape {shape} (num_layers * num_directions, N, F, "
                    f"*S), {x.dtype} on {x.device}, got {tuple(given.shape)}, {given.dtype} on "
                    f"{given.device}"
                )
            if self.check_finite:
                check_finite(f"state.{name}", given, axes=("layer", "batch", "channel"))
        return LSTMState(state[0], state[1])

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        input: Tensor,
        state: LSTMState | tuple[Tensor, Tensor] | None = None,
        lengths: Tensor | Sequence[int] | None = None,
        *,
        mask: Tensor | None = None,
    ) -> tuple[Tensor, LSTMState]:
        """Run every layer; see the class docstring for shapes."""
        x = self._check_input(input, "input", self.dims + 3)
        x = x.transpose(0, 1) if self.batch_first else x  # (L, N, C_in, *S_in)
        steps, batch = x.shape[0], x.shape[1]
        if steps == 0 or batch == 0:
            raise ValueError(
                f"input: expected at least one step and one sequence, got shape {tuple(input.shape)}"
            )
        if mask is not None and self.batch_first and isinstance(mask, Tensor) and mask.dim() == 2:
            mask = mask.transpose(0, 1)
        real = time_mask(lengths, mask, steps, batch, x.device)  # (L, N) or None
        if self.check_finite:
            check_finite("input", x, axes=("step", "batch", "channel"), valid=real)
        if real is not None:
            x = torch.where(real.view(steps, batch, *([1] * (x.dim() - 2))), x, x.new_zeros(()))
        if state is None:
            start = self.initial_state(batch, x.shape[3:], dtype=x.dtype, device=x.device)
        else:
            start = self._check_state(state, self._state_shape(batch, x.shape[3:]), x)
        output, (h, c) = self._run_layers(x, start, real)
        if not self.return_sequences:
            last = h[-self.num_directions :]  # (dirs, N, F, *S): the last layer's final h
            return last.transpose(0, 1).flatten(1, 2), LSTMState(h, c)
        return (output.transpose(0, 1) if self.batch_first else output), LSTMState(h, c)

    def _call(
        self, layer: int, direction: int, x: Tensor, state: LSTMState, mask: Tensor | None, reverse: bool
    ) -> Call:
        regs = Regularizers()
        if self.training and (self.dropout or self.recurrent_dropout):
            n, ref = x.shape[1], x
            x_mask = (
                variational_mask((n, *x.shape[2:]), self.dropout, ref.dtype, ref.device)
                if self.dropout
                else None
            )
            h_shape = (n, *state[0].shape[1:])
            h_mask = (
                variational_mask(h_shape, self.recurrent_dropout, ref.dtype, ref.device)
                if self.recurrent_dropout
                else None
            )
            regs = Regularizers(x_mask=x_mask, h_mask=h_mask)
        params = self.params(layer, direction)
        return Call(self._specs[layer], x, state, params, mask, reverse, False, self.training, regs)

    def _run_layers(self, x: Tensor, state: LSTMState, mask: Tensor | None) -> tuple[Tensor, LSTMState]:
        """Every layer over the time-major ``x``: the last layer's output and the final states."""
        finals: list[Any] = []
        for layer in range(self.num_layers):
            first = layer * self.num_directions
            starts = [LSTMState(state.h[first + d], state.c[first + d]) for d in range(self.num_directions)]
            runners = [_Direction(self, layer, d) for d in range(self.num_directions)]
            if self.bidirectional:
                res = bidirectional(runners[0], runners[1], x, (starts[0], starts[1]), mask, feature_dim=2)
                finals.extend(res.state)
            else:
                res = runners[0].run(x, starts[0], mask=mask)
                finals.append(res.state)
            x = res.output
        return x, LSTMState(torch.stack([s[0] for s in finals]), torch.stack([s[1] for s in finals]))

    # ------------------------------------------------------------------ streaming
    def step(
        self, x: Tensor, state: LSTMState | tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, LSTMState]:
        """One time step: ``x`` (N, C_in, *S_in) -> ``(y (N, F, *S), state)``; feed the state back.
        Equivalent to ``forward`` on a length-1 sequence (in training, the dropout masks are
        drawn per call)."""
        if self.bidirectional:
            raise ValueError(
                "step: a bidirectional layer needs the whole sequence; stream a unidirectional one"
            )
        x = self._check_input(x, "x", self.dims + 2)
        seq = x.unsqueeze(1 if self.batch_first else 0)
        if self.return_sequences:
            out, new = self(seq, state)
            return (out[:, 0] if self.batch_first else out[0]), new
        return self(seq, state)

    def stream(self, batch_size: int = 1) -> ConvLSTMStream:
        """A streaming runtime: ``step(x_t) -> y_t`` with the state carried, without autograd, in
        evaluation semantics (:class:`ConvLSTMStream`)."""
        return ConvLSTMStream(self, batch_size)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.hidden_channels}, kernel_size={self.kernel_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for name, default in (
            ("dims", 2),
            ("peepholes", False),
            ("layer_norm", False),
            ("bidirectional", False),
        ):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class _Direction:
    """One layer and direction as a :class:`~lstmkit.core.layers.bidirectional.Runner`."""

    def __init__(self, module: ConvLSTM, layer: int, direction: int) -> None:
        self.module, self.layer, self.direction = module, layer, direction

    def run(self, x: Tensor, state: Any, *, mask: Tensor | None = None, reverse: bool = False) -> RunResult:
        call = self.module._call(self.layer, self.direction, x, state, mask, reverse)
        return run_call(self.module.engine, call)


class ConvLSTMStream:
    """Step-by-step inference for a unidirectional :class:`ConvLSTM`.

    ``step(x)`` takes a frame batch x (N, C_in, *S_in) and returns the last layer's output
    (N, F, *S); ``state`` is the current :class:`~lstmkit.core.cells.LSTMState` (each field
    (num_layers, N, F, *S), ``None`` before the first step); ``reset()`` forgets it. Runs
    without autograd and in evaluation semantics (no dropout), whatever the layer's mode; the
    result equals ``layer.eval()`` over the whole sequence.

    Example::

        >>> conv = ConvLSTM(1, 4, 3).eval()
        >>> stream = conv.stream(batch_size=2)
        >>> stream.step(torch.rand(2, 1, 8, 8)).shape
        torch.Size([2, 4, 8, 8])
    """

    def __init__(self, layer: ConvLSTM, batch_size: int = 1) -> None:
        if layer.bidirectional:
            raise ValueError(
                "stream: a bidirectional layer needs the whole sequence; stream a unidirectional one"
            )
        self.layer = layer
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.state: LSTMState | None = None

    def reset(self) -> None:
        """Start a new sequence (zero state at the next step)."""
        self.state = None

    def step(self, x: Tensor) -> Tensor:
        """Advance every layer one step: x (N, C_in, *S_in) -> (N, F, *S)."""
        if isinstance(x, Tensor) and x.dim() >= 1 and x.shape[0] != self.batch_size:
            raise ValueError(
                f"x: expected batch size {self.batch_size} (batch_size), got shape {tuple(x.shape)}"
            )
        mode = self.layer.training
        self.layer.train(False)
        try:
            with torch.no_grad():
                y, self.state = self.layer.step(x, self.state)
        finally:
            self.layer.train(mode)
        return y

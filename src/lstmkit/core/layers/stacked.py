"""The base of the stacked recurrent layers (LSTM, GRU, RNN): what they share, once.

Input layouts (:mod:`lstmkit.core.layers.layout`), state checks, stacking, bidirectionality
(:func:`~lstmkit.core.layers.bidirectional.bidirectional` over two directions) and PyTorch's
parameter contract live here; a layer class only says which parameters one layer and direction
has, what its state looks like, its cell and the regularizers of a call
(:meth:`StackedRecurrent._prepare`): each layer and direction then goes to the engines as a
:class:`~lstmkit.core.engines.base.Call` that :func:`~lstmkit.core.engines.select.run_call` runs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from lstmkit.core.engines.base import Cell, CellParams, Regularizers
from lstmkit.core.engines.select import check_engine
from lstmkit.core.layers.bidirectional import bidirectional
from lstmkit.core.layers.direction import Direction, LayerResult, per_direction
from lstmkit.core.layers.layout import check_finite_input, restore_layout, time_mask, to_time_major
from lstmkit.core.layers.options import (
    LayerOptions,
    check_bool,
    check_factory_kwargs,
    check_positive_int,
)
from lstmkit.core.regularizers import check_probability, variational_mask
from lstmkit.core.scan import check_finite as assert_finite
from lstmkit.core.tree import State, map_state, stack_states

__all__ = ["StackedRecurrent", "check_bool", "check_positive_int"]

# the options the torch.nn layers share with these (as keywords of both constructors)
_TORCH_OPTIONS = (
    "input_size",
    "hidden_size",
    "num_layers",
    "bias",
    "batch_first",
    "bidirectional",
    "dropout",
)


class StackedRecurrent(nn.Module):
    """Base of the stacked, optionally bidirectional recurrent layers.

    Subclasses define :meth:`_param_shapes`, :meth:`_state_sizes`, :meth:`_wrap_state`,
    :meth:`_cell` and :meth:`_prepare`, and may override :meth:`reset_parameters`; their constructors pass the
    :class:`~lstmkit.core.layers.options.LayerOptions` (each becomes an attribute), then
    register their parameters (:meth:`_register_parameters`).
    """

    _torch_class: ClassVar[type[nn.Module]]
    _family: ClassVar[str]  # the cell family, for the engine names: "lstm", "gru", "rnn"

    def __init__(self, options: LayerOptions) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", options.input_size)
        self.hidden_size = check_positive_int("hidden_size", options.hidden_size)
        self.num_layers = check_positive_int("num_layers", options.num_layers)
        self.bias = check_bool("bias", options.bias)
        self.batch_first = check_bool("batch_first", options.batch_first)
        self.bidirectional = check_bool("bidirectional", options.bidirectional)
        self.dropout = check_probability("dropout", options.dropout)
        if self.dropout and self.num_layers == 1:
            warnings.warn(
                f"dropout: applies between layers only (to the outputs of every layer but the last), "
                f"so it has no effect with num_layers=1; got dropout={self.dropout}",
                UserWarning,
                stacklevel=3,
            )
        self.input_dropout = check_probability("input_dropout", options.input_dropout)
        self.recurrent_dropout = check_probability("recurrent_dropout", options.recurrent_dropout)
        self.check_finite = check_bool("check_finite", options.check_finite)
        self.engine = check_engine(options.engine, self._family)

    # ------------------------------------------------------------------ contract
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Size of h per direction (``proj_size`` for a projected LSTM, else ``hidden_size``)."""
        return self.hidden_size

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.output_size * self.num_directions

    def _param_shapes(self, layer: int) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    def _state_sizes(self) -> tuple[int, ...]:
        """Feature size of each state field (one entry for a tensor state)."""
        return (self.hidden_size,)

    def _wrap_state(self, fields: Sequence[Tensor]) -> State:
        """Build a state from its fields (a plain tensor for single-field states)."""
        return fields[0]

    def _state_names(self) -> tuple[str, ...]:
        """Names of the state fields, for error messages."""
        return ("h",)

    def _reference_tensor(self) -> Tensor:
        """A tensor of the layer's floating dtype and device (the input and state must match it):
        its first parameter; a layer that keeps its weights in buffers says which."""
        return next(self.parameters())

    @property
    def qconfig(self) -> Any:
        """What ``torch.ao.quantization`` attached (no attribute until then). Set by its
        ``quantize_dynamic`` and ``prepare``: where torch has no int8 module mapped to this class
        (lstmkit.compress maps :class:`~lstmkit.core.layers.LSTM` once imported) the layer would
        silently stay float32, so setting one warns."""
        if "_qconfig" not in self.__dict__:
            raise AttributeError("qconfig")  # torch.ao reads getattr(module, "qconfig", default)
        return self.__dict__["_qconfig"]

    @qconfig.setter
    def qconfig(self, value: Any) -> None:
        self.__dict__["_qconfig"] = value
        if value is not None and not _torch_ao_maps(type(self)):
            warnings.warn(
                f"torch.ao.quantization has no int8 module for lstmkit {type(self).__name__}, which stays "
                "float32: use lstmkit.compress.quantize_dynamic(model), or import lstmkit.compress first "
                "(it maps lstmkit.LSTM to lstmkit.compress.QuantizedLSTM)",
                UserWarning,
                stacklevel=2,
            )

    @qconfig.deleter
    def qconfig(self) -> None:
        self.__dict__.pop("_qconfig", None)

    def _cell(self) -> Cell:
        """The cell of the engines' :class:`~lstmkit.core.engines.base.Call`."""
        raise NotImplementedError

    def _prepare(self, layer: int, direction: int, x: Tensor) -> tuple[CellParams, Regularizers]:
        """The parameters of one layer and direction and the regularizers of this call (drawn
        here for the time-major ``x``, in training)."""
        raise NotImplementedError

    def direction(
        self, layer: int, direction: int = 0, *, return_states: bool = False, return_gates: bool = False
    ) -> Direction:
        """One layer and direction as a :class:`~lstmkit.core.layers.bidirectional.Runner`
        (which also returns every step's state with ``return_states``, and its gate activations
        with ``return_gates``)."""
        return Direction(self, layer, direction, return_states, return_gates)

    @staticmethod
    def param_name(name: str, layer: int, direction: int) -> str:
        """PyTorch's name of parameter ``name`` of ``layer`` and ``direction``: ``weight_ih_l0_reverse``."""
        return f"{name}_l{layer}{'_reverse' if direction else ''}"

    def _register_parameters(self, device: Any = None, dtype: Any = None) -> None:
        device, dtype = check_factory_kwargs(device, dtype)
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                for name, shape in self._param_shapes(layer).items():
                    tensor = torch.empty(shape, device=device, dtype=dtype)
                    self.register_parameter(self.param_name(name, layer, direction), nn.Parameter(tensor))

    def layer_params(self, layer: int, direction: int = 0) -> dict[str, Tensor]:
        """The parameters of one layer and direction, keyed by their name without suffix."""
        return {
            name: getattr(self, self.param_name(name, layer, direction)) for name in self._param_shapes(layer)
        }

    def reset_parameters(self) -> None:
        """PyTorch's initialization: every parameter uniform in ±1/sqrt(hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _cudnn_weights(self, layer: int, direction: int) -> tuple[str, list[Tensor]] | None:
        """``(torch kernel, its weights in torch's order)`` of one layer and direction when they
        are the parameters torch's kernel takes, else ``None`` (a cell only lstmkit has)."""
        return None

    def flatten_parameters(self) -> None:
        """On a GPU with cuDNN, lay the weights of each layer and direction out in one contiguous
        buffer that cuDNN reads as is (as :meth:`torch.nn.LSTM.flatten_parameters` does; without
        it cuDNN copies them at every call and torch warns). The parameters become views into
        the buffers and keep their names, values and gradients. Runs after every ``.to()`` /
        ``.cuda()``; a no-op on the CPU and for cells torch's kernel does not have."""
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                found = self._cudnn_weights(layer, direction)
                if found is None:
                    continue
                kind, weights = found
                first = weights[0]
                if not (first.is_cuda and torch.backends.cudnn.is_acceptable(first)):
                    continue
                if any(w.dtype != first.dtype or w.device != first.device for w in weights):
                    continue
                if len({w.data_ptr() for w in weights}) < len(weights):
                    continue  # tied weights: cuDNN copies them per call
                from torch.backends.cudnn import rnn as cudnn_rnn

                with torch.no_grad():
                    torch._cudnn_rnn_flatten_weight(  # pyright: ignore[reportPrivateImportUsage]
                        weights,
                        len(weights),  # tensors per layer and direction
                        self.layer_input_size(layer),
                        cudnn_rnn.get_cudnn_mode(kind.upper()),
                        self.hidden_size,
                        getattr(self, "proj_size", 0),
                        1,  # one layer and one direction per kernel call (see engines/native.py)
                        False,
                        False,
                    )

    def _apply(self, fn: Any, recurse: bool = True) -> StackedRecurrent:
        module = super()._apply(fn, recurse)
        self.flatten_parameters()
        return module

    @classmethod
    def from_torch(cls, module: nn.Module, **layer_kwargs: Any) -> StackedRecurrent:
        """Build a layer with the configuration and weights of the matching ``torch.nn`` layer.

        ``layer_kwargs`` are passed on to the constructor (e.g. regularizers torch has not).
        """
        if not isinstance(module, cls._torch_class):
            raise TypeError(f"module: expected a {cls._torch_class.__name__}, got {type(module).__name__}")
        make: Any = cls
        ref = next(module.parameters())
        options = {name: getattr(module, name) for name in _TORCH_OPTIONS}
        extra = {**cls._torch_kwargs(module), **layer_kwargs}
        layer = make(**options, device=ref.device, dtype=ref.dtype, **extra)
        layer.load_state_dict(module.state_dict())
        return layer.train(module.training)

    @classmethod
    def _torch_kwargs(cls, module: nn.Module) -> dict[str, Any]:
        return {}

    def _to_torch_kwargs(self) -> dict[str, Any]:
        return {}

    def _torch_lacks(self) -> list[str]:
        """The settings of this layer that the ``torch.nn`` layer does not have."""
        return [
            name for name in ("input_dropout", "recurrent_dropout") if getattr(self, name)
        ]  # variational dropout: torch has only the inter-layer kind

    def to_torch(self) -> nn.Module:
        """An equivalent ``torch.nn`` layer holding a copy of these weights (``ValueError`` if
        this layer uses something torch's has not: a variant cell, a custom regularizer)."""
        lacks = self._torch_lacks()
        if lacks:
            raise ValueError(
                f"to_torch: torch.nn.{self._torch_class.__name__} has only the classic cell without "
                f"custom regularizers; this layer sets {', '.join(lacks)}"
            )
        ref = self._reference_tensor()
        torch_class: Any = self._torch_class
        options = {name: getattr(self, name) for name in _TORCH_OPTIONS}
        module = torch_class(**options, device=ref.device, dtype=ref.dtype, **self._to_torch_kwargs())
        module.load_state_dict(self.state_dict())
        return module.train(self.training)

    # ------------------------------------------------------------------ state
    def initial_state(
        self, batch_size: int | None = None, *, dtype: torch.dtype | None = None, device: Any = None
    ) -> State:
        """Zero state: each field (num_layers * num_directions, batch_size, size);
        without ``batch_size``, the unbatched (num_layers * num_directions, size)."""
        ref = self._reference_tensor()
        batch = () if batch_size is None else (check_positive_int("batch_size", batch_size),)
        lead = self.num_layers * self.num_directions
        return self._wrap_state(
            [
                torch.zeros(lead, *batch, size, dtype=dtype or ref.dtype, device=device or ref.device)
                for size in self._state_sizes()
            ]
        )

    def _check_state(self, state: State, batch: int, unbatched: bool, ref: Tensor) -> State:
        fields = [state] if isinstance(state, Tensor) else state
        names = self._state_names()
        kind = "a tensor" if len(names) == 1 else f"a tuple ({', '.join(names)}) of tensors"
        if len(names) == 1 and isinstance(state, (tuple, list)) and len(state) == 1:
            fields = list(state)
        if (
            not isinstance(fields, (tuple, list))
            or len(fields) != len(names)
            or not all(isinstance(f, Tensor) for f in fields)
        ):
            got = (
                f"{type(state).__name__} of {len(state)}"
                if isinstance(state, (tuple, list))
                else type(state).__name__
            )
            raise TypeError(f"state: expected {kind}, got {got}")
        lead = self.num_layers * self.num_directions
        out = []
        for name, field, size in zip(names, fields, self._state_sizes()):
            expected = (lead, size) if unbatched else (lead, batch, size)
            if tuple(field.shape) != expected:
                layout = "(num_layers * num_directions, " + ("" if unbatched else "N, ") + "size)"
                raise ValueError(
                    f"state.{name}: expected shape {expected} {layout}, got {tuple(field.shape)}"
                )
            if field.dtype != ref.dtype:
                raise TypeError(f"state.{name}: expected dtype {ref.dtype} (the input's), got {field.dtype}")
            if field.device != ref.device:
                raise ValueError(
                    f"state.{name}: expected device {ref.device} (the input's), got {field.device}"
                )
            if self.check_finite:
                axes = ("layer", "feature") if unbatched else ("layer", "batch", "feature")
                assert_finite(f"state.{name}", field, axes=axes)
            out.append(field.unsqueeze(1) if unbatched else field)
        return self._wrap_state(out)

    def _check_input(self, x: Tensor, name: str = "input") -> None:
        """Check the features, dtype and device of ``x`` (any layout, features last)."""
        ref = self._reference_tensor()
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected {self.input_size} features (input_size) in the last dimension, "
                f"got shape {tuple(x.shape)}"
            )
        if x.dtype != ref.dtype:
            hint = f"convert the input, e.g. x.to({ref.dtype})"
            if x.dtype.is_floating_point:  # a module can hold any floating dtype, never an integer one
                hint = f"convert the input (x.to({ref.dtype})) or the module (module.to({x.dtype}))"
            raise TypeError(f"{name}: expected dtype {ref.dtype} (the parameters'), got {x.dtype}; {hint}")
        if x.device != ref.device:
            raise ValueError(f"{name}: expected device {ref.device} (the parameters'), got {x.device}")

    def _forward(
        self,
        x: Tensor | PackedSequence,
        state: State | None,
        lengths: Tensor | Sequence[int] | None,
        mask: Tensor | None,
        return_states: bool,
        *,
        check_values: bool = True,
        return_gates: bool = False,
    ) -> LayerResult:
        """Validate, run every layer and direction, and lay the result out like the input.

        With ``check_values`` (and ``self.check_finite``) the input's real steps are checked
        for NaN/inf (``step`` checks its own input and passes ``False``). ``return_states``:
        every step's cell state of the last layer; ``return_gates``: the gate trace of every
        layer (:meth:`_gate_trace`).
        """
        x, lengths, layout = to_time_major(x, lengths, mask, self.batch_first)  # (L, N, H_in)
        self._check_input(x)
        if x.shape[0] == 0:
            raise ValueError(f"input: expected at least one time step, got shape {tuple(x.shape)}")
        if x.shape[1] == 0:
            raise ValueError(
                f"input: expected at least one sequence in the batch, got shape {tuple(x.shape)}"
            )
        real = time_mask(lengths, mask, layout, x)  # (L, N) or None
        if self.check_finite and check_values:
            check_finite_input(x, real, layout)
        if real is not None:
            # padding never reaches an output or a gradient: the engines see zeros there (where,
            # not a product, so that NaN and inf vanish too)
            x = torch.where(real.unsqueeze(-1), x, x.new_zeros(()))  # (L, N, H_in)
        if state is None:
            state = self.initial_state(x.shape[1], dtype=x.dtype, device=x.device)
        else:
            state = self._check_state(state, x.shape[1], layout.unbatched, x)
        output, finals, cells, records = self._run_layers(x, state, real, return_states, return_gates)
        gates = self._gate_trace(records, real) if return_gates else None
        output, final, (cells, gates) = restore_layout(output, stack_states(finals), (cells, gates), layout)
        return LayerResult(output, final, cells, gates)

    def _gate_trace(self, records: list[tuple[Tensor, State]], mask: Tensor | None) -> Any:
        """The gate trace of ``return_gates`` from each layer and direction's ``(gate
        activations, every step's state)`` (layer-major), time-major; the LSTM family has one."""
        raise ValueError(f"return_gates: {type(self).__name__} has no gate trace; an LSTM has")

    def _run_layers(
        self, x: Tensor, state: State, mask: Tensor | None, return_states: bool, return_gates: bool = False
    ) -> tuple[Tensor, list[State], Tensor | None, list[tuple[Tensor, State]]]:
        """Every layer over the time-major ``x``: ``(output of the last layer, the final state
        of each layer and direction, every step's cell state of the last layer or None, and with
        ``return_gates`` each layer and direction's (gate activations, every step's state))``."""
        finals: list[State] = []
        records: list[tuple[Tensor, State]] = []
        cells = None
        for layer in range(self.num_layers):
            last = layer == self.num_layers - 1
            first = layer * self.num_directions
            start = [map_state(lambda s, i=first + d: s[i], state) for d in range(self.num_directions)]
            keep = (return_states and last) or return_gates
            runners = [
                self.direction(layer, d, return_states=keep, return_gates=return_gates)
                for d in range(self.num_directions)
            ]
            if self.bidirectional:
                res = bidirectional(runners[0], runners[1], x, (start[0], start[1]), mask)
                finals.extend(res.state)
            else:
                res = runners[0].run(x, start[0], mask=mask)
                finals.append(res.state)
            steps = per_direction(res.states, self.bidirectional)
            records += zip(per_direction(res.gates, self.bidirectional), steps)
            x = res.output
            if self.dropout and self.training and not last:
                x = F.dropout(x, self.dropout, True)
            if return_states and last:
                cells = torch.cat([s[1] for s in steps], -1)  # every step's c, directions side by side
        return x, finals, cells, records

    def _dropout_masks(self, layer: int, batch: int, ref: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """Variational masks for this forward pass: on the layer input (N, H_in) and on h (N, H_out)."""
        if not self.training:
            return None, None
        x_mask = (
            variational_mask((batch, self.layer_input_size(layer)), self.input_dropout, ref.dtype, ref.device)
            if self.input_dropout
            else None
        )
        h_mask = (
            variational_mask((batch, self.output_size), self.recurrent_dropout, ref.dtype, ref.device)
            if self.recurrent_dropout
            else None
        )
        return x_mask, h_mask

    def step(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One time step for streaming: ``x`` (N, H_in) or unbatched (H_in,) -> ``(y, state)``.

        Equivalent to ``forward`` on a length-1 sequence; feed the returned state back in.
        Regularizer masks are drawn per call, so in training mode a step does not share them
        with its neighbours (evaluation mode is exact).
        """
        if self.bidirectional:
            raise ValueError(
                "step: a bidirectional layer needs the whole sequence; stream a unidirectional one"
            )
        if not isinstance(x, Tensor):
            raise TypeError(f"x: expected a Tensor (N, H_in) or unbatched (H_in,), got {type(x).__name__}")
        if x.dim() not in (1, 2):
            raise ValueError(f"x: expected (N, H_in) or unbatched (H_in,), got {tuple(x.shape)}")
        self._check_input(x, "x")
        if self.check_finite:
            assert_finite("x", x, axes=("batch", "feature")[2 - x.dim() :])
        seq = x.unsqueeze(0) if x.dim() == 1 else x.unsqueeze(1 if self.batch_first else 0)
        output, new_state = self._forward(seq, state, None, None, False, check_values=False)[:2]
        assert isinstance(output, Tensor)
        return (output[:, 0] if self.batch_first and x.dim() == 2 else output[0]), new_state

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        for name in ("dropout", "input_dropout", "recurrent_dropout"):
            if getattr(self, name):
                s += f", {name}={getattr(self, name)}"
        return s


def _torch_ao_maps(cls: type) -> bool:
    """Whether torch.ao's default dynamic quantization maps ``cls`` to an int8 module."""
    from torch.ao.quantization.quantization_mappings import get_default_dynamic_quant_module_mappings

    return cls in get_default_dynamic_quant_module_mappings()

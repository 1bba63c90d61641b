"""Machinery shared by the stacked recurrent layers (LSTM, GRU, RNN).

Input handling (PackedSequence, unbatched 2-D input, ``batch_first``, ``lengths`` or a
mask), state validation, stacking, bidirectionality and the parameter contract live here
once; a layer class only says which parameters one layer and direction has, what its state
looks like and how to run one direction (:meth:`StackedRecurrent._run_direction`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstmkit.core.engines.native import NativeKernelError
from lstmkit.core.layers.regularizers import check_probability, variational_mask
from lstmkit.core.scan import (
    RunResult,
    State,
    check_lengths,
    lengths_to_mask,
    map_state,
    stack_states,
)
from lstmkit.core.scan import check_finite as assert_finite

__all__ = ["StackedRecurrent", "check_bool", "check_positive_int"]

R = TypeVar("R")


def check_positive_int(name: str, value: object, *, allow_zero: bool = False) -> int:
    """Validate a size argument; raise ``TypeError``/``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    low = 0 if allow_zero else 1
    if value < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {value}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Validate a flag (a bool, or the ints 0 and 1); raise ``TypeError`` naming it.

    A string such as ``"False"`` is refused rather than read as true.
    """
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")


def check_factory_kwargs(device: Any, dtype: Any) -> tuple[torch.device | None, torch.dtype | None]:
    """Validate the ``device`` and ``dtype`` of a layer's parameters (a floating dtype)."""
    if device is not None:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device: expected a torch device such as 'cpu' or 'cuda:0', got {device!r}"
            ) from None
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype: expected a floating-point torch.dtype, got {dtype}")
    return device, dtype


class StackedRecurrent(nn.Module):
    """Base of the stacked, optionally bidirectional recurrent layers.

    Subclasses define :meth:`_param_shapes`, :meth:`_state_sizes`, :meth:`_wrap_state` and
    :meth:`_run_direction`, and may override :meth:`reset_parameters`.
    """

    _torch_class: ClassVar[type[nn.Module]]

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
        check_finite: bool = False,
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bias = check_bool("bias", bias)
        self.batch_first = check_bool("batch_first", batch_first)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.dropout = check_probability("dropout", dropout)
        if self.dropout and self.num_layers == 1:
            warnings.warn(
                f"dropout: applies between layers only (to the outputs of every layer but the last), "
                f"so it has no effect with num_layers=1; got dropout={self.dropout}",
                UserWarning,
                stacklevel=3,
            )
        self.input_dropout = check_probability("input_dropout", input_dropout)
        self.recurrent_dropout = check_probability("recurrent_dropout", recurrent_dropout)
        self.check_finite = check_bool("check_finite", check_finite)

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

    def _run_direction(
        self, layer: int, direction: int, x: Tensor, state: State, mask: Tensor | None, return_states: bool
    ) -> RunResult:
        raise NotImplementedError

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
                        1,  # one layer and one direction per kernel call (see engine/native.py)
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
        m: Any = module
        make: Any = cls
        ref = next(module.parameters())
        layer = make(
            m.input_size,
            m.hidden_size,
            m.num_layers,
            bias=m.bias,
            batch_first=m.batch_first,
            bidirectional=m.bidirectional,
            dropout=m.dropout,
            device=ref.device,
            dtype=ref.dtype,
            **cls._torch_kwargs(module),
            **layer_kwargs,
        )
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
        ref = next(self.parameters())
        torch_class: Any = self._torch_class
        module = torch_class(
            self.input_size,
            self.hidden_size,
            self.num_layers,
            bias=self.bias,
            batch_first=self.batch_first,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
            device=ref.device,
            dtype=ref.dtype,
            **self._to_torch_kwargs(),
        )
        module.load_state_dict(self.state_dict())
        return module.train(self.training)

    # ------------------------------------------------------------------ state
    def initial_state(
        self, batch_size: int | None = None, *, dtype: torch.dtype | None = None, device: Any = None
    ) -> State:
        """Zero state: each field (num_layers * num_directions, batch_size, size);
        without ``batch_size``, the unbatched (num_layers * num_directions, size)."""
        ref = next(self.parameters())
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

    # ------------------------------------------------------------------ forward
    def _check_input(self, x: Tensor, name: str = "input") -> None:
        """Check the features, dtype and device of ``x`` (any layout, features last)."""
        ref = next(self.parameters())
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
    ) -> tuple[Tensor | PackedSequence, State, Tensor | None]:
        """Validate, run every layer and direction, and lay the result out like the input.

        With ``check_values`` (and ``self.check_finite``) the input's real steps are checked
        for NaN/inf (``step`` checks its own input and passes ``False``).
        """
        packed: PackedSequence | None = None
        unbatched = False
        if isinstance(x, PackedSequence):
            if lengths is not None or mask is not None:
                raise ValueError("lengths, mask: a PackedSequence carries its own lengths; pass neither")
            packed = x
            x, lengths = pad_packed_sequence(x)  # (L, N, H_in), original batch order
        elif not isinstance(x, Tensor):
            raise TypeError(f"input: expected a Tensor or PackedSequence, got {type(x).__name__}")
        elif x.dim() == 2:
            unbatched = True
            x = x.unsqueeze(1)  # (L, 1, H_in)
        elif x.dim() == 3:
            if self.batch_first:
                x = x.transpose(0, 1)
        else:
            raise ValueError(
                "input: expected a 3-D tensor "
                + ("(N, L, H_in)" if self.batch_first else "(L, N, H_in)")
                + f" or a 2-D unbatched (L, H_in), got shape {tuple(x.shape)}"
            )
        self._check_input(x)
        max_len, batch = x.shape[0], x.shape[1]
        if max_len == 0:
            raise ValueError(f"input: expected at least one time step, got shape {tuple(x.shape)}")
        if batch == 0:
            raise ValueError(
                f"input: expected at least one sequence in the batch, got shape {tuple(x.shape)}"
            )
        time_mask = self._time_mask(lengths, mask, max_len, batch, unbatched, x.device)
        if self.check_finite and check_values:
            self._check_finite_input(x, time_mask, unbatched, packed is None and self.batch_first)
        if time_mask is not None:
            # padding never reaches an output or a gradient: the engines see zeros there (where,
            # not a product, so that NaN and inf vanish too)
            x = torch.where(time_mask.unsqueeze(-1), x, x.new_zeros(()))  # (L, N, H_in)
        if state is None:
            state = self.initial_state(batch, dtype=x.dtype, device=x.device)
        else:
            state = self._check_state(state, batch, unbatched, x)

        layer_input = x
        finals: list[State] = []
        extra = None
        for layer in range(self.num_layers):
            results = [
                self._run_direction(
                    layer,
                    d,
                    layer_input,
                    map_state(lambda s, i=layer * self.num_directions + d: s[i], state),
                    time_mask,
                    return_states and layer == self.num_layers - 1,
                )
                for d in range(self.num_directions)
            ]
            finals.extend(r.state for r in results)
            layer_input = (
                torch.cat([r.output for r in results], -1) if len(results) > 1 else results[0].output
            )
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
            if return_states and layer == self.num_layers - 1:
                # every step's c (field 1 of an LSTM state), directions side by side
                extra = torch.cat([r.states[1] for r in results], -1)  # type: ignore[index]

        final_state = stack_states(finals)
        output: Tensor | PackedSequence = layer_input
        if packed is not None:
            output = self._pack_like(layer_input, packed, lengths)  # type: ignore[arg-type]
            if extra is not None:
                extra = self._pack_like(extra, packed, lengths).data  # type: ignore[arg-type]
        elif unbatched:
            output = layer_input.squeeze(1)
            final_state = map_state(lambda s: s.squeeze(1), final_state)
            extra = extra.squeeze(1) if extra is not None else None
        elif self.batch_first:
            output = layer_input.transpose(0, 1)
            extra = extra.transpose(0, 1) if extra is not None else None
        return output, final_state, extra

    @staticmethod
    def _check_finite_input(x: Tensor, time_mask: Tensor | None, unbatched: bool, batch_first: bool) -> None:
        """``ValueError`` at the first NaN/inf of the time-major ``x`` at a real step, its
        position given in the layout the user passed."""
        if unbatched:
            valid = None if time_mask is None else time_mask[:, 0]
            assert_finite("input", x[:, 0], axes=("step", "feature"), valid=valid)
        elif batch_first:
            valid = None if time_mask is None else time_mask.transpose(0, 1)
            assert_finite("input", x.transpose(0, 1), axes=("batch", "step", "feature"), valid=valid)
        else:
            assert_finite("input", x, axes=("step", "batch", "feature"), valid=time_mask)

    def _time_mask(
        self,
        lengths: Tensor | Sequence[int] | None,
        mask: Tensor | None,
        max_len: int,
        batch: int,
        unbatched: bool,
        device: torch.device,
    ) -> Tensor | None:
        """Time-major (L, N) boolean mask of real steps, or ``None`` when every step is real
        (or the input is on the meta device: it has no values, and the shapes do not depend
        on the mask)."""
        if lengths is not None and mask is not None:
            raise ValueError("lengths, mask: give one of them, not both")
        if lengths is not None:
            if isinstance(lengths, int):
                lengths = [lengths]
            lens = check_lengths(lengths, batch, max_len)
            if bool((lens == max_len).all()) or device.type == "meta":
                return None
            return lengths_to_mask(lens, max_len, device)
        if mask is None:
            return None
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
            raise TypeError(f"mask: expected a bool tensor, got {got}")
        if mask.device.type == "meta" and device.type != "meta":
            raise ValueError(
                "mask: expected a tensor with values (on the CPU or the input's device), got a meta tensor"
            )
        if unbatched:
            expected, mask_tm = (max_len,), mask.reshape(-1, 1)
        elif self.batch_first:
            expected, mask_tm = (batch, max_len), mask.transpose(0, 1)
        else:
            expected, mask_tm = (max_len, batch), mask
        if tuple(mask.shape) != expected:
            raise ValueError(f"mask: expected shape {expected} (the input's layout), got {tuple(mask.shape)}")
        if device.type == "meta":
            return None
        mask_tm = mask_tm.to(device)
        return None if bool(mask_tm.all()) else mask_tm

    @staticmethod
    def _pack_like(padded: Tensor, packed: PackedSequence, lengths: Tensor) -> PackedSequence:
        """Pack a time-major padded tensor (original batch order) like ``packed``."""
        if packed.sorted_indices is not None:
            padded = padded.index_select(1, packed.sorted_indices)
            lengths = lengths[packed.sorted_indices.cpu()]
        data = pack_padded_sequence(padded, lengths, enforce_sorted=True).data
        return PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)

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
        output, new_state, _ = self._forward(seq, state, None, None, False, check_values=False)
        assert isinstance(output, Tensor)
        return (output[:, 0] if self.batch_first and x.dim() == 2 else output[0]), new_state

    def _native_or_none(self, run_native: Callable[[], R]) -> R | None:
        """Run torch's kernel (``run_native``); where it cannot compute this dtype on this
        machine (:class:`~lstmkit.core.engines.native.NativeKernelError`), ``None`` with
        ``engine="auto"`` (the caller takes the reference path; one ``RuntimeWarning``, the
        first time) and a one-line ``RuntimeError`` with ``engine="native"``."""
        try:
            return run_native()
        except NativeKernelError as err:
            if self.engine != "auto":
                raise NativeKernelError(
                    f"engine='native': {err}; use engine='auto' or 'reference', or float32", first=False
                ) from None
            if err.first:
                warnings.warn(f"lstmkit: {err}; using the reference path", RuntimeWarning, stacklevel=5)
            return None

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

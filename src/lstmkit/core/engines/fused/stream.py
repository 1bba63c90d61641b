"""Streaming inference: one step at a time through a stack of LSTM layers, state carried.

:class:`LSTMStream` is the runtime behind :meth:`lstmkit.core.layers.LSTM.stream`. It holds the state
of every layer in preallocated buffers and advances all layers by one step in a single call
into the fused C++ kernel (``stream_step``), without autograd and without per-step
allocations beyond the returned output. It computes the layer's evaluation-mode function
(no dropout; zoneout with its expectation), so feeding a sequence step by step gives exactly
the outputs of ``layer.eval()(sequence)``.

Where the fused extension is unavailable (or the parameters are not float32/float64 on the
CPU) the same steps run through the reference cell (:func:`lstmkit.core.cells.lstm_cell`), with
one warning.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, overload

import torch
from torch import Tensor

from lstmkit.core.cells.lstm import (
    FGRState,
    LSTMParams,
    LSTMSpec,
    LSTMState,
    lstm_gate_step,
    lstm_input_projection,
)
from lstmkit.core.engines.fused.binding import fused_unsupported, kernel_config
from lstmkit.core.engines.fused.build import load_extension, warn_unavailable
from lstmkit.core.gates import GateTrace, step_trace
from lstmkit.core.scan import check_finite

__all__ = ["LSTMStream", "check_streamable"]


class _StreamableLSTM(Protocol):
    """What the runtime needs from a layer (lstmkit.core.layers.LSTM has it)."""

    spec: LSTMSpec
    num_layers: int
    input_size: int
    hidden_size: int
    proj_size: int
    bidirectional: bool
    zoneout: tuple[float, float]
    _parameters: dict[str, Any]  # nn.Module's own registry (name -> Parameter or None)

    def params(self, layer: int, direction: int = 0) -> LSTMParams: ...

    def parameters(self, recurse: bool = True) -> Any: ...


def check_streamable(layer: Any, batch_size: object) -> None:
    """One-line ``ValueError`` where ``layer`` cannot stream ``batch_size`` sequences: a
    bidirectional layer, a batch size that is not an int >= 1."""
    if layer.bidirectional:
        raise ValueError(
            "stream: a bidirectional layer needs the whole sequence (its reverse direction starts "
            "at the end); stream a unidirectional layer"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")


class LSTMStream:
    r"""Step-by-step inference runtime for a unidirectional (stacked) LSTM.

    Args:
        layer: a unidirectional :class:`lstmkit.core.layers.LSTM` (any variant and option).
        batch_size: N, the number of streams advanced together (1 or more).

    ``step(x)`` takes x (N, H_in) and returns the last layer's output (N, H_out); ``state``
    is the current :class:`~lstmkit.core.cells.LSTMState` (or FGRState), each field
    (num_layers, N, size), in the layout ``layer(x, state)`` accepts; ``reset()`` zeroes it.

    The runtime reads the layer's parameters in place and keeps the weights packed for its
    matrix products; it re-packs a weight when the parameter changes (optimizer steps,
    ``load_state_dict``, ``.to()``: anything that bumps its version counter or replaces its
    storage). Writes through ``.data`` bypass the version counter: call :meth:`refresh` after
    those. It always computes evaluation-mode semantics (no dropout, zoneout as its
    expectation), like ``layer.eval()``. With the layer's ``check_finite`` on, ``step`` and a
    loaded ``state`` raise ``ValueError`` naming their first NaN or +-inf.

    Example::

        >>> lstm = LSTM(8, 16, num_layers=2, variant="vanilla").eval()
        >>> x = torch.randn(5, 1, 8)
        >>> stream = lstm.stream(batch_size=1)
        >>> ys = torch.stack([stream.step(x_t) for x_t in x])
        >>> torch.allclose(ys, lstm(x)[0], atol=1e-6)
        True
    """

    def __init__(self, layer: _StreamableLSTM, batch_size: int = 1) -> None:
        check_streamable(layer, batch_size)
        self._layer = layer
        self.batch_size = batch_size
        spec = layer.spec
        self._spec = spec
        self._hidden = layer.hidden_size
        self._out = layer.proj_size or layer.hidden_size
        self._sh = len(spec.sigmoid_gates) * layer.hidden_size if spec.full_gate_recurrence else 0
        ref = next(iter(layer.parameters()))
        self._dtype, self._device = ref.dtype, ref.device
        reason = fused_unsupported(spec, ref.detach().new_empty(0))
        self._ext = load_extension() if reason is None else None
        if self._ext is None:
            warn_unavailable("the fused streaming step")
        n, layers = batch_size, layer.num_layers
        opts: dict[str, Any] = {"dtype": self._dtype, "device": self._device}
        self._h = torch.zeros(layers, n, self._out, **opts)  # (layers, N, H_out)
        self._c = torch.zeros(layers, n, self._hidden, **opts)  # (layers, N, H)
        self._a = torch.zeros(layers, n, self._sh, **opts) if self._sh else None  # (layers, N, S*H)
        gh = spec.num_gates * self._hidden
        self._act = torch.zeros(layers, n, gh, **opts)  # (layers, N, G*H): the reference step's gates
        self._runtime: Any = None
        self._bind()
        if self._ext is not None:
            cfg = kernel_config(spec, zoneout=layer.zoneout)  # zoneout: the evaluation keep weights
            self._runtime = self._ext.StreamRuntime(
                cfg, self._weights, self._h, self._c, self._a, layer.input_size
            )

    def _binding(self) -> tuple[int, ...]:
        """Where the layer's parameters live now: a new tensor behind any of them (``.data =``,
        ``load_state_dict(assign=True)``, ``.to()``) changes it."""
        return tuple(p.data_ptr() for p in self._layer._parameters.values() if p is not None)

    def _bind(self) -> None:
        """Take (detached views of) the layer's parameters, as the reference step and the kernel
        read them (one weights dict per layer, keyed as :class:`~lstmkit.core.cells.LSTMParams`)."""
        ref = next(iter(self._layer.parameters()))
        if ref.dtype != self._dtype or ref.device != self._device:
            raise RuntimeError(
                f"stream: the layer moved to {ref.dtype} on {ref.device} after this stream was made "
                f"for {self._dtype} on {self._device}; call layer.stream() again"
            )
        self._layer_params: list[LSTMParams] = []
        for k in range(self._layer.num_layers):
            p = self._layer.params(k)
            p = p._replace(**{name: t.detach() for name, t in p._asdict().items() if t is not None})
            self._layer_params.append(p)
        self._weights = [p._asdict() for p in self._layer_params]
        self._bound = self._binding()
        if getattr(self, "_runtime", None) is not None:
            self._runtime.rebind(self._weights)

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> LSTMState | FGRState:
        """The current state (copies), each field (num_layers, N, size)."""
        if self._a is not None:
            return FGRState(self._h.clone(), self._c.clone(), self._a.clone())
        return LSTMState(self._h.clone(), self._c.clone())

    @state.setter
    def state(self, value: LSTMState | FGRState | tuple[Tensor, ...]) -> None:
        buffers = [self._h, self._c] + ([self._a] if self._a is not None else [])
        names = ("h", "c", "gates")
        if not isinstance(value, (tuple, list)) or len(value) != len(buffers):
            raise TypeError(
                f"state: expected a tuple of {len(buffers)} tensors ({', '.join(names[: len(buffers)])})"
            )
        for name, buf, field in zip(names, buffers, value):
            if not isinstance(field, Tensor) or tuple(field.shape) != tuple(buf.shape):
                got = tuple(field.shape) if isinstance(field, Tensor) else type(field).__name__
                raise ValueError(
                    f"state.{name}: expected shape {tuple(buf.shape)} (num_layers, N, size), got {got}"
                )
            if self._check_finite:
                check_finite(f"state.{name}", field, axes=("layer", "batch", "feature"))
            buf.copy_(field.detach())

    @property
    def _check_finite(self) -> bool:
        """The layer's ``check_finite`` (read at each step: a plain attribute)."""
        return bool(getattr(self._layer, "check_finite", False))

    def refresh(self) -> None:
        """Re-read the weights at the next step. Needed only after writing into the parameters in
        place through ``.data`` (which bypasses the version counters the runtime watches);
        optimizer steps, ``load_state_dict`` (also with ``assign=True``) and replacing a
        parameter's tensor are noticed by themselves."""
        self._bind()
        if self._runtime is not None:
            self._runtime.refresh()

    def reset(self, state: LSTMState | FGRState | tuple[Tensor, ...] | None = None) -> None:
        """Zero the state (or load ``state``)."""
        if state is not None:
            self.state = state
            return
        self._h.zero_()
        self._c.zero_()
        if self._a is not None:
            self._a.zero_()

    # ------------------------------------------------------------------ stepping
    @overload
    def step(
        self, x: Tensor, out: Tensor | None = None, *, return_gates: Literal[False] = False
    ) -> Tensor: ...
    @overload
    def step(
        self, x: Tensor, out: Tensor | None = None, *, return_gates: Literal[True]
    ) -> tuple[Tensor, GateTrace]: ...
    def step(self, x: Tensor, out: Tensor | None = None, *, return_gates: bool = False) -> Any:
        """Advance every layer by one step: x (N, H_in) -> the last layer's h (N, H_out).

        ``out`` (N, H_out), if given, receives the result (no allocation). With
        ``return_gates``, returns ``(h, gates)``: ``gates`` a
        :class:`~lstmkit.core.layers.GateTrace` of this step, each field (N, num_layers, H)
        (``h``: H_out), as a layer's ``return_gates`` gives them for one step (copies).
        """
        y = self._advance(x, out)
        if not return_gates:
            return y
        act = self._runtime.gates() if self._runtime is not None else self._act.clone()  # (layers, N, G*H)
        h, c = self._h.transpose(0, 1).clone(), self._c.transpose(0, 1).clone()  # (N, layers, *)
        return y, step_trace(self._spec, act.transpose(0, 1), h, c)

    def _advance(self, x: Tensor, out: Tensor | None) -> Tensor:
        """:meth:`step` without the gates."""
        if not isinstance(x, Tensor):
            raise TypeError(
                f"x: expected a Tensor of shape ({self.batch_size}, {self._layer.input_size}) (N, H_in), "
                f"got {type(x).__name__}"
            )
        if self._check_finite and x.dim() == 2:  # (a wrong shape is reported below)
            check_finite("x", x, axes=("batch", "feature"))
        if self._binding() != self._bound:
            self._bind()  # some of the layer's tensors were replaced (.data =, assign=True, .to())
        if self._runtime is not None:
            return self._runtime.step(x, out)  # checks x: shape, dtype, device
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[0] != self.batch_size:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"x: expected shape ({self.batch_size}, {self._layer.input_size}) (N, H_in), got {got}"
            )
        if x.shape[1] != self._layer.input_size:
            raise ValueError(f"x: expected {self._layer.input_size} features (input_size), got {x.shape[1]}")
        if x.dtype != self._dtype or x.device != self._device:
            raise TypeError(
                f"x: expected {self._dtype} on {self._device} (the layer's), got {x.dtype} on {x.device}"
            )
        return self._step_reference(x.detach(), out)

    __call__ = step

    @torch.no_grad()
    def _step_reference(self, x: Tensor, out: Tensor | None) -> Tensor:
        zh, zc = self._layer.zoneout
        inp = x
        for k, p in enumerate(self._layer_params):
            prev = (
                FGRState(self._h[k], self._c[k], self._a[k])
                if self._a is not None
                else LSTMState(self._h[k], self._c[k])
            )
            new, self._act[k] = lstm_gate_step(lstm_input_projection(inp, p, self._spec), prev, p, self._spec)
            # zoneout's evaluation form, keep = z (lstmkit.core.layers.regularizers.zoneout)
            h = zh * prev.h + (1 - zh) * new.h if zh else new.h
            c = zc * prev.c + (1 - zc) * new.c if zc else new.c
            self._h[k].copy_(h)
            self._c[k].copy_(c)
            if self._a is not None and isinstance(new, FGRState):
                self._a[k].copy_(new.gates)
            inp = self._h[k]
        if out is not None:
            return out.copy_(inp)
        return inp.clone()

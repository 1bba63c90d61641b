"""Streaming inference with int8 products: :class:`QuantizedStream`, behind
:meth:`lstmkit.compress.QuantizedLSTM.stream`.

The fused streaming runtime (``StreamRuntime`` of ``csrc/stream.h``) of the float layers, given
the prepacked int8 weights: each step's products run in int8 as the quantized layer's forward
pass runs them, so a sequence fed step by step gives that layer's outputs on the whole sequence.
The state, ``reset`` and ``refresh`` behave as :class:`~lstmkit.core.engines.fused.stream.LSTMStream`'s.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from lstmkit.core.cells.lstm import LSTMSpec
from lstmkit.core.engines.fused.binding import kernel_config
from lstmkit.core.engines.fused.build import require_extension
from lstmkit.core.engines.fused.stream import LSTMStream, check_streamable

__all__ = ["QuantizedStream"]


class _Int8Layer(Protocol):
    """What the runtime reads of a quantized layer (lstmkit.compress.QuantizedLSTM has it)."""

    spec: LSTMSpec
    num_layers: int
    input_size: int
    hidden_size: int
    proj_size: int
    bidirectional: bool
    zoneout: tuple[float, float]
    check_finite: bool
    _buffers: dict[str, torch.Tensor | None]  # nn.Module's own registry

    def float_weights(self, layer: int, direction: int = 0) -> dict[str, torch.Tensor]: ...

    def packed(self, layer: int, direction: int = 0) -> dict[str, Any]: ...

    def _signature(self, layer: int, direction: int) -> tuple[int, ...]: ...


class QuantizedStream(LSTMStream):
    """Step-by-step int8 inference through a unidirectional quantized LSTM stack.

    Args:
        layer: a unidirectional :class:`lstmkit.compress.QuantizedLSTM`.
        batch_size: N, the number of streams advanced together.

    ``step(x)`` takes x (N, H_in) float32 and returns the last layer's output (N, H_out);
    ``state``, ``reset()`` and ``refresh()`` as in
    :class:`~lstmkit.core.engines.fused.stream.LSTMStream`.
    """

    def __init__(self, layer: _Int8Layer, batch_size: int = 1) -> None:
        check_streamable(layer, batch_size)
        self._layer: Any = layer
        self.batch_size = batch_size
        self._spec = spec = layer.spec
        self._hidden = layer.hidden_size
        self._out = layer.proj_size or layer.hidden_size
        self._sh = len(spec.sigmoid_gates) * layer.hidden_size if spec.full_gate_recurrence else 0
        self._dtype, self._device = torch.float32, torch.device("cpu")
        self._ext = require_extension()
        n, layers = batch_size, layer.num_layers
        self._h = torch.zeros(layers, n, self._out)  # (layers, N, H_out)
        self._c = torch.zeros(layers, n, self._hidden)  # (layers, N, H)
        self._a = torch.zeros(layers, n, self._sh) if self._sh else None  # (layers, N, S*H)
        self._runtime: Any = None
        self._bind()
        cfg = kernel_config(spec, zoneout=layer.zoneout)  # zoneout: the evaluation keep weights
        self._runtime = self._ext.StreamRuntime(
            cfg, self._weights, self._h, self._c, self._a, layer.input_size
        )
        self._runtime.set_int8(self._int8)

    def _binding(self) -> tuple[int, ...]:
        """Where the quantized layer's buffers live and their versions (read at every step: one
        pass over the module's own buffer registry)."""
        buffers = self._layer._buffers.values()
        return tuple(v for t in buffers if t is not None for v in (t.data_ptr(), t._version))

    def _bind(self) -> None:
        """Take the float tensors and the prepacked int8 weights of every layer."""
        layer = self._layer
        self._weights = [dict(layer.float_weights(k)) for k in range(layer.num_layers)]
        self._int8 = [layer.packed(k) for k in range(layer.num_layers)]
        self._bound = self._binding()
        if getattr(self, "_runtime", None) is not None:
            self._runtime.rebind(self._weights)
            self._runtime.set_int8(self._int8)

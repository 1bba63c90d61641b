r"""int8 dynamic quantization: weights int8 per output channel, activations float.

:func:`quantize_dynamic` replaces every :class:`lstmkit.LSTM` of a model (every variant and
option) by a :class:`QuantizedLSTM` and every ``nn.Linear`` by torch's dynamic int8 linear
(``torch.ao``, per-channel weights). A :class:`QuantizedLSTM` stores each matrix
(``weight_ih``, ``weight_hh``, FGR's ``weight_gh``, the projection ``weight_hr``) as int8 with one
float scale per row, :math:`W \approx s_r q_{r,\cdot}`, :math:`q \in [-127, 127]`,
:math:`s_r = \max_k |W_{r,k}| / 127`; biases, peepholes and layer-norm gains stay float32.

At run time the fused kernel quantizes each row of the activations (the input of all steps in
one product, :math:`h_{t-1}` per step, the FGR gates, the projection's input) to 7-bit unsigned
integers with a per-row scale and zero point, multiplies in int8 with int32 accumulation and
rescales to float; the gate math is the float kernel's. See
``lstmkit/core/engines/fused/csrc/qgemm.h`` for the scheme and its backends (AVX-512 VNNI,
AVX2, portable).

``torch.ao.quantization.quantize_dynamic(model, {lstmkit.LSTM, nn.Linear})`` converts lstmkit
LSTMs too once this module is imported (it maps ``lstmkit.LSTM`` to :class:`QuantizedLSTM`
through :meth:`QuantizedLSTM.from_float`); without that import an lstmkit layer given to torch.ao
warns that it stays float32.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import torch
from torch import Tensor, nn
from torch.ao.quantization.qconfig import float_qparams_weight_only_qconfig, per_channel_dynamic_qconfig
from torch.ao.quantization.quantization_mappings import get_default_dynamic_quant_module_mappings
from torch.nn.utils.rnn import PackedSequence

from lstmkit.compress.int8_stream import QuantizedStream
from lstmkit.core.cells.lstm import FGRState, LSTMSpec, LSTMState
from lstmkit.core.engines.fused.binding import kernel_config
from lstmkit.core.engines.fused.build import require_extension
from lstmkit.core.layers.lstm import LSTM, LSTMContract
from lstmkit.core.layers.options import LayerOptions
from lstmkit.core.regularizers import zoneout_keep
from lstmkit.core.scan import RunResult
from lstmkit.core.tree import State

__all__ = ["MATRICES", "QuantizedLSTM", "quantize_dynamic", "quantize_weight"]

#: The weights stored in int8 (one scale per row); the others stay float32.
MATRICES = ("weight_ih", "weight_hh", "weight_gh", "weight_hr")


def quantize_weight(weight: Tensor) -> tuple[Tensor, Tensor]:
    """Symmetric int8 per output channel: ``(q (R, K) int8 in [-127, 127], scale (R,) float32)``
    with ``weight ~ scale[:, None] * q`` (a row of zeros gets scale 1).

    Example::

        >>> q, s = quantize_weight(torch.tensor([[0.5, -1.0], [0.0, 0.0]]))
        >>> q.tolist(), s.tolist()
        ([[64, -127], [0, 0]], [0.007874015718698502, 1.0])
    """
    w = weight.detach().float()
    amax = w.abs().amax(dim=1)
    scale = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
    q = torch.round(w / scale[:, None]).clamp_(-127, 127).to(torch.int8)
    return q, scale


class QuantizedLSTM(LSTMContract):
    r"""An :class:`lstmkit.LSTM` with int8 weights and int8 products: inference only, CPU float32.

    Made by :meth:`from_float` (or :func:`quantize_dynamic`); the same forward API as the float
    layer (input layouts, ``state``, ``lengths``/``mask``, ``batch_first``, packed sequences,
    ``return_cell_states``, :meth:`step` and :meth:`stream`). Buffers, per layer and direction:
    each matrix of :data:`MATRICES` the cell has as int8 (``weight_ih_l0``) with its row scales
    (``weight_ih_scale_l0``), the other parameters as float32 buffers; there are no parameters.
    It computes the float layer's evaluation mode (zoneout as its expectation, no dropout);
    training (``train()`` mode or a gradient through it) is refused.

    Example::

        >>> lstm = LSTM(8, 16, num_layers=2, variant="vanilla").eval()
        >>> qlstm = QuantizedLSTM.from_float(lstm)
        >>> x = torch.randn(5, 3, 8)
        >>> (qlstm(x)[0] - lstm(x)[0]).abs().max() < 0.05
        tensor(True)
    """

    _torch_class = nn.LSTM
    _family = "lstm"

    def __init__(self, float_lstm: LSTM) -> None:
        options = {name: getattr(float_lstm, name) for name in LayerOptions.__dataclass_fields__}
        super().__init__(LayerOptions.of({**options, "dropout": 0.0, "engine": "auto"}))
        self.spec: LSTMSpec = float_lstm.spec
        self.proj_size: int = float_lstm.proj_size
        self.zoneout: tuple[float, float] = float_lstm.zoneout
        self._packed: dict[tuple[int, int], tuple[tuple[int, ...], dict[str, Any]]] = {}
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                for name, tensor in float_lstm.layer_params(layer, direction).items():
                    self._store(name, layer, direction, tensor)
        self.eval()

    def _store(self, name: str, layer: int, direction: int, tensor: Tensor) -> None:
        if name in MATRICES:
            q, scale = quantize_weight(tensor)
            self.register_buffer(self.param_name(name, layer, direction), q)
            self.register_buffer(self.param_name(f"{name}_scale", layer, direction), scale)
        else:
            self.register_buffer(self.param_name(name, layer, direction), tensor.detach().float().clone())

    @classmethod
    def from_float(cls, mod: nn.Module, use_precomputed_fake_quant: bool = False) -> QuantizedLSTM:
        """The quantized copy of an :class:`lstmkit.LSTM` (torch.ao's module-swap protocol)."""
        if not isinstance(mod, LSTM):
            raise TypeError(f"QuantizedLSTM.from_float: expected an lstmkit.LSTM, got {type(mod).__name__}")
        return cls(mod)

    def _reference_tensor(self) -> Tensor:
        return getattr(self, self.param_name("weight_ih_scale", 0, 0))

    def reset_parameters(self) -> None:
        """Nothing to reset: the weights come from a float layer (:meth:`from_float`)."""

    # ------------------------------------------------------------------ the int8 weights
    def float_weights(self, layer: int, direction: int = 0) -> dict[str, Tensor]:
        """The float32 tensors of one layer and direction (biases, peepholes, layer norm)."""
        names = [n for n in self._param_shapes(layer) if n not in MATRICES]
        return {n: getattr(self, self.param_name(n, layer, direction)) for n in names}

    def int8_weights(self, layer: int, direction: int = 0) -> dict[str, tuple[Tensor, Tensor]]:
        """``{name: (q int8, scale float32)}`` of the matrices of one layer and direction."""
        names = [n for n in self._param_shapes(layer) if n in MATRICES]
        return {
            n: (
                getattr(self, self.param_name(n, layer, direction)),
                getattr(self, self.param_name(f"{n}_scale", layer, direction)),
            )
            for n in names
        }

    def _signature(self, layer: int, direction: int) -> tuple[int, ...]:
        """Where the int8 buffers live and their versions (a load or a copy into them changes it)."""
        pairs = self.int8_weights(layer, direction).values()
        return tuple(v for q, s in pairs for v in (q.data_ptr(), q._version, s.data_ptr(), s._version))

    def packed(self, layer: int, direction: int = 0) -> dict[str, Any]:
        """The kernel's prepacked int8 weights of one layer and direction (packed once, again
        only after the buffers change)."""
        key, signature = (layer, direction), self._signature(layer, direction)
        cached = self._packed.get(key)
        if cached is None or cached[0] != signature:
            ext = require_extension()
            weights = {n: ext.pack_int8(q, s) for n, (q, s) in self.int8_weights(layer, direction).items()}
            cached = self._packed[key] = (signature, weights)
        return cached[1]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_packed"] = {}  # the packed weights are rebuilt after loading
        return state

    # ------------------------------------------------------------------ running
    def direction(
        self, layer: int, direction: int = 0, *, return_states: bool = False, return_gates: bool = False
    ) -> Any:
        return _Int8Direction(self, layer, direction, return_states, return_gates)

    def _check_inference(self, x: Tensor | PackedSequence) -> None:
        if self.training:
            raise RuntimeError(
                "QuantizedLSTM: inference only (int8 weights have no gradient); call .eval() on the model"
            )
        data = x.data if isinstance(x, PackedSequence) else x
        if isinstance(data, Tensor) and data.requires_grad and torch.is_grad_enabled():
            raise RuntimeError(
                "QuantizedLSTM: inference only, no backward: detach the input or use torch.no_grad()"
            )

    def _forward(self, x: Tensor | PackedSequence, *args: Any, **kwargs: Any) -> Any:
        """:meth:`forward` and :meth:`step` (as :class:`lstmkit.LSTM`'s), refused in training."""
        self._check_inference(x)
        return super()._forward(x, *args, **kwargs)

    def stream(self, batch_size: int = 1) -> QuantizedStream:
        """A streaming-inference runtime with int8 products (as :meth:`lstmkit.LSTM.stream`);
        a sequence fed step by step gives this layer's outputs on the whole sequence."""
        if self.training:
            raise RuntimeError("QuantizedLSTM.stream: inference only; call .eval() on the model")
        return QuantizedStream(self, batch_size)

    def extra_repr(self) -> str:
        return (
            super().extra_repr()
            + f", spec={self.spec}"
            + (f", proj_size={self.proj_size}" if self.proj_size else "")
        )


class _Int8Direction:
    """One layer and direction of a :class:`QuantizedLSTM` as a runner (the int8 kernel)."""

    def __init__(
        self, module: QuantizedLSTM, layer: int, direction: int, return_states: bool, return_gates: bool
    ) -> None:
        self.module, self.layer, self.index, self.return_states = module, layer, direction, return_states
        self.return_gates = return_gates

    def run(self, x: Tensor, state: State, *, mask: Tensor | None = None, reverse: bool = False) -> RunResult:
        m = self.module
        if x.device.type != "cpu":
            raise ValueError(f"QuantizedLSTM: the int8 kernel runs on the CPU only, got input on {x.device}")
        if x.dtype != torch.float32:
            raise TypeError(f"QuantizedLSTM: expected a float32 input, got {x.dtype}")
        spec, zh, zc = m.spec, *m.zoneout
        lead = (x.shape[0], x.shape[1])
        masks: dict[str, Tensor | None] = {"mask": mask}
        if zh or zc:  # evaluation-mode zoneout: keep = z, an expanded constant
            masks["keep_h"] = zoneout_keep((*lead, state[0].shape[-1]), zh, False, x.dtype, x.device)
            masks["keep_c"] = zoneout_keep((*lead, state[1].shape[-1]), zc, False, x.dtype, x.device)
        states, gates = self.return_states, self.return_gates
        cfg = kernel_config(spec, reverse=reverse, need_states=states, need_gates=gates)
        h0, c0 = state[0], state[1]
        a0 = state[2] if spec.full_gate_recurrence else None
        out = require_extension().forward_int8(
            cfg,
            x,
            h0,
            c0,
            a0,
            m.float_weights(self.layer, self.index),
            m.packed(self.layer, self.index),
            masks,
        )
        states = _states(spec, out, cfg.need_states)
        return RunResult(out["output"], _state(spec, out, "h_n", "c_n", "a_n"), states, out["gate_states"])


def _state(spec: LSTMSpec, out: dict[str, Any], h: str, c: str, a: str) -> State:
    if spec.full_gate_recurrence:
        return FGRState(out[h], out[c], out[a])
    return LSTMState(out[h], out[c])


def _states(spec: LSTMSpec, out: dict[str, Any], need: bool) -> State | None:
    return _state(spec, out, "h_states", "c_states", "a_states") if need else None


def _register_with_torch_ao() -> None:
    """Map lstmkit.LSTM to QuantizedLSTM in torch.ao's default dynamic quantization mappings, so
    that ``torch.ao.quantization.quantize_dynamic(model, {lstmkit.LSTM, ...})`` converts it."""
    get_default_dynamic_quant_module_mappings()[LSTM] = QuantizedLSTM


_register_with_torch_ao()


def quantize_dynamic(
    model: nn.Module, *, dtype: torch.dtype = torch.qint8, inplace: bool = False
) -> nn.Module:
    """int8 dynamic quantization of a model for CPU inference: every :class:`lstmkit.LSTM`
    becomes a :class:`QuantizedLSTM`, every ``nn.Linear`` torch's dynamic int8 linear
    (``torch.ao.nn.quantized.dynamic.Linear``, per-channel weights), every ``nn.Embedding``
    torch's 8-bit embedding (one scale and offset per row: a vocabulary table is often most of a
    text model's bytes); the rest stays as it is.

    Args:
        model: a float32 model on the CPU (an :class:`lstmkit.LSTM` itself, or containing some).
        dtype: ``torch.qint8`` (the only one).
        inplace: change ``model`` itself (a model that is itself an LSTM is returned anew).

    Returns:
        the quantized model, in evaluation mode.

    Example::

        >>> model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))
        >>> type(quantize_dynamic(model)[0]).__name__
        'Linear'
    """
    if dtype != torch.qint8:
        raise ValueError(f"quantize_dynamic: dtype must be torch.qint8, got {dtype}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"quantize_dynamic: expected an nn.Module, got {type(model).__name__}")
    for t in [*model.parameters(), *model.buffers()]:
        if t.device.type != "cpu":
            raise ValueError(f"quantize_dynamic: int8 inference runs on the CPU; the model is on {t.device}")
    if not inplace:
        model = copy.deepcopy(model)
    if isinstance(model, LSTM):
        return QuantizedLSTM.from_float(model)
    _swap_lstms(model)
    with warnings.catch_warnings():  # torch.ao's eager quantization announces its move to torchao
        warnings.filterwarnings("ignore", "torch.ao.quantization is deprecated", DeprecationWarning)
        specs = {nn.Linear: per_channel_dynamic_qconfig, nn.Embedding: float_qparams_weight_only_qconfig}
        torch.ao.quantization.quantize_dynamic(model, specs, dtype=torch.qint8, inplace=True)
    return model.eval()


def _swap_lstms(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, LSTM):
            setattr(module, name, QuantizedLSTM.from_float(child))
        else:
            _swap_lstms(child)

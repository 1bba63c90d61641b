r"""The LSTM cell family: one spec, one input projection, one recurrent step.

Every LSTM variant in lstmkit is the same few lines of gate math driven by a frozen
:class:`LSTMSpec`. With the block input (candidate) :math:`g`, the input, forget and
output gates :math:`i, f, o`, cell activation :math:`\phi_g`, output activation
:math:`\phi_h` and the logistic sigmoid :math:`\sigma`, one step reads

.. math::

    z_t &= W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}
           \quad(\text{one block } z^i, z^f, z^g, z^o \text{ per present gate})\\
    i_t &= \sigma(z^i_t + p_i \odot c_{t-1} + R_i a_{t-1}) \quad\text{or } 1 \text{ (NIG)}\\
    f_t &= \sigma(z^f_t + p_f \odot c_{t-1} + R_f a_{t-1}) \quad\text{or } 1 \text{ (NFG, 1997)}
           \quad\text{or } 1 - i_t \text{ (CIFG)}\\
    g_t &= \phi_g(z^g_t) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
    o_t &= \sigma(z^o_t + p_o \odot c_t + R_o a_{t-1}) \quad\text{or } 1 \text{ (NOG)}\\
    h_t &= W_{hr}\,\bigl(o_t \odot \phi_h(c_t)\bigr) \quad(W_{hr} \text{ only with a projection})

where :math:`p_\ast` are the diagonal peephole weights (only with ``peepholes``) and
:math:`a_{t-1}` is the vector of the previous step's sigmoid gate activations
(only with ``full_gate_recurrence``, FGR; :math:`a_{-1} = 0`).

With ``layer_norm`` (Ba et al., 2016), the two products are normalized separately and
so is the cell before the output activation:

.. math::

    z_t = \alpha_{ih} \odot \mathrm{LN}(W_{ih} x_t) + b_{ih}
        + \alpha_{hh} \odot \mathrm{LN}(W_{hh} h_{t-1}) + b_{hh},\qquad
    h_t = o_t \odot \phi_h(\alpha_c \odot \mathrm{LN}(c_t) + \beta_c)

(the paper's per-norm shifts are folded into :math:`b_{ih}, b_{hh}`, which already exist).

Gate blocks are stored in PyTorch's order i, f, g, o, leaving out the absent ones, so the
``classic`` spec has exactly :class:`torch.nn.LSTM`'s parameters and math.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils import _pytree

from lstmkit.core.cells.activations import get_activation

# the spec and its names; then the math of one step
__all__ = ["VARIANTS", "FGRState", "LSTMParams", "LSTMSpec", "LSTMState", "resolve_variant", "variant_name"]
__all__ += ["lstm_cell", "lstm_initial_state", "lstm_input_projection", "lstm_param_shapes", "lstm_step"]
__all__ += ["lstm_gate_step"]


class LSTMState(NamedTuple):
    """State of an LSTM: hidden state ``h`` (..., H_out) and cell state ``c`` (..., H)."""

    h: Tensor
    c: Tensor


class FGRState(NamedTuple):
    """State of a full-gate-recurrence LSTM: ``h``, ``c`` and the previous step's sigmoid
    gate activations ``gates`` (..., S * H), blocks in the order of ``LSTMSpec.sigmoid_gates``."""

    h: Tensor
    c: Tensor
    gates: Tensor


# torch.export.save writes the output structure of a program: name the states for it
for _state in (LSTMState, FGRState):
    _pytree._register_namedtuple(_state, serialized_type_name=f"lstmkit.{_state.__name__}")


class LSTMParams(NamedTuple):
    """The tensors of one LSTM layer and direction (``None`` where the spec has none).

    Shapes, with G gate blocks, P peephole gates, S sigmoid gates, H hidden size,
    H_out = proj_size or H, I input size:
    ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H_out), ``bias_ih``/``bias_hh`` (G*H,),
    ``weight_ch`` (P, H), ``weight_gh`` (S*H, S*H), ``weight_hr`` (H_out, H),
    ``ln_ih_weight``/``ln_hh_weight`` (G*H,), ``ln_c_weight``/``ln_c_bias`` (H,).
    """

    weight_ih: Tensor
    weight_hh: Tensor
    bias_ih: Tensor | None = None
    bias_hh: Tensor | None = None
    weight_ch: Tensor | None = None
    weight_gh: Tensor | None = None
    weight_hr: Tensor | None = None
    ln_ih_weight: Tensor | None = None
    ln_hh_weight: Tensor | None = None
    ln_c_weight: Tensor | None = None
    ln_c_bias: Tensor | None = None


@dataclass(frozen=True)
class LSTMSpec:
    """What one LSTM step computes. Frozen and hashable: a fused kernel specializes on it.

    Args:
        input_gate: use an input gate ``i`` (``False``: i = 1, Greff's NIG).
        forget_gate: use a forget gate ``f`` (``False``: f = 1, Greff's NFG and the 1997 LSTM).
        output_gate: use an output gate ``o`` (``False``: o = 1, Greff's NOG).
        coupled: couple input and forget gate, f = 1 - i (Greff's CIFG); needs both gates.
        peepholes: diagonal peephole weights, i and f see c_{t-1}, o sees c_t.
        full_gate_recurrence: previous step's sigmoid gates feed every sigmoid gate (FGR).
        cell_activation: name of the candidate squashing phi_g (``"identity"``: NIAF).
        output_activation: name of the output squashing phi_h (``"identity"``: NOAF).
        layer_norm: layer-normalize both products and the cell (Ba et al., 2016).
        layer_norm_eps: epsilon of the layer norms.
    """

    input_gate: bool = True
    forget_gate: bool = True
    output_gate: bool = True
    coupled: bool = False
    peepholes: bool = False
    full_gate_recurrence: bool = False
    cell_activation: str = "tanh"
    output_activation: str = "tanh"
    layer_norm: bool = False
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        get_activation(self.cell_activation, argument="cell_activation")
        get_activation(self.output_activation, argument="output_activation")
        if self.coupled and not (self.input_gate and self.forget_gate):
            raise ValueError(
                "coupled: f = 1 - i needs input_gate=True and forget_gate=True, got "
                f"input_gate={self.input_gate}, forget_gate={self.forget_gate}"
            )
        if self.full_gate_recurrence and not self.sigmoid_gates:
            raise ValueError("full_gate_recurrence: needs at least one gate with its own weights")
        eps = self.layer_norm_eps
        if isinstance(eps, bool) or not isinstance(eps, (int, float)):
            raise TypeError(f"layer_norm_eps: expected a finite float > 0, got {type(eps).__name__}")
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"layer_norm_eps: expected a finite float > 0, got {eps}")

    @property
    def gates(self) -> tuple[str, ...]:
        """Gate blocks that have weights, in PyTorch's order i, f, g, o."""
        out = []
        if self.input_gate:
            out.append("i")
        if self.forget_gate and not self.coupled:
            out.append("f")
        out.append("g")
        if self.output_gate:
            out.append("o")
        return tuple(out)

    @property
    def num_gates(self) -> int:
        return len(self.gates)

    @property
    def sigmoid_gates(self) -> tuple[str, ...]:
        """Gates computed by a sigmoid of their own pre-activation (i, f, o that are present)."""
        return tuple(g for g in self.gates if g != "g")

    @property
    def peephole_gates(self) -> tuple[str, ...]:
        """Gates with a peephole weight row, in the row order of ``weight_ch``."""
        return self.sigmoid_gates if self.peepholes else ()

    def with_options(self, **changes: object) -> LSTMSpec:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)  # type: ignore[arg-type]


VARIANTS: dict[str, LSTMSpec] = {
    # torch.nn.LSTM's cell.
    "classic": LSTMSpec(),
    # Greff et al. 2017, "LSTM: A Search Space Odyssey": vanilla = forget gate + peepholes.
    "vanilla": LSTMSpec(peepholes=True),
    "nig": LSTMSpec(peepholes=True, input_gate=False),
    "nfg": LSTMSpec(peepholes=True, forget_gate=False),
    "nog": LSTMSpec(peepholes=True, output_gate=False),
    "niaf": LSTMSpec(peepholes=True, cell_activation="identity"),
    "noaf": LSTMSpec(peepholes=True, output_activation="identity"),
    "np": LSTMSpec(peepholes=False),
    "cifg": LSTMSpec(peepholes=True, coupled=True),
    "fgr": LSTMSpec(peepholes=True, full_gate_recurrence=True),
    # Hochreiter & Schmidhuber 1997: no forget gate, g in [-2, 2], h in [-1, 1].
    "original1997": LSTMSpec(forget_gate=False, cell_activation="hs97_g", output_activation="hs97_h"),
}


def resolve_variant(variant: str | LSTMSpec) -> LSTMSpec:
    """Return the spec for a variant name (case-insensitive) or pass a spec through."""
    if isinstance(variant, LSTMSpec):
        return variant
    if isinstance(variant, str) and variant.lower() in VARIANTS:
        return VARIANTS[variant.lower()]
    raise ValueError(f"variant: expected an LSTMSpec or one of {sorted(VARIANTS)}, got {variant!r}")


def variant_name(spec: LSTMSpec) -> str | None:
    """The name of ``spec`` in :data:`VARIANTS` (``"vanilla"``), or ``None`` for another spec."""
    return next((name for name, known in VARIANTS.items() if known == spec), None)


def lstm_param_shapes(
    spec: LSTMSpec, input_size: int, hidden_size: int, proj_size: int = 0, bias: bool = True
) -> dict[str, tuple[int, ...]]:
    """Parameter names (fields of :class:`LSTMParams`) and shapes of one layer and direction.

    The order is PyTorch's: ``weight_ih, weight_hh, bias_ih, bias_hh, weight_hr``, then the
    extras of the variant.
    """
    gh = spec.num_gates * hidden_size
    h_out = proj_size or hidden_size
    shapes: dict[str, tuple[int, ...]] = {"weight_ih": (gh, input_size), "weight_hh": (gh, h_out)}
    if bias:
        shapes["bias_ih"] = (gh,)
        shapes["bias_hh"] = (gh,)
    if proj_size:
        shapes["weight_hr"] = (proj_size, hidden_size)
    if spec.peepholes:
        shapes["weight_ch"] = (len(spec.peephole_gates), hidden_size)
    if spec.full_gate_recurrence:
        sh = len(spec.sigmoid_gates) * hidden_size
        shapes["weight_gh"] = (sh, sh)
    if spec.layer_norm:
        shapes["ln_ih_weight"] = (gh,)
        shapes["ln_hh_weight"] = (gh,)
        shapes["ln_c_weight"] = (hidden_size,)
        shapes["ln_c_bias"] = (hidden_size,)
    return shapes


def lstm_initial_state(
    spec: LSTMSpec,
    batch_shape: tuple[int, ...],
    hidden_size: int,
    proj_size: int = 0,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> LSTMState | FGRState:
    """Zero state: ``h`` (*batch_shape, H_out), ``c`` (*batch_shape, H) [, ``gates`` (*, S*H)]."""
    h = torch.zeros(*batch_shape, proj_size or hidden_size, dtype=dtype, device=device)
    c = torch.zeros(*batch_shape, hidden_size, dtype=dtype, device=device)
    if spec.full_gate_recurrence:
        gates = torch.zeros(*batch_shape, len(spec.sigmoid_gates) * hidden_size, dtype=dtype, device=device)
        return FGRState(h, c, gates)
    return LSTMState(h, c)


def lstm_input_projection(
    x: Tensor, params: LSTMParams, spec: LSTMSpec, x_mask: Tensor | None = None
) -> Tensor:
    """The input half of the pre-activations, for one step or all steps at once.

    ``x`` (*, I) -> (*, G*H): ``W_ih (x * x_mask) + b_ih``, layer-normalized before the bias
    when ``spec.layer_norm``. ``x_mask`` is a variational dropout mask broadcast over steps.
    """
    if x_mask is not None:
        x = x * x_mask
    xw = F.linear(x, params.weight_ih)  # (*, G*H)
    if spec.layer_norm:
        xw = F.layer_norm(xw, xw.shape[-1:], params.ln_ih_weight, None, spec.layer_norm_eps)
    if params.bias_ih is not None:
        xw = xw + params.bias_ih
    return xw


def lstm_step(
    xw: Tensor,
    state: LSTMState | FGRState,
    params: LSTMParams,
    spec: LSTMSpec,
    h_mask: Tensor | None = None,
) -> LSTMState | FGRState:
    """One recurrent step from the precomputed input projection ``xw`` (N, G*H).

    ``state`` holds ``h`` (N, H_out), ``c`` (N, H) [and ``gates`` (N, S*H) for FGR];
    ``h_mask`` (N, H_out) is a variational (Gal & Ghahramani) dropout mask on h_{t-1}.
    Returns the new state; the step's output is its ``h``. See the module docstring.
    """
    return _lstm_step(xw, state, params, spec, h_mask)[0]


def lstm_gate_step(
    xw: Tensor,
    state: LSTMState | FGRState,
    params: LSTMParams,
    spec: LSTMSpec,
    h_mask: Tensor | None = None,
) -> tuple[LSTMState | FGRState, Tensor]:
    """:func:`lstm_step` and the step's gate activations (N, G*H): the blocks of
    ``spec.gates`` side by side (i, f, g, o, leaving out the absent ones; CIFG's f = 1 - i is
    not stored), as the fused kernel saves them."""
    new, act = _lstm_step(xw, state, params, spec, h_mask)
    return new, torch.cat([act[name] for name in spec.gates], dim=-1)


def _lstm_step(
    xw: Tensor,
    state: LSTMState | FGRState,
    params: LSTMParams,
    spec: LSTMSpec,
    h_mask: Tensor | None,
) -> tuple[LSTMState | FGRState, dict[str, Tensor]]:
    """The step of :func:`lstm_step`, and its gate activations by name (``i``, ``f``, ``g``,
    ``o``: those of ``spec.gates``)."""
    h_prev, c_prev = state[0], state[1]
    if h_mask is not None:
        h_prev = h_prev * h_mask
    rec = F.linear(h_prev, params.weight_hh)  # (N, G*H)
    if spec.layer_norm:
        rec = F.layer_norm(rec, rec.shape[-1:], params.ln_hh_weight, None, spec.layer_norm_eps)
    if params.bias_hh is not None:
        rec = rec + params.bias_hh
    z = dict(zip(spec.gates, (xw + rec).chunk(spec.num_gates, dim=-1)))
    if spec.full_gate_recurrence:
        assert isinstance(state, FGRState) and params.weight_gh is not None
        fgr = F.linear(state.gates, params.weight_gh)  # (N, S*H)
        for name, part in zip(spec.sigmoid_gates, fgr.chunk(len(spec.sigmoid_gates), dim=-1)):
            z[name] = z[name] + part
    peep = dict(zip(spec.peephole_gates, params.weight_ch.unbind(0))) if params.weight_ch is not None else {}

    def gate(name: str, c: Tensor) -> Tensor:
        pre = z[name] if name not in peep else z[name] + peep[name] * c
        return torch.sigmoid(pre)

    act = {}
    if spec.input_gate:
        act["i"] = gate("i", c_prev)
    if spec.forget_gate and not spec.coupled:
        act["f"] = gate("f", c_prev)
    g = get_activation(spec.cell_activation).fn(z["g"])
    c = c_prev if not spec.forget_gate else (1 - act["i"] if spec.coupled else act["f"]) * c_prev
    c = c + (act["i"] * g if spec.input_gate else g)
    if spec.output_gate:
        act["o"] = gate("o", c)
    cn = c
    if spec.layer_norm:
        cn = F.layer_norm(c, c.shape[-1:], params.ln_c_weight, params.ln_c_bias, spec.layer_norm_eps)
    h = get_activation(spec.output_activation).fn(cn)
    if spec.output_gate:
        h = act["o"] * h
    if params.weight_hr is not None:
        h = F.linear(h, params.weight_hr)
    act["g"] = g
    if spec.full_gate_recurrence:
        return FGRState(h, c, torch.cat([act[name] for name in spec.sigmoid_gates], dim=-1)), act
    return LSTMState(h, c), act


def lstm_cell(
    x: Tensor,
    state: LSTMState | FGRState,
    params: LSTMParams,
    spec: LSTMSpec,
    x_mask: Tensor | None = None,
    h_mask: Tensor | None = None,
) -> LSTMState | FGRState:
    """One full LSTM step from the raw input ``x`` (N, I): projection, then recurrence.

    Example::

        >>> spec = VARIANTS["vanilla"]
        >>> shapes = lstm_param_shapes(spec, input_size=3, hidden_size=4)
        >>> params = LSTMParams(**{k: torch.randn(s) for k, s in shapes.items()})
        >>> state = lstm_initial_state(spec, (2,), 4)
        >>> lstm_cell(torch.randn(2, 3), state, params, spec).h.shape
        torch.Size([2, 4])
    """
    return lstm_step(lstm_input_projection(x, params, spec, x_mask), state, params, spec, h_mask)

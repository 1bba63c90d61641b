r"""Pruning: zero the smallest weights (masks kept for fine-tuning), or remove whole hidden units.

* :func:`prune_magnitude` (unstructured): the ``amount`` share of the weights of the lstmkit
  recurrent layers and ``nn.Linear`` heads with the smallest :math:`|w|` becomes zero, per tensor
  or over all of them. Each pruned tensor gets a boolean mask through
  :mod:`torch.nn.utils.parametrize`: the module reads :math:`w \odot m` wherever it reads the
  tensor (``getattr``: every engine, the fused kernel included), so fine-tuning with any
  optimizer or the :class:`~lstmkit.fit.Trainer` keeps pruned weights at zero, and the masks
  travel in ``state_dict`` (``parametrizations.<name>.original`` and ``.0.mask``; a pruned
  module pickles only through its state dict). :func:`remove_pruning` makes them permanent.
* :func:`prune_units` (structured): every :class:`~lstmkit.core.layers.LSTM` loses the ``amount``
  share of its hidden units and is rebuilt smaller (same class and options) together with what
  reads its output; the result equals the original with the removed units zeroed.

Example::

    >>> prune_magnitude(model, 0.5).share   # masks; fine-tune as usual, then
    0.5
    >>> remove_pruning(model)               # plain parameters, zeros kept
    >>> model = prune_units(model, 0.5)     # half the hidden units, layers rebuilt
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from lstmkit.core.cells.lstm import LSTMParams
from lstmkit.core.layers.lstm import LSTM
from lstmkit.core.layers.stacked import StackedRecurrent

__all__ = ["PruneReport", "prune_magnitude", "prune_units", "remove_pruning"]

SCOPES = ("layer", "global")
CRITERIA = ("l1", "l2")


class WeightMask(nn.Module):
    """The parametrization of a pruned tensor: ``weight * mask`` with a boolean ``mask`` buffer
    of the tensor's shape (``True``: kept)."""

    mask: Tensor

    def __init__(self, mask: Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask.to(torch.bool))

    def forward(self, weight: Tensor) -> Tensor:
        return weight * self.mask


@dataclass(frozen=True)
class PruneReport:
    """What :func:`prune_magnitude` left: per pruned tensor (``"lstm.weight_ih_l0"``,
    ``"head.weight"``) the share of zeros, and the totals over those tensors."""

    sparsity: dict[str, float] = field(default_factory=dict)
    total: int = 0
    zeros: int = 0

    @property
    def share(self) -> float:
        """Zeros over weights, over every pruned tensor."""
        return self.zeros / self.total if self.total else 0.0

    def __str__(self) -> str:
        width = max((len(name) for name in self.sparsity), default=6)
        rows = [f"{name:<{width}}  {share:6.1%}" for name, share in self.sparsity.items()]
        rows.append(f"{'total':<{width}}  {self.share:6.1%}  ({self.zeros} of {self.total} weights)")
        return "\n".join(rows)


def _check_amount(amount: object) -> float:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        raise TypeError(f"amount: expected a float in [0, 1), got {type(amount).__name__}")
    if not (math.isfinite(amount) and 0 <= amount < 1):
        raise ValueError(f"amount: expected a share in [0, 1), got {amount}")
    return float(amount)


def _prunable(model: nn.Module, names: Sequence[str], linear: bool) -> list[tuple[str, nn.Module, str]]:
    """``(qualified name, module, parameter name)`` of every tensor to prune: the recurrent
    layers' parameters whose name without ``_l{k}[_reverse]`` is in ``names``, and the
    weights of the ``nn.Linear`` modules (with ``linear``)."""
    found: list[tuple[str, nn.Module, str]] = []
    held = [id(p) for _, p in model.named_parameters(remove_duplicate=False)]
    for prefix, module in model.named_modules():
        dot = f"{prefix}." if prefix else ""
        if isinstance(module, StackedRecurrent):
            for layer in range(module.num_layers):
                for direction in range(module.num_directions):
                    for name in module.layer_params(layer, direction):
                        if name in names:
                            full = module.param_name(name, layer, direction)
                            found.append((dot + full, module, full))
        elif linear and isinstance(module, nn.Linear) and held.count(id(module.weight)) == 1:
            found.append((dot + "weight", module, "weight"))  # a tied weight (decoder = embedding) stays
    return found


def _masks(weights: list[Tensor], amount: float, scope: str) -> list[Tensor]:
    """The keep-masks that zero the ``amount`` share of smallest magnitudes, per tensor or over
    all of them (ties broken by position; zeros already there go first)."""
    groups = [[w] for w in weights] if scope == "layer" else [weights]
    masks: list[Tensor] = []
    for group in groups:
        flat = torch.cat([w.detach().abs().reshape(-1).double() for w in group])  # (sum numel,)
        keep = torch.ones_like(flat, dtype=torch.bool)
        drop = round(amount * flat.numel())
        keep[torch.argsort(flat, stable=True)[:drop]] = False
        masks.extend(part.view_as(w) for part, w in zip(keep.split([w.numel() for w in group]), group))
    return masks


def _mask_of(module: nn.Module, name: str) -> WeightMask | None:
    """The :class:`WeightMask` of ``module``'s parameter ``name``, if it has one."""
    if not parametrize.is_parametrized(module, name):
        return None
    found = [p for p in module.parametrizations[name] if isinstance(p, WeightMask)]  # type: ignore[union-attr]
    return found[0] if found else None


def _own_class(module: nn.Module) -> None:
    """Give a parametrized ``module`` a class of its own before its parametrizations change:
    ``torch.nn.utils.parametrize`` keeps them as properties of a class made for the module,
    which ``copy.deepcopy`` shares with the copy, so adding or removing one would change the
    copy (or the original) too."""
    if parametrize.is_parametrized(module):
        cls = type(module)
        namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
        module.__class__ = cast(type[nn.Module], type(cls.__name__, cls.__bases__, namespace))


def prune_magnitude(
    model: nn.Module,
    amount: float,
    *,
    names: Sequence[str] = ("weight_ih", "weight_hh", "weight_hr"),
    scope: str = "layer",
    linear: bool = True,
) -> PruneReport:
    """Zero the ``amount`` share of the smallest weights (by magnitude) of ``model``, with masks.

    Prunes the parameters named in ``names`` of every lstmkit recurrent layer (``LSTM``, ``GRU``,
    ``RNN``; all layers and directions) and, with ``linear``, every ``nn.Linear`` weight not tied
    to another module. Masks only grow: pruning again counts the zeros already there.

    Args:
        model: any module holding lstmkit recurrent layers or ``nn.Linear`` modules.
        amount: the share of weights to zero, in [0, 1).
        names: parameter names without the ``_l{k}[_reverse]`` suffix (also ``"weight_ch"``,
            ``"weight_gh"``, ``"bias_ih"``, ... where the variant has them).
        scope: ``"layer"``: ``amount`` of each tensor; ``"global"``: the smallest ``amount`` of all
            the pruned tensors together.
        linear: prune ``nn.Linear`` weights too.

    Returns:
        a :class:`PruneReport`: the share of zeros of every pruned tensor and the totals.
    """
    amount = _check_amount(amount)
    if scope not in SCOPES:
        raise ValueError(f"scope: expected one of {SCOPES}, got {scope!r}")
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"names: expected a sequence of parameter names, got {names!r}")
    unknown = [name for name in names if name not in LSTMParams._fields]
    if unknown:
        raise ValueError(f"names: {unknown} are no recurrent parameters (known: {list(LSTMParams._fields)})")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    targets = _prunable(model, tuple(names), linear)
    if not targets:
        raise ValueError(
            f"model: no tensor to prune (no lstmkit recurrent layer with parameters {tuple(names)}"
            f"{' and no nn.Linear' if linear else ''}) in {type(model).__name__}"
        )
    weights = [getattr(module, name) for _, module, name in targets]
    for (_, module, name), weight, mask in zip(targets, weights, _masks(weights, amount, scope)):
        current = _mask_of(module, name)
        if current is not None:
            with torch.no_grad():
                current.mask.logical_and_(mask.to(weight.device))
        else:
            _own_class(module)
            parametrize.register_parametrization(module, name, WeightMask(mask.to(weight.device)))
    return _report(targets)


def _report(targets: list[tuple[str, nn.Module, str]]) -> PruneReport:
    sparsity: dict[str, float] = {}
    total = zeros = 0
    with torch.no_grad():
        for qualified, module, name in targets:
            weight = getattr(module, name)
            count = int((weight == 0).sum())
            sparsity[qualified] = count / weight.numel()
            total += weight.numel()
            zeros += count
    return PruneReport(sparsity, total, zeros)


def remove_pruning(model: nn.Module) -> nn.Module:
    """Make the masks of :func:`prune_magnitude` permanent: each pruned tensor is a plain parameter
    again (the same ``nn.Parameter``, holding the masked values). Returns ``model``."""
    for module in list(model.modules()):
        if not parametrize.is_parametrized(module):
            continue
        for name in list(module.parametrizations.keys()):  # type: ignore[union-attr]
            chain = list(module.parametrizations[name])  # type: ignore[index]
            if not any(isinstance(p, WeightMask) for p in chain):
                continue
            if not all(isinstance(p, WeightMask) for p in chain):
                raise ValueError(f"model: {name} has a pruning mask and other parametrizations")
            _own_class(module)
            parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    return model


# ---------------------------------------------------------------------- structured pruning
#: a ``consumers=`` value: the ``nn.Linear`` reading an LSTM's output, by name, or ``(name,
#: offset)`` (the D * H features start at its input column ``offset``), or ``None`` (none)
Consumer = str | tuple[str, int] | None


@dataclass(frozen=True)
class _Reader:
    """The ``nn.Linear`` that reads an LSTM's output, at input columns ``offset`` on."""

    name: str
    linear: nn.Linear
    offset: int


def _blocks(units: Tensor, hidden: int, count: int) -> Tensor:
    """The rows of ``units`` in each of ``count`` blocks of ``hidden`` rows (gate blocks)."""
    return torch.cat([block * hidden + units for block in range(count)])


def _unit_sums(weight: Tensor, hidden: int, dim: int, power: float) -> Tensor:
    """(H,): per unit, the sum of ``|w|^power`` over its entries along ``dim`` of ``weight``,
    whose size there is a multiple of ``hidden`` (gate blocks, or both directions' halves)."""
    w = weight.detach().abs().pow(power).movedim(dim, 0)  # (B*H, ...)
    return w.reshape(-1, hidden, *w.shape[1:]).sum(0).reshape(hidden, -1).sum(1)


def _scores(lstm: LSTM, layer: int, direction: int, reader: _Reader | None, criterion: str) -> Tensor:
    """(H,) the importance of each unit of one layer and direction: the norm of its rows in
    ``weight_ih``/``weight_hh`` (all gate blocks) and of its columns where its output is read
    (``weight_hh``, or ``weight_hr`` with a projection; the next layer's ``weight_ih``, or the
    reader of the last layer's output)."""
    hidden, params = lstm.hidden_size, lstm.layer_params(layer, direction)
    power = 2.0 if criterion == "l2" else 1.0
    parts = [(params["weight_ih"], 0), (params["weight_hh"], 0)]  # (weight, the unit's dim)
    own = slice(direction * hidden, (direction + 1) * hidden)  # this direction's part of the output
    if lstm.proj_size:
        parts.append((params["weight_hr"], 1))
    else:
        parts.append((params["weight_hh"], 1))
        if layer + 1 < lstm.num_layers:
            parts += [
                (lstm.layer_params(layer + 1, d)["weight_ih"][:, own], 1)
                for d in range(2 if lstm.bidirectional else 1)
            ]
        elif reader is not None:
            parts.append((reader.linear.weight[:, reader.offset + own.start : reader.offset + own.stop], 1))
    return torch.stack([_unit_sums(w, hidden, dim, power) for w, dim in parts]).sum(0).pow(1 / power)


def _index_plan(
    lstm: LSTM, keep: list[list[Tensor]], layer: int, direction: int
) -> dict[str, tuple[Tensor | None, ...]]:
    """For each parameter of one layer and direction, the indices kept along each dimension
    (``None``: all), derived from the spec: G gate blocks, S sigmoid gates, H units."""
    spec, hidden, units = lstm.spec, lstm.hidden_size, keep[layer][direction]
    gates = _blocks(units, hidden, spec.num_gates)  # (G*k,)
    sigmoid = _blocks(units, hidden, len(spec.sigmoid_gates))  # (S*k,)
    h_out = None if lstm.proj_size else units  # h is proj_size wide: untouched
    inputs = None
    if layer > 0 and not lstm.proj_size:  # the previous layer's kept units, direction by direction
        inputs = torch.cat([d * hidden + keep[layer - 1][d] for d in range(lstm.num_directions)])
    return {
        "weight_ih": (gates, inputs),
        "weight_hh": (gates, h_out),
        "bias_ih": (gates,),
        "bias_hh": (gates,),
        "weight_ch": (None, units),  # (P, H): one peephole row per gate
        "weight_gh": (sigmoid, sigmoid),  # (S*H, S*H): gate activations to gates
        "weight_hr": (None, units),  # (H_out, H)
    }


def _take(tensor: Tensor, plan: tuple[Tensor | None, ...]) -> Tensor:
    for dim, index in enumerate(plan):
        if index is not None:
            tensor = tensor.index_select(dim, index.to(tensor.device))
    return tensor


#: the constructor keywords of an LSTM kept as attributes of the same name (``variant``: its spec)
_LSTM_OPTIONS = ("proj_size", "bias", "forget_bias", "recurrent_init", "batch_first", "bidirectional")
_LSTM_OPTIONS += ("dropout", "input_dropout", "recurrent_dropout", "zoneout", "weight_drop")
_LSTM_OPTIONS += ("check_finite", "engine")


def _rebuilt(lstm: LSTM, keep: list[list[Tensor]]) -> LSTM:
    """A new layer of ``lstm``'s class and options with ``len(keep[0][0])`` units, holding the
    kept slices of ``lstm``'s parameters."""
    ref = next(lstm.parameters())
    options: dict[str, Any] = {name: getattr(lstm, name) for name in _LSTM_OPTIONS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dropout with one layer: warned at the first build
        size = (lstm.input_size, len(keep[0][0]), lstm.num_layers)
        new = type(lstm)(*size, variant=lstm.spec, device=ref.device, dtype=ref.dtype, **options)
    with torch.no_grad():
        for layer in range(lstm.num_layers):
            for direction in range(lstm.num_directions):
                plan = _index_plan(lstm, keep, layer, direction)
                for name, value in lstm.layer_params(layer, direction).items():
                    if name not in plan:
                        raise ValueError(f"prune_units: cannot slice the LSTM parameter {name!r} by unit")
                    new.layer_params(layer, direction)[name].copy_(_take(value, plan[name]))
    return new.train(lstm.training)


def _rebuilt_reader(reader: _Reader, keep: list[Tensor], hidden: int) -> nn.Linear:
    """``reader.linear`` without the input columns of the removed units (of each direction)."""
    lin, start = reader.linear, reader.offset
    kept = [start + d * hidden + units for d, units in enumerate(keep)]
    after = torch.arange(start + len(keep) * hidden, lin.in_features)
    columns = torch.cat([torch.arange(start), *kept, after])
    factory = {"device": lin.weight.device, "dtype": lin.weight.dtype}
    new = nn.Linear(columns.numel(), lin.out_features, bias=lin.bias is not None, **factory)
    with torch.no_grad():
        new.weight.copy_(lin.weight.index_select(1, columns.to(lin.weight.device)))
        if lin.bias is not None and new.bias is not None:
            new.bias.copy_(lin.bias)
    return new.train(lin.training)


def _reader(model: nn.Module, name: str, lstm: LSTM, consumers: Mapping[str, Consumer]) -> _Reader | None:
    """The linear layer that reads ``lstm``'s output (``None``: none to adjust): the one
    ``consumers`` names, else the only ``nn.Linear`` with ``in_features == D * H``."""
    if lstm.proj_size or lstm is model:  # a projected h keeps its width; a bare LSTM has no reader
        return None
    width = lstm.num_directions * lstm.hidden_size
    if name in consumers:
        given = consumers[name]
        if given is None:
            return None
        target, offset = (given, 0) if isinstance(given, str) else given
        try:
            linear = model.get_submodule(target)
        except AttributeError:
            raise ValueError(f"consumers[{name!r}]: the model has no module {target!r}") from None
        if not isinstance(linear, nn.Linear) or not 0 <= offset <= linear.in_features - width:
            raise ValueError(
                f"consumers[{name!r}]: expected an nn.Linear with the LSTM's {width} features at columns "
                f"{offset}..{offset + width - 1}, got {type(linear).__name__} {target!r}"
            )
        return _Reader(target, linear, offset)
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and m.in_features == width]
    if len(found) != 1:
        names = [n for n, _ in found]
        raise ValueError(
            f"consumers: cannot tell which nn.Linear reads the output of LSTM {name!r} "
            f"({len(found)} with in_features == {width}: {names}); pass consumers={{{name!r}: 'head'}} "
            f"(a Linear's name), {{{name!r}: ('head', offset)}} (its features start at column offset) "
            f"or {{{name!r}: None}} (no linear reader to adjust)"
        )
    return _Reader(found[0][0], found[0][1], 0)


def _kept(hidden: int, amount: float) -> int:
    """How many of ``hidden`` units stay when the share ``amount`` goes (at least one)."""
    return max(1, hidden - round(amount * hidden))


def _check_units_model(model: nn.Module, amount: float, lstms: list[tuple[str, LSTM]]) -> None:
    """``ValueError`` unless every LSTM of ``model`` can lose the share ``amount`` of its units."""
    if not lstms:
        raise ValueError(f"model: no lstmkit.LSTM in {type(model).__name__} to prune units of")
    if any(parametrize.is_parametrized(m) for m in model.modules()):
        raise ValueError("model: it holds magnitude-pruning masks; call remove_pruning(model) first")
    for name, lstm in lstms:
        if lstm.spec.layer_norm:  # its statistics over all G*H pre-activations change with H
            raise ValueError(
                f"model: LSTM {name!r} uses layer_norm, whose statistics change when units go (no "
                "smaller layer equals the masked one); prune its weights with prune_magnitude"
            )
        kept = _kept(lstm.hidden_size, amount)
        if lstm.proj_size >= kept:
            raise ValueError(
                f"amount: LSTM {name!r} would keep {kept} of {lstm.hidden_size} units, not more than "
                f"its proj_size {lstm.proj_size}; prune less"
            )


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, attribute = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attribute, module)


def prune_units(
    model: nn.Module,
    amount: float,
    *,
    criterion: str = "l2",
    consumers: Mapping[str, Consumer] | None = None,
) -> nn.Module:
    r"""Remove the ``amount`` share of the hidden units of every :class:`~lstmkit.core.layers.LSTM`
    in ``model``, rebuilding each as a smaller layer of the same class and options.

    Each layer and direction keeps the units of largest score: the ``criterion`` norm of the
    unit's rows in ``weight_ih``/``weight_hh`` (all gate blocks) and of its columns where its
    output is read (``weight_hh`` or the projection ``weight_hr``; the next layer's
    ``weight_ih`` or the reader). The new layer holds the kept slices of every parameter; without
    a projection the next layer's ``weight_ih`` (both directions' halves) and the reader lose
    the removed units' columns (a projected h keeps its width). The result equals ``model`` with
    the removed units' rows and columns zeroed; its parameters are new tensors (build the
    optimizer for fine-tuning afterwards). Refused: ``layer_norm`` (its statistics over all G*H
    pre-activations change with H: no smaller layer equals the masked one) and magnitude masks
    (call :func:`remove_pruning` first). An LSTM whose state starts another (encoder-decoder)
    must not be pruned: the widths would differ. ``GRU``/``RNN`` layers stay as they are.

    Args:
        model: a module holding LSTMs, or an LSTM (then the new LSTM is returned).
        amount: the share of units to remove, in [0, 1); each layer keeps
            ``max(1, H - round(amount * H))`` units (more than ``proj_size``).
        criterion: ``"l2"`` or ``"l1"``.
        consumers: the ``nn.Linear`` reading an unprojected LSTM's output, by the LSTM's name in
            ``model.named_modules()``: ``{"lstm": "head"}``; ``{"encoder": ("head.0", 2)}`` when
            its D * H features start at input column 2; ``{"lstm": None}``: no linear reader.
            Without an entry the only ``nn.Linear`` with ``in_features == D * H`` is taken (a
            ``ValueError`` says what to pass when there is none or several).

    Returns:
        ``model``, changed in place (its LSTMs and readers replaced), or the new LSTM.
    """
    amount = _check_amount(amount)
    if criterion not in CRITERIA:
        raise ValueError(f"criterion: expected one of {CRITERIA}, got {criterion!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    lstms = [(name, m) for name, m in model.named_modules() if isinstance(m, LSTM)]
    _check_units_model(model, amount, lstms)
    readers = _readers(model, lstms, dict(consumers or {}))
    for name, lstm in lstms:
        kept, reader = _kept(lstm.hidden_size, amount), readers[name]
        keep = [
            [
                torch.topk(_scores(lstm, layer, d, reader, criterion), kept).indices.sort().values
                for d in range(lstm.num_directions)
            ]
            for layer in range(lstm.num_layers)
        ]
        new = _rebuilt(lstm, keep)
        if lstm is model:
            return new
        _set_module(model, name, new)
        if reader is not None:
            _set_module(model, reader.name, _rebuilt_reader(reader, keep[-1], lstm.hidden_size))
    return model


def _readers(
    model: nn.Module, lstms: list[tuple[str, LSTM]], consumers: dict[str, Consumer]
) -> dict[str, _Reader | None]:
    """The reader of each LSTM (by name), checked: named LSTMs exist, no reader is shared by
    two LSTMs or tied to another module."""
    unknown = sorted(set(consumers) - {name for name, _ in lstms})
    if unknown:
        raise ValueError(f"consumers: no LSTM named {unknown} in the model (LSTMs: {[n for n, _ in lstms]})")
    readers = {name: _reader(model, name, lstm, consumers) for name, lstm in lstms}
    claimed = [r.name for r in readers.values() if r is not None]
    if len(set(claimed)) < len(claimed):
        raise ValueError(f"consumers: several LSTMs would share one reader {claimed}; pass consumers=...")
    held = [p for _, p in model.named_parameters(remove_duplicate=False)]
    for reader in filter(None, readers.values()):
        if sum(p is reader.linear.weight for p in held) > 1:
            raise ValueError(
                f"consumers: the weight of {reader.name!r} is tied to another module's; untie it"
            )
    return readers

r"""Saturation statistics and heatmaps of an LSTM's gates (from ``return_gates=True``).

A gate is *left saturated* at a step when its activation is below ``low`` (it blocks) and
*right saturated* above ``high`` (it lets everything through). :func:`saturation` counts, per
gate (i, f, o), per layer and direction and per unit, the share of the real steps at which the
gate is saturated on either side; :func:`plot_saturation` draws the scatter of Karpathy et al.
2015 (Fig. 3: x = share left saturated, y = share right saturated, one point per unit, one
panel per gate, a colour per layer). A unit near (0, 1) on the forget panel remembers through
most steps; near (1, 0) it resets at most steps; near the origin it is a "leaky" unit.

:func:`plot_gate_heatmaps` shows one sequence: the gates, the cell and the hidden state of one
layer over time (x = step, y = unit), units sorted by their mean forget gate (the longest memory
on top). :func:`gates_html` writes both figures and returns an HTML fragment with a summary
table, for a run report.

A gate the variant has not (NIG's i, NFG's f, NOG's o: 1 at every step) and CIFG's forget gate
(f = 1 - i, the input gate's shares mirrored) have no statistics of their own: they are skipped,
and :attr:`SaturationTable.skipped` says why.

Shapes: the fields of a :class:`~lstmkit.core.layers.GateTrace` are (L, N, K, H) (time-major)
or (N, L, K, H) (``batch_first``), or (S, K, H) for an unbatched or packed sequence; K =
num_layers * num_directions (``k = layer * num_directions + direction``), H = hidden_size.

Example::

    >>> lstm = lstmkit.LSTM(3, 16, num_layers=2)
    >>> out, state, trace = lstm(torch.randn(50, 4, 3), return_gates=True)
    >>> table = saturation(trace)
    >>> table.right["f"].shape           # (K, H)
    (2, 16)
    >>> plot_saturation(table, "saturation.png")
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lstmkit.core.layers import GateTrace
from lstmkit.io.html import metrics_table_html
from lstmkit.io.plots import pyplot, save_figure

__all__ = [
    "SATURATING_GATES",
    "SaturationTable",
    "gates_html",
    "plot_gate_heatmaps",
    "plot_saturation",
    "real_steps",
    "saturation",
    "slice_label",
]

#: the gates whose saturation is counted (the sigmoid gates)
SATURATING_GATES = ("i", "f", "o")

#: the columns of :meth:`SaturationTable.rows`
SUMMARY_COLUMNS = ["gate", "layer", "mean left", "mean right", "units mostly left", "units mostly right"]


@dataclass(frozen=True)
class SaturationTable:
    """Per gate, layer/direction and unit, the share of real steps a gate is saturated.

    Attributes:
        left: gate name -> (K, H) share of real steps with activation < ``low``.
        right: gate name -> (K, H) share of real steps with activation > ``high``.
        skipped: gate name -> why it has no statistics (a constant or coupled gate).
        steps: the number of real steps counted (over every sequence).
        low, high: the thresholds.
        directions: num_directions of the layer (names the rows of K).
    """

    left: dict[str, np.ndarray]
    right: dict[str, np.ndarray]
    skipped: dict[str, str]
    steps: int
    low: float
    high: float
    directions: int = 1

    @property
    def gates(self) -> list[str]:
        """The gates with statistics, in the order i, f, o."""
        return [g for g in SATURATING_GATES if g in self.left]

    @property
    def num_slices(self) -> int:
        """K, the number of layers times directions."""
        return next(iter(self.left.values())).shape[0] if self.left else 0

    def label(self, k: int) -> str:
        """The name of row ``k`` of K (:func:`slice_label`)."""
        return slice_label(k, self.directions)

    def rows(self) -> list[dict[str, Any]]:
        """One row per gate and layer/direction (:data:`SUMMARY_COLUMNS`): the mean shares over
        units and the units saturated on one side at more than half of the steps."""
        out = []
        for gate in self.gates:
            for k in range(self.num_slices):
                left, right = self.left[gate][k], self.right[gate][k]
                out.append(
                    {
                        "gate": gate,
                        "layer": self.label(k),
                        "mean left": float(left.mean()),
                        "mean right": float(right.mean()),
                        "units mostly left": f"{int((left > 0.5).sum())} / {left.size}",
                        "units mostly right": f"{int((right > 0.5).sum())} / {right.size}",
                    }
                )
        return out


def slice_label(k: int, directions: int) -> str:
    """The name of slice ``k`` of K: ``"layer 1"``, or ``"layer 1 backward"`` with two directions."""
    layer, direction = divmod(k, directions)
    if directions == 1:
        return f"layer {layer + 1}"
    return f"layer {layer + 1} {'backward' if direction else 'forward'}"


# ---------------------------------------------------------------------- statistics
def _check_trace(trace: Any) -> GateTrace:
    if not isinstance(trace, GateTrace):
        raise TypeError(
            f"trace: expected a GateTrace (lstm(..., return_gates=True)), got {type(trace).__name__}"
        )
    if trace.i.dim() not in (3, 4):
        raise ValueError(f"trace: expected fields (L, N, K, H) or (S, K, H), got {tuple(trace.i.shape)}")
    return trace


def real_steps(trace: GateTrace, mask: Tensor | None = None) -> Tensor:
    """The real steps of ``trace``: a bool tensor of its fields' leading shape ((L, N), (N, L)
    or (S,)).

    With ``mask`` given, it is checked and returned as bool. Without, a step is real when any of
    its i, f, o activations is non-zero: padded steps are zero in every field, and a sigmoid gate
    (or the constant 1 of an absent gate) is exactly zero in every unit of every layer only there.
    """
    trace = _check_trace(trace)
    lead = tuple(trace.i.shape[:-2])
    if mask is None:
        act = trace.i.abs() + trace.f.abs() + trace.o.abs()
        return act.flatten(-2).sum(-1) > 0
    if tuple(mask.shape) != lead:
        raise ValueError(f"mask: expected the trace's leading shape {lead}, got {tuple(mask.shape)}")
    return mask.to(device=trace.i.device, dtype=torch.bool)


def _skip_reason(name: str, values: Tensor, i_values: Tensor) -> str | None:
    """Why gate ``name`` has no statistics of its own (``values`` (S, K, H) at real steps)."""
    if bool((values == values.flatten()[0]).all()):
        return f"constant {float(values.flatten()[0]):g} at every step (a gate the variant has not)"
    if name == "f" and bool(torch.equal(values, 1 - i_values)):
        return "f = 1 - i (coupled input and forget gates): the input gate's shares mirrored"
    return None


def saturation(
    trace: GateTrace, mask: Tensor | None = None, *, low: float = 0.1, high: float = 0.9, directions: int = 1
) -> SaturationTable:
    """The share of real steps each unit's i, f and o gates are saturated (Karpathy et al. 2015).

    Args:
        trace: from ``lstm(x, ..., return_gates=True)``.
        mask: bool, the trace's leading shape ((L, N), (N, L) with ``batch_first``, or (S,)),
            true at real steps; ``None``: the steps that are not zero (see :func:`real_steps`).
        low, high: an activation below ``low`` is left saturated, above ``high`` right saturated.
        directions: the layer's num_directions (only names the rows of K).

    Returns:
        a :class:`SaturationTable`: ``left[g]`` and ``right[g]`` are (K, H); constant gates and
        CIFG's f are in ``skipped``.
    """
    trace = _check_trace(trace)
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"low, high: expected 0 <= low < high <= 1, got low={low}, high={high}")
    K = trace.i.shape[-2]
    if directions not in (1, 2) or K % directions:
        raise ValueError(f"directions: expected 1 or 2 dividing K={K}, got {directions}")
    real = real_steps(trace, mask)
    steps = int(real.sum())
    if steps == 0:
        raise ValueError("trace: no real step to count (every step is padding)")
    i_values = trace.i[real]  # (S, K, H)
    left: dict[str, np.ndarray] = {}
    right: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    for name in SATURATING_GATES:
        values = getattr(trace, name)[real].detach()  # (S, K, H)
        reason = _skip_reason(name, values, i_values)
        if reason is not None:
            skipped[name] = reason
            continue
        left[name] = (values < low).double().mean(0).cpu().numpy()
        right[name] = (values > high).double().mean(0).cpu().numpy()
    return SaturationTable(left, right, skipped, steps, low, high, directions)


# ---------------------------------------------------------------------- the scatter
def plot_saturation(table: SaturationTable, path: str | os.PathLike[str], *, title: str = "") -> None:
    """Karpathy et al. 2015 Fig. 3: per gate a panel, per unit a point (x = share of steps left
    saturated, y = right saturated), a colour per layer and direction; PNG at ``path``."""
    plt = pyplot()
    gates = table.gates or ["none"]
    fig, axes = plt.subplots(1, len(gates), figsize=(4.2 * len(gates), 4.2), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, gate in zip(axes[0], gates):
        ax.plot([0, 1], [1, 0], color="grey", lw=0.8, ls=":")  # the most one unit can reach
        if gate in table.left:
            for k in range(table.num_slices):
                ax.scatter(
                    table.left[gate][k],
                    table.right[gate][k],
                    s=14,
                    alpha=0.7,
                    color=colours(k % 10),
                    label=table.label(k),
                )
            ax.legend(fontsize=7, loc="upper right")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"share of steps left saturated (< {table.low:g})")
        ax.set_ylabel(f"share right saturated (> {table.high:g})")
        ax.set_title(f"{gate} gate" if gate != "none" else "no gate to show")
        ax.grid(alpha=0.3)
    skipped = "; ".join(f"{g}: {why}" for g, why in table.skipped.items())
    default = f"gate saturation over {table.steps} steps" + (f" (skipped {skipped})" if skipped else "")
    fig.suptitle(title or default, fontsize=9)
    save_figure(fig, path)


# ---------------------------------------------------------------------- heatmaps of one sequence
#: the fields :func:`plot_gate_heatmaps` draws, with their names in the titles
HEATMAP_FIELDS = {
    "i": "input gate i",
    "f": "forget gate f",
    "g": "candidate g",
    "o": "output gate o",
    "c": "cell state c",
    "h": "hidden state h",
}


def _slice_index(K: int, layer: int, direction: int, directions: int) -> int:
    """k = layer * directions + direction, with ``layer`` counted from the end when negative."""
    if directions not in (1, 2) or K % directions:
        raise ValueError(f"directions: expected 1 or 2 dividing K={K}, got {directions}")
    layers = K // directions
    if not -layers <= layer < layers:
        raise ValueError(f"layer: expected an index in [-{layers}, {layers}), got {layer}")
    if not 0 <= direction < directions:
        raise ValueError(f"direction: expected an index in [0, {directions}), got {direction}")
    return (layer % layers) * directions + direction


def _one_sequence(
    trace: GateTrace, real: Tensor, example: int, k: int, batch_first: bool
) -> dict[str, np.ndarray]:
    """The fields of sequence ``example``, slice ``k``, at its real steps: name -> (S, H)."""
    if trace.i.dim() == 3:  # one sequence (unbatched or packed data)
        keep, pick = real, (slice(None), k)
    else:
        n = trace.i.shape[0 if batch_first else 1]
        if not 0 <= example < n:
            raise ValueError(f"example: expected an index in [0, {n}), got {example}")
        keep = real[example] if batch_first else real[:, example]
        pick = (example, slice(None), k) if batch_first else (slice(None), example, k)
    if not bool(keep.any()):
        raise ValueError(f"example: sequence {example} has no real step")
    return {name: getattr(trace, name)[pick][keep].detach().double().cpu().numpy() for name in HEATMAP_FIELDS}


def unit_order(fields: dict[str, np.ndarray]) -> tuple[np.ndarray, str]:
    """The units sorted by their mean forget gate, largest first (the input or output gate when
    f is constant), and what they are sorted by. ``fields``: name -> (S, H)."""
    for name in ("f", "i", "o"):
        values = fields[name]
        if values.size and np.ptp(values) > 0:
            return np.argsort(-values.mean(0), kind="stable"), f"mean {name}"
    return np.arange(fields["i"].shape[1]), "index"


def _shown_units(order: np.ndarray, max_units: int) -> np.ndarray:
    """At most ``max_units`` of ``order``, evenly spread over it (both ends kept)."""
    if max_units < 1:
        raise ValueError(f"max_units: expected an int >= 1, got {max_units}")
    if len(order) <= max_units:
        return order
    return order[np.unique(np.linspace(0, len(order) - 1, max_units).round().astype(int))]


def _colour_scale(name: str, values: np.ndarray) -> tuple[str, float, float]:
    """(colour map, vmin, vmax): gates on [0, 1]; g, c and h on [-m, m], m their largest magnitude."""
    if name in SATURATING_GATES:
        return "viridis", 0.0, 1.0
    lim = max(float(np.abs(values).max()) if values.size else 0.0, 1e-6)
    return "RdBu_r", -lim, lim


def _draw_field(ax: Any, fig: Any, name: str, values: np.ndarray, units: np.ndarray, title: str) -> None:
    """One heatmap: x = step, y = unit (in ``units`` order), with its colour bar."""
    cmap, vmin, vmax = _colour_scale(name, values)
    shown = values[:, units].T  # (units, S)
    im = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap=cmap, vmin=vmin, vmax=vmax)
    fig.colorbar(im, ax=ax, fraction=0.025, pad=0.01)
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_ylabel("unit")
    if len(units) <= 24:
        ax.set_yticks(range(len(units)), [str(u) for u in units], fontsize=6)
    else:
        ax.set_yticks([])


def plot_gate_heatmaps(
    trace: GateTrace,
    path: str | os.PathLike[str],
    *,
    example: int = 0,
    layer: int = -1,
    direction: int = 0,
    directions: int = 1,
    batch_first: bool = False,
    mask: Tensor | None = None,
    max_units: int = 64,
    max_steps: int = 200,
) -> None:
    """Heatmaps over time (x = step, y = unit) of i, f, g, o, c and h of one sequence and one
    layer; PNG at ``path``.

    Units are sorted by their mean forget gate over the shown steps (largest on top; the input
    or output gate when f is constant); with more than ``max_units`` units, ``max_units`` of
    that order, evenly spread, are shown. Constant gates are left out (the title says which).
    Only the sequence's real steps are drawn, at most the first ``max_steps``.

    Args:
        trace: from ``lstm(x, ..., return_gates=True)``.
        example: which sequence of the batch (ignored for a trace of one sequence).
        layer, direction, directions: the slice ``k = layer * directions + direction`` of K
            (``layer`` negative: from the last layer).
        batch_first: the layout of the trace (as the layer's ``batch_first``).
        mask: the real steps (see :func:`saturation`).
    """
    trace = _check_trace(trace)
    if max_steps < 1:
        raise ValueError(f"max_steps: expected an int >= 1, got {max_steps}")
    k = _slice_index(trace.i.shape[-2], layer, direction, directions)
    fields = {
        n: v[:max_steps]
        for n, v in _one_sequence(trace, real_steps(trace, mask), example, k, batch_first).items()
    }
    order, key = unit_order(fields)
    units = _shown_units(order, max_units)
    constant = [n for n in SATURATING_GATES if np.ptp(fields[n]) == 0]
    names = [n for n in HEATMAP_FIELDS if n not in constant]
    plt = pyplot()
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 0.5 + 1.45 * len(names)), squeeze=False, sharex=True)
    fig.subplots_adjust(hspace=0.3, top=1 - 0.75 / (0.5 + 1.45 * len(names)))
    label = slice_label(k, directions)
    for ax, name in zip(axes[:, 0], names):
        values = fields[name]
        same = values.shape[1] == fields["i"].shape[1]  # h has proj_size features with projection
        shown = units if same else np.arange(min(values.shape[1], max_units))
        order_note = f"sorted by {key}" if same else "unsorted (projected)"
        _draw_field(ax, fig, name, values, shown, f"{HEATMAP_FIELDS[name]}: {label}, units {order_note}")
    axes[-1, 0].set_xlabel("step")
    axes[-1, 0].xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    held = f"; constant, not drawn: {', '.join(constant)}" if constant else ""
    fig.suptitle(
        f"sequence {example}, {len(fields['i'])} steps, {len(units)} of {len(order)} units{held}", fontsize=10
    )
    save_figure(fig, path)


# ---------------------------------------------------------------------- a report section
def gates_html(
    trace: GateTrace,
    folder: str | os.PathLike[str],
    *,
    mask: Tensor | None = None,
    directions: int = 1,
    batch_first: bool = False,
    prefix: str = "gates_",
    example: int = 0,
    layer: int = -1,
    caption: str = "",
) -> str:
    """Write ``<prefix>saturation.png`` and ``<prefix>heatmaps.png`` into ``folder`` and return
    an HTML fragment showing them with the saturation summary (:meth:`SaturationTable.rows`).

    ``caption`` (plain text) says what ran on what; the other arguments are those of
    :func:`saturation` and :func:`plot_gate_heatmaps`.
    """
    table = saturation(trace, mask, directions=directions)
    sat, heat = f"{prefix}saturation.png", f"{prefix}heatmaps.png"
    plot_saturation(table, os.path.join(folder, sat))
    plot_gate_heatmaps(
        trace,
        os.path.join(folder, heat),
        example=example,
        layer=layer,
        directions=directions,
        batch_first=batch_first,
        mask=mask,
    )
    skipped = "".join(f"<li>{g}: {html.escape(why)}</li>" for g, why in table.skipped.items())
    parts = [
        f"<p>{html.escape(caption)}</p>" if caption else "",
        f"<p class='note'>Share of the {table.steps} real steps at which each unit's gate is left "
        f"saturated (&lt; {table.low:g}: closed) or right saturated (&gt; {table.high:g}: open), "
        "as in Karpathy et al. 2015, Fig. 3; a unit 'mostly' saturated is so at more than half of "
        "the steps. A forget gate mostly open keeps its cell over many steps.</p>",
        metrics_table_html(table.rows(), SUMMARY_COLUMNS),
        f"<p class='note'>No statistics for:</p><ul>{skipped}</ul>" if skipped else "",
        f"<img src='{sat}' alt='gate saturation per unit'>",
        f"<img src='{heat}' alt='gates and states over time'>",
    ]
    return "\n".join(p for p in parts if p)

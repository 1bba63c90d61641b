r"""Interpretable units: which hidden units track a named property of the input.

A unit's activation :math:`a_u(t)` over T steps is compared with each property signal
:math:`p(t)` by Pearson's correlation

.. math::

    r_{u,p} = \frac{\sum_t (a_u(t) - \bar a_u)(p(t) - \bar p)}
                   {\sqrt{\sum_t (a_u(t) - \bar a_u)^2}\,\sqrt{\sum_t (p(t) - \bar p)^2}}

(Karpathy, Johnson & Fei-Fei 2015 found cells of character language models that track quotes,
line length and nesting depth this way). A constant unit or property explains nothing: its
correlations are 0.

The text renderers colour each character by a value (a unit's activation): red above the
middle of ``[vmin, vmax]``, blue below, white at the middle; :func:`text_heat_html` for pages,
:func:`text_heat_png` for documents.

Example::

    >>> acts, labels = stack_activations({"l0.c": c0, "l1.c": c1})   # each (T, H)
    >>> table = unit_correlations(acts, {"in quotes": quoted}, labels=labels)
    >>> best_units(table, 3)["in quotes"][0]
    UnitScore(unit='l1.c[17]', column=273, r=0.91)
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "UnitScore",
    "UnitTable",
    "best_units",
    "diverging_rgb",
    "stack_activations",
    "text_heat_html",
    "text_heat_png",
    "unit_correlations",
]


@dataclass(frozen=True)
class UnitTable:
    """Pearson correlations of every unit with every property.

    Attributes:
        correlations: (U, P) float64, r of unit u with property p (0 where either is constant).
        units: U labels, where each activation column comes from (e.g. ``"l1.c[17]"``).
        properties: P property names, in the order of the columns of ``correlations``.
        steps: T, the number of time steps compared.
    """

    correlations: np.ndarray
    units: tuple[str, ...]
    properties: tuple[str, ...]
    steps: int

    def column(self, prop: str) -> np.ndarray:
        """(U,) correlations of every unit with the property named ``prop``."""
        if prop not in self.properties:
            raise KeyError(f"prop: expected one of {list(self.properties)}, got {prop!r}")
        return self.correlations[:, self.properties.index(prop)]


@dataclass(frozen=True)
class UnitScore:
    """One unit's correlation with a property: its label, its activation column and r."""

    unit: str
    column: int
    r: float


def _as_matrix(name: str, values: Any, ndim: int) -> np.ndarray:
    """``values`` (a tensor or array) as a finite float64 array of ``ndim`` dimensions."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: expected finite values, got NaN or inf")
    return arr


def _standardized(x: np.ndarray) -> np.ndarray:
    """Columns of ``x`` (T, K) centred and scaled to unit norm; constant columns all zero."""
    centred = x - x.mean(axis=0, keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=0, keepdims=True))  # (1, K)
    constant = (x.max(axis=0) == x.min(axis=0))[None, :] | (norm == 0)
    return np.where(constant, 0.0, centred / np.where(constant, 1.0, norm))


def unit_correlations(
    activations: Any, properties: Mapping[str, Any], *, labels: Sequence[str] | None = None
) -> UnitTable:
    """Pearson correlation of every unit with every property.

    Args:
        activations: (T, U) tensor or array, one column per unit.
        properties: name -> (T,) signal (tensor, array or list; booleans count as 0 / 1).
        labels: U unit labels (default ``"unit[u]"``); see :func:`stack_activations`.

    Returns:
        A :class:`UnitTable` with (U, P) correlations in ``[-1, 1]``, 0 where the unit or the
        property is constant.
    """
    acts = _as_matrix("activations", activations, 2)
    steps, n_units = acts.shape
    if steps < 2:
        raise ValueError(f"activations: expected at least 2 time steps, got {steps}")
    if not properties:
        raise ValueError("properties: expected at least one named signal, got none")
    columns = []
    for name, signal in properties.items():
        col = _as_matrix(f"properties[{name!r}]", signal, 1)
        if col.shape[0] != steps:
            raise ValueError(f"properties[{name!r}]: expected {steps} steps, got {col.shape[0]}")
        columns.append(col)
    names = tuple(labels) if labels is not None else tuple(f"unit[{u}]" for u in range(n_units))
    if len(names) != n_units:
        raise ValueError(f"labels: expected {n_units} labels (one per activation column), got {len(names)}")
    props = np.stack(columns, axis=1)  # (T, P)
    r = _standardized(acts).T @ _standardized(props)  # (U, P)
    return UnitTable(np.clip(r, -1.0, 1.0), names, tuple(properties), steps)


def best_units(table: UnitTable, k: int = 1) -> dict[str, list[UnitScore]]:
    """The ``k`` units with the largest ``|r|`` for each property, strongest first."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k: expected an int >= 1, got {k!r}")
    best: dict[str, list[UnitScore]] = {}
    for p, prop in enumerate(table.properties):
        r = table.correlations[:, p]
        order = np.argsort(-np.abs(r), kind="stable")[:k]
        best[prop] = [UnitScore(table.units[u], int(u), float(r[u])) for u in order]
    return best


def stack_activations(blocks: Mapping[str, Any]) -> tuple[np.ndarray, list[str]]:
    """Blocks of unit activations side by side, with a label per column.

    Args:
        blocks: name -> (T, H_b) activations (e.g. ``{"l0.c": c0, "l0.h": h0, "l1.c": c1}``).

    Returns:
        ``(activations (T, sum H_b), labels)`` with labels ``"name[i]"``.
    """
    if not blocks:
        raise ValueError("blocks: expected at least one named block of activations, got none")
    arrays, labels = [], []
    for name, block in blocks.items():
        arr = _as_matrix(f"blocks[{name!r}]", block, 2)
        if arrays and arr.shape[0] != arrays[0].shape[0]:
            raise ValueError(f"blocks[{name!r}]: expected {arrays[0].shape[0]} steps, got {arr.shape[0]}")
        arrays.append(arr)
        labels.extend(f"{name}[{i}]" for i in range(arr.shape[1]))
    return np.concatenate(arrays, axis=1), labels


_RED, _BLUE = (178, 24, 43), (33, 102, 172)


def diverging_rgb(value: float, vmin: float, vmax: float) -> tuple[int, int, int]:
    """The colour of ``value`` on a blue-white-red scale over ``[vmin, vmax]`` (white at the
    middle, values outside clipped) as 0-255 RGB."""
    mid, half = (vmin + vmax) / 2, (vmax - vmin) / 2
    t = 0.0 if half <= 0 else max(-1.0, min(1.0, (value - mid) / half))
    end = _RED if t > 0 else _BLUE
    a = abs(t)
    return tuple(round(255 + (c - 255) * a) for c in end)  # type: ignore[return-value]


def _value_range(values: np.ndarray, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    """``(vmin, vmax)``: the given ones, else symmetric about 0 at the largest |value|."""
    bound = float(np.abs(values).max()) if values.size else 1.0
    lo = -bound if vmin is None else float(vmin)
    hi = bound if vmax is None else float(vmax)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError(f"vmin, vmax: expected finite vmin <= vmax, got {lo}, {hi}")
    return lo, hi


def _text_values(text: str, values: Any) -> np.ndarray:
    """``values`` as a (len(text),) float array, checked."""
    if not isinstance(text, str):
        raise ValueError(f"text: expected a str, got {type(text).__name__}")
    arr = _as_matrix("values", values, 1)
    if arr.shape[0] != len(text):
        raise ValueError(f"values: expected one value per character ({len(text)}), got {arr.shape[0]}")
    return arr


def text_heat_html(
    text: str, values: Any, *, title: str = "", vmin: float | None = None, vmax: float | None = None
) -> str:
    """An HTML fragment showing ``text`` with each character's background coloured by its value.

    Args:
        text: T characters (newlines are kept as line breaks; everything is HTML-escaped).
        values: (T,) one value per character.
        title: a caption above the text.
        vmin, vmax: the colour range (default symmetric about 0 at the largest |value|).
    """
    vals = _text_values(text, values)
    lo, hi = _value_range(vals, vmin, vmax)
    spans = []
    for ch, v in zip(text, vals, strict=True):
        if ch == "\n":
            spans.append("\n")
            continue
        r, g, b = diverging_rgb(float(v), lo, hi)
        style = f"background:#{r:02x}{g:02x}{b:02x}"
        spans.append(f'<span style="{style}" title="{v:.3f}">{html.escape(ch)}</span>')
    caption = f"<figcaption>{html.escape(title)}</figcaption>" if title else ""
    return (
        f'<figure class="text-heat">{caption}<div style="font-family:monospace;white-space:pre-wrap;'
        f'line-height:1.6">{"".join(spans)}</div>'
        f'<div class="note">blue {lo:.2f}, white {(lo + hi) / 2:.2f}, red {hi:.2f}</div></figure>'
    )


def _wrapped_rows(text: str, columns: int) -> list[list[int]]:
    """Character indices of ``text`` laid out in rows: a new row at each newline and, when a row
    is full, after its last space (mid-word for a word longer than a row); the newline itself
    is not drawn."""
    rows: list[list[int]] = [[]]
    for i, ch in enumerate(text):
        if ch == "\n":
            rows.append([])
            continue
        row = rows[-1]
        if len(row) == columns:
            spaces = [k for k, j in enumerate(row) if text[j] == " "]
            cut = spaces[-1] + 1 if spaces and spaces[-1] + 1 < columns else columns
            rows[-1], row = row[:cut], row[cut:]
            rows.append(row)
        row.append(i)
    return rows


def text_heat_png(
    text: str,
    values: Any,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    vmin: float | None = None,
    vmax: float | None = None,
    columns: int = 100,
) -> None:
    """Draw ``text`` with each character on a background coloured by its value (as
    :func:`text_heat_html`) and save it as a PNG at ``path`` (atomically).

    Args:
        text: T characters; lines break at newlines and after ``columns`` characters.
        values: (T,) one value per character.
        title, vmin, vmax: as :func:`text_heat_html`.
        columns: characters per drawn row.
    """
    from lstmkit.io.plots import pyplot, save_figure

    vals = _text_values(text, values)
    lo, hi = _value_range(vals, vmin, vmax)
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns: expected an int >= 1, got {columns!r}")
    rows = _wrapped_rows(text, columns)
    image = np.ones((len(rows), columns, 3))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(0.095 * columns, 0.2 * len(rows) + (0.35 if title else 0.1)))
    for y, row in enumerate(rows):
        for x, i in enumerate(row):
            image[y, x] = np.array(diverging_rgb(float(vals[i]), lo, hi)) / 255.0
            if not text[i].isspace():
                ax.text(x, y, text[i], ha="center", va="center", family="monospace", fontsize=8)
    extent = (-0.5, columns - 0.5, len(rows) - 0.5, -0.5)
    ax.imshow(image, aspect="auto", interpolation="nearest", extent=extent)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    save_figure(fig, path)

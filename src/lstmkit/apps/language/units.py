"""Interpretable units of character language models: named properties of a text and the cells
of a :class:`~lstmkit.apps.language.lm.LanguageModel` that track them.

Every property is a (T,) signal over the characters of a text, read as "the state of the text
after character t", the same moment as the model's state after reading it:

* ``in quotes``: 1 from an opening ``"`` to the character before the closing one (a blank line
  closes an unmatched quote);
* ``paren depth`` (open ``(`` not yet closed) and ``in parens`` (depth > 0), ``bracket depth``
  for ``[`` ``]``;
* ``line position``: characters since the last newline (0 at the newline);
* ``to line end``: characters left before the next newline (it looks ahead: a unit tracking it
  has learned the usual line length);
* ``word position``: letters since the start of the current word (0 outside words);
* ``since punctuation`` / ``to punctuation``: characters since the last / until the next mark
  of ``.,;:!?``;
* ``line start`` (the character is a newline), ``after colon`` (a ``:`` earlier on this line),
  ``indented line`` (the line begins with a space), ``is space``, ``is upper``.

:func:`find_interpretable_units` runs a model over held-out text, correlates every layer's
``c`` and ``h`` with every property (:func:`lstmkit.explain.units.unit_correlations`) and
returns the table and the best units; :func:`units_report` writes the text coloured by the
best unit of each property.

Example::

    >>> found = find_interpretable_units(model, tokenizer, text, k=3)
    >>> found.best["in quotes"][0]
    UnitScore(unit='l1.c[113]', column=369, r=-0.87)
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lstmkit.apps.language.lm import LanguageModel, module_device
from lstmkit.apps.language.tokenizers import CharTokenizer, Tokenizer
from lstmkit.explain.units import (
    UnitScore,
    UnitTable,
    best_units,
    stack_activations,
    text_heat_html,
    text_heat_png,
    unit_correlations,
)

__all__ = [
    "INPUT_PROPERTIES",
    "PROPERTIES",
    "FoundUnits",
    "confirm_units",
    "excerpt_window",
    "find_interpretable_units",
    "lm_unit_activations",
    "ranked_properties",
    "text_properties",
    "unit_excerpt",
    "units_markdown",
    "units_report",
]

PUNCTUATION = ".,;:!?"


def quote_inside(text: str) -> np.ndarray:
    """(T,) 1.0 from an opening ``"`` up to the character before its closing ``"``."""
    out = np.zeros(len(text))
    inside = False
    for t, ch in enumerate(text):
        if ch == '"':
            inside = not inside
        elif ch == "\n" and text[t - 1 : t] == "\n":
            inside = False
        out[t] = inside
    return out


def nesting_depth(text: str, opening: str, closing: str) -> np.ndarray:
    """(T,) number of ``opening`` marks not yet closed after each character (never below 0)."""
    out = np.zeros(len(text))
    depth = 0
    for t, ch in enumerate(text):
        depth += ch == opening
        depth = max(0, depth - (ch == closing))
        out[t] = depth
    return out


def steps_since(text: str, marks: Callable[[str], bool]) -> np.ndarray:
    """(T,) characters since the last one where ``marks`` holds (0 there; counted from the start
    of the text before the first)."""
    out = np.zeros(len(text))
    count = 0
    for t, ch in enumerate(text):
        count = 0 if marks(ch) else count + 1
        out[t] = count
    return out


def steps_until(text: str, marks: Callable[[str], bool]) -> np.ndarray:
    """(T,) characters until the next one where ``marks`` holds (0 there; counted to the end of
    the text after the last)."""
    return steps_since(text[::-1], marks)[::-1].copy()


def word_position(text: str) -> np.ndarray:
    """(T,) position of the character in its word (1 for the first letter), 0 outside words."""
    return np.where([ch.isalnum() for ch in text], steps_since(text, lambda c: not c.isalnum()), 0.0)


def line_flags(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(T,) ``after colon`` (a ``:`` before on this line, the colon included) and (T,)
    ``indented line`` (the line's first character is a space), both 0 / 1."""
    colon, indented = np.zeros(len(text)), np.zeros(len(text))
    seen, indent = False, text[:1] == " "
    for t, ch in enumerate(text):
        if ch == "\n":
            seen, indent = False, text[t + 1 : t + 2] == " "
        seen = seen or ch == ":"
        colon[t], indented[t] = seen, indent
    return colon, indented


def text_properties(text: str) -> dict[str, np.ndarray]:
    """Every named property of ``text`` (see the module docstring), each a (T,) float array."""
    if not isinstance(text, str):
        raise ValueError(f"text: expected a str, got {type(text).__name__}")
    newline = "\n".__eq__
    paren = nesting_depth(text, "(", ")")
    colon, indented = line_flags(text)
    return {
        "in quotes": quote_inside(text),
        "in parens": (paren > 0).astype(float),
        "paren depth": paren,
        "bracket depth": nesting_depth(text, "[", "]"),
        "line position": steps_since(text, newline),
        "to line end": steps_until(text, newline),
        "word position": word_position(text),
        "since punctuation": steps_since(text, PUNCTUATION.__contains__),
        "to punctuation": steps_until(text, PUNCTUATION.__contains__),
        "line start": np.array([ch == "\n" for ch in text], dtype=float),
        "after colon": colon,
        "indented line": indented,
        "is space": np.array([ch == " " for ch in text], dtype=float),
        "is upper": np.array([ch.isupper() for ch in text], dtype=float),
    }


#: The property names of :func:`text_properties`, in its order.
PROPERTIES = tuple(text_properties("a"))

#: The properties that name the current character itself: a unit can follow them from its input
#: alone, without remembering anything.
INPUT_PROPERTIES = ("line start", "is space", "is upper")


def _char_ids(tokenizer: Tokenizer, text: str) -> torch.Tensor:
    """(T,) one id per character of ``text``; only a character tokenizer gives that."""
    if not isinstance(tokenizer, CharTokenizer):
        raise ValueError(f"tokenizer: expected a CharTokenizer (one token per character), got {tokenizer!r}")
    ids = tokenizer.encode(text, max_length=len(text) + 1)
    return torch.tensor(ids, dtype=torch.long)


def _traced_chunks(model: LanguageModel, ids: torch.Tensor, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every step's (c, h) of every layer, each (T, K, H), read from the LSTM's gate trace
    (:class:`~lstmkit.core.layers.GateTrace`) over chunks of ``chunk`` characters with the
    state carried."""
    c_parts, h_parts = [], []
    state = None
    for start in range(0, ids.numel(), chunk):
        x = model.embedding(ids[None, start : start + chunk])  # (1, L, E)
        _, state, trace = model.lstm(x, state, return_gates=True)
        c_parts.append(trace.c[0])  # (L, K, H)
        h_parts.append(trace.h[0])
    return torch.cat(c_parts), torch.cat(h_parts)


@torch.no_grad()
def lm_unit_activations(
    model: LanguageModel,
    tokenizer: Tokenizer,
    text: str,
    *,
    states: Sequence[str] = ("c", "h"),
    chunk: int = 512,
) -> tuple[np.ndarray, list[str]]:
    """Run ``model`` over ``text`` (from a zero state, in chunks with the state carried) and
    return every layer's cell and hidden state at every character.

    Args:
        model: a character :class:`LanguageModel` (run in evaluation mode).
        tokenizer: its :class:`CharTokenizer`.
        text: T characters.
        states: which states to return, of ``"c"`` (cell), ``"h"`` (hidden), ``"tanh_c"``.
        chunk: characters per forward call.

    Returns:
        ``(activations (T, U), labels)``: U = len(states) * num_layers * H columns, labelled
        ``"l{layer}.{state}[{unit}]"`` (layers from 0).
    """
    bad = [s for s in states if s not in ("c", "h", "tanh_c")]
    if bad or not states:
        raise ValueError(f"states: expected some of 'c', 'h', 'tanh_c', got {list(states)!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk: expected an int >= 1, got {chunk!r}")
    if getattr(model, "architecture", "lstm") != "lstm":
        raise ValueError(f"model: units are an LSTM's cells, got architecture={model.architecture!r}")
    ids = _char_ids(tokenizer, text).to(module_device(model))
    if ids.numel() < 2:
        raise ValueError(f"text: expected at least 2 characters, got {len(text)}")
    was_training = model.training
    model.eval()
    try:
        c, h = _traced_chunks(model, ids, chunk)
    finally:
        model.train(was_training)
    values = {"c": c, "h": h, "tanh_c": torch.tanh(c)}
    blocks = {f"l{k}.{s}": values[s][:, k].float().cpu().numpy() for k in range(c.shape[1]) for s in states}
    return stack_activations(blocks)


@dataclass(frozen=True)
class FoundUnits:
    """What :func:`find_interpretable_units` found.

    Attributes:
        table: the (U, P) correlations of every unit with every property.
        best: property -> its ``k`` strongest units (largest ``|r|`` first).
        activations: (T, U) the activations the table was computed from.
        properties: property -> its (T,) signal.
        text: the T characters.
        states: the states of every layer in ``activations`` (see :func:`lm_unit_activations`).
    """

    table: UnitTable
    best: dict[str, list[UnitScore]]
    activations: np.ndarray
    properties: dict[str, np.ndarray]
    text: str
    states: tuple[str, ...] = ("c", "h")


def find_interpretable_units(
    model: LanguageModel,
    tokenizer: Tokenizer,
    text: str,
    *,
    k: int = 5,
    states: Sequence[str] = ("c", "h", "tanh_c"),
    properties: dict[str, np.ndarray] | None = None,
) -> FoundUnits:
    """Correlate every layer's states over ``text`` with named properties of the text.

    Args:
        model, tokenizer, states: as :func:`lm_unit_activations`.
        text: held-out text (T characters).
        k: best units kept per property.
        properties: name -> (T,) signal; default :func:`text_properties` of ``text``.
    """
    signals = text_properties(text) if properties is None else properties
    acts, labels = lm_unit_activations(model, tokenizer, text, states=states)
    table = unit_correlations(acts, signals, labels=labels)
    return FoundUnits(table, best_units(table, k), acts, dict(signals), text, tuple(states))


def confirm_units(
    found: FoundUnits, model: LanguageModel, tokenizer: Tokenizer, text: str
) -> dict[str, float]:
    """The correlation of each property's best unit (chosen on ``found.text``) with the same
    property of other ``text``: how well the choice holds on text it was not chosen on."""
    acts, labels = lm_unit_activations(model, tokenizer, text, states=found.states)
    signals = text_properties(text)
    unknown = [p for p in found.best if p not in signals]
    if unknown:
        raise ValueError(f"found: expected the properties of text_properties, got {unknown}")
    table = unit_correlations(acts, {p: signals[p] for p in found.best}, labels=labels)
    return {p: float(table.column(p)[scores[0].column]) for p, scores in found.best.items()}


def ranked_properties(found: FoundUnits) -> list[str]:
    """The property names, the one with the strongest best unit first."""
    return sorted(found.best, key=lambda prop: -abs(found.best[prop][0].r))


def units_markdown(found: FoundUnits, k: int = 1, confirmed: dict[str, float] | None = None) -> str:
    """A Markdown table of the ``k`` best units of every property, strongest property first;
    with ``confirmed`` (:func:`confirm_units`), the best unit's r on the other text too."""
    extra = ("", "") if confirmed is None else (" r on other text |", "---:|")
    lines = [f"| property | unit | r | |r| |{extra[0]}", f"|---|---|---:|---:|{extra[1]}"]
    for prop in ranked_properties(found):
        for rank, s in enumerate(found.best[prop][:k]):
            other = "" if confirmed is None else (f" {confirmed[prop]:+.3f} |" if rank == 0 else " |")
            lines.append(f"| {prop} | `{s.unit}` | {s.r:+.3f} | {abs(s.r):.3f} |{other}")
    return "\n".join(lines)


def excerpt_window(signal: np.ndarray, text: str, length: int) -> slice:
    """The ``length`` characters of ``text`` where ``signal`` varies most (windows a quarter
    length apart), started at a line start when one is in the window's first half."""
    if len(text) <= length:
        return slice(0, len(text))
    starts = range(0, len(text) - length + 1, max(1, length // 4))
    start = max(starts, key=lambda s: float(np.var(signal[s : s + length])))
    newline = text.find("\n", start, start + length // 2)
    start = newline + 1 if newline >= 0 and newline + 1 + length <= len(text) else start
    return slice(start, start + length)


def unit_excerpt(found: FoundUnits, prop: str, length: int = 600) -> tuple[str, np.ndarray, UnitScore]:
    """The best unit of ``prop`` and the excerpt where ``prop`` varies most: (text, the unit's
    (len,) activations there, its score)."""
    score = found.best[prop][0]
    window = excerpt_window(found.properties[prop], found.text, length)
    return found.text[window], found.activations[window, score.column], score


def units_report(
    found: FoundUnits, out_dir: str | os.PathLike[str], *, length: int = 600, png: bool = False
) -> str:
    """Write ``out_dir/units.html``: the best units' table and, for the best unit of every
    property, an excerpt of the text coloured by its activation (and ``unit-<property>.png``
    with ``png``). Returns the HTML fragment of the page's body."""
    from lstmkit.io.html import write_page

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    parts = [f"<pre>{html.escape(units_markdown(found, 3))}</pre>"]
    for prop in ranked_properties(found):
        text, values, score = unit_excerpt(found, prop, length)
        title = f"{prop}: unit {score.unit}, r = {score.r:+.3f} over {found.table.steps} characters"
        parts.append(text_heat_html(text, values, title=title))
        if png:
            name = "unit-" + "-".join(prop.split()) + ".png"
            text_heat_png(text, values, folder / name, title=title)
    fragment = "\n".join(parts)
    write_page(folder / "units.html", "Interpretable units", [("", fragment)])
    return fragment

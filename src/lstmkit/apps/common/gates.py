"""The gate section of a run report: what the trained network's LSTM did on a few sequences.

Every app builds its network's inputs its own way; :func:`gate_sections` needs none of that. It
finds the network's first LSTM layer (the encoder of an encoder-decoder: the first in
registration order), records the arguments of that layer's first call while the app runs the
trained network on a few sequences (``run``), calls the layer again on them with
``return_gates=True``, and writes the saturation scatter and the heatmaps of
:mod:`lstmkit.explain.gates`. A network without an :class:`lstmkit.LSTM` (a GRU baseline) gets
no section.

Example::

    >>> sections = [("Metrics", table)]
    >>> sections += gate_sections(net, lambda: net(x[:4]), tmp, what="the first ensemble member")
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lstmkit.core.layers.lstm import LSTMContract
from lstmkit.explain.gates import gates_html

__all__ = ["first_lstm", "gate_sections", "record_first_call"]

#: the heading of the section
HEADING = "LSTM gates and cell states"


def first_lstm(net: nn.Module) -> tuple[str, LSTMContract] | None:
    """The name and module of the first LSTM layer of ``net`` (itself, if it is one), or ``None``."""
    for name, module in net.named_modules():
        if isinstance(module, LSTMContract):
            return name, module
    return None


def record_first_call(
    layer: nn.Module, run: Callable[[], Any]
) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """The positional and keyword arguments of ``layer``'s first call while ``run()`` runs
    (``None`` if it was not called)."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def hook(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not calls:
            calls.append((args, dict(kwargs)))

    handle = layer.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        run()
    finally:
        handle.remove()
    return calls[0] if calls else None


def _trace_of(net: nn.Module, layer: LSTMContract, run: Callable[[], Any]) -> Any:
    """The gate trace of ``layer`` on the arguments of its first call in ``run()`` (evaluation
    mode, no gradient), or ``None``."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            call = record_first_call(layer, run)
            if call is None:
                return None
            args, kwargs = call
            kwargs = {k: v for k, v in kwargs.items() if k not in ("return_gates", "return_cell_states")}
            return layer(*args, **kwargs, return_gates=True)[-1]
    finally:
        net.train(was_training)


def gate_sections(
    net: nn.Module,
    run: Callable[[], Any],
    folder: str | os.PathLike[str],
    *,
    what: str = "",
    prefix: str = "gates_",
) -> list[tuple[str, str]]:
    """The (heading, HTML) section of the gates of ``net``'s first LSTM layer, its figures
    written into ``folder``; ``[]`` when ``net`` has no LSTM layer or ``run`` does not call it.

    Args:
        net: the trained network (put in evaluation mode for the call, then restored).
        run: runs ``net`` on a few sequences (the app's own inputs; keep them few and short).
        folder: where ``<prefix>saturation.png`` and ``<prefix>heatmaps.png`` are written.
        what: which model and which sequences (plain text, for the caption).
    """
    found = first_lstm(net)
    if found is None:
        return []
    name, layer = found
    trace = _trace_of(net, layer, run)
    if trace is None:
        return []
    lead = tuple(trace.i.shape[:-2])
    axes = {2: " (batch, steps)" if layer.batch_first else " (steps, batch)"}.get(len(lead), " (steps)")
    of = f" of {what}" if what else ""
    caption = (
        f"The layer {name or type(net).__name__} ({layer!r}){of}, run on {lead}{axes} inputs; "
        "heatmaps of the first sequence and the last layer."
    )
    body = gates_html(
        trace,
        folder,
        directions=layer.num_directions,
        batch_first=layer.batch_first,
        prefix=prefix,
        caption=caption,
    )
    return [(HEADING, body)]

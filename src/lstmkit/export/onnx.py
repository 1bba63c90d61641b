r"""ONNX export of models that hold lstmkit layers (:func:`to_onnx`).

Two graphs for one LSTM call, the best that fits:

* ONNX's own ``LSTM`` operator where it computes the call: the classic cell, peepholes (its input
  ``P``, rows i, o, f) and CIFG (its attribute ``input_forget``), without padding, projection or
  layer norm. The weights are reordered from lstmkit's (PyTorch's) gate order i, f, g, o to ONNX's
  i, o, f, c (CIFG has no f block: its rows are zeros, unread);
* otherwise (every other variant and option: NIG, NFG, NOG, NIAF, NOAF, FGR, the 1997 cell,
  layer norm, projection, padding masks) an ONNX ``Scan`` whose body is the cell's step, traced
  from the same function the reference engine runs (:mod:`lstmkit.core.scan`).

Both keep the batch and sequence axes symbolic. A plain ``torch.onnx.export(model, ...,
dynamo=True)`` of such a model works too and writes the ``Scan`` graph for every call;
:func:`to_onnx` adds ONNX's operator where it fits, dynamic axes by default and a check of the
file against the eager model with onnxruntime.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_leaves

from lstmkit.core.engines.fused.ops import decode_config
from lstmkit.core.engines.select import onnx_native_lstm
from lstmkit.export.axes import check_exportable, check_new_file, dynamic_shapes, example_tuple, free_axes
from lstmkit.io.atomic import atomic_write_bytes

__all__ = ["OPSET", "check_onnx", "to_onnx"]

#: the ONNX opset of the written files
OPSET = 18
_ONNX_ORDER = ("i", "o", "f", "g")  # ONNX's gate blocks (it calls g "c")


def _gate_rows(gates: Sequence[str], hidden: int) -> tuple[list[int], list[str]]:
    """Rows of lstmkit's (G*H, .) weights in ONNX's block order, and the ONNX blocks lstmkit
    lacks (CIFG's f): their rows are taken from row 0 and zeroed after."""
    rows: list[int] = []
    missing = []
    for name in _ONNX_ORDER:
        if name in gates:
            start = gates.index(name) * hidden
            rows += range(start, start + hidden)
        else:
            rows += [0] * hidden
            missing.append(name)
    return rows, missing


def _onnx_weight(op: Any, weight: Any, rows: list[int], missing: list[str], hidden: int) -> Any:
    """``weight`` (G*H, K) as ONNX's (1, 4*H, K): blocks reordered, absent blocks zero."""
    out = op.Gather(weight, op.Constant(value=_ints(rows)), axis=0)
    if missing:
        keep = np.ones((4 * hidden,) + (1,) * (len(weight.shape) - 1), dtype=np.float32)
        for name in missing:
            block = _ONNX_ORDER.index(name)
            keep[block * hidden : (block + 1) * hidden] = 0
        out = op.Mul(out, op.CastLike(op.Constant(value=_floats(keep)), out))
    return op.Unsqueeze(out, op.Constant(value=_ints([0])))


def _ints(values: Sequence[int]) -> Any:
    import onnx_ir as ir

    return ir.tensor(np.asarray(values, dtype=np.int64))


def _floats(values: np.ndarray) -> Any:
    import onnx_ir as ir

    return ir.tensor(values)


def _peepholes(op: Any, weight_ch: Any, gates: Sequence[str], hidden: int) -> Any:
    """lstmkit's (P, H) peephole rows (its sigmoid gates in order i, f, o) as ONNX's P (1, 3*H),
    rows i, o, f (f zero for CIFG: ONNX reads none with ``input_forget``)."""
    sigmoid = [g for g in gates if g != "g"]
    rows = []
    for name in ("i", "o", "f"):
        if name in sigmoid:
            rows.append(op.Gather(weight_ch, op.Constant(value=_ints([sigmoid.index(name)])), axis=0))
        else:
            rows.append(op.CastLike(op.Constant(value=_floats(np.zeros((1, hidden), np.float32))), weight_ch))
    return op.Reshape(op.Concat(*rows, axis=0), op.Constant(value=_ints([1, 3 * hidden])))


def _lstm_translation(config: str, x: Any, h0: Any, c0: Any, a0: Any, *tensors: Any) -> tuple[Any, ...]:
    """``lstmkit::fused_forward`` as ONNX's ``LSTM`` operator (only the calls that
    :func:`~lstmkit.core.engines.select.onnx_lstm_fits` lets through reach it)."""
    from onnxscript import opset18

    op: Any = opset18

    cfg = decode_config(config)
    weight_ih, weight_hh, bias_ih, bias_hh, weight_ch = tensors[:5]
    hidden = int(weight_hh.shape[1])
    gates = cfg.spec.gates
    rows, missing = _gate_rows(gates, hidden)
    W = _onnx_weight(op, weight_ih, rows, missing, hidden)
    R = _onnx_weight(op, weight_hh, rows, missing, hidden)
    B = None
    if bias_ih is not None:
        both = [_onnx_weight(op, b, rows, missing, hidden) for b in (bias_ih, bias_hh)]
        B = op.Concat(*both, axis=1)  # (1, 8*H): Wb then Rb
    P = _peepholes(op, weight_ch, gates, hidden) if weight_ch is not None else None
    first = op.Constant(value=_ints([0]))
    y, y_h, y_c = op.LSTM(
        x,
        W,
        R,
        B,
        None,
        op.Unsqueeze(h0, first),
        op.Unsqueeze(c0, first),
        P,
        direction="reverse" if cfg.reverse else "forward",
        hidden_size=hidden,
        input_forget=int(cfg.spec.coupled),
    )
    output = op.Squeeze(y, op.Constant(value=_ints([1])))  # (L, 1, N, H) -> (L, N, H)
    unused = [op.Constant(value=_floats(np.zeros((0,), dtype=np.float32))) for _ in range(11)]
    return (output, op.Squeeze(y_h, first), op.Squeeze(y_c, first), *unused)


def _translations() -> dict[Any, Any]:
    return {torch.ops.lstmkit.fused_forward.default: _lstm_translation}


#: the loggers of torch's exporter and its ONNX libraries
_CHATTY = ("onnx_ir", "onnxscript", "torch.onnx")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter's loggers at ERROR while it runs (INFO lines per pass, warnings about
    torchvision's operators), and torch's own deprecation notices off."""
    loggers = [logging.getLogger(name) for name in _CHATTY]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(max(log.getEffectiveLevel(), logging.ERROR))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


def _onnx_program(
    model: nn.Module, args: tuple[Any, ...], shapes: Any, native: bool, names: dict[str, Any]
) -> Any:
    """``torch.onnx.export`` of ``model`` on ``args`` with free axes ``shapes`` (quietly)."""
    context = onnx_native_lstm() if native else contextlib.nullcontext()
    with context, _quiet(), contextlib.redirect_stdout(io.StringIO()):  # it prints its progress
        program = torch.onnx.export(
            model,
            args,
            dynamo=True,
            dynamic_shapes=shapes,
            custom_translation_table=_translations() if native else None,
            opset_version=OPSET,
            optimize=True,
            verbose=False,
            **names,
        )
    assert program is not None
    return program


def to_onnx(
    model: nn.Module,
    path: str | os.PathLike[str],
    example_inputs: Any,
    *,
    native: bool = True,
    static_axes: Sequence[int] | None = None,
    shapes: Any = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    check: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` (holding lstmkit layers, in eval mode) as an ONNX file (opset 18).

    Args:
        model: the model; its ``forward`` takes ``example_inputs`` as positional arguments.
        path: the ``.onnx`` file to write (atomically; an existing file only with ``overwrite``).
        example_inputs: a tensor or a tuple of the model's arguments, to trace the graph.
        native: use ONNX's ``LSTM`` operator where it computes the call (module docstring);
            ``False`` writes a ``Scan`` of the step for every call.
        static_axes: axes to keep at the examples' sizes; the others are free
            (:func:`~lstmkit.export.axes.free_axes`: batch and length, token ids, lengths).
        shapes: ``dynamic_shapes`` as ``torch.export`` takes them, instead of the free axes.
        input_names, output_names: names of the graph's inputs and outputs.
        check: run the file with onnxruntime on the examples and on inputs 3 longer on every
            free axis, against the eager model (max abs diff <= 1e-4).

    Raises:
        ValueError: the model is in training mode, or the check fails.
        FileExistsError: ``path`` exists and ``overwrite`` is false.
    """
    check_exportable(model, "to_onnx")
    target = check_new_file(path, overwrite)
    args = example_tuple(example_inputs)
    shapes = dynamic_shapes(args, static_axes) if shapes is None else shapes
    names = {
        "input_names": input_names and list(input_names),
        "output_names": output_names and list(output_names),
    }
    data = _onnx_program(model, args, shapes, native, names).model_proto.SerializeToString()
    if check:
        check_onnx(data, model, args, static_axes)
    atomic_write_bytes(target, data)
    return target


def _grown(args: tuple[Any, ...], static_axes: Sequence[int] | None) -> tuple[Any, ...]:
    """Inputs like ``args`` with every free axis (:func:`~.axes.free_axes`) 3 longer: random
    values for floating tensors, zeros for the others (token 0, length 0, padding)."""
    out = []
    for a in args:
        free = free_axes(a, static_axes)
        if not free:
            out.append(a)
            continue
        size = [n + 3 if d in free else n for d, n in enumerate(a.shape)]
        out.append(torch.randn(size, dtype=a.dtype) if a.dtype.is_floating_point else a.new_zeros(size))
    return tuple(out)


def check_onnx(
    path: str | os.PathLike[str] | bytes,
    model: nn.Module,
    args: tuple[Any, ...],
    static_axes: Sequence[int] | None = None,
    atol: float = 1e-4,
) -> float:
    """Run the ONNX file with onnxruntime on ``args`` and on larger inputs (:func:`to_onnx`'s
    free axes 3 longer) and compare with the eager ``model``; returns the largest abs diff,
    ``ValueError`` naming the file above ``atol``."""
    import onnxruntime as ort

    source = path if isinstance(path, bytes) else os.fspath(path)
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    worst = 0.0
    for inputs in (args, _grown(args, static_axes)):
        tensors = [a for a in inputs if isinstance(a, Tensor)]
        got = session.run(None, {n: t.numpy() for n, t in zip(names, tensors)})
        with torch.no_grad():
            want = model(*inputs)
        flat = [t for t in tree_leaves(want) if isinstance(t, Tensor)]
        for g, w in zip(got, flat):
            worst = max(worst, float(np.abs(g - w.numpy()).max()) if w.numel() else 0.0)
    if not worst <= atol:
        name = "the exported graph" if isinstance(path, bytes) else repr(os.fspath(path))
        raise ValueError(f"path: {name} differs from the eager model by {worst:.3g} (> {atol})")
    return worst

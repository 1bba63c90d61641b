r"""Attributions with captum: integrated gradients, occlusion, and rank agreement.

Integrated gradients (Sundararajan et al. 2017) attribute the change of a scalar output
:math:`f` between a baseline :math:`b` and the input :math:`x` to each input element:

.. math::

    A_j = (x_j - b_j) \int_0^1 \frac{\partial f(b + \alpha (x - b))}{\partial x_j} \, d\alpha,
    \qquad \sum_j A_j = f(x) - f(b) \quad \text{(completeness)}

The integral is a quadrature of ``n_steps`` points (Gauss-Legendre by default), so the sum
misses :math:`f(x) - f(b)` by the *convergence delta*; :func:`relative_gap` divides it by
:math:`|f(x) - f(b)|`. The default baseline is zeros: for standardized inputs (every app
standardizes its inputs) zero is the training mean of each channel.

Occlusion (Zeiler & Fergus 2014) slides a window over the time steps (and channels), replaces
the covered values by a baseline and records how much the output drops.

``forward`` is any function of the inputs (and of ``additional_args``) returning one value per
example (N,), or class scores (N, K) with ``target`` choosing the class. Networks must be in
evaluation mode (dropout would make every gradient a different network's). Every lstmkit LSTM
engine computes first-order gradients, which is all integrated gradients needs.

Shapes: N examples, and any further input dimensions (e.g. L steps, C channels).

Example::

    >>> net = lstmkit.LSTM(3, 8, batch_first=True).eval()
    >>> f = lambda x: net(x)[0][:, -1].sum(1)                 # (N, L, 3) -> (N,)
    >>> attr = integrated_gradients(f, torch.randn(4, 20, 3))
    >>> attr.values.shape, float(relative_gap(attr).max()) < 0.01
    (torch.Size([4, 20, 3]), True)
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients, Occlusion
from torch import Tensor, nn

from lstmkit.explain.paths import Path, batch_rows, bisect, check_depth, scalar_outputs

__all__ = [
    "METHODS",
    "Attribution",
    "float64_copy",
    "integrated_gradients",
    "layer_integrated_gradients",
    "module_dtype",
    "occlusion",
    "rank_agreement",
    "relative_gap",
]

log = logging.getLogger("lstmkit.explain")

#: captum's quadratures of the path integral
METHODS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")

Target = int | Sequence[int] | Tensor | None


@dataclass(frozen=True)
class Attribution:
    """Integrated-gradient attributions of N examples.

    Attributes:
        values: the attributions, the shape of the attributed inputs (or layer outputs).
        delta: (N,) the convergence delta, ``values`` summed per example minus
            ``output - baseline_output``.
        output: (N,) f(x).
        baseline_output: (N,) f(b).
    """

    values: Tensor
    delta: Tensor
    output: Tensor
    baseline_output: Tensor


def relative_gap(attr: Attribution) -> Tensor:
    """(N,) ``|delta| / |f(x) - f(b)|``: how far completeness misses, relative to what is
    attributed (``inf`` where f(x) = f(b) and the attributions do not sum to zero)."""
    diff = (attr.output - attr.baseline_output).abs()
    gap = attr.delta.abs() / diff
    return torch.where(attr.delta == 0, torch.zeros_like(gap), gap)


def float64_copy(module: nn.Module) -> nn.Module:
    """An evaluation-mode float64 copy of ``module`` (completeness is then limited by the
    quadrature, not by float32 rounding); the module itself, in evaluation mode, where it cannot
    be converted (an int8 network)."""
    try:
        return copy.deepcopy(module).double().eval()
    except (RuntimeError, TypeError, NotImplementedError) as exc:
        log.info("float64_copy: %s stays as it is (%s)", type(module).__name__, exc)
        return module.eval()


def module_dtype(module: nn.Module) -> torch.dtype:
    """The dtype of ``module``'s first floating-point parameter (float32 if it has none)."""
    return next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)


# ---------------------------------------------------------------------- checks
def _check_forward(forward: Callable[..., Tensor]) -> None:
    if not callable(forward):
        raise ValueError(f"forward: expected a callable, got {type(forward).__name__}")
    if isinstance(forward, nn.Module) and forward.training:
        raise ValueError(
            "forward: the module is in training mode (dropout makes attributions random); call .eval()"
        )


def _check_inputs(name: str, inputs: Any) -> Tensor:
    if not isinstance(inputs, Tensor) or not inputs.is_floating_point() or inputs.dim() < 1:
        got = (
            f"{inputs.dtype} tensor of shape {tuple(inputs.shape)}"
            if isinstance(inputs, Tensor)
            else type(inputs).__name__
        )
        raise ValueError(f"{name}: expected a floating-point tensor (N, ...), got a {got}")
    if inputs.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one example, got shape {tuple(inputs.shape)}")
    return inputs


def _check_baselines(baselines: Tensor | float | None, inputs: Tensor) -> Tensor:
    """The baselines as a tensor of the inputs' shape (default zeros)."""
    if baselines is None:
        return torch.zeros_like(inputs)
    if isinstance(baselines, (int, float)) and not isinstance(baselines, bool):
        return torch.full_like(inputs, float(baselines))
    if not isinstance(baselines, Tensor):
        raise ValueError(f"baselines: expected None, a number or a tensor, got {type(baselines).__name__}")
    try:
        return torch.broadcast_to(baselines.to(inputs), inputs.shape).contiguous()
    except RuntimeError:
        raise ValueError(
            f"baselines: expected a shape broadcastable to the inputs' {tuple(inputs.shape)}, "
            f"got {tuple(baselines.shape)}"
        ) from None


def _check_steps(n_steps: int, method: str) -> None:
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 2:
        raise ValueError(f"n_steps: expected an int >= 2, got {n_steps!r}")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")


def _target_tensor(target: Target, n: int, device: torch.device) -> Tensor | None:
    """``target`` as (N,) int64 class indices, or ``None``."""
    if target is None:
        return None
    t = torch.as_tensor(target, dtype=torch.long, device=device) if not isinstance(target, Tensor) else target
    if t.dtype not in (torch.int64, torch.int32) or t.dim() > 1:
        raise ValueError(f"target: expected an int or (N,) ints, got {t.dtype} of shape {tuple(t.shape)}")
    t = t.long().to(device).expand(n) if t.dim() == 0 else t.long().to(device)
    if t.shape[0] != n:
        raise ValueError(f"target: expected {n} class indices (one per example), got {t.shape[0]}")
    return t


def _as_args(additional_args: Any) -> tuple[Any, ...]:
    if additional_args is None:
        return ()
    return tuple(additional_args) if isinstance(additional_args, (tuple, list)) else (additional_args,)


# ---------------------------------------------------------------------- integrated gradients
def _check_refinement(tolerance: float | None, n_steps: int, max_steps: int) -> None:
    if tolerance is not None and (isinstance(tolerance, bool) or not tolerance > 0):
        raise ValueError(f"tolerance: expected a positive number or None, got {tolerance!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < n_steps:
        raise ValueError(f"max_steps: expected an int >= n_steps ({n_steps}), got {max_steps!r}")


def _refined(
    compute: Callable[[Tensor, int], Tensor],
    out: Tensor,
    base: Tensor,
    *,
    n_steps: int,
    tolerance: float | None,
    max_steps: int,
) -> Attribution:
    """Attributions ``compute(rows, steps)`` of every example with ``n_steps``; with a
    ``tolerance``, the examples whose relative gap exceeds it again with twice the steps, until
    none does or ``max_steps`` is reached."""
    n = out.shape[0]
    rows = torch.arange(n, device=out.device)
    values = compute(rows, n_steps).detach()
    steps = n_steps
    while True:
        attr = Attribution(values, values.reshape(n, -1).sum(1) - (out - base), out, base)
        if tolerance is None or 2 * steps > max_steps:
            return attr
        rows = torch.nonzero(relative_gap(attr) > tolerance)[:, 0]
        if not len(rows):
            return attr
        steps *= 2
        values = values.clone()
        values[rows] = compute(rows, steps).detach()


def integrated_gradients(
    forward: Callable[..., Tensor],
    inputs: Tensor,
    baselines: Tensor | float | None = None,
    *,
    target: Target = None,
    n_steps: int = 128,
    method: str = "gausslegendre",
    additional_args: Any = None,
    internal_batch_size: int | None = None,
    tolerance: float | None = None,
    max_depth: int = 20,
) -> Attribution:
    """Integrated gradients of ``forward`` at ``inputs`` from ``baselines`` (captum's
    :class:`~captum.attr.IntegratedGradients`).

    Args:
        forward: ``forward(inputs, *additional_args)`` -> (N,) or (N, K) with ``target``.
        inputs: (N, ...) floating-point.
        baselines: a tensor broadcastable to ``inputs``, a number, or ``None`` (zeros).
        target: (N,) class indices (or one int) of (N, K) outputs; ``None`` for (N,) outputs.
        n_steps: quadrature points of the path integral (of each segment, see ``tolerance``).
        method: one of :data:`METHODS`.
        additional_args: further arguments of ``forward`` (tensors with a batch dimension N
            are repeated along the path by captum).
        internal_batch_size: examples x steps evaluated at once (``None``: all).
        tolerance: the relative completeness gap (:func:`relative_gap`) to reach. The path of
            an example above it is cut in halves, each integrated with ``n_steps`` points, and
            a half whose own gap exceeds its share of the tolerance is halved again (adaptive
            quadrature: steep transitions of saturated units and ReLU kinks get the points).
            ``None``: one pass of ``n_steps``.
        max_depth: the most halvings of a segment.

    Returns:
        an :class:`Attribution` (``values`` the shape of ``inputs``).
    """
    _check_forward(forward)
    x = _check_inputs("inputs", inputs).detach()
    b = _check_baselines(baselines, x).detach()
    _check_steps(n_steps, method)
    _check_refinement(tolerance, n_steps, n_steps)
    check_depth(max_depth)
    tgt = _target_tensor(target, x.shape[0], x.device)
    args = _as_args(additional_args)
    out, base = scalar_outputs(forward, x, args, tgt), scalar_outputs(forward, b, args, tgt)
    path = Path(forward, x, b, tgt, args, n_steps, method, internal_batch_size)
    whole = torch.arange(x.shape[0], device=x.device)
    ones = torch.ones(x.shape[0], dtype=torch.float64)
    values, delta = path.segments(whole, 0 * ones, ones)
    attr = Attribution(values, delta, out, base)
    if tolerance is None or max_depth == 0:
        return attr
    bad = torch.nonzero(relative_gap(attr) > tolerance)[:, 0]
    if len(bad):
        budget = tolerance * (out - base).abs().to(torch.float64)
        values = bisect(path, values, bad, budget, max_depth)
        attr = Attribution(values, values.reshape(x.shape[0], -1).sum(1) - (out - base), out, base)
    return attr


def layer_integrated_gradients(
    forward: Callable[..., Tensor],
    layer: nn.Module,
    inputs: Tensor,
    baselines: Tensor,
    *,
    target: Target = None,
    n_steps: int = 128,
    method: str = "gausslegendre",
    additional_args: Any = None,
    tolerance: float | None = None,
    max_steps: int = 4096,
) -> Attribution:
    """Integrated gradients over the output of ``layer`` (captum's
    :class:`~captum.attr.LayerIntegratedGradients`): the path runs from the layer's output at
    ``baselines`` to its output at ``inputs``. For token ids (N, L) and an embedding layer the
    attributions are (N, L, E); a token's attribution is their sum over E.

    Args:
        forward, target, n_steps, method, additional_args, tolerance, max_steps: as
            :func:`integrated_gradients`.
        layer: a submodule that ``forward`` calls once.
        inputs: (N, ...) the inputs of ``forward`` (any dtype, e.g. int64 token ids).
        baselines: the baseline inputs, the shape of ``inputs`` (e.g. padding tokens, whose
            embedding is zero).
    """
    _check_forward(forward)
    if not isinstance(layer, nn.Module):
        raise ValueError(f"layer: expected an nn.Module, got {type(layer).__name__}")
    if not isinstance(inputs, Tensor) or not isinstance(baselines, Tensor) or inputs.shape != baselines.shape:
        shapes = [tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__ for t in (inputs, baselines)]
        raise ValueError(f"baselines: expected a tensor the shape of inputs {shapes[0]}, got {shapes[1]}")
    _check_steps(n_steps, method)
    _check_refinement(tolerance, n_steps, max_steps)
    tgt = _target_tensor(target, inputs.shape[0], inputs.device)
    args = _as_args(additional_args)
    out, base = scalar_outputs(forward, inputs, args, tgt), scalar_outputs(forward, baselines, args, tgt)
    lig, n = LayerIntegratedGradients(forward, layer), inputs.shape[0]

    def compute(rows: Tensor, steps: int) -> Tensor:
        with torch.enable_grad():
            values = lig.attribute(
                inputs[rows],
                baselines=baselines[rows],
                target=None if tgt is None else tgt[rows],
                additional_forward_args=batch_rows(args, rows, n) or None,
                n_steps=steps,
                method=method,
            )
        assert isinstance(values, Tensor)
        return values

    return _refined(compute, out, base, n_steps=n_steps, tolerance=tolerance, max_steps=max_steps)


# ---------------------------------------------------------------------- occlusion
def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _window_shape(
    name: str, value: int | Sequence[int], dims: Sequence[int], fill: Sequence[int]
) -> tuple[int, ...]:
    """An int (the first non-batch dimension; ``fill`` for the others) or one int per dimension."""
    if _is_int(value):
        shape = (int(value), *fill)  # type: ignore[arg-type]
    elif isinstance(value, Sequence) and all(_is_int(v) for v in value):
        shape = tuple(int(v) for v in value)
    else:
        raise ValueError(f"{name}: expected an int or a tuple of ints, got {value!r}")
    if len(shape) != len(dims) or any(not 1 <= s <= d for s, d in zip(shape, dims)):
        raise ValueError(
            f"{name}: expected {len(dims)} sizes (one per non-batch dimension) within {list(dims)}, "
            f"got {shape}"
        )
    return shape


def occlusion(
    forward: Callable[..., Tensor],
    inputs: Tensor,
    *,
    window: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    baseline: float = 0.0,
    target: Target = None,
    additional_args: Any = None,
) -> Tensor:
    """Occlusion attributions (captum's :class:`~captum.attr.Occlusion`): each element gets the
    mean drop ``f(x) - f(x with a window set to baseline)`` over the windows covering it.

    Args:
        forward, target, additional_args: as :func:`integrated_gradients`.
        inputs: (N, L) or (N, L, C) (any further dimensions too).
        window: the occluded block: an int for ``window`` time steps across all channels, or one
            size per non-batch dimension, e.g. ``(3, 1)`` for 3 steps of one channel.
        stride: steps between windows: an int (time; the other dimensions step by the window's
            size there) or one per non-batch dimension.
        baseline: the value occluded elements take (0: the mean of standardized inputs).

    Returns:
        (inputs' shape) the attributions.
    """
    _check_forward(forward)
    x = _check_inputs("inputs", inputs).detach()
    dims = tuple(x.shape[1:])
    win = _window_shape("window", window, dims, dims[1:])
    step = _window_shape("stride", stride, dims, win[1:])
    if isinstance(baseline, bool) or not isinstance(baseline, (int, float)):
        raise ValueError(f"baseline: expected a number, got {baseline!r}")
    tgt = _target_tensor(target, x.shape[0], x.device)
    args = _as_args(additional_args)
    scalar_outputs(forward, x, args, tgt)  # checks the output's shape
    with torch.no_grad():
        values = Occlusion(forward).attribute(
            x,
            sliding_window_shapes=win,
            strides=step,
            baselines=float(baseline),
            target=tgt,
            additional_forward_args=args or None,
        )
    assert isinstance(values, Tensor)
    return values.detach()


# ---------------------------------------------------------------------- agreement
def _ranks(v: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank."""
    order = np.argsort(v, kind="stable")
    sorted_v = v[order]
    starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
    ends = np.r_[starts[1:], len(v)]
    mean_rank = (starts + ends + 1) / 2.0  # ranks start..end-1 (0-based) -> mean of 1-based
    ranks = np.empty(len(v))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def rank_agreement(a: Any, b: Any) -> float:
    """Spearman's rank correlation of two score vectors (n,) (e.g. attention weights and
    attributions of the same tokens): the Pearson correlation of their ranks, ties averaged;
    NaN when either is constant."""
    x = np.asarray(a.detach().cpu() if isinstance(a, Tensor) else a, dtype=np.float64)
    y = np.asarray(b.detach().cpu() if isinstance(b, Tensor) else b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"b: expected two vectors of one length >= 2, got shapes {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("a, b: expected finite values")
    rx, ry = _ranks(x) - (len(x) + 1) / 2.0, _ranks(y) - (len(y) + 1) / 2.0
    denom = float(np.sqrt((rx**2).sum() * (ry**2).sum()))
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")

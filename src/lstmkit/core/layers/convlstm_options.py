"""The geometry arguments of :class:`~lstmkit.core.layers.convlstm.ConvLSTM`, checked, and Keras's
ConvLSTM weights in lstmkit's layout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lstmkit.core.cells.convlstm import ConvLSTMSpec

__all__ = ["ConvOptions", "keras_params"]


def _per_dim(name: str, value: object, dims: int, low: int) -> tuple[int, ...]:
    """An int or a sequence of ``dims`` ints, each >= ``low``, as a tuple; one-line errors."""
    items = [value] * dims if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(items, Sequence)
        or isinstance(items, str)
        or len(items) != dims
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= low for v in items)
    ):
        raise ValueError(
            f"{name}: expected an int >= {low} or {dims} of them (one per spatial dimension), got {value!r}"
        )
    return tuple(int(v) for v in items)


@dataclass(frozen=True)
class ConvOptions:
    """The checked geometry of a ConvLSTM (its constructor's arguments of the same names)."""

    dims: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: str | tuple[int, ...]
    dilation: tuple[int, ...]
    spatial_size: tuple[int, ...] | None

    @classmethod
    def check(
        cls,
        dims: object,
        kernel_size: object,
        stride: object,
        padding: object,
        dilation: object,
        spatial_size: object,
        peepholes: object,
    ) -> ConvOptions:
        if isinstance(dims, bool) or dims not in (1, 2, 3):
            raise ValueError(f"dims: expected 1, 2 or 3 spatial dimensions, got {dims!r}")
        assert isinstance(dims, int)
        kernel = _per_dim("kernel_size", kernel_size, dims, 1)
        strides = _per_dim("stride", stride, dims, 1)
        dilations = _per_dim("dilation", dilation, dims, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"padding: expected 'same', 'valid' or ints, got {padding!r}")
            if padding == "same" and strides != (1,) * dims:
                raise ValueError(
                    f"padding: 'same' needs stride 1 (torch's convolutions); got stride={stride!r}"
                )
            pad: str | tuple[int, ...] = padding
        else:
            pad = _per_dim("padding", padding, dims, 0)
        spatial = None if spatial_size is None else _per_dim("spatial_size", spatial_size, dims, 1)
        if peepholes is True and spatial is None:
            raise ValueError(
                "spatial_size: required with peepholes=True (a peephole weight per position), got None"
            )
        return cls(dims, kernel, strides, pad, dilations, spatial)

    def spec(self, layer: int, peepholes: bool, layer_norm: bool) -> ConvLSTMSpec:
        """The cell of ``layer``: the first layer's input convolution has this geometry, the
        others stride 1, "same" padding, no dilation."""
        ones = (1,) * self.dims
        geometry: tuple[tuple[int, ...], str | tuple[int, ...], tuple[int, ...]] = (
            (self.stride, self.padding, self.dilation) if layer == 0 else (ones, "same", ones)
        )
        return ConvLSTMSpec(self.dims, self.kernel_size, *geometry, peepholes, layer_norm)


def _array(value: Any, what: str) -> Tensor:
    try:
        return torch.as_tensor(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"weights: {what}: expected an array, got {type(value).__name__}") from None


def _one_layer(found: Any, layer: int) -> dict[str, Tensor]:
    """One Keras layer's ``[kernel, recurrent_kernel, bias]`` (or a dict of those names) in
    lstmkit's names and layout."""
    if isinstance(found, Mapping):
        names = ("kernel", "recurrent_kernel", "bias")
        found = [found[n] for n in names if n in found]
    if not isinstance(found, Sequence) or len(found) not in (2, 3):
        raise ValueError(
            f"weights: layer {layer}: expected [kernel, recurrent_kernel, bias] as layer.get_weights() "
            f"returns, got {type(found).__name__}"
        )
    kernel, recurrent = _array(found[0], "kernel"), _array(found[1], "recurrent_kernel")
    if kernel.dim() < 3 or recurrent.dim() != kernel.dim():
        raise ValueError(
            f"weights: layer {layer}: expected kernel (*k, C_in, 4F) and recurrent_kernel (*k, F, 4F), "
            f"got {tuple(kernel.shape)} and {tuple(recurrent.shape)}"
        )
    spatial = kernel.dim() - 2
    order = (spatial + 1, spatial, *range(spatial))  # (*k, C, 4F) -> (4F, C, *k)
    out = {"weight_ih": kernel.permute(order), "weight_hh": recurrent.permute(order)}
    if len(found) == 3:
        out["bias_ih"] = _array(found[2], "bias")
    return out


def keras_params(weights: Any) -> list[dict[str, Tensor]]:
    """Keras ConvLSTM weights (one layer's list, or a list of them) as lstmkit's parameters of
    each layer (float64 tensors, PyTorch layout)."""
    if isinstance(weights, Sequence) and weights and isinstance(weights[0], (Sequence, Mapping)):
        first = weights[0]
        nested = isinstance(first, Mapping) or (len(first) > 0 and not isinstance(first[0], (int, float)))
        if nested and not hasattr(first, "shape"):
            return [_one_layer(w, k) for k, w in enumerate(weights)]
    return [_one_layer(weights, 0)]

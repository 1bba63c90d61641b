"""ConvLSTM training speed: lstmkit.ConvLSTM against plain PyTorch loops of ``conv2d`` + gates.

Two anchors, both the ConvLSTM as it is usually written in PyTorch (the gate math under
autograd, NCHW maps, the same weights):

* *two convs*: ``conv2d(x_t, W_ih) + conv2d(h, W_hh)`` per step (Keras's ConvLSTM cell does its
  input and recurrent convolutions so);
* *one conv*: ``conv2d(cat([x_t, h]), [W_ih, W_hh])`` per step (the widely copied PyTorch
  ConvLSTM cell).

lstmkit runs its ``auto`` engine (the fused one on the CPU) and its reference loop. Used by
``benchmarks/speed.py`` (its ConvLSTM table; ``--convlstm-only`` prints that table alone).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit import ConvLSTM

# (L, N, C_in, F, H=W, kernel)
SHAPES = [(10, 16, 1, 64, 64, 3), (10, 16, 16, 64, 16, 5)]
QUICK_SHAPES = [(4, 2, 1, 8, 16, 3)]


class PlainConvLSTM(nn.Module):
    """The usual PyTorch ConvLSTM: per step ``conv2d(x_t) + conv2d(h)`` (``one_conv=False``) or
    ``conv2d(cat([x_t, h]))``, then the gate math."""

    def __init__(self, layer: ConvLSTM, one_conv: bool) -> None:
        super().__init__()
        p = layer.params(0)
        assert p.bias_ih is not None and p.bias_hh is not None
        self.one_conv, self.hidden = one_conv, layer.hidden_channels
        self.weight = nn.Parameter(torch.cat([p.weight_ih, p.weight_hh], 1).detach().clone())
        self.bias = nn.Parameter((p.bias_ih + p.bias_hh).detach().clone())
        self.weight_ih = nn.Parameter(p.weight_ih.detach().clone())
        self.weight_hh = nn.Parameter(p.weight_hh.detach().clone())

    def _z(self, x_t: Tensor, h: Tensor) -> Tensor:
        if self.one_conv:
            return F.conv2d(torch.cat([x_t, h], 1), self.weight, self.bias, padding="same")
        return F.conv2d(x_t, self.weight_ih, self.bias, padding="same") + F.conv2d(
            h, self.weight_hh, padding="same"
        )

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        n, steps, _, height, width = x.shape
        h = x.new_zeros(n, self.hidden, height, width)
        c = torch.zeros_like(h)
        outputs = []
        for t in range(steps):
            z = self._z(x[:, t], h)
            i, f, g, o = z.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, 1), (h, c)


def _train(module: nn.Module, x: Tensor) -> Callable[[], object]:
    def job() -> object:
        out, _ = module(x)
        out.sum().backward()
        module.zero_grad(set_to_none=True)
        return None

    return job


def convlstm_table(timer: Any, quick: bool, log: Callable[[str], None]) -> str:
    """The markdown table: fwd+bwd ms of the plain loop, lstmkit auto and reference, and ratios."""
    rows = []
    for L, N, C, Fh, S, k in QUICK_SHAPES if quick else SHAPES:
        log(f"ConvLSTM (L, N, C_in -> F, HxW, k) = ({L}, {N}, {C} -> {Fh}, {S}x{S}, {k}) ...")
        torch.manual_seed(0)
        x = torch.rand(N, L, C, S, S)
        fast = ConvLSTM(C, Fh, k).train()
        reference = ConvLSTM(C, Fh, k, engine="reference").train()
        reference.load_state_dict(fast.state_dict())
        plain = {name: PlainConvLSTM(fast, one).train() for name, one in (("two", False), ("one", True))}
        with torch.no_grad():  # all compute the same function
            for loop in plain.values():
                diff = (loop(x)[0] - fast(x)[0]).abs().max().item()
                assert diff < 1e-4, f"the plain loop and lstmkit differ by {diff}"
        jobs = {name: _train(loop, x) for name, loop in plain.items()}
        jobs |= {"auto": _train(fast, x), "reference": _train(reference, x)}
        ms = timer.run(jobs)
        ratios = " | ".join(f"{ms[name] / ms['auto']:.2f}" for name in ("two", "one", "reference"))
        times = " | ".join(f"{ms[name]:.0f}" for name in ("two", "one", "auto", "reference"))
        rows.append(f"| ({L}, {N}, {C} -> {Fh}, {S}x{S}, {k}x{k}) | {times} | {ratios} |")
    head = (
        "| shape (L, N, C_in -> F, HxW, kernel) | plain, two convs ms | plain, one conv ms | "
        "lstmkit.ConvLSTM (auto) ms | lstmkit reference ms | two convs / auto | one conv / auto "
        "| reference / auto |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    return head + "\n" + "\n".join(rows)

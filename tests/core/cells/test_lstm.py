"""Each LSTM variant against a deliberately naive implementation of its published equations.

The naive model keeps one matrix per gate (W_* input, R_* recurrent, p_* peephole, b_* bias),
in the notation of Greff et al. 2017 ("LSTM: A Search Space Odyssey", eqs. in section 2),
and is written without reference to lstmkit's code. The variant flags below are taken from
the paper's definitions, not from lstmkit's VARIANTS table, so a wrong table fails here.
"""

from __future__ import annotations

import math
import zlib

import pytest
import torch
from tests.helpers import assert_close
from torch import Tensor

from lstmkit import LSTM
from lstmkit.core.cells import (
    VARIANTS,
    LSTMParams,
    LSTMSpec,
    lstm_cell,
    lstm_initial_state,
    lstm_param_shapes,
)

# name: (has input gate, has forget gate, has output gate, peepholes, CIFG, FGR, g, h)
GREFF = {
    "vanilla": (True, True, True, True, False, False, "tanh", "tanh"),
    "nig": (False, True, True, True, False, False, "tanh", "tanh"),
    "nfg": (True, False, True, True, False, False, "tanh", "tanh"),
    "nog": (True, True, False, True, False, False, "tanh", "tanh"),
    "niaf": (True, True, True, True, False, False, "id", "tanh"),
    "noaf": (True, True, True, True, False, False, "tanh", "id"),
    "np": (True, True, True, False, False, False, "tanh", "tanh"),
    "cifg": (True, True, True, True, True, False, "tanh", "tanh"),
    "fgr": (True, True, True, True, False, True, "tanh", "tanh"),
    "classic": (True, True, True, False, False, False, "tanh", "tanh"),
    # Hochreiter & Schmidhuber 1997: no forget gate, no peepholes, g in [-2,2], h in [-1,1].
    "original1997": (True, False, True, False, False, False, "g97", "h97"),
}

SQUASH = {
    "tanh": torch.tanh,
    "id": lambda x: x,
    "g97": lambda x: 4.0 / (1.0 + torch.exp(-x)) - 2.0,
    "h97": lambda x: 2.0 / (1.0 + torch.exp(-x)) - 1.0,
}


def logistic(x: Tensor) -> Tensor:
    return 1.0 / (1.0 + torch.exp(-x))


def naive_lstm(flags, x, W, R, b, p, F, h0, c0):
    """Greff et al. eqs: z (block input), i, f, c, o, y; F[(target, source)] for FGR."""
    has_i, has_f, has_o, peep, cifg, fgr, g_name, h_name = flags
    g, hh = SQUASH[g_name], SQUASH[h_name]
    y, c = h0, c0
    prev = {k: torch.zeros_like(c0) for k in "ifo"}
    outs, cells = [], []
    for t in range(x.shape[0]):
        xt = x[t]

        def pre(k, cell, xt=xt, y=y, prev=prev):
            s = xt @ W[k].T + y @ R[k].T + b[k]
            if peep:
                s = s + p[k] * cell
            if fgr:
                for src in "ifo":
                    s = s + prev[src] @ F[(k, src)].T
            return s

        z = g(xt @ W["z"].T + y @ R["z"].T + b["z"])
        i = logistic(pre("i", c)) if has_i else torch.ones_like(c)
        if not has_f:
            f = torch.ones_like(c)
        elif cifg:
            f = 1 - i
        else:
            f = logistic(pre("f", c))
        c = z * i + c * f
        o = logistic(pre("o", c)) if has_o else torch.ones_like(c)
        y = hh(c) * o
        prev = {"i": i, "f": f, "o": o}
        outs.append(y)
        cells.append(c)
    return torch.stack(outs), y, c, torch.stack(cells)


def random_weights(I, H, dtype, gen):
    def r(*shape):
        return (torch.rand(*shape, generator=gen, dtype=dtype) * 2 - 1) * 0.6

    W = {k: r(H, I) for k in "zifo"}
    R = {k: r(H, H) for k in "zifo"}
    b = {k: r(H) for k in "zifo"}
    p = {k: r(H) for k in "ifo"}
    F = {(t, s): r(H, H) for t in "ifo" for s in "ifo"}
    return W, R, b, p, F


def load_into(layer: LSTM, flags, W, R, b, p, F) -> None:
    """Write the naive per-gate weights into lstmkit's stacked i, f, g, o layout."""
    has_i, has_f, has_o, peep, cifg, fgr, *_ = flags
    order = [k for k, on in (("i", has_i), ("f", has_f and not cifg), ("z", True), ("o", has_o)) if on]
    sig = [k for k in order if k != "z"]
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.cat([W[k] for k in order]))
        layer.weight_hh_l0.copy_(torch.cat([R[k] for k in order]))
        # split the bias arbitrarily between the two bias vectors
        layer.bias_ih_l0.copy_(torch.cat([0.3 * b[k] for k in order]))
        layer.bias_hh_l0.copy_(torch.cat([0.7 * b[k] for k in order]))
        if peep:
            layer.weight_ch_l0.copy_(torch.stack([p[k] for k in sig]))
        if fgr:
            # FGR feeds back the previous i, f, o; in CIFG-free FGR all three have weights
            layer.weight_gh_l0.copy_(torch.cat([torch.cat([F[(t, s)] for s in sig], 1) for t in sig]))


@pytest.mark.parametrize("name", sorted(GREFF))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_variant_matches_naive_equations(name: str, dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    I, H, T, N = 3, 5, 7, 4
    flags = GREFF[name]
    W, R, b, p, F = random_weights(I, H, dtype, gen)
    layer = LSTM(I, H, variant=name, dtype=dtype)
    load_into(layer, flags, W, R, b, p, F)
    x = torch.randn(T, N, I, generator=gen, dtype=dtype)
    h0 = torch.randn(N, H, generator=gen, dtype=dtype) * 0.5
    c0 = torch.randn(N, H, generator=gen, dtype=dtype) * 0.5
    state = (
        (h0[None], c0[None]) if not flags[5] else (h0[None], c0[None], torch.zeros(1, N, 3 * H, dtype=dtype))
    )
    out, final, cells = layer(x, state, return_cell_states=True)
    ref_out, ref_h, ref_c, ref_cells = naive_lstm(flags, x, W, R, b, p, F, h0, c0)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert_close(out, ref_out, tol, f"{name} output")
    assert_close(final.h[0], ref_h, tol, f"{name} h_n")
    assert_close(final.c[0], ref_c, tol, f"{name} c_n")
    assert_close(cells, ref_cells, tol, f"{name} all c_t")


def test_variant_table_flags() -> None:
    """The named specs are the published variants (spot checks of the table's meaning)."""
    assert VARIANTS["classic"] == LSTMSpec()
    assert VARIANTS["cifg"].gates == ("i", "g", "o") and VARIANTS["cifg"].coupled
    assert VARIANTS["nig"].gates == ("f", "g", "o")
    assert VARIANTS["original1997"].gates == ("i", "g", "o") and not VARIANTS["original1997"].peepholes
    assert VARIANTS["fgr"].sigmoid_gates == ("i", "f", "o")


def naive_layer_norm_lstm(x, Wx, Wh, b, ax, ah, ac, bc, h0, c0, eps=1e-5):
    """Ba et al. 2016, LN-LSTM: LN over the whole 4H pre-activation of each product, and of c."""

    def ln(v, gain, shift=None):
        mu = v.mean(-1, keepdim=True)
        var = ((v - mu) ** 2).mean(-1, keepdim=True)
        out = gain * (v - mu) / torch.sqrt(var + eps)
        return out if shift is None else out + shift

    h, c = h0, c0
    outs = []
    for t in range(x.shape[0]):
        a = ln(x[t] @ Wx.T, ax) + ln(h @ Wh.T, ah) + b
        i, f, g, o = a.chunk(4, -1)
        c = logistic(f) * c + logistic(i) * torch.tanh(g)
        h = logistic(o) * torch.tanh(ln(c, ac, bc))
        outs.append(h)
    return torch.stack(outs), h, c


def test_layer_norm_matches_ba_et_al() -> None:
    torch.manual_seed(3)
    I, H, T, N = 4, 6, 5, 3
    layer = LSTM(I, H, layer_norm=True, dtype=torch.float64)
    with torch.no_grad():
        for name in ("ln_ih_weight_l0", "ln_hh_weight_l0", "ln_c_weight_l0", "ln_c_bias_l0"):
            getattr(layer, name).uniform_(0.5, 1.5)
    x = torch.randn(T, N, I, dtype=torch.float64)
    out, (h, c) = layer(x)
    ref_out, ref_h, ref_c = naive_layer_norm_lstm(
        x,
        layer.weight_ih_l0,
        layer.weight_hh_l0,
        layer.bias_ih_l0 + layer.bias_hh_l0,
        layer.ln_ih_weight_l0,
        layer.ln_hh_weight_l0,
        layer.ln_c_weight_l0,
        layer.ln_c_bias_l0,
        torch.zeros(N, H, dtype=torch.float64),
        torch.zeros(N, H, dtype=torch.float64),
    )
    assert_close(out, ref_out, 1e-12, "LN output")
    assert_close(h[0], ref_h, 1e-12, "LN h_n")
    assert_close(c[0], ref_c, 1e-12, "LN c_n")


def test_projection_cell_math() -> None:
    """h_t = W_hr (o * tanh(c_t)); the recurrent product reads the projected h."""
    torch.manual_seed(4)
    spec = VARIANTS["classic"]
    shapes = lstm_param_shapes(spec, 3, 6, proj_size=2)
    params = LSTMParams(**{k: torch.randn(s, dtype=torch.float64) for k, s in shapes.items()})
    state = lstm_initial_state(spec, (4,), 6, 2, dtype=torch.float64)
    state = state._replace(h=torch.randn(4, 2, dtype=torch.float64), c=torch.randn(4, 6, dtype=torch.float64))
    x = torch.randn(4, 3, dtype=torch.float64)
    new = lstm_cell(x, state, params, spec)
    gates = x @ params.weight_ih.T + params.bias_ih + state.h @ params.weight_hh.T + params.bias_hh
    i, f, g, o = gates.chunk(4, -1)
    c = torch.sigmoid(f) * state.c + torch.sigmoid(i) * torch.tanh(g)
    h = (torch.sigmoid(o) * torch.tanh(c)) @ params.weight_hr.T
    assert_close(new.c, c, 1e-12, "c")
    assert_close(new.h, h, 1e-12, "projected h")


def test_forget_bias_and_orthogonal_init() -> None:
    layer = LSTM(3, 8, variant="vanilla", forget_bias=1.0, recurrent_init="orthogonal")
    f = slice(8, 16)
    assert torch.all(layer.bias_ih_l0[f] == 1.0) and torch.all(layer.bias_hh_l0[f] == 0.0)
    for block in layer.weight_hh_l0.chunk(4):
        assert_close(block @ block.T, torch.eye(8), 1e-5, "orthogonal block")
    # the default is PyTorch's uniform(-1/sqrt(H), 1/sqrt(H))
    plain = LSTM(3, 8)
    bound = 1 / math.sqrt(8)
    assert all(p.abs().max() <= bound for p in plain.parameters())
    # CIFG has no forget block: forget_bias leaves its biases alone
    cifg = LSTM(3, 8, variant="cifg", forget_bias=1.0)
    assert not torch.any(cifg.bias_ih_l0 == 1.0)

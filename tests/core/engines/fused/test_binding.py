"""The fused kernel against the reference path: outputs, states and every gradient.

Every variant of the family (plus layer norm on the classic and the FGR cell) is run over the
options of the layer: projection, reverse direction, padded batches (with a zero length),
zoneout keep masks, variational dropout masks on x and h, every step's state returned.
float64 must agree to 1e-10 and float32 to 1e-5 (gradients: 1e-5 relative to their largest
entry when that exceeds 1); a float64 gradcheck covers the autograd Function itself, and a
float32 run is checked to be as accurate (against float64) as the reference path.
"""

from __future__ import annotations

import importlib

import pytest
import torch
from tests.helpers import TOL, assert_close
from torch import Tensor

from lstmkit.core.cells import (
    VARIANTS,
    LSTMParams,
    LSTMSpec,
    lstm_initial_state,
    lstm_input_projection,
    lstm_param_shapes,
)
from lstmkit.core.cells.lstm import lstm_step
from lstmkit.core.engines.fused.binding import (
    GRADIENTS,
    OUTPUTS,
    FusedLSTMFunction,
    KernelMasks,
    kernel_config,
    lstm_fused,
    zoneout_keep_of_seeds,
)
from lstmkit.core.engines.fused.build import require_extension
from lstmkit.core.layers import LSTM
from lstmkit.core.layers.regularizers import zoneout, zoneout_keep
from lstmkit.core.scan import RunResult, run

SPECS: dict[str, LSTMSpec] = {
    **VARIANTS,
    "classic+ln": VARIANTS["classic"].with_options(layer_norm=True),
    "fgr+ln": VARIANTS["fgr"].with_options(layer_norm=True),
    "cifg+ln": VARIANTS["cifg"].with_options(layer_norm=True),
}
# (proj_size, reverse, padded, zoneout, dropout masks, return_states)
OPTIONS = {
    "plain": (0, False, False, False, False, False),
    "proj-reverse-padded": (3, True, True, False, False, False),
    "zoneout-dropout-padded": (0, False, True, True, True, False),
    "everything-reverse": (3, True, True, True, True, True),
}


@pytest.fixture(scope="module", autouse=True)
def _extension() -> None:
    require_extension()  # these tests are about the compiled kernel: fail loudly without it


def reference(
    x: Tensor,
    state: tuple[Tensor, ...],
    params: LSTMParams,
    spec: LSTMSpec,
    x_mask: Tensor | None,
    h_mask: Tensor | None,
    keep: tuple[Tensor, Tensor] | None,
    mask: Tensor | None,
    reverse: bool,
    return_states: bool,
) -> RunResult:
    """The reference path, written out as nn.LSTM's reference engine does it."""
    xw = lstm_input_projection(x, params, spec, x_mask)
    if keep is None:
        return run(
            lambda xt, s: lstm_step(xt, s, params, spec, h_mask),
            xw,
            state,
            mask=mask,
            reverse=reverse,
            return_states=return_states,
        )

    def zoned(inp: tuple[Tensor, ...], s: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        xt, kh, kc = inp
        new = lstm_step(xt, s, params, spec, h_mask)  # type: ignore[arg-type]
        return new._replace(h=zoneout(s[0], new.h, kh), c=zoneout(s[1], new.c, kc))

    return run(zoned, (xw, *keep), state, mask=mask, reverse=reverse, return_states=return_states)


def make_case(
    spec: LSTMSpec,
    option: str,
    dtype: torch.dtype,
    L: int = 5,
    N: int = 3,
    I: int = 4,
    H: int = 6,
    scale: float = 0.5,
):
    proj, reverse, padded, zone, drop, states = OPTIONS[option]
    h_out = proj or H
    shapes = lstm_param_shapes(spec, I, H, proj)
    params = LSTMParams(
        **{k: (torch.randn(s, dtype=dtype) * scale).requires_grad_() for k, s in shapes.items()}
    )
    x = torch.randn(L, N, I, dtype=dtype, requires_grad=True)
    state = tuple(
        torch.randn_like(t).requires_grad_() for t in lstm_initial_state(spec, (N,), H, proj, dtype=dtype)
    )
    state = type(lstm_initial_state(spec, (N,), H, proj, dtype=dtype))(*state)
    kw: dict = {"reverse": reverse, "return_states": states}
    if padded:
        lengths = torch.tensor([L, max(L - 3, 1), 0] + [L] * (N - 3))[:N]
        kw["mask"] = torch.arange(L).unsqueeze(1) < lengths.unsqueeze(0)
    if zone:
        kw["keep_h"] = torch.bernoulli(torch.full((L, N, h_out), 0.3, dtype=dtype))
        kw["keep_c"] = torch.bernoulli(torch.full((L, N, H), 0.3, dtype=dtype))
    if drop:
        kw["h_mask"] = torch.bernoulli(torch.full((N, h_out), 0.7, dtype=dtype)) / 0.7
        kw["x_mask"] = torch.bernoulli(torch.full((N, I), 0.7, dtype=dtype)) / 0.7
    return x, state, params, kw


def loss_of(res: RunResult) -> Tensor:
    """A loss that weighs every output, the final state and (if any) every step's state."""
    out = res.output
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum()
    loss = loss + sum((s * s).sum() * 0.3 for s in res.state)
    if res.states is not None:
        loss = loss + sum((s * 0.7).sin().sum() for s in res.states)
    return loss


def check_against_reference(spec: LSTMSpec, option: str, dtype: torch.dtype, **sizes: float) -> None:
    x, state, params, kw = make_case(spec, option, dtype, **sizes)  # type: ignore[arg-type]
    keep = (kw["keep_h"], kw["keep_c"]) if "keep_h" in kw else None
    ref = reference(
        x,
        state,
        params,
        spec,
        kw.get("x_mask"),
        kw.get("h_mask"),
        keep,
        kw.get("mask"),
        kw["reverse"],
        kw["return_states"],
    )
    fused = lstm_fused(x, state, params, spec, **kw)
    tol = TOL[dtype]
    assert_close(fused.output, ref.output, tol, "output")
    for name, a, b in zip(("h", "c", "gates"), fused.state, ref.state):
        assert_close(a, b, tol, f"final state {name}")
    if kw["return_states"]:
        for name, a, b in zip(("h", "c", "gates"), fused.states, ref.states):  # type: ignore[arg-type]
            assert_close(a, b, tol, f"states {name}")
    leaves = [x, *state] + [p for p in params if p is not None]
    names = ["x", *(f"state[{i}]" for i in range(len(state)))] + [
        f for f, p in zip(LSTMParams._fields, params) if p is not None
    ]
    g_ref = torch.autograd.grad(loss_of(ref), leaves, allow_unused=True)
    g_fused = torch.autograd.grad(loss_of(fused), leaves, allow_unused=True)
    for name, a, b, leaf in zip(names, g_fused, g_ref, leaves):
        a = torch.zeros_like(leaf) if a is None else a
        b = torch.zeros_like(leaf) if b is None else b
        # float32 gradients here reach ~80 (sums over steps); there float32 itself (the
        # reference against float64) errs by ~1e-5, so the bound scales with the magnitude
        scale = max(1.0, float(b.abs().max())) if dtype == torch.float32 else 1.0
        assert_close(a, b, tol * scale, f"gradient of {name}")


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("name", list(SPECS))
def test_fused_equals_reference_float64(name: str, option: str) -> None:
    check_against_reference(SPECS[name], option, torch.float64)


@pytest.mark.parametrize("option", ["everything-reverse", "zoneout-dropout-padded"])
@pytest.mark.parametrize("name", ["classic", "vanilla", "nig", "fgr", "original1997", "noaf"])
def test_fused_equals_reference_float64_batch_of_8_or_more(name: str, option: str) -> None:
    # from 8 rows on, the kernel computes the input product step by step (another code path)
    check_against_reference(SPECS[name], option, torch.float64, N=9)


@pytest.mark.parametrize("name", ["vanilla", "fgr+ln", "cifg", "original1997"])
def test_fused_equals_reference_on_two_threads(name: str) -> None:
    # the kernels split products (by column panel) and gate rows (by batch row) over threads and
    # keep per-thread gradient accumulators; sizes large enough that both splits happen
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        check_against_reference(
            SPECS[name], "everything-reverse", torch.float64, L=6, N=40, I=16, H=128, scale=0.1
        )
        check_against_reference(
            SPECS[name], "zoneout-dropout-padded", torch.float64, L=5, N=40, I=16, H=128, scale=0.1
        )
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("name", list(SPECS))
def test_fused_equals_reference_float32(name: str) -> None:
    # larger than the float64 cases so that the vectorized loops and their tails both run;
    # weights of PyTorch's scale (1 / sqrt(H)) so that values and gradients are O(1)
    check_against_reference(
        SPECS[name], "everything-reverse", torch.float32, L=12, N=5, I=7, H=37, scale=0.16
    )
    check_against_reference(SPECS[name], "plain", torch.float32, L=9, N=17, I=16, H=32, scale=0.18)


@pytest.mark.parametrize(
    ("name", "option", "drawn"),
    [
        ("vanilla", "proj-reverse-padded", False),
        ("fgr+ln", "everything-reverse", False),
        ("cifg", "zoneout-dropout-padded", False),
        ("nig", "proj-reverse-padded", True),  # zoneout drawn in the kernel
    ],
)
def test_gradcheck_of_the_autograd_function(name: str, option: str, drawn: bool) -> None:
    spec = SPECS[name]
    x, state, params, kw = make_case(spec, option, torch.float64, L=3, N=3, I=2, H=2)
    a0 = state[2] if spec.full_gate_recurrence else None
    x_in = (x * kw["x_mask"]).detach().requires_grad_() if "x_mask" in kw else x
    masks = (kw.get("h_mask"), kw.get("keep_h"), kw.get("keep_c"), kw.get("mask"))
    zone: dict = {"zoneout": (0.4, 0.5), "seeds": (11, 12, 13, 14)} if drawn else {}
    cfg = kernel_config(spec, reverse=kw["reverse"], need_states=kw["return_states"], **zone)

    def f(*inputs: Tensor | None) -> tuple[Tensor, ...]:
        out = FusedLSTMFunction.apply(cfg, *inputs, *masks)
        return tuple(t for t in out if t is not None)

    inputs = (x_in, state[0], state[1], a0, *params)
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


# where the reference engine draws its zoneout masks (the layer, or the engine module)
_REFERENCE_ZONEOUT_MODULES = ("lstmkit.core.layers.lstm", "lstmkit.core.engines.reference")


@pytest.fixture
def kernel_zoneout_masks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the reference engine the zoneout masks the kernel draws (training): the same seeds
    from torch's generator (one draw of 4 per layer and direction), the same hash."""
    pending: list[list[int]] = []

    def keep(
        shape: tuple[int, ...], z: float, training: bool, dtype: torch.dtype, device: torch.device
    ) -> Tensor:
        if not training:
            return zoneout_keep(shape, z, training, dtype, device)
        if not pending:  # the h mask: draw the seeds as the fused path does
            seeds = torch.randint(0, 2**32, (4,)).tolist()
            pending.append(seeds[2:])
            return zoneout_keep_of_seeds(shape, z, seeds[:2], dtype)  # type: ignore[arg-type]
        return zoneout_keep_of_seeds(shape, z, pending.pop(), dtype)  # type: ignore[arg-type]

    patched = 0
    for name in _REFERENCE_ZONEOUT_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "zoneout_keep"):
            monkeypatch.setattr(module, "zoneout_keep", keep)
            patched += 1
    assert patched, f"no module of {_REFERENCE_ZONEOUT_MODULES} draws the reference engine's zoneout masks"


def test_layer_engines_agree_on_every_configuration(kernel_zoneout_masks: None) -> None:
    """nn.LSTM with engine reference / fused / auto (/ native): outputs, states, gradients
    (zoneout in training: the reference engine is given the masks the kernel draws)."""
    dtype = torch.float64
    configs = [
        dict(variant="classic", num_layers=2, bidirectional=True, proj_size=3, batch_first=True),
        dict(variant="vanilla", num_layers=2, dropout=0.3, zoneout=(0.2, 0.4), recurrent_dropout=0.3),
        dict(variant="fgr", layer_norm=True, bidirectional=True, input_dropout=0.2, weight_drop=0.3),
        dict(variant="original1997", num_layers=3, proj_size=2),
    ]
    for cfg in configs:
        for training in (True, False):
            layer = LSTM(4, 5, dtype=dtype, **cfg).train(training)  # type: ignore[arg-type]
            x = torch.randn(7, 3, 4, dtype=dtype)
            lengths = torch.tensor([7, 4, 1])
            engines = ["reference", "fused", "auto"]
            if layer.spec == VARIANTS["classic"] and not cfg.get("zoneout"):
                engines.append("native")
            results = {}
            for engine in engines:
                layer.engine = engine
                xx = (x.transpose(0, 1) if layer.batch_first else x).clone().requires_grad_()
                torch.manual_seed(7)  # same regularizer masks for every engine
                out, final = layer(xx, lengths=lengths)
                loss = (out * out).sum() + sum(s.sum() for s in final)
                grads = torch.autograd.grad(loss, [xx, *layer.parameters()])
                results[engine] = (out, *final, *grads)
            for engine, values in results.items():
                for i, (a, b) in enumerate(zip(values, results["reference"])):
                    assert_close(a, b, 1e-10, f"{cfg} training={training} engine={engine} value {i}")


def test_layer_return_cell_states_packed_and_unbatched() -> None:
    layer = LSTM(3, 4, variant="cifg", num_layers=2, dtype=torch.float64)
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    outs = {}
    for engine in ("reference", "fused"):
        layer.engine = engine
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor([6, 3]), enforce_sorted=False)
        out_p, state_p, cells = layer(packed, return_cell_states=True)
        out_u, state_u = layer(x[:, 0])
        outs[engine] = (out_p.data, *state_p, cells, out_u, *state_u)  # type: ignore[union-attr]
    for a, b in zip(outs["fused"], outs["reference"]):
        assert_close(a, b, 1e-10, "packed / unbatched / cell states")


def test_fused_without_grad_uses_no_autograd_and_matches() -> None:
    spec = VARIANTS["vanilla"]
    x, state, params, kw = make_case(spec, "zoneout-dropout-padded", torch.float64)
    with torch.no_grad():
        fused = lstm_fused(x, state, params, spec, **kw)
        ref = reference(
            x,
            state,
            params,
            spec,
            kw["x_mask"],
            kw["h_mask"],
            (kw["keep_h"], kw["keep_c"]),
            kw["mask"],
            False,
            False,
        )
    assert fused.output.grad_fn is None
    assert_close(fused.output, ref.output, 1e-10, "output without grad")
    assert_close(fused.state[1], ref.state[1], 1e-10, "c without grad")


def test_fused_rejects_unsupported_input() -> None:
    spec = VARIANTS["classic"]
    params = LSTMParams(
        **{k: torch.randn(s, dtype=torch.bfloat16) for k, s in lstm_param_shapes(spec, 3, 4).items()}
    )
    x = torch.randn(5, 2, 3, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="float32 and float64"):
        lstm_fused(x, lstm_initial_state(spec, (2,), 4, dtype=torch.bfloat16), params, spec)


def test_fused_float32_long_sequence_stays_close() -> None:
    """A longer float32 run (the saturating regime of the gates): the kernel's exp/tanh keep up."""
    spec = VARIANTS["classic"]
    torch.manual_seed(3)
    layer = LSTM(16, 32, variant=spec, num_layers=2)
    x = torch.randn(60, 4, 16) * 3
    out = {}
    for engine in ("reference", "fused"):
        layer.engine = engine
        layer.zero_grad()
        y, (h, c) = layer(x)
        (y.sum() + c.sum()).backward()
        out[engine] = (y, h, c, *(p.grad for p in layer.parameters()))
    for i, (a, b) in enumerate(zip(out["fused"], out["reference"])):
        assert_close(
            a, b, 1e-5 * max(1.0, float(b.detach().abs().max())), f"float32 long sequence, value {i}"
        )


@pytest.mark.parametrize("name", ["classic", "nfg", "fgr+ln", "original1997"])
def test_float32_is_as_accurate_as_the_reference(name: str) -> None:
    """Against float64 truth, fused float32 gradients err no more than the reference's do
    (up to a factor 4 for summation order): the kernel's exp/tanh/GEMMs lose nothing."""
    spec = SPECS[name]
    x, state, params, kw = make_case(
        spec, "everything-reverse", torch.float64, L=12, N=5, I=7, H=37, scale=0.16
    )
    leaves = [x, *state] + [p for p in params if p is not None]

    def grads(dtype: torch.dtype, fused: bool) -> list[Tensor]:
        xs = [leaf.detach().to(dtype).requires_grad_() for leaf in leaves]
        it = iter(xs[1 + len(state) :])
        p = LSTMParams(*[None if q is None else next(it) for q in params])
        st = type(state)(*xs[1 : 1 + len(state)])
        k = {n: v.to(dtype) if isinstance(v, Tensor) and v.dtype != torch.bool else v for n, v in kw.items()}
        if fused:
            res = lstm_fused(xs[0], st, p, spec, **k)
        else:
            keep = (k["keep_h"], k["keep_c"])
            res = reference(xs[0], st, p, spec, k["x_mask"], k["h_mask"], keep, k["mask"], True, True)
        return [g.double() for g in torch.autograd.grad(loss_of(res), xs)]

    truth = grads(torch.float64, fused=False)
    err_ref = max(float((a - t).abs().max()) for a, t in zip(grads(torch.float32, False), truth))
    err_fused = max(float((a - t).abs().max()) for a, t in zip(grads(torch.float32, True), truth))
    assert err_fused <= 4 * err_ref, f"fused float32 error {err_fused:.3g} vs reference {err_ref:.3g}"


@pytest.mark.parametrize("name", ["classic", "vanilla", "fgr+ln", "original1997"])
def test_zoneout_drawn_in_the_kernel_equals_reference_with_the_same_masks(name: str) -> None:
    spec = SPECS[name]
    x, state, params, kw = make_case(spec, "proj-reverse-padded", torch.float64, L=6, N=3, I=4, H=5)
    seeds, zh, zc = (123456789, 987654321, 4242, 2**32 - 1), 0.3, 0.6
    keep = (
        zoneout_keep_of_seeds((6, 3, 3), zh, seeds[:2], torch.float64),  # (L, N, H_out = proj_size)
        zoneout_keep_of_seeds((6, 3, 5), zc, seeds[2:], torch.float64),  # (L, N, H)
    )
    ref = reference(x, state, params, spec, None, None, keep, kw["mask"], True, False)
    fused = lstm_fused(x, state, params, spec, zoneout=(zh, zc), seeds=seeds, mask=kw["mask"], reverse=True)
    leaves = [x, *state] + [p for p in params if p is not None]
    assert_close(fused.output, ref.output, 1e-10, "output")
    for a, b in zip(torch.autograd.grad(loss_of(fused), leaves), torch.autograd.grad(loss_of(ref), leaves)):
        assert_close(a, b, 1e-10, "gradient")


def test_kernel_zoneout_draws_are_bernoulli() -> None:
    """Mean z, independent of the other seeds' draws and of the neighbouring element."""
    z, shape = 0.3, (50, 40, 100)
    a = zoneout_keep_of_seeds(shape, z, (1, 2))
    b = zoneout_keep_of_seeds(shape, z, (3, 4))
    assert set(a.unique().tolist()) == {0.0, 1.0}
    n = a.numel()
    sd, sd2 = (z * (1 - z) / n) ** 0.5, (z * z * (1 - z * z) / n) ** 0.5
    assert abs(float(a.mean()) - z) < 5 * sd and abs(float(b.mean()) - z) < 5 * sd
    assert abs(float((a * b).mean()) - z * z) < 5 * sd2  # P(both) = z^2 when independent
    flat = a.flatten()
    assert abs(float((flat[1:] * flat[:-1]).mean()) - z * z) < 5 * sd2
    assert torch.equal(a, zoneout_keep_of_seeds(shape, z, (1, 2)))  # a function of the seed


def test_float32_tanh_keeps_relative_accuracy_near_zero() -> None:
    """Tiny cell states: h = o tanh(c) with |c| ~ 1e-6 must keep float32's relative accuracy (a
    tanh written as 2 / (1 + exp(-2x)) - 1 loses it: its absolute error ~1e-7 is 10% of c)."""
    torch.manual_seed(0)
    layer = LSTM(3, 8, dtype=torch.float64)
    with torch.no_grad():
        layer.bias_ih_l0[16:24] = 0.0  # candidate g = tanh(z_g) ~ z_g, tiny with tiny inputs
        layer.bias_hh_l0[16:24] = 0.0
    x = torch.randn(6, 2, 3, dtype=torch.float64) * 1e-6
    layer.engine = "reference"
    with torch.no_grad():
        truth, _ = layer(x)
        assert float(truth.abs().max()) < 1e-5
        rel = {}
        for engine in ("reference", "fused"):  # float32, against the float64 truth
            layer.float().engine = engine
            got, _ = layer(x.float())
            rel[engine] = float(((got.double() - truth) / truth).abs().max())
    assert rel["fused"] <= 4 * rel["reference"], rel  # (the old tanh: 73 against 1.0e-5)


def test_float32_1997_squashings_keep_relative_accuracy_near_zero() -> None:
    """The 1997 cell's g = 4 sigmoid(z) - 2 and h = 2 sigmoid(c) - 1 on tiny values: written that
    way both engines lose float32's relative accuracy (1 - 2 sigmoid cancels); as 2 tanh(z / 2)
    and tanh(c / 2) they keep it."""
    torch.manual_seed(0)
    layer = LSTM(3, 8, variant="original1997", dtype=torch.float64)
    with torch.no_grad():
        layer.bias_ih_l0.zero_()  # g ~ 2 z_g / 2 and h ~ o c / 2: tiny with tiny inputs
        layer.bias_hh_l0.zero_()
    x = torch.randn(6, 2, 3, dtype=torch.float64) * 1e-6
    layer.engine = "reference"
    with torch.no_grad():
        truth, _ = layer(x)
        assert 0 < float(truth.abs().max()) < 1e-5
        rel = {}
        for engine in ("reference", "fused"):  # float32, against the float64 truth
            layer.float().engine = engine
            got, _ = layer(x.float())
            rel[engine] = float(((got.double() - truth) / truth).abs().max())
    assert max(rel.values()) < 1e-4, rel


def test_the_kernel_boundary_is_named() -> None:
    """The extension takes a KernelConfig and dicts of named tensors and returns named outputs,
    saved tensors and gradients (csrc/bind.cpp), each shaped as documented there; an unknown name
    is refused."""
    ext = require_extension()
    spec = SPECS["fgr+ln"]
    x, state, params, kw = make_case(spec, "proj-reverse-padded", torch.float64)  # L 5, N 3, I 4, H 6, proj 3
    x, h0, c0, a0 = (t.detach() for t in (x, *state))
    weights = {name: None if t is None else t.detach() for name, t in params._asdict().items()}
    masks = KernelMasks(mask=kw["mask"])._asdict()
    cfg = kernel_config(spec, reverse=True, need_states=True)
    outputs, saved = ext.forward(cfg, x, h0, c0, a0, weights, masks, True)
    shapes = {"output": (5, 3, 3), "h_n": (3, 3), "c_n": (3, 6), "a_n": (3, 18), "c_states": (5, 3, 6)}
    assert tuple(outputs) == OUTPUTS and all(outputs[k].shape == s for k, s in shapes.items())
    shapes = {"h_all": (6, 3, 3), "c_all": (6, 3, 6), "gates": (5, 3, 24), "ln_stats": (5, 3, 6)}
    assert all(saved[k].shape == s for k, s in shapes.items()) and saved["x_product"].shape == (5, 3, 24)
    grads = ext.backward(
        cfg, {"output": torch.ones(5, 3, 3, dtype=torch.float64)}, x, weights, masks, saved, GRADIENTS
    )
    assert tuple(grads) == GRADIENTS
    for name, t in {"x": x, "h0": h0, "c0": c0, "a0": a0, **weights}.items():
        assert (grads[name] is None) == (t is None) and (t is None or grads[name].shape == t.shape), name
    unwanted = ext.backward(
        cfg, {"output": torch.ones(5, 3, 3, dtype=torch.float64)}, x, weights, masks, saved, ["h0"]
    )
    assert (
        unwanted["x"] is None and unwanted["weight_ih"] is None and torch.equal(unwanted["h0"], grads["h0"])
    )
    with pytest.raises(ValueError, match="expected names among weight_ih"):
        ext.forward(cfg, x, h0, c0, a0, {**weights, "weight_xh": None}, masks, False)
    with pytest.raises(ValueError, match="no gradient 'bias'"):
        ext.backward(cfg, {}, x, weights, masks, saved, ["x", "bias"])

"""ConvLSTM: the layer against a hand-written loop of the equations, the fused engine against the
reference (outputs, states, gradients, float64), gradcheck, padding, bidirectional, streaming,
Keras weights, errors."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tests.helpers import assert_close

from lstmkit import ConvLSTM, LSTMState
from lstmkit.core.engines.base import Call
from lstmkit.core.engines.fused.build import extension_available
from lstmkit.core.engines.select import select

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
fused_only = pytest.mark.skipif(not extension_available(), reason="the fused extension is not built")


def manual(layer: ConvLSTM, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Shi et al.'s equations written out: one unidirectional layer, batch-first input."""
    p = layer.params(0)
    conv = CONV[layer.dims]
    h = c = None
    outs = []
    for t in range(x.shape[1]):
        zx = conv(x[:, t], p.weight_ih, p.bias_ih, stride=layer.stride, padding=layer.padding)
        if h is None:
            h = zx.new_zeros(zx.shape[0], layer.hidden_channels, *zx.shape[2:])
            c = torch.zeros_like(h)
        z = zx + conv(h, p.weight_hh, p.bias_hh, padding="same")
        zi, zf, zg, zo = z.chunk(4, 1)
        assert c is not None
        if p.weight_ch is not None:
            zi, zf = zi + p.weight_ch[0] * c, zf + p.weight_ch[1] * c
        i, f, g = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg)
        c = f * c + i * g
        if p.weight_ch is not None:
            zo = zo + p.weight_ch[2] * c
        h = torch.sigmoid(zo) * torch.tanh(c)
        outs.append(h)
    assert h is not None and c is not None
    return torch.stack(outs, 1), h, c


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("peepholes", [False, True])
def test_reference_equals_the_equations(dims: int, peepholes: bool) -> None:
    torch.manual_seed(dims)
    size = {1: (9,), 2: (6, 5), 3: (4, 3, 5)}[dims]
    layer = ConvLSTM(
        2, 3, 3, dims=dims, peepholes=peepholes, spatial_size=size, engine="reference", dtype=torch.float64
    )
    x = torch.randn(2, 4, 2, *size, dtype=torch.float64)
    out, (h, c) = layer(x)
    want, h_ref, c_ref = manual(layer, x)
    assert_close(out, want, 1e-12, "output")
    assert_close(h[0], h_ref, 1e-12, "h")
    assert_close(c[0], c_ref, 1e-12, "c")


def test_parameters_follow_the_pytorch_contract() -> None:
    layer = ConvLSTM(3, 5, (3, 5), num_layers=2, peepholes=True, spatial_size=(7, 9), bidirectional=True)
    shapes = {name: tuple(p.shape) for name, p in layer.named_parameters()}
    assert shapes["weight_ih_l0"] == (20, 3, 3, 5)
    assert shapes["weight_hh_l0"] == (20, 5, 3, 5)
    assert shapes["bias_ih_l0"] == shapes["bias_hh_l0"] == (20,)
    assert shapes["weight_ch_l0"] == (3, 5, 7, 9)
    assert shapes["weight_ih_l1_reverse"] == (20, 10, 3, 5)  # both directions of layer 0
    assert len(shapes) == 2 * 2 * 5


def test_forget_bias_sets_the_forget_block() -> None:
    torch.manual_seed(0)
    plain, keras = ConvLSTM(1, 4, 3), ConvLSTM(1, 4, 3, forget_bias=1.0)
    torch.manual_seed(0)
    keras.reset_parameters()
    torch.manual_seed(0)
    plain.reset_parameters()
    b1, b0 = keras.params(0).bias_ih, plain.params(0).bias_ih
    assert b1 is not None and b0 is not None
    diff = b1 - b0
    assert torch.allclose(diff, torch.tensor([0.0] * 4 + [1.0] * 4 + [0.0] * 8))


CASES: list[dict[str, Any]] = [
    dict(dims=2, peepholes=False, num_layers=1, bidirectional=False, stride=1, padding="same"),
    dict(dims=2, peepholes=True, num_layers=2, bidirectional=False, stride=1, padding="same"),
    dict(dims=2, peepholes=False, num_layers=2, bidirectional=True, stride=1, padding="same"),
    dict(dims=2, peepholes=True, num_layers=1, bidirectional=False, stride=2, padding=1),
    dict(dims=1, peepholes=True, num_layers=2, bidirectional=True, stride=1, padding="same"),
    dict(dims=3, peepholes=False, num_layers=1, bidirectional=False, stride=1, padding="valid"),
]


def _pair(case: dict[str, Any], dtype: torch.dtype) -> tuple[ConvLSTM, ConvLSTM, torch.Tensor]:
    torch.manual_seed(1)
    size = {1: (10,), 2: (8, 7), 3: (5, 4, 6)}[case["dims"]]
    kwargs = dict(case, spatial_size=size if case["peepholes"] else None, dtype=dtype)
    fused = ConvLSTM(3, 4, 3, engine="fused", **kwargs)
    ref = ConvLSTM(3, 4, 3, engine="reference", **kwargs)
    ref.load_state_dict(fused.state_dict())
    x = torch.randn(3, 5, 3, *size, dtype=dtype)
    return fused, ref, x


@fused_only
@pytest.mark.parametrize(("case", "dtype"), list(itertools.product(CASES, [torch.float32, torch.float64])))
def test_fused_equals_reference(case: dict[str, Any], dtype: torch.dtype) -> None:
    fused, ref, x = _pair(case, dtype)
    tol = 1e-5 if dtype == torch.float32 else 1e-11
    lengths = [5, 2, 4]
    results = []
    for layer in (fused, ref):
        xi = x.clone().requires_grad_()
        out, (h, c) = layer(xi, lengths=lengths)
        (out.square().sum() + h.sin().sum() + c.cos().sum()).backward()
        grads = {n: p.grad for n, p in layer.named_parameters()}
        results.append((out, h, c, xi.grad, grads))
    (o1, h1, c1, gx1, g1), (o2, h2, c2, gx2, g2) = results
    assert_close(o1, o2, tol, "output")
    assert_close(h1, h2, tol, "h_n")
    assert_close(c1, c2, tol, "c_n")
    assert_close(gx1, gx2, 10 * tol, "grad input")
    for name in g2:
        assert_close(g1[name], g2[name], 10 * tol, f"grad {name}")


@fused_only
def test_auto_picks_the_fused_engine_on_the_cpu() -> None:
    layer = ConvLSTM(1, 2, 3)
    x = torch.zeros(4, 1, 1, 5, 5)
    call = layer._call(0, 0, x, layer.initial_state(1, (5, 5)), None, False)
    assert select("auto", call).name == "fused"
    norm = ConvLSTM(1, 2, 3, layer_norm=True)
    call = norm._call(0, 0, x, norm.initial_state(1, (5, 5)), None, False)
    assert isinstance(call, Call) and select("reference", call).name == "reference"
    with pytest.raises(ValueError, match="layer_norm is not fused"):
        select("fused", call)


GRADCHECK = [
    ("reference", dict()),
    ("reference", dict(peepholes=True, spatial_size=(4, 3))),
    ("reference", dict(layer_norm=True)),
    pytest.param("fused", dict(), marks=fused_only),
    pytest.param("fused", dict(peepholes=True, spatial_size=(4, 3)), marks=fused_only),
]


@pytest.mark.parametrize(("engine", "options"), GRADCHECK)
def test_gradcheck(engine: str, options: dict[str, Any]) -> None:
    torch.manual_seed(2)
    layer = ConvLSTM(2, 2, 3, engine=engine, dtype=torch.float64, **options)
    x = torch.randn(2, 3, 2, 4, 3, dtype=torch.float64, requires_grad=True)
    params = tuple(layer.parameters())

    def fn(x: torch.Tensor, *ps: torch.Tensor) -> torch.Tensor:
        out, (_, c) = torch.func.functional_call(
            layer, dict(zip((n for n, _ in layer.named_parameters()), ps)), (x,)
        )
        return out.sum() + c.sum()

    assert torch.autograd.gradcheck(fn, (x, *params), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("engine", ["reference", "fused"])
def test_padded_batch_equals_each_sequence_alone(engine: str) -> None:
    if engine == "fused" and not extension_available():
        pytest.skip("the fused extension is not built")
    torch.manual_seed(3)
    layer = ConvLSTM(1, 3, 3, num_layers=2, bidirectional=True, engine=engine, dtype=torch.float64)
    x = torch.randn(3, 6, 1, 5, 5, dtype=torch.float64)
    x[1, 4:] = float("nan")  # padding never reaches an output
    lengths = [6, 4, 1]
    out, (h, c) = layer(x, lengths=lengths)
    for n, length in enumerate(lengths):
        alone, (h1, c1) = layer(x[n : n + 1, :length])
        assert_close(out[n, :length], alone[0], 1e-12, f"sequence {n}")
        assert float(out[n, length:].detach().abs().sum()) == 0.0
        assert_close(h[:, n], h1[:, 0], 1e-12, f"h of sequence {n}")
        assert_close(c[:, n], c1[:, 0], 1e-12, f"c of sequence {n}")


def test_stream_and_step_equal_the_whole_sequence() -> None:
    torch.manual_seed(4)
    layer = ConvLSTM(2, 3, 3, num_layers=2, peepholes=True, spatial_size=(6, 6)).train()
    x = torch.randn(2, 7, 2, 6, 6)
    with torch.no_grad():
        whole, (_, c) = layer.eval()(x)
    layer.train()
    stream = layer.stream(batch_size=2)
    ys = torch.stack([stream.step(x[:, t]) for t in range(7)], 1)
    assert_close(ys, whole, 1e-5, "stream")
    assert stream.state is not None
    assert_close(stream.state.c, c, 1e-5, "stream state")
    state = None
    with torch.no_grad():
        for t in range(3):
            y, state = layer.eval().step(x[:, t], state)
    assert_close(y, whole[:, 2], 1e-5, "step")


def test_return_sequences_false_gives_each_directions_final_h() -> None:
    torch.manual_seed(5)
    layer = ConvLSTM(1, 2, 3, bidirectional=True, return_sequences=False)
    x = torch.randn(2, 4, 1, 5, 5)
    last, (h, _) = layer(x)
    assert last.shape == (2, 4, 5, 5)
    assert torch.equal(last[:, :2], h[0]) and torch.equal(last[:, 2:], h[1])
    layer.return_sequences = True
    out, _ = layer(x)
    assert torch.allclose(last[:, :2], out[:, -1, :2]) and torch.allclose(last[:, 2:], out[:, 0, 2:])


def test_from_keras_matches_the_keras_equations() -> None:
    """Keras's ConvLSTM2D cell (kernel (kh, kw, C, 4F), recurrent_kernel (kh, kw, F, 4F), one bias,
    gates i, f, c, o, channels-last frames) written out in NumPy-layout torch ops."""
    rng = np.random.default_rng(0)
    kernel, recurrent, bias = (
        rng.normal(size=(3, 3, 2, 12)),
        rng.normal(size=(3, 3, 3, 12)),
        rng.normal(size=12),
    )
    layer = ConvLSTM.from_keras([kernel, recurrent, bias], dtype=torch.float64)
    assert (layer.in_channels, layer.hidden_channels, layer.kernel_size) == (2, 3, (3, 3))
    x = torch.as_tensor(rng.normal(size=(2, 4, 6, 5, 2)))  # Keras's (N, L, H, W, C)
    k = torch.as_tensor(kernel).permute(3, 2, 0, 1)
    r = torch.as_tensor(recurrent).permute(3, 2, 0, 1)
    h = torch.zeros(2, 3, 6, 5, dtype=torch.float64)
    c = torch.zeros_like(h)
    for t in range(4):
        z = F.conv2d(x[:, t].permute(0, 3, 1, 2), k, torch.as_tensor(bias), padding="same") + F.conv2d(
            h, r, padding="same"
        )
        i, f, g, o = z.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    out, state = layer(x.permute(0, 1, 4, 2, 3))
    assert_close(out[:, -1], h, 1e-10, "keras h")
    assert_close(state.c[0], c, 1e-10, "keras c")
    with pytest.raises(ValueError, match="weights: layer 0"):
        ConvLSTM.from_keras([kernel])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(dims=4), "dims: expected 1, 2 or 3"),
        (dict(kernel_size=(3,)), "kernel_size: expected an int >= 1 or 2 of them"),
        (dict(peepholes=True), "spatial_size: required with peepholes=True"),
        (dict(stride=2), "padding: 'same' needs stride 1"),
        (dict(padding="full"), "padding: expected 'same', 'valid' or ints"),
        (dict(dropout=1.5), "dropout"),
        (dict(engine="native"), "engine: expected one of"),
    ],
)
def test_bad_arguments_raise_one_line_errors(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"in_channels": 1, "hidden_channels": 2, "kernel_size": 3} | kwargs
    with pytest.raises((ValueError, TypeError), match=message) as err:
        ConvLSTM(**args)
    assert "\n" not in str(err.value)


def test_bad_inputs_raise_one_line_errors() -> None:
    layer = ConvLSTM(2, 3, 3, spatial_size=None)
    with pytest.raises(ValueError, match="input: expected 5 dimensions"):
        layer(torch.zeros(2, 3, 2, 4))
    with pytest.raises(ValueError, match="expected 2 channels"):
        layer(torch.zeros(2, 3, 1, 4, 4))
    x = torch.zeros(2, 3, 2, 4, 4)
    x[1, 2, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="input: expected finite values, got nan at step 2, batch 1"):
        layer(x)
    with pytest.raises(ValueError, match=r"state\.h: expected shape"):
        layer(torch.zeros(2, 3, 2, 4, 4), LSTMState(torch.zeros(1, 2, 3, 5, 5), torch.zeros(1, 2, 3, 4, 4)))
    with pytest.raises(ValueError, match="step: a bidirectional layer"):
        ConvLSTM(2, 3, 3, bidirectional=True).step(torch.zeros(1, 2, 4, 4))


def test_training_learns_to_follow_a_moving_dot() -> None:
    """A one-layer ConvLSTM learns to output where a dot moving right was one step ago: a task no
    untrained layer does (the loss must fall well below the untrained one)."""
    torch.manual_seed(6)
    n, steps, size = 32, 6, 8
    start = torch.randint(0, 2, (n,))
    row = torch.randint(0, size, (n,))
    x = torch.zeros(n, steps, 1, size, size)
    for t in range(steps):
        x[torch.arange(n), t, 0, row, start + t] = 1.0
    target = torch.roll(x, 1, dims=1)
    target[:, 0] = 0
    layer = ConvLSTM(1, 4, 3)
    head = torch.nn.Conv2d(4, 1, 1)
    optim = torch.optim.Adam([*layer.parameters(), *head.parameters()], lr=0.05)

    def loss() -> torch.Tensor:
        out, _ = layer(x)
        pred = head(out.flatten(0, 1)).view_as(x)
        return F.binary_cross_entropy_with_logits(pred, target)

    first = float(loss())
    for _ in range(60):
        optim.zero_grad()
        value = loss()
        value.backward()
        optim.step()
    assert float(loss()) < 0.25 * first


@fused_only
@pytest.mark.parametrize("padding", ["same", 1])
def test_fused_equals_reference_from_a_given_state(padding: str | int) -> None:
    """A non-zero initial state (with its gradient), and a zero one that needs a gradient: the
    fused engine skips the first recurrent convolution only for a zero state without one."""
    fused, ref, x = _pair(
        dict(dims=2, peepholes=True, num_layers=2, bidirectional=False, stride=1, padding=padding),
        torch.float64,
    )
    for scale in (1.0, 0.0):
        grads = []
        for layer in (fused, ref):
            h0 = (
                scale
                * torch.randn(2, 3, 4, 8, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
            ).requires_grad_()
            c0 = torch.randn(
                2, 3, 4, 8, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
            ).requires_grad_()
            out, (_, c) = layer(x, LSTMState(h0, c0))
            (out.square().sum() + c.sum()).backward()
            grads.append((out, h0.grad, c0.grad))
        for a, b, what in zip(*grads, ("output", "grad h0", "grad c0")):
            assert_close(a, b, 1e-10, f"{what} (state scale {scale})")

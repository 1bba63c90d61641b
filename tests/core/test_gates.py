"""Gate traces (``return_gates=True``): the fused kernels' activations equal the reference loop's
for every variant and option, both equal the cell equations, padding is zero, absent gates are
their variant's constants, every layout, streaming, int8, and what carries a gradient."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from tests.helpers import assert_close
from torch.nn.utils.rnn import pack_padded_sequence

from lstmkit import LSTM, GateTrace
from lstmkit.core.cells import VARIANTS

OPTIONS: dict[str, dict[str, Any]] = {
    "plain": {},
    "projection": dict(proj_size=3),
    "layer-norm": dict(layer_norm=True),
    "zoneout": dict(zoneout=(0.2, 0.3)),
}


def pair(variant: str, **opts: Any) -> tuple[LSTM, LSTM]:
    """The same float64 layer on the reference and on the fused engine (evaluation mode)."""
    torch.manual_seed(0)
    ref = LSTM(3, 5, variant=variant, engine="reference", dtype=torch.float64, **opts).eval()
    fused = LSTM(3, 5, variant=variant, engine="fused", dtype=torch.float64, **opts).eval()
    fused.load_state_dict(ref.state_dict())
    return ref, fused


@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_fused_trace_equals_reference_trace(variant: str, option: str) -> None:
    kw = dict(num_layers=2, bidirectional=True, batch_first=True, **OPTIONS[option])
    ref, fused = pair(variant, **kw)
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    lengths = [7, 5, 3, 1]
    out_r, _, want = ref(x, lengths=lengths, return_gates=True)
    out_f, _, got = fused(x, lengths=lengths, return_gates=True)
    assert_close(out_f, out_r, 1e-12)
    for name, g, w in zip(GateTrace._fields, got, want):
        assert g.shape == w.shape == (4, 7, 4, 3 if name == "h" and option == "projection" else 5), name
        assert_close(g, w, 1e-12)


def _sigmoid_block(w: torch.Tensor, b: torch.Tensor, k: int, H: int) -> tuple[torch.Tensor, torch.Tensor]:
    return w[k * H : (k + 1) * H], b[k * H : (k + 1) * H]


@pytest.mark.parametrize("engine", ["reference", "fused"])
@pytest.mark.parametrize("variant", ["classic", "vanilla", "cifg", "nig", "nfg", "nog"])
def test_trace_satisfies_the_cell_equations(variant: str, engine: str) -> None:
    torch.manual_seed(1)
    H = 4
    lstm = LSTM(3, H, variant=variant, engine=engine, dtype=torch.float64).eval()
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        out, _, tr = lstm(x, return_gates=True)
    i, f, g, o, c, h = (t[:, :, 0] for t in tr)  # (L, N, H), layer 0
    assert_close(h, out, 0)
    spec, p = lstm.spec, lstm.params(0)
    blocks = dict(zip(spec.gates, range(spec.num_gates)))
    h_prev = torch.cat([torch.zeros_like(h[:1]), h[:-1]])
    c_prev = torch.cat([torch.zeros_like(c[:1]), c[:-1]])
    assert p.bias_ih is not None and p.bias_hh is not None
    z = x @ p.weight_ih.T + p.bias_ih + h_prev @ p.weight_hh.T + p.bias_hh  # (L, N, G*H)
    peep = dict(zip(spec.peephole_gates, p.weight_ch)) if p.weight_ch is not None else {}

    def pre(name: str, cell: torch.Tensor) -> torch.Tensor:
        k = blocks[name]
        return z[..., k * H : (k + 1) * H] + (peep[name] * cell if name in peep else 0)

    ones = torch.ones_like(c)
    assert_close(i, torch.sigmoid(pre("i", c_prev)) if spec.input_gate else ones, 1e-12)
    if spec.coupled:
        assert_close(f, 1 - i, 1e-12)
    else:
        assert_close(f, torch.sigmoid(pre("f", c_prev)) if spec.forget_gate else ones, 1e-12)
    assert_close(g, torch.tanh(pre("g", c_prev)), 1e-12)
    assert_close(c, f * c_prev + i * g, 1e-12)
    assert_close(o, torch.sigmoid(pre("o", c)) if spec.output_gate else ones, 1e-12)
    assert_close(h, o * torch.tanh(c), 1e-12)


@pytest.mark.parametrize("engine", ["reference", "fused"])
def test_padding_is_zero_and_absent_gates_are_constants(engine: str) -> None:
    x = torch.randn(5, 3, 2)
    for variant, constant in (("nig", "i"), ("nfg", "f"), ("nog", "o"), ("original1997", "f")):
        lstm = LSTM(2, 4, variant=variant, engine=engine).eval()
        with torch.no_grad():
            _, _, tr = lstm(x, lengths=[5, 2, 4], return_gates=True)
        field = getattr(tr, constant)
        assert bool((field[:2, 1] == 1).all()) and bool((field[:4, 2] == 1).all())
        for t in tr:
            assert float(t[2:, 1].abs().max()) == 0.0 and float(t[4:, 2].abs().max()) == 0.0
        assert float(tr.c[:2, 1].abs().min()) > 0.0  # real steps are not zeroed


def test_layouts_unbatched_packed_and_time_major() -> None:
    torch.manual_seed(2)
    lstm = LSTM(3, 4, num_layers=2).eval()
    x = torch.randn(6, 3, 3)
    lengths = torch.tensor([6, 4, 2])
    with torch.no_grad():
        _, _, tm = lstm(x, lengths=lengths, return_gates=True)
        _, _, one = lstm(x[:, 0], return_gates=True)
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        _, _, pk = lstm(packed, return_gates=True)
    assert one.g.shape == (6, 2, 4)
    assert_close(one.g, tm.g[:, 0], 1e-6)
    want = pack_padded_sequence(tm.f, lengths, enforce_sorted=False).data
    assert pk.f.shape == (12, 2, 4)
    assert_close(pk.f, want, 0)


def test_cell_states_and_gates_together() -> None:
    lstm = LSTM(3, 4, num_layers=2, batch_first=True).eval()
    with torch.no_grad():
        out, _, cells, tr = lstm(torch.randn(2, 5, 3), return_cell_states=True, return_gates=True)
    assert_close(cells, tr.c[:, :, 1], 0)  # the last layer's c
    assert_close(out, tr.h[:, :, 1], 0)


@pytest.mark.parametrize("fallback", [False, True])
def test_stream_step_gates_equal_the_whole_sequence(fallback: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    import lstmkit.core.engines.fused.stream as stream_mod

    if fallback:  # the reference step the runtime falls back to without the extension
        monkeypatch.setattr(stream_mod, "load_extension", lambda: None)
        monkeypatch.setattr(stream_mod, "warn_unavailable", lambda *a: None)
    torch.manual_seed(3)
    lstm = LSTM(3, 5, num_layers=2, variant="fgr", proj_size=2, zoneout=0.1).eval()
    x = torch.randn(7, 2, 3)
    with torch.no_grad():
        _, _, whole = lstm(x, return_gates=True)
    stream = lstm.stream(batch_size=2)
    assert (stream._runtime is None) == fallback
    for t in range(7):
        y, tr = stream.step(x[t], return_gates=True)
        assert_close(y, whole.h[t, :, 1], 1e-6)
        for a, b in zip(tr, whole):
            assert_close(a, b[t], 1e-6)


def test_gradients_reference_trace_differentiable_fused_trace_detached() -> None:
    ref, fused = pair("vanilla", num_layers=1)
    ref.train()
    fused.train()
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda x: ref(x, return_gates=True)[2].f.sum(), (x,))
    out, _, tr = fused(x, return_gates=True)
    assert out.requires_grad and not tr.i.requires_grad
    # asking for the trace leaves the gradients of the output as they are
    (gx_with,) = torch.autograd.grad(out.pow(2).sum(), x)
    (gx_without,) = torch.autograd.grad(fused(x)[0].pow(2).sum(), x)
    assert_close(gx_with, gx_without, 0)


def test_native_engine_refuses_and_auto_runs_fused() -> None:
    lstm = LSTM(3, 4, engine="native")
    with pytest.raises(ValueError, match="gate activations"):
        lstm(torch.randn(4, 1, 3), return_gates=True)
    lstm.engine = "auto"
    with torch.no_grad():
        assert lstm(torch.randn(4, 1, 3), return_gates=True)[2].o.shape == (4, 1, 1, 4)


def test_int8_trace_is_close_to_float_and_streams() -> None:
    from lstmkit.compress import quantize_dynamic

    torch.manual_seed(4)
    model: Any = torch.nn.Sequential(LSTM(3, 8, num_layers=2)).eval()
    q: Any = quantize_dynamic(model)
    x = torch.randn(6, 2, 3)
    with torch.no_grad():
        _, _, want = model[0](x, return_gates=True)
        _, _, got = q[0](x, return_gates=True)
        stream = q[0].stream(2)
        steps = [stream.step(x[t], return_gates=True)[1] for t in range(6)]
    for a, b in zip(got, want):
        assert float((a - b).abs().max()) < 0.05
    for t, tr in enumerate(steps):
        for a, b in zip(tr, got):
            assert_close(a, b[t], 1e-6)

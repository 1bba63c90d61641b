"""The fused kernels as custom operators (lstmkit::fused_forward / fused_backward): torch's own
operator checks (schema, fake implementation against the real one, autograd registration, the
traced forward and backward), and the operator path equals the eager path (outputs, final
states, every gradient)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from tests.helpers import assert_close

from lstmkit.core.cells import VARIANTS, LSTMParams, lstm_initial_state, lstm_param_shapes
from lstmkit.core.engines.fused import ops
from lstmkit.core.engines.fused.binding import OUTPUTS, KernelMasks, kernel_config, lstm_fused

CASES = {
    "classic": (VARIANTS["classic"], {}),
    "vanilla-reverse-states-gates": (
        VARIANTS["vanilla"],
        dict(reverse=True, need_states=True, need_gates=True),
    ),
    "fgr": (VARIANTS["fgr"], {}),
    "cifg-mask-gates": (VARIANTS["cifg"], dict(mask=True, need_gates=True)),
    "layer-norm-projection": (VARIANTS["vanilla"].with_options(layer_norm=True), dict(proj=2)),
    "original1997": (VARIANTS["original1997"], dict(need_states=True)),
}


def make_call(name: str, dtype: torch.dtype = torch.float64) -> tuple[Any, ...]:
    """(cfg, x, state, params, masks) of one case, everything that may need a gradient asking
    for one."""
    spec, opts = CASES[name]
    torch.manual_seed(0)
    H, hout = 4, opts.get("proj") or 4
    shapes = lstm_param_shapes(spec, 3, H, proj_size=opts.get("proj", 0))
    params = LSTMParams(**{k: (torch.rand(s, dtype=dtype) - 0.5).requires_grad_() for k, s in shapes.items()})
    state = lstm_initial_state(spec, (2,), H, proj_size=hout if opts.get("proj") else 0, dtype=dtype)
    state = type(state)(*(torch.randn_like(t).requires_grad_() for t in state))
    x = torch.randn(5, 2, 3, dtype=dtype, requires_grad=True)
    mask = None
    if opts.get("mask"):
        mask = torch.ones(5, 2, dtype=torch.bool)
        mask[3:, 1] = False
    cfg = kernel_config(
        spec,
        reverse=opts.get("reverse", False),
        need_states=opts.get("need_states", False),
        need_gates=opts.get("need_gates", False),
    )
    return cfg, x, state, params, KernelMasks(mask=mask)


def op_args(cfg: Any, x: torch.Tensor, state: Any, params: LSTMParams, masks: KernelMasks) -> tuple[Any, ...]:
    a0 = state[2] if cfg.spec.full_gate_recurrence else None
    return (ops.encode_config(cfg), x, state[0], state[1], a0, *params, *masks, True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_opcheck(name: str) -> None:
    args = op_args(*make_call(name))
    result = torch.library.opcheck(ops.fused_forward, args)
    assert set(result.values()) == {"SUCCESS"}, result


@pytest.mark.parametrize("name", sorted(CASES))
def test_operator_path_equals_eager_path(name: str) -> None:
    cfg, x, state, params, masks = make_call(name)
    opts = dict(mask=masks.mask, reverse=cfg.reverse)
    opts |= dict(return_states=cfg.need_states, return_gates=cfg.need_gates)
    eager = lstm_fused(x, state, params, cfg.spec, **opts)
    got = ops.run_op(cfg, x, state, params, masks, True)
    assert_close(got["output"], eager.output, 0)
    for field, name_ in zip(eager.state, ("h_n", "c_n", "a_n")):
        assert_close(got[name_], field, 0)
    if cfg.need_states:
        assert eager.states is not None
        assert_close(got["h_states"], eager.states[0], 0)
        assert_close(got["c_states"], eager.states[1], 0)
    if cfg.need_gates:
        assert eager.gates is not None and not eager.gates.requires_grad
        assert_close(got["gate_states"], eager.gates, 0)
        assert not got["gate_states"].requires_grad
    leaves = [t for t in (x, *state, *params) if t is not None and t.requires_grad]
    loss_eager = (eager.output**2).sum() + eager.state[1].sin().sum()
    loss_op = (got["output"] ** 2).sum() + got["c_n"].sin().sum()
    want = torch.autograd.grad(loss_eager, leaves)
    have = torch.autograd.grad(loss_op, leaves)
    for g, w in zip(have, want):
        assert_close(g, w, 1e-12)


def test_config_round_trip() -> None:
    for spec in VARIANTS.values():
        seeds = [1, 2, 3, 2**32 + 4]
        needs = dict(need_states=True, need_gates=True)
        cfg = kernel_config(spec, reverse=True, **needs, zoneout=(0.1, 0.25), seeds=seeds)
        assert ops.decode_config(ops.encode_config(cfg)) == cfg


def test_an_exported_inference_graph_refuses_backward() -> None:
    cfg, x, state, params, masks = make_call("classic")
    args = list(op_args(cfg, x, state, params, masks))
    args[-1] = False  # traced for inference: nothing saved
    out = ops.fused_forward(*args)
    with pytest.raises(RuntimeError, match="traced for inference"):
        out[0].sum().backward()


def test_the_operator_returns_every_output_and_saved_tensor() -> None:
    schema = torch.ops.lstmkit.fused_forward.default._schema
    assert len(schema.returns) == len(OUTPUTS) + len(ops.SAVED)

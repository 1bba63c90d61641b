"""The layers on a GPU: every engine's results on CUDA equal the CPU's (outputs, states and
gradients, float64), the classic cell reaches cuDNN, regularizers are seeded. Skipped without CUDA
(CI has none); run on a GPU machine with ``pytest tests/test_cuda.py``."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from tests.helpers import assert_close
from torch import nn

from lstmkit import GRU, LSTM, RNN
from lstmkit.core.engines.select import select
from lstmkit.core.tree import map_state

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

LSTM_CONFIGS = {
    "classic": {},
    "vanilla": {"variant": "vanilla"},
    "cifg": {"variant": "cifg"},
    "fgr": {"variant": "fgr"},
    "original1997": {"variant": "original1997"},
    "layer_norm": {"layer_norm": True},
    "proj": {"proj_size": 3},
    "bidirectional_stack": {"num_layers": 2, "bidirectional": True},
}


def _run(layer: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None) -> list[torch.Tensor]:
    """Outputs, final state and every gradient of a fixed weighted loss, on the CPU."""
    xi = x.clone().requires_grad_()
    out, state = layer(xi, lengths=lengths)
    states = list(state) if isinstance(state, tuple) else [state]
    w = torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device).view_as(out)
    loss = (out * w).sum() + sum((s * s).sum() for s in states)
    loss.backward()
    grads = [xi.grad, *(p.grad for p in layer.parameters())]
    return [t.detach().cpu().clone() for t in [out, *states, *grads] if t is not None]  # snapshots


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "padded"])
@pytest.mark.parametrize("name", list(LSTM_CONFIGS))
def test_lstm_on_gpu_equals_cpu(name: str, with_lengths: bool) -> None:
    cpu = LSTM(4, 6, dtype=torch.float64, **LSTM_CONFIGS[name])
    gpu = copy.deepcopy(cpu).cuda()
    x = torch.randn(7, 3, 4, dtype=torch.float64)
    lengths = torch.tensor([7, 4, 1]) if with_lengths else None
    expected = _run(cpu, x, lengths)
    got = _run(gpu, x.cuda(), lengths)
    assert len(got) == len(expected)
    for k, (a, b) in enumerate(zip(got, expected)):
        assert_close(a, b, 1e-9, f"{name} tensor {k}")


@pytest.mark.parametrize("cls", [GRU, RNN], ids=["gru", "rnn"])
def test_gru_rnn_on_gpu_equal_cpu(cls: type) -> None:
    cpu = cls(4, 6, num_layers=2, bidirectional=True, dtype=torch.float64)
    gpu = copy.deepcopy(cpu).cuda()
    x = torch.randn(7, 3, 4, dtype=torch.float64)
    lengths = torch.tensor([7, 4, 1])
    for k, (a, b) in enumerate(zip(_run(gpu, x.cuda(), lengths), _run(cpu, x, lengths))):
        assert_close(a, b, 1e-9, f"{cls.__name__} tensor {k}")


def test_classic_on_gpu_runs_cudnn_and_matches_torch() -> None:
    ref = nn.LSTM(8, 16, num_layers=2).cuda()
    ours = LSTM.from_torch(ref).cuda()
    x = torch.randn(20, 5, 8, device="cuda")
    with torch.no_grad():
        first = map_state(lambda s: s[0], ours.initial_state(5))  # layer 0, forward direction
        assert select("auto", ours.direction(0).call(x, first)).name == "native"
        (o1, (h1, c1)), (o2, s2) = ref(x), ours(x)
    assert_close(o2, o1, 1e-6, "output")
    assert_close(s2.h, h1, 1e-6, "h")
    assert_close(s2.c, c1, 1e-6, "c")


def test_regularizers_on_gpu_are_seeded_and_off_in_eval() -> None:
    layer = LSTM(4, 6, recurrent_dropout=0.3, zoneout=0.1, weight_drop=0.2).cuda().train()
    x = torch.randn(9, 2, 4, device="cuda")
    torch.manual_seed(5)
    a, _ = layer(x)
    torch.manual_seed(5)
    b, _ = layer(x)
    torch.manual_seed(6)
    c, _ = layer(x)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    layer.eval()
    with torch.no_grad():
        d, _ = layer(x)
        e, _ = layer(x)
    assert torch.equal(d, e) and not torch.allclose(a, d)


@pytest.mark.parametrize(
    "cls,kwargs",
    [(LSTM, {}), (LSTM, {"proj_size": 3}), (GRU, {}), (RNN, {})],
    ids=["lstm", "lstm_proj", "gru", "rnn"],
)
def test_gpu_weights_are_one_buffer_per_layer_for_cudnn(cls: type, kwargs: dict) -> None:
    cpu = cls(4, 6, num_layers=2, bidirectional=True, dtype=torch.float64, **kwargs)
    gpu = copy.deepcopy(cpu).cuda()
    for layer in range(2):
        for direction in range(2):
            found = gpu._cudnn_weights(layer, direction)
            assert found is not None
            storages = {w.untyped_storage().data_ptr() for w in found[1]}
            assert len(storages) == 1, f"layer {layer} direction {direction}: {len(storages)} buffers"
    x = torch.randn(7, 3, 4, dtype=torch.float64)  # float64: no TF32 in cuDNN
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*single contiguous chunk.*")
        expected = _run(cpu, x, None)
        got = _run(gpu, x.cuda(), None)
        # loading a state dict copies into the buffers and keeps the layout
        gpu.load_state_dict({k: v * 0.5 for k, v in cpu.state_dict().items()})
        cpu.load_state_dict({k: v * 0.5 for k, v in cpu.state_dict().items()})
        got_again = _run(gpu, x.cuda(), None)
        expected_again = _run(cpu, x, None)
    for a, b in zip(got + got_again, expected + expected_again):
        assert_close(a, b, 1e-9)

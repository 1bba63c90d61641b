"""The classic variant is torch.nn.LSTM: outputs, final states and every gradient.

Randomized configurations (seeded) cover 1-3 layers, bidirectional, proj_size, batch_first,
padded batches with lengths (torch gets the same batch packed) and unbatched input.
"""

from __future__ import annotations

import random

import pytest
import torch
from tests.helpers import TOL, assert_close
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstmkit import GRU, LSTM, RNN


def random_configs(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    configs = []
    for k in range(n):
        hidden = rng.randint(2, 9)
        configs.append(
            dict(
                input_size=rng.randint(1, 7),
                hidden_size=hidden,
                num_layers=rng.randint(1, 3),
                bidirectional=rng.random() < 0.5,
                batch_first=rng.random() < 0.5,
                proj_size=rng.randint(1, hidden - 1) if rng.random() < 0.4 else 0,
                bias=rng.random() < 0.85,
                T=rng.randint(1, 9),
                N=rng.randint(1, 5),
                mode=("padded", "unbatched", "full")[k % 3],
            )
        )
    return configs


CONFIGS = random_configs(18, seed=2024)


def _loss_weights(*tensors: torch.Tensor) -> list[torch.Tensor]:
    return [torch.randn_like(t) for t in tensors]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cfg", CONFIGS, ids=[f"cfg{i}" for i in range(len(CONFIGS))])
def test_classic_equals_torch(cfg: dict, dtype: torch.dtype) -> None:
    cfg = dict(cfg)
    T, N, mode = cfg.pop("T"), cfg.pop("N"), cfg.pop("mode")
    torch.manual_seed(hash((T, N)) % 2**31)
    ref = nn.LSTM(**cfg, dtype=dtype)
    ours = LSTM.from_torch(ref)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    D = 2 if cfg["bidirectional"] else 1
    h_out = cfg["proj_size"] or cfg["hidden_size"]
    L = cfg["num_layers"]
    x = torch.randn(T, N, cfg["input_size"], dtype=dtype)
    h0 = torch.randn(L * D, N, h_out, dtype=dtype)
    c0 = torch.randn(L * D, N, cfg["hidden_size"], dtype=dtype)
    if mode == "unbatched":
        x, h0, c0 = x[:, 0], h0[:, 0], c0[:, 0]
    xs = [t.clone().requires_grad_() for t in (x, h0, c0)]
    xo = [t.clone().requires_grad_() for t in (x, h0, c0)]

    if mode == "padded":
        lengths = torch.randint(1, T + 1, (N,))
        lengths[0] = T
        ref_in = pack_padded_sequence(xs[0], lengths, enforce_sorted=False)
        ref_out_p, (ref_h, ref_c) = ref(ref_in, (xs[1], xs[2]))
        ref_out, _ = pad_packed_sequence(ref_out_p, total_length=T)
        x_in = xo[0].transpose(0, 1) if cfg["batch_first"] else xo[0]
        out, (h, c) = ours(x_in, (xo[1], xo[2]), lengths=lengths)
        out = out.transpose(0, 1) if cfg["batch_first"] else out
    else:
        x_ref = xs[0].transpose(0, 1) if cfg["batch_first"] and mode == "full" else xs[0]
        x_in = xo[0].transpose(0, 1) if cfg["batch_first"] and mode == "full" else xo[0]
        ref_out, (ref_h, ref_c) = ref(x_ref, (xs[1], xs[2]))
        out, (h, c) = ours(x_in, (xo[1], xo[2]))
    tol = TOL[dtype]
    assert_close(out, ref_out, tol, "output")
    assert_close(h, ref_h, tol, "h_n")
    assert_close(c, ref_c, tol, "c_n")

    weights = _loss_weights(out, h, c)
    sum((w * t).sum() for w, t in zip(weights, (ref_out, ref_h, ref_c))).backward()
    sum((w * t).sum() for w, t in zip(weights, (out, h, c))).backward()
    for (name, p_ref), p in zip(ref.named_parameters(), ours.parameters()):
        assert_close(p.grad, p_ref.grad, tol, f"grad {name}")
    for a, b, name in zip(xo, xs, ("input", "h0", "c0")):
        assert_close(a.grad, b.grad, tol, f"grad {name}")


def test_packed_sequence_in_and_out() -> None:
    ref = nn.LSTM(4, 5, num_layers=2, bidirectional=True)
    ours = LSTM.from_torch(ref)
    x = torch.randn(6, 3, 4)
    packed = pack_padded_sequence(x, torch.tensor([2, 6, 4]), enforce_sorted=False)
    ref_out, (ref_h, ref_c) = ref(packed)
    out, (h, c) = ours(packed)
    assert torch.equal(out.batch_sizes, ref_out.batch_sizes)
    assert torch.equal(out.sorted_indices, ref_out.sorted_indices)
    assert_close(out.data, ref_out.data, 1e-5, "packed output")
    assert_close(h, ref_h, 1e-5, "h_n")
    assert_close(c, ref_c, 1e-5, "c_n")


def test_state_dict_round_trip_with_torch() -> None:
    ref = nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=4)
    ours = LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=4)
    ours.load_state_dict(ref.state_dict())
    back = ours.to_torch()
    x = torch.randn(5, 2, 3)
    assert_close(back(x)[0], ref(x)[0], 0.0, "to_torch output")
    assert_close(ours(x)[0], ref(x)[0], 1e-5, "loaded output")


def test_to_torch_refuses_what_torch_cannot_express() -> None:
    with pytest.raises(ValueError, match="variant"):
        LSTM(3, 4, variant="vanilla").to_torch()
    with pytest.raises(ValueError, match="zoneout"):
        LSTM(3, 4, zoneout=0.1).to_torch()
    for cls in (LSTM, GRU, RNN):  # variational dropout: torch's layers have only the inter-layer kind
        with pytest.raises(ValueError, match=rf"torch.nn.{cls.__name__} .* sets recurrent_dropout"):
            cls(3, 4, recurrent_dropout=0.5).to_torch()
        with pytest.raises(ValueError, match="sets input_dropout"):
            cls(3, 4, input_dropout=0.5).to_torch()


@pytest.mark.parametrize("engine", ["reference", "native"])
@pytest.mark.parametrize("cls,ref_cls", [(GRU, nn.GRU), (RNN, nn.RNN)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gru_and_rnn_equal_torch(cls, ref_cls, dtype, engine) -> None:
    kwargs = dict(num_layers=2, bidirectional=True, batch_first=True)
    if cls is RNN:
        kwargs["nonlinearity"] = "relu"
    ref = ref_cls(4, 5, dtype=dtype, **kwargs)
    ours = cls.from_torch(ref, engine=engine)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    x = torch.randn(3, 6, 4, dtype=dtype)
    lengths = torch.tensor([6, 2, 4])
    ref_out, ref_h = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    ref_out, _ = pad_packed_sequence(ref_out, batch_first=True)
    out, h = ours(x, lengths=lengths)
    tol = TOL[dtype]
    assert_close(out, ref_out, tol, "output")
    assert_close(h, ref_h, tol, "h_n")
    w = torch.randn_like(out)
    (ref_out * w).sum().backward()
    (out * w).sum().backward()
    for (name, p_ref), p in zip(ref.named_parameters(), ours.parameters()):
        assert_close(p.grad, p_ref.grad, tol, f"grad {name}")

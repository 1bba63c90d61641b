"""Properties of the LSTM, GRU and RNN layers over random small configurations (hypothesis).

* every engine a layer may run equals the reference path: outputs, final states, gradients;
* a padded batch (``lengths`` or a mask, with holes or not) equals each sequence run alone;
* whatever the padding holds (random values, NaN, +-inf) changes no output and no gradient.

Examples are derandomized, so a failure reproduces on every machine.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from lstmkit.core.cells import VARIANTS
from lstmkit.core.layers import GRU, LSTM, RNN

SETTINGS = settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
# float32: rounding differs between engines, and layer norm over 2-5 features amplifies it;
# float64 holds the engines to the same function tightly
TOLERANCE = {torch.float32: (1e-3, 1e-4), torch.float64: (1e-9, 1e-10)}  # (rtol, atol)


@dataclass
class Case:
    """One drawn configuration: a layer, its input and which steps are real."""

    layer: LSTM | GRU | RNN
    x: Tensor  # (L, N, H_in), or (N, L, H_in) with batch_first
    real: Tensor  # (L, N) bool, time-major
    as_lengths: bool  # pass ``lengths`` (the mask is a prefix mask) rather than ``mask``
    batch_first: bool

    def how(self) -> dict[str, Any]:
        if self.as_lengths:
            return {"lengths": self.real.sum(0).tolist()}
        return {"mask": self.real.T if self.batch_first else self.real}

    def with_padding(self, value: float | None) -> Tensor:
        """The input with ``value`` at every padded step (random values for ``None``)."""
        real = self.real.T if self.batch_first else self.real
        fill = torch.randn_like(self.x) * 1e3 if value is None else torch.full_like(self.x, value)
        return torch.where(real[..., None], self.x, fill)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["lstm", "gru", "rnn"]))
    L, N = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    h_in, hidden = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    batch_first = draw(st.booleans())
    common = dict(
        num_layers=draw(st.integers(1, 2)),
        bidirectional=draw(st.booleans()),
        batch_first=batch_first,
        dtype=dtype,
    )
    with_holes = draw(st.booleans())
    if kind == "lstm":
        variant = draw(st.sampled_from(sorted(VARIANTS)))
        layer_norm = hidden > 1 and draw(st.booleans())  # (normalizing one feature: rounding noise)
        proj = draw(st.integers(0, hidden - 1)) if draw(st.booleans()) else 0
        classic = variant == "classic" and not layer_norm
        engines = ["auto", "fused"] + (["native"] if classic and not with_holes else [])
        extra: dict[str, Any] = dict(variant=variant, layer_norm=layer_norm, proj_size=proj)
        cls: type[LSTM | GRU | RNN] = LSTM
    else:
        engines = ["auto"] + ([] if with_holes else ["native"])
        extra = {"nonlinearity": draw(st.sampled_from(["tanh", "relu"]))} if kind == "rnn" else {}
        cls = GRU if kind == "gru" else RNN
    engine = draw(st.sampled_from(engines))
    seed = draw(st.integers(0, 2**16))
    torch.manual_seed(seed)
    layer = cls(h_in, hidden, engine=engine, **common, **extra)
    x = torch.randn(N, L, h_in, dtype=dtype) if batch_first else torch.randn(L, N, h_in, dtype=dtype)
    if with_holes:  # any pattern of real and padded steps
        real = torch.tensor(draw(st.lists(st.booleans(), min_size=L * N, max_size=L * N))).view(L, N)
    else:
        lengths = torch.tensor(draw(st.lists(st.integers(0, L), min_size=N, max_size=N)))
        real = torch.arange(L)[:, None] < lengths[None, :]
    return Case(layer, x, real, as_lengths=not with_holes and draw(st.booleans()), batch_first=batch_first)


def tensors(obj: Any) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    return [t for o in obj for t in tensors(o)]


def results(layer: nn.Module, x: Tensor, how: dict[str, Any]) -> list[Tensor]:
    """Output, final state and the gradients of a loss of both (input, then parameters)."""
    x = x.detach().clone().requires_grad_()
    out, state = layer(x, **how)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    loss = (out * weights).sum() + sum((s * s).sum() for s in tensors(state))
    grads = torch.autograd.grad(loss, [x, *layer.parameters()], allow_unused=True)
    return [out, *tensors(state), *(g if g is not None else torch.zeros(()) for g in grads)]


def assert_all_close(got: list[Tensor], want: list[Tensor], tol: tuple[float, float]) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=tol[0], atol=tol[1])


@settings(SETTINGS, max_examples=300)
@given(cases())
def test_every_engine_equals_the_reference_path(case: Case) -> None:
    reference = copy.deepcopy(case.layer)
    reference.engine = "reference"
    x = case.with_padding(0.0)
    got = results(case.layer, x, case.how())
    want = results(reference, x, case.how())
    assert_all_close(got, want, TOLERANCE[case.x.dtype])


@settings(SETTINGS, max_examples=150)
@given(cases())
def test_a_padded_batch_equals_each_sequence_alone(case: Case) -> None:
    layer, real = case.layer, case.real
    with torch.no_grad():
        out, state = layer(case.with_padding(0.0), **case.how())
    out_tm = out.transpose(0, 1) if case.batch_first else out  # (L, N, D*H_out)
    finals = tensors(state)  # each (D*num_layers, N, size)
    tol = TOLERANCE[case.x.dtype]
    x_tm = case.x.transpose(0, 1) if case.batch_first else case.x
    for n in range(real.shape[1]):
        steps = real[:, n]
        assert bool((out_tm[~steps, n] == 0).all()), "a padded step's output is not zero"
        if not bool(steps.any()):  # no real step: the initial (zero) state, kept
            assert all(bool((f[:, n] == 0).all()) for f in finals)
            continue
        with torch.no_grad():
            alone, alone_state = layer(x_tm[steps, n])  # unbatched (k, H_in)
        assert_all_close([out_tm[steps, n], *(f[:, n] for f in finals)], [alone, *tensors(alone_state)], tol)


@settings(SETTINGS, max_examples=150)
@given(cases(), st.sampled_from([None, float("nan"), float("inf"), -float("inf")]))
def test_padding_changes_no_output_and_no_gradient(case: Case, value: float | None) -> None:
    want = results(case.layer, case.with_padding(0.0), case.how())
    got = results(case.layer, case.with_padding(value), case.how())
    assert_all_close(got, want, (0.0, 0.0))

"""The LSTM layer's contract: parameter names and shapes, regularizers, errors on bad input."""

from __future__ import annotations

import pytest
import torch
from tests.helpers import assert_close

from lstmkit import GRU, LSTM, RNN, FGRState, LSTMState, Recurrent, scan
from lstmkit.core.cells import LSTMSpec, lstm_input_projection, lstm_step
from lstmkit.core.layers.regularizers import variational_mask

# ---------------------------------------------------------------- parameter contract


def test_parameter_names_and_shapes_classic() -> None:
    layer = LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=5)
    shapes = {n: tuple(p.shape) for n, p in layer.named_parameters()}
    expected = {}
    for k in range(2):
        for sfx in ("", "_reverse"):
            in_size = 3 if k == 0 else 10
            expected |= {
                f"weight_ih_l{k}{sfx}": (32, in_size),
                f"weight_hh_l{k}{sfx}": (32, 5),
                f"bias_ih_l{k}{sfx}": (32,),
                f"bias_hh_l{k}{sfx}": (32,),
                f"weight_hr_l{k}{sfx}": (5, 8),
            }
    assert shapes == expected


@pytest.mark.parametrize(
    "variant,extra",
    [
        ("vanilla", {"weight_ch_l0": (3, 6)}),
        ("cifg", {"weight_ch_l0": (2, 6)}),
        ("nig", {"weight_ch_l0": (2, 6)}),
        ("fgr", {"weight_ch_l0": (3, 6), "weight_gh_l0": (18, 18)}),
        ("original1997", {}),
    ],
)
def test_parameter_names_and_shapes_variants(variant: str, extra: dict) -> None:
    layer = LSTM(3, 6, variant=variant)
    gates = 3 if variant in ("cifg", "nig", "original1997") else 4
    expected = {
        "weight_ih_l0": (gates * 6, 3),
        "weight_hh_l0": (gates * 6, 6),
        "bias_ih_l0": (gates * 6,),
        "bias_hh_l0": (gates * 6,),
        **extra,
    }
    assert {n: tuple(p.shape) for n, p in layer.named_parameters()} == expected


def test_layer_norm_parameters() -> None:
    layer = LSTM(3, 6, layer_norm=True, bias=False)
    assert {n: tuple(p.shape) for n, p in layer.named_parameters()} == {
        "weight_ih_l0": (24, 3),
        "weight_hh_l0": (24, 6),
        "ln_ih_weight_l0": (24,),
        "ln_hh_weight_l0": (24,),
        "ln_c_weight_l0": (6,),
        "ln_c_bias_l0": (6,),
    }


def test_fgr_state_type() -> None:
    _, state = LSTM(2, 3, variant="fgr")(torch.randn(4, 2, 2))
    assert isinstance(state, FGRState) and state.gates.shape == (1, 2, 9)
    _, state = LSTM(2, 3)(torch.randn(4, 2, 2))
    assert isinstance(state, LSTMState)


# ---------------------------------------------------------------- regularizers


def test_regularizers_are_off_in_eval_and_seeded_in_training() -> None:
    kwargs = dict(input_dropout=0.3, recurrent_dropout=0.3, weight_drop=0.3, dropout=0.3, num_layers=2)
    layer = LSTM(4, 6, **kwargs)
    plain = LSTM(4, 6, num_layers=2)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(7, 3, 4)
    assert_close(layer.eval()(x)[0], plain.eval()(x)[0], 0.0, "eval mode has no dropout")
    layer.train()
    torch.manual_seed(1)
    a = layer(x)[0]
    torch.manual_seed(1)
    b = layer(x)[0]
    torch.manual_seed(2)
    c = layer(x)[0]
    assert_close(a, b, 0.0, "same seed, same masks")
    assert (a - c).abs().max() > 1e-3, "another seed draws other masks"
    assert (a - plain(x)[0]).abs().max() > 1e-3, "training mode applies the regularizers"


def test_input_dropout_is_variational() -> None:
    """The same input features are dropped at every step of a sequence (Gal & Ghahramani)."""
    layer = LSTM(40, 5, input_dropout=0.5).train()
    x = torch.randn(6, 3, 40, requires_grad=True)
    out, _ = layer(x)
    out.sum().backward()
    dropped = x.grad == 0  # (L, N, H_in)
    assert torch.equal(dropped, dropped[:1].expand_as(dropped)), "mask differs between steps"
    frac = dropped[0].float().mean().item()
    assert 0.3 < frac < 0.7, f"dropped fraction {frac} far from p=0.5"
    assert not torch.equal(dropped[0, 0], dropped[0, 1]), "each sequence draws its own mask"


def test_recurrent_dropout_uses_one_mask_per_sequence() -> None:
    """Same result as a manual loop that applies one mask on h_{t-1} at every step."""
    layer = LSTM(3, 6, recurrent_dropout=0.4, dtype=torch.float64).train()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    torch.manual_seed(11)
    out, _ = layer(x)
    torch.manual_seed(11)
    h_mask = variational_mask((2, 6), 0.4, torch.float64, torch.device("cpu"))
    params, spec = layer.params(0), layer.spec
    state = layer.initial_state(2)
    state = LSTMState(state.h[0], state.c[0])
    outs = []
    for x_t in x:
        state = lstm_step(lstm_input_projection(x_t, params, spec), state, params, spec, h_mask)
        outs.append(state.h)
    assert_close(out, torch.stack(outs), 1e-12, "recurrent dropout")
    assert (h_mask == 0).any() and (h_mask != 0).any()


def test_zoneout_semantics() -> None:
    x = torch.randn(6, 2, 3)
    h0, c0 = torch.randn(1, 2, 4), torch.randn(1, 2, 4)
    frozen = LSTM(3, 4, zoneout=0.999999).train()
    torch.manual_seed(0)
    out, (h, c) = frozen(x, (h0, c0))
    # with z ~ 1 every unit keeps its previous value: the state never moves
    assert_close(out, h0.expand(6, 2, 4), 0.0, "zoneout 1 keeps h")
    assert_close(h, h0, 0.0, "zoneout 1 keeps h_n")
    assert_close(c, c0, 0.0, "zoneout 1 keeps c")
    # evaluation: the expectation, s = z s_prev + (1 - z) s_new
    layer = LSTM(3, 4, zoneout=(0.3, 0.6), dtype=torch.float64).eval()
    plain = LSTM(3, 4, dtype=torch.float64)
    plain.load_state_dict(layer.state_dict())
    xd = torch.randn(4, 2, 3, dtype=torch.float64)
    out, _ = layer(xd)
    state = plain.initial_state(2)
    outs = []
    for x_t in xd:
        _, new = plain(x_t[None], state)
        state = LSTMState(0.3 * state.h + 0.7 * new.h, 0.6 * state.c + 0.4 * new.c)
        outs.append(state.h[0])
    assert_close(out, torch.stack(outs), 1e-12, "zoneout expectation at evaluation")


def test_weight_drop_masks_weight_hh_once_per_forward() -> None:
    layer = LSTM(3, 20, weight_drop=0.5).train()
    out, _ = layer(torch.randn(8, 4, 3))
    out.sum().backward()
    zero = layer.weight_hh_l0.grad == 0
    frac = zero.float().mean().item()
    assert 0.35 < frac < 0.65, f"dropped fraction of weight_hh {frac} far from 0.5"
    assert not (layer.weight_ih_l0.grad == 0).any(), "weight_ih is not dropped"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"hidden_size": -1}, ValueError, "hidden_size"),
        ({"hidden_size": 0}, ValueError, "hidden_size"),
        ({"input_size": 2.5}, TypeError, "input_size"),
        ({"num_layers": 0}, ValueError, "num_layers"),
        ({"dropout": 1.0}, ValueError, "dropout"),
        ({"dropout": -0.1}, ValueError, "dropout"),
        ({"recurrent_dropout": 1.5}, ValueError, "recurrent_dropout"),
        ({"zoneout": (0.1, 1.0)}, ValueError, "zoneout"),
        ({"weight_drop": -0.2}, ValueError, "weight_drop"),
        ({"proj_size": 4}, ValueError, "proj_size"),
        ({"proj_size": -1}, ValueError, "proj_size"),
        ({"variant": "peepholey"}, ValueError, "variant"),
        ({"recurrent_init": "xavier"}, ValueError, "recurrent_init"),
    ],
)
def test_invalid_hyperparameters(kwargs: dict, error: type, match: str) -> None:
    args = {"input_size": 3, "hidden_size": 4} | kwargs
    with pytest.raises(error, match=match):
        LSTM(**args)


def test_invalid_specs() -> None:
    with pytest.raises(ValueError, match="coupled"):
        LSTMSpec(coupled=True, input_gate=False)
    with pytest.raises(ValueError, match="cell_activation"):
        LSTMSpec(cell_activation="relu6")


def test_bad_inputs_name_the_argument() -> None:
    layer = LSTM(3, 4, num_layers=2)
    x = torch.randn(5, 2, 3)
    with pytest.raises(ValueError, match=r"input: expected a 3-D .* got shape \(5, 2, 3, 1\)"):
        layer(x[..., None])
    with pytest.raises(ValueError, match=r"input: expected 3 features .* got shape \(5, 2, 7\)"):
        layer(torch.randn(5, 2, 7))
    with pytest.raises(TypeError, match=r"input: expected dtype torch.float32.*got torch.float64"):
        layer(x.double())
    with pytest.raises(TypeError, match="input: expected a Tensor"):
        layer([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="at least one time step"):
        layer(torch.randn(0, 2, 3))
    with pytest.raises(ValueError, match=r"at least one sequence in the batch, got shape \(5, 0, 3\)"):
        layer(torch.randn(5, 0, 3))
    with pytest.raises(ValueError, match=r"state.h: expected shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        layer(x, (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match=r"state.c: expected shape \(2, 2, 4\)"):
        layer(x, (torch.zeros(2, 2, 4), torch.zeros(2, 3, 4)))
    with pytest.raises(TypeError, match="state: expected a tuple \\(h, c\\)"):
        layer(x, torch.zeros(2, 2, 4))
    with pytest.raises(TypeError, match=r"state: expected a tuple \(h, c\) of tensors, got tuple of 3"):
        layer(x, (torch.zeros(2, 2, 4),) * 3)
    with pytest.raises(TypeError, match=r"state\.c: expected dtype"):
        layer(x, (torch.zeros(2, 2, 4), torch.zeros(2, 2, 4, dtype=torch.float64)))
    with pytest.raises(ValueError, match=r"lengths: expected values in \[0, 5\].*max 6"):
        layer(x, lengths=torch.tensor([6, 2]))
    with pytest.raises(ValueError, match=r"lengths: expected values in .*min -1"):
        layer(x, lengths=[-1, 2])
    with pytest.raises(ValueError, match=r"lengths: expected shape \(2,\).*got \(3,\)"):
        layer(x, lengths=torch.tensor([5, 2, 1]))
    with pytest.raises(TypeError, match="lengths: expected an integer tensor"):
        layer(x, lengths=torch.tensor([5.0, 2.0]))
    with pytest.raises(ValueError, match="lengths, mask"):
        layer(x, lengths=[5, 2], mask=torch.ones(5, 2, dtype=torch.bool))
    with pytest.raises(TypeError, match="mask: expected a bool tensor"):
        layer(x, mask=torch.ones(5, 2))
    with pytest.raises(ValueError, match=r"mask: expected shape \(5, 2\)"):
        layer(x, mask=torch.ones(2, 5, dtype=torch.bool))


def test_device_mismatch_is_reported() -> None:
    layer = LSTM(3, 4).to("meta")
    with pytest.raises(ValueError, match="input: expected device meta"):
        layer(torch.randn(5, 2, 3))


def test_gru_rnn_and_runner_errors() -> None:
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(TypeError, match="state: expected a tensor"):
        GRU(3, 4)(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match="inputs: expected"):
        scan(lambda x, h: h, torch.randn(0, 2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="state: required"):
        Recurrent(torch.nn.Identity())(torch.randn(3, 2, 4))

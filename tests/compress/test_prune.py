"""Pruning: magnitude masks that fine-tuning, state dicts and every engine respect; structured
pruning whose smaller layers equal the masked ones, for every LSTM variant and option."""

from __future__ import annotations

import copy

import pytest
import torch
from tests.helpers import assert_close
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from lstmkit.apps.classification.model import LSTMClassifier
from lstmkit.apps.language.lm import LanguageModel
from lstmkit.compress import prune_magnitude, prune_units, remove_pruning
from lstmkit.core.cells import VARIANTS
from lstmkit.core.engines.fused import build
from lstmkit.core.layers import GRU, LSTM, RNN
from lstmkit.fit import TrainConfig, Trainer, masked_mse

F64 = torch.float64
needs_fused = pytest.mark.skipif(build.load_extension() is None, reason="needs the fused extension")


class Net(nn.Module):
    """An LSTM (batch first) whose every output step a linear head reads."""

    def __init__(self, hidden: int = 8, dtype: torch.dtype = F64, **options) -> None:
        super().__init__()
        self.lstm = LSTM(3, hidden, batch_first=True, engine="reference", dtype=dtype, **options)
        width = self.lstm.output_size * self.lstm.num_directions
        self.head = nn.Linear(width, 2, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.lstm(x)[0])  # (N, L, 2)


def _x(dtype: torch.dtype = F64, n: int = 4, length: int = 6) -> Tensor:
    return torch.randn(n, length, 3, dtype=dtype)


# ---------------------------------------------------------------------- magnitude pruning
def test_magnitude_layer_scope_zeros_the_smallest_share_of_each_tensor() -> None:
    net = Net(num_layers=2, proj_size=3)
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    report = prune_magnitude(net, 0.4)
    names = {f"lstm.{n}_l{k}" for n in ("weight_ih", "weight_hh", "weight_hr") for k in (0, 1)}
    assert set(report.sparsity) == names | {"head.weight"}
    for name, share in report.sparsity.items():
        module, _, param = name.rpartition(".")
        w = getattr(net.get_submodule(module), param)
        original = before[name]
        assert share == pytest.approx(round(0.4 * w.numel()) / w.numel())
        pruned, kept = original[w == 0].abs(), original[w != 0].abs()
        assert pruned.max() <= kept.min()  # the smallest magnitudes went
        assert torch.equal(w[w != 0], original[w != 0])  # the rest unchanged
    assert report.total == sum(before[name].numel() for name in report.sparsity)
    assert report.zeros == round(report.share * report.total)
    assert "total" in str(report)


def test_magnitude_global_scope_and_pruning_again() -> None:
    net = Net(num_layers=2)
    net.lstm.weight_hh_l1.data.mul_(0.01)  # tiny weights: a global threshold takes them first
    report = prune_magnitude(net, 0.3, scope="global")
    assert report.share == pytest.approx(0.3, abs=1e-3)
    assert report.sparsity["lstm.weight_hh_l1"] > 0.99
    zeros_before = net.lstm.weight_ih_l0 == 0
    again = prune_magnitude(net, 0.6, scope="global")
    assert again.share == pytest.approx(0.6, abs=1e-3)
    assert bool((net.lstm.weight_ih_l0[zeros_before] == 0).all())  # masks only grow
    assert len(net.lstm.parametrizations["weight_ih_l0"]) == 1  # one mask, updated
    assert prune_magnitude(net, 0.2, scope="global").share == again.share  # none revived


def test_magnitude_prunes_gru_rnn_and_chosen_names() -> None:
    model = nn.ModuleDict(
        {"gru": GRU(3, 6, bidirectional=True), "rnn": RNN(3, 5), "lstm": LSTM(3, 4, variant="vanilla")}
    )
    report = prune_magnitude(model, 0.5, names=("weight_hh", "weight_ch"), linear=False)
    assert set(report.sparsity) == {
        "gru.weight_hh_l0",
        "gru.weight_hh_l0_reverse",
        "rnn.weight_hh_l0",
        "lstm.weight_hh_l0",
        "lstm.weight_ch_l0",
    }
    assert all(share == pytest.approx(0.5, abs=0.03) for share in report.sparsity.values())  # 25 weights: 13


def test_a_tied_linear_weight_is_left_alone() -> None:
    lm = LanguageModel(20, embed_dim=8, hidden_size=8, num_layers=1)  # decoder tied to the embedding
    report = prune_magnitude(lm, 0.5)
    assert set(report.sparsity) == {"lstm.weight_ih_l0", "lstm.weight_hh_l0"}
    assert lm.decoder.weight is lm.embedding.weight


def test_fine_tuning_keeps_pruned_weights_at_zero() -> None:
    net = Net()
    prune_magnitude(net, 0.5)
    zeros = net.lstm.weight_ih_l0 == 0
    x, y = _x(n=32), torch.randn(32, 6, 2, dtype=F64)
    data = DataLoader(TensorDataset(x, y), batch_size=8)
    before = net.lstm.weight_ih_l0.detach().clone()
    config = TrainConfig(
        lr=1e-2, weight_decay=0.1, optimizer="adamw", max_epochs=3, progress=False, plot=False
    )
    Trainer(net, config, loss_fn=masked_mse).fit(data)
    after = net.lstm.weight_ih_l0.detach()
    assert bool((after[zeros] == 0).all())
    assert not torch.equal(after[~zeros], before[~zeros])  # it did learn
    assert float((net.head.weight == 0).double().mean()) == 0.5


def test_copies_prune_and_unprune_on_their_own() -> None:
    net, x = Net(), _x()
    prune_magnitude(net, 0.5, names=("weight_ih",))
    twin = copy.deepcopy(net)  # torch's parametrize shares the module class with the copy
    prune_magnitude(twin, 0.5, names=("weight_hh",))
    expected = net(x)
    remove_pruning(twin)
    assert_close(net(x), expected, 0.0, "the original after its copy changed")
    assert list(net.lstm.parametrizations) == ["weight_ih_l0"]


def test_masks_survive_a_state_dict_round_trip_and_removal() -> None:
    net, x = Net(variant="cifg"), _x()
    prune_magnitude(net, 0.7)
    state = copy.deepcopy(net.state_dict())
    assert "lstm.parametrizations.weight_hh_l0.original" in state
    assert "lstm.parametrizations.weight_hh_l0.0.mask" in state
    other = Net(variant="cifg")
    prune_magnitude(other, 0.1)  # other masks: the state dict brings its own
    other.load_state_dict(state)
    assert_close(other(x), net(x), 0.0, "loaded")
    param = net.lstm.parametrizations["weight_hh_l0"].original
    expected = net(x)
    assert remove_pruning(net) is net
    assert type(net.lstm) is LSTM and isinstance(net.lstm.weight_hh_l0, nn.Parameter)
    assert net.lstm.weight_hh_l0 is param  # an optimizer over it still works
    assert float((net.lstm.weight_hh_l0 == 0).double().mean()) == pytest.approx(0.7, abs=0.01)
    assert_close(net(x), expected, 0.0, "after removal")
    assert not any("parametrizations" in k for k in net.state_dict())


@needs_fused
def test_the_fused_engine_reads_the_masked_weights() -> None:
    net, x = Net(num_layers=2, variant="fgr"), _x()
    prune_magnitude(net, 0.5)
    plain = copy.deepcopy(net)
    remove_pruning(plain)
    net.lstm.engine = "fused"
    out = net(x)
    assert_close(out, plain(x), 1e-10, "fused on masked weights")
    out.square().sum().backward()
    original = net.lstm.parametrizations["weight_hh_l1"].original
    mask = net.lstm.parametrizations["weight_hh_l1"][0].mask
    assert original.grad is not None and bool((original.grad[~mask] == 0).all())
    assert float(original.grad[mask].abs().sum()) > 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"amount": 1.0}, "amount: expected a share in \\[0, 1\\)"),
        ({"amount": -0.1}, "amount"),
        ({"amount": 0.5, "scope": "model"}, "scope: expected one of"),
        ({"amount": 0.5, "names": ("weight_xh",)}, "names: \\['weight_xh'\\]"),
    ],
)
def test_magnitude_arguments_are_checked(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prune_magnitude(Net(), **arguments)


def test_magnitude_needs_a_prunable_tensor() -> None:
    with pytest.raises(ValueError, match="model: no tensor to prune"):
        prune_magnitude(nn.Conv1d(2, 2, 3), 0.5)
    with pytest.raises(TypeError, match="amount"):
        prune_magnitude(Net(), True)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- structured pruning
def _kept_units(old: LSTM, new: LSTM, layer: int, direction: int) -> Tensor:
    """The original indices of the units ``new`` kept (found by their input-gate block bias)."""
    old_b = old.layer_params(layer, direction)["bias_ih"][: old.hidden_size]
    new_b = new.layer_params(layer, direction)["bias_ih"][: new.hidden_size]
    return torch.tensor([int((old_b == b).nonzero()) for b in new_b])


def _masked(net: Net, pruned: Net) -> Net:
    """``net`` with the rows and columns of the units ``pruned`` removed set to zero."""
    ref = copy.deepcopy(net)
    lstm, spec, hidden = ref.lstm, ref.lstm.spec, ref.lstm.hidden_size
    with torch.no_grad():
        for layer in range(lstm.num_layers):
            for d in range(lstm.num_directions):
                gone = torch.ones(hidden, dtype=torch.bool)
                gone[_kept_units(net.lstm, pruned.lstm, layer, d)] = False
                units = gone.nonzero().squeeze(1)
                p = lstm.layer_params(layer, d)
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    for block in range(spec.num_gates):
                        p[name][block * hidden + units] = 0
                if "weight_ch" in p:
                    p["weight_ch"][:, units] = 0
                if "weight_gh" in p:
                    for block in range(len(spec.sigmoid_gates)):
                        p["weight_gh"][block * hidden + units] = 0
                        p["weight_gh"][:, block * hidden + units] = 0
                if lstm.proj_size:
                    p["weight_hr"][:, units] = 0
                    continue
                p["weight_hh"][:, units] = 0
                readers = (
                    [lstm.layer_params(layer + 1, k)["weight_ih"] for k in range(lstm.num_directions)]
                    if layer + 1 < lstm.num_layers
                    else [ref.head.weight]
                )
                for weight in readers:
                    weight[:, d * hidden + units] = 0
    return ref


OPTIONS = [
    pytest.param({}, id="plain"),
    pytest.param({"proj_size": 3}, id="proj"),
    pytest.param({"bidirectional": True}, id="bidirectional"),
    pytest.param({"num_layers": 2}, id="two-layers"),
]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_pruned_units_equal_the_masked_model(variant: str, options: dict) -> None:
    net, x = Net(variant=variant, **options), _x()
    pruned = prune_units(copy.deepcopy(net), 0.5)
    assert type(pruned.lstm) is LSTM and pruned.lstm.hidden_size == 4
    assert pruned.lstm.spec == net.lstm.spec and pruned.lstm.proj_size == net.lstm.proj_size
    size = sum(p.numel() for p in pruned.parameters())
    assert size < sum(p.numel() for p in net.parameters())
    assert_close(pruned(x), _masked(net, pruned)(x), 1e-6, f"{variant} {options}")


def test_two_bidirectional_projected_layers_equal_the_masked_model() -> None:
    net, x = Net(hidden=10, variant="fgr", num_layers=2, bidirectional=True, proj_size=4), _x()
    pruned = prune_units(copy.deepcopy(net), 0.3, criterion="l1")
    assert pruned.lstm.hidden_size == 7 and pruned.head.in_features == 8  # h keeps proj_size
    assert_close(pruned(x), _masked(net, pruned)(x), 1e-6, "fgr 2x bidirectional proj")
    plain = Net(hidden=10, num_layers=2, bidirectional=True)
    small = prune_units(copy.deepcopy(plain), 0.3)
    assert small.head.in_features == 14
    assert_close(small(x), _masked(plain, small)(x), 1e-6, "classic 2x bidirectional")


@pytest.mark.parametrize("engine", ["reference", pytest.param("fused", marks=needs_fused)])
@pytest.mark.parametrize("variant", ["classic", "vanilla", "fgr", "original1997"])
def test_the_rebuilt_layer_runs_on_every_engine(variant: str, engine: str) -> None:
    net, x = Net(variant=variant, num_layers=2, bidirectional=True), _x()
    pruned = prune_units(net, 0.25)
    expected = pruned(x)
    pruned.lstm.engine = engine
    assert_close(pruned(x), expected, 1e-10, engine)


class _Reads(nn.Module):
    """An LSTM whose last h a head reads after two other features, then another linear layer."""

    def __init__(self, head_in: int, extra_in: int) -> None:
        super().__init__()
        self.lstm = LSTM(3, 8, batch_first=True, dtype=F64)
        self.features = head_in - 8  # read before h
        self.head = nn.Linear(head_in, extra_in, dtype=F64)
        self.extra = nn.Linear(extra_in, 2, dtype=F64)

    def forward(self, x: Tensor) -> Tensor:
        h = self.lstm(x)[1].h[-1]  # (N, 8)
        z = torch.cat([x[:, -1, : self.features], h], dim=1)
        return self.extra(self.head(z))


def test_the_reader_is_found_or_named() -> None:
    x = _x()
    with pytest.raises(ValueError, match=r"consumers: cannot tell which nn.Linear .*2 with in_features == 8"):
        prune_units(_Reads(8, 8), 0.5)
    assert prune_units(_Reads(8, 8), 0.5, consumers={"lstm": "head"}).head.in_features == 4
    net = _Reads(2 + 8, 5)
    with pytest.raises(ValueError, match=r"0 with in_features == 8.*consumers=\{'lstm': 'head'\}"):
        prune_units(copy.deepcopy(net), 0.5)
    pruned = prune_units(copy.deepcopy(net), 0.5, consumers={"lstm": ("head", 2)})
    assert pruned.head.in_features == 6 and pruned.extra.in_features == 5
    masked = copy.deepcopy(net)
    with torch.no_grad():
        gone = torch.ones(8, dtype=torch.bool)
        gone[_kept_units(net.lstm, pruned.lstm, 0, 0)] = False
        masked.lstm.weight_hh_l0[:, gone] = 0
        masked.head.weight[:, 2:][:, gone] = 0
    assert_close(pruned(x), masked(x), 1e-10, "reader at an offset")
    with pytest.raises(ValueError, match=r"consumers\['lstm'\]: expected an nn.Linear"):
        prune_units(copy.deepcopy(net), 0.5, consumers={"lstm": ("head", 3)})
    with pytest.raises(ValueError, match=r"consumers: no LSTM named \['rnn'\]"):
        prune_units(copy.deepcopy(net), 0.5, consumers={"rnn": "head"})
    assert prune_units(copy.deepcopy(net), 0.5, consumers={"lstm": None}).head.in_features == 10


def test_an_app_network_and_a_bare_lstm() -> None:
    net = LSTMClassifier(3, 4, hidden_size=16, bidirectional=True).double().eval()
    x = _x()
    pruned = prune_units(copy.deepcopy(net), 0.5)
    assert isinstance(pruned, LSTMClassifier) and pruned.lstm.hidden_size == 8
    assert pruned.head.in_features == 16 and pruned(x).shape == (4, 4)
    lstm = LSTM(3, 6, variant="nig", dtype=F64)
    small = prune_units(lstm, 0.5)
    assert isinstance(small, LSTM) and small is not lstm and small.hidden_size == 3
    kept = _kept_units(lstm, small, 0, 0)
    with torch.no_grad():
        gone = torch.ones(6, dtype=torch.bool)
        gone[kept] = False
        lstm.weight_hh_l0[:, gone] = 0  # the removed units reach the kept ones through h only
    assert_close(small(x)[0], lstm(x)[0][..., kept], 1e-10, "bare LSTM")


def test_structured_pruning_refuses_what_it_cannot_keep_exact() -> None:
    with pytest.raises(ValueError, match="layer_norm"):
        prune_units(Net(layer_norm=True), 0.5)
    masked = Net()
    prune_magnitude(masked, 0.5)
    with pytest.raises(ValueError, match="remove_pruning"):
        prune_units(masked, 0.5)
    with pytest.raises(ValueError, match="proj_size"):
        prune_units(Net(proj_size=3), 0.75)  # 2 units left, fewer than proj_size
    with pytest.raises(ValueError, match=r"no lstmkit\.LSTM"):
        prune_units(nn.Sequential(GRU(3, 4)), 0.5)
    with pytest.raises(ValueError, match="criterion"):
        prune_units(Net(), 0.5, criterion="l3")


def test_the_units_with_the_smallest_norms_go() -> None:
    net = Net(num_layers=2)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0"):
            getattr(net.lstm, name).view(4, 8, -1)[:, :4] *= 1e-3  # units 0-3 of layer 0: tiny rows
        net.lstm.weight_hh_l0[:, :4] *= 1e-3
        net.lstm.weight_ih_l1[:, :4] *= 1e-3
        for name in ("weight_ih_l1", "weight_hh_l1"):
            getattr(net.lstm, name).fill_(0.1)  # layer 1: equal rows; the head decides
        net.head.weight.copy_(torch.arange(1.0, 9.0, dtype=F64).expand(2, 8))  # unit j: column j + 1
    pruned = prune_units(copy.deepcopy(net), 0.5)
    assert _kept_units(net.lstm, pruned.lstm, 0, 0).tolist() == [4, 5, 6, 7]
    assert pruned.head.weight[0].tolist() == [5.0, 6.0, 7.0, 8.0]  # the reader's largest columns

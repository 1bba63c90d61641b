"""int8 dynamic quantization (lstmkit.compress.quantize and the kernel's int8 products).

The tolerance of quantized against float (``quantization_tolerance``): one product term
``a_k w_k`` is off by at most ``(s_w |a| + s_a |w|) / 2`` (half a step of each factor, ``s_w``
the weight's row scale, ``s_a`` the activation row's); K such rounding errors, independent and
zero-mean, add up to about ``sqrt(K / 12)`` times one step (a standard deviation), and the gates
(derivatives <= 1) and the forget gate's decay pass it on without growing it. The test allows
``C * sqrt(K) * (s_w a_max + w_max s_a)`` with K the longest row of any weight, ``a_max = max(|x|,
1)`` (h and the FGR gates lie in [-1, 1] for the bounded variants), ``s_a = 2 a_max / 127``
(7-bit activations), ``s_w``, ``w_max`` the largest weight scale and magnitude, and C = 1/4 (C = 2
with layer norm, which divides the product's error by the standard deviation of its row, about
1/8 at these sizes). The largest error seen over every variant and option is about half of it; a
weight scale off by 5% breaks it (test_wrong_scale_breaks_tolerance).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator

import pytest
import torch
from torch import nn

import lstmkit
from lstmkit.compress import QuantizedLSTM, quantize_dynamic
from lstmkit.compress.quantize import MATRICES, quantize_weight
from lstmkit.core.engines.fused.build import require_extension

VARIANTS = ["classic", "vanilla", "cifg", "nig", "nfg", "nog", "niaf", "noaf", "np", "fgr", "original1997"]
OPTIONS = {
    "plain": {},
    "proj": {"proj_size": 3},
    "layer_norm": {"layer_norm": True},
    "bidirectional_2_layers": {"bidirectional": True, "num_layers": 2},
    "zoneout": {"zoneout": (0.2, 0.3)},
}
ext = require_extension()


@pytest.fixture
def backend() -> Iterator[None]:
    yield
    ext.set_int8_backend("auto")


def backends() -> list[str]:
    found = []
    for name in ("scalar", "avx2", "vnni"):
        try:
            ext.set_int8_backend(name)
            found.append(name)
        except ValueError:
            pass
    ext.set_int8_backend("auto")
    return found


def quantization_tolerance(q: QuantizedLSTM, x: torch.Tensor) -> float:
    """The module docstring's bound for ``q`` on ``x``."""
    pairs = [
        p for k in range(q.num_layers) for d in range(q.num_directions) for p in q.int8_weights(k, d).values()
    ]
    s_w = max(float(s.max()) for _, s in pairs)
    w_max = 127 * s_w
    a_max = max(float(x.abs().max()), 1.0)
    K = max(w.shape[1] for w, _ in pairs)
    C = 2.0 if q.spec.layer_norm else 0.25
    return C * math.sqrt(K) * (s_w * a_max + w_max * 2 * a_max / 127)


def model(variant: str, options: dict[str, object], seed: int = 0) -> lstmkit.LSTM:
    torch.manual_seed(seed)
    return lstmkit.LSTM(5, 8, variant=variant, **options).eval()  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- the int8 product
@pytest.mark.parametrize("name", ["scalar", "avx2", "vnni"])
def test_int8_products_exact(name: str, backend: None) -> None:
    """Every backend's int32 products equal the integer reference, the extremes included
    (127 x +-127 in every lane: the largest pair sums AVX2's int16 must hold)."""
    if name not in backends():
        pytest.skip(f"this CPU has no {name}")
    ext.set_int8_backend(name)
    torch.manual_seed(0)
    for M, R, K in ((19, 37, 45), (1, 16, 4), (9, 33, 130)):
        q = torch.randint(-127, 128, (R, K), dtype=torch.int8)
        a = torch.randint(0, 128, (M, K), dtype=torch.uint8)
        w = ext.pack_int8(q, torch.rand(R))
        assert torch.equal(ext.int8_products(a, w).long(), a.long() @ q.long().t())
    q = torch.full((3, 64), 127, dtype=torch.int8)
    q[1] = -127
    a = torch.full((2, 64), 127, dtype=torch.uint8)
    out = ext.int8_products(a, ext.pack_int8(q, torch.ones(3)))
    assert out.tolist() == [[127 * 127 * 64, -127 * 127 * 64, 127 * 127 * 64]] * 2


def test_backends_compute_the_same_integers(backend: None) -> None:
    """Forcing the portable path gives bit-identical layer outputs to AVX2 (and VNNI)."""
    q = quantize_dynamic(model("vanilla", {"proj_size": 3, "num_layers": 2}))
    x = torch.randn(6, 4, 5)
    outputs = []
    for name in backends():
        ext.set_int8_backend(name)
        outputs.append(q(x)[0])
    assert len(outputs) >= 2 or backends() == ["scalar"]
    for out in outputs[1:]:
        assert torch.equal(out, outputs[0])


def test_weight_quantization_per_channel() -> None:
    w = torch.tensor([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0], [2.0, 1.0, -0.5]])
    q, s = quantize_weight(w)
    assert q.dtype == torch.int8 and int(q.abs().max()) == 127
    assert torch.allclose(s, torch.tensor([1 / 127, 1.0, 2 / 127]))
    assert float((q.float() * s[:, None] - w).abs().max()) <= float(s.max()) / 2


# ---------------------------------------------------------------------------- against float
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("option", list(OPTIONS))
def test_quantized_matches_float(variant: str, option: str) -> None:
    m = model(variant, OPTIONS[option])
    q = quantize_dynamic(m)
    assert isinstance(q, QuantizedLSTM) and not list(q.parameters())
    x = torch.randn(7, 3, 5)
    with torch.no_grad():
        (y, state), (yq, state_q) = m(x), q(x)
    tol = quantization_tolerance(q, x)
    assert float((y - yq).abs().max()) <= tol
    for a, b in zip(state, state_q):
        assert float((a - b).abs().max()) <= 4 * tol  # c is not squashed: a few steps' worth


def test_wrong_scale_breaks_tolerance() -> None:
    m = model("classic", {})
    q = quantize_dynamic(m)
    x = torch.randn(7, 3, 5)
    with torch.no_grad():
        y, tol = m(x)[0], quantization_tolerance(q, x)
        assert float((y - q(x)[0]).abs().max()) <= tol
        q.weight_ih_scale_l0.mul_(1.05)  # re-packed at the next call (the buffer's version changed)
        assert float((y - q(x)[0]).abs().max()) > tol


# ---------------------------------------------------------------------------- paths and layouts
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("options", [{"num_layers": 2, "proj_size": 3}, {"layer_norm": True, "zoneout": 0.1}])
def test_stream_equals_sequence(variant: str, options: dict[str, object]) -> None:
    q = quantize_dynamic(model(variant, options))
    x = torch.randn(6, 2, 5)
    stream = q.stream(batch_size=2)
    steps = torch.stack([stream.step(x_t) for x_t in x])
    y, state = q(x)
    assert float((steps - y).abs().max()) <= 1e-6
    for a, b in zip(stream.state, state):
        assert float((a - b).abs().max()) <= 1e-6
    h, s = q.step(x[0])
    assert float((h - y[0]).abs().max()) <= 1e-6 and len(s) == len(state)


@pytest.mark.parametrize("variant", ["classic", "fgr"])
def test_lengths_and_masks(variant: str) -> None:
    """A padded batch equals each sequence alone (activations are quantized per row), in every
    layout: lengths, mask, batch_first, packed."""
    q = quantize_dynamic(model(variant, {"bidirectional": True, "num_layers": 2}))
    x, lengths = torch.randn(6, 3, 5), [6, 2, 4]
    y, (h, _c, *_) = q(x, lengths=lengths)
    for n, length in enumerate(lengths):
        y_n, (h_n, *_) = q(x[:length, n : n + 1])
        assert float((y[:length, n : n + 1] - y_n).abs().max()) <= 1e-6
        assert float(y[length:, n].abs().sum()) == 0.0
        assert float((h[:, n] - h_n[:, 0]).abs().max()) <= 1e-6
    mask = torch.arange(6)[:, None] < torch.tensor(lengths)[None]
    assert torch.equal(q(x, mask=mask)[0], y)
    qb = quantize_dynamic(model(variant, {"bidirectional": True, "num_layers": 2, "batch_first": True}))
    assert torch.equal(qb(x.transpose(0, 1), lengths=lengths)[0].transpose(0, 1), y)
    packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
    out, _ = nn.utils.rnn.pad_packed_sequence(q(packed)[0])
    assert float((out - y).abs().max()) <= 1e-6


# ---------------------------------------------------------------------------- models and files
class Tagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = lstmkit.LSTM(5, 16, num_layers=2, variant="vanilla", proj_size=8)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0])


def test_quantize_model_and_serialize(tmp_path: object) -> None:
    torch.manual_seed(0)
    float_model = Tagger().eval()
    qmodel = quantize_dynamic(float_model)
    assert isinstance(qmodel.lstm, QuantizedLSTM)
    assert type(qmodel.head).__module__.startswith("torch.ao.nn.quantized.dynamic")
    assert isinstance(float_model.lstm, lstmkit.LSTM)  # not inplace: the float model is untouched
    x = torch.randn(7, 2, 5)
    with torch.no_grad():
        y, yq = float_model(x), qmodel(x)
    assert float((y - yq).abs().max()) <= 0.05
    buffer = io.BytesIO()
    torch.save(qmodel.state_dict(), buffer)
    fresh = quantize_dynamic(Tagger().eval())  # other weights
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer))
    assert torch.equal(fresh(x), yq)
    whole = io.BytesIO()
    torch.save(qmodel, whole)
    whole.seek(0)
    assert torch.equal(torch.load(whole, weights_only=False)(x), yq)


def test_file_about_four_times_smaller() -> None:
    m = lstmkit.LSTM(128, 128, variant="vanilla")
    sizes = []
    for module in (m, quantize_dynamic(m)):
        buffer = io.BytesIO()
        torch.save(module.state_dict(), buffer)
        sizes.append(buffer.tell())
    assert 3.5 <= sizes[0] / sizes[1] <= 4.2
    names = {n for n in quantize_dynamic(m).state_dict() if n.startswith(MATRICES)}
    assert names == {f"{name}{suffix}_l0" for name in MATRICES[:2] for suffix in ("", "_scale")}


def test_a_text_model_with_its_vocabulary_table_gets_four_times_smaller() -> None:
    """The embedding is quantized too (8 bits per entry, a scale and offset per row): a word
    model whose table is most of its bytes shrinks like its LSTM, and still generates. (With
    tied weights the table is stored twice once quantized, as the embedding and the output
    layer: docs/deployment.md.)"""
    from lstmkit.apps.language.lm import LanguageModel, stream_nll

    torch.manual_seed(0)
    lm = LanguageModel(vocab_size=2000, embed_dim=64, hidden_size=64, num_layers=1, tie_weights=False).eval()
    q = quantize_dynamic(lm)
    sizes = []
    for module in (lm, q):
        buffer = io.BytesIO()
        torch.save(module.state_dict(), buffer)
        sizes.append(buffer.tell())
    # 64 bytes per row of 64 entries, plus a float scale and offset per row (a float table alone: 1.9x)
    assert sizes[0] / sizes[1] >= 3.0, sizes
    tokens = torch.randint(0, 2000, (2, 9))
    with torch.no_grad():
        assert (q(tokens)[0] - lm(tokens)[0]).abs().max() < 0.05
    ids = list(range(3, 300))
    assert abs(stream_nll(q, ids, batch_size=2) - stream_nll(lm, ids, batch_size=2)) < 0.01
    assert len(list(q.generate([5, 6], max_new_tokens=4))) == 4


def test_torch_ao_quantize_dynamic_converts_lstmkit_layers() -> None:
    torch.manual_seed(0)
    float_model = Tagger().eval()
    converted = torch.ao.quantization.quantize_dynamic(
        float_model, {lstmkit.LSTM, nn.Linear}, dtype=torch.qint8
    )
    assert isinstance(converted.lstm, QuantizedLSTM)
    x = torch.randn(4, 2, 5)
    with torch.no_grad():
        assert float((converted(x) - float_model(x)).abs().max()) <= 0.05


def test_torch_ao_warns_where_it_cannot_convert() -> None:
    mapping = torch.ao.quantization.quantization_mappings.get_default_dynamic_quant_module_mappings()
    with pytest.warns(UserWarning, match="stays float32"):
        torch.ao.quantization.quantize_dynamic(nn.Sequential(lstmkit.GRU(3, 4)), {lstmkit.GRU})
    del mapping[lstmkit.LSTM]
    try:
        with pytest.warns(UserWarning, match="lstmkit.compress.quantize_dynamic"):
            torch.ao.quantization.quantize_dynamic(nn.Sequential(lstmkit.LSTM(3, 4)), {lstmkit.LSTM})
    finally:
        mapping[lstmkit.LSTM] = QuantizedLSTM


# ---------------------------------------------------------------------------- bad inputs
def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_bad_inputs_have_clear_errors(backend: None) -> None:
    q = quantize_dynamic(model("classic", {}))
    x = torch.randn(4, 2, 5)
    with pytest.raises(RuntimeError) as err:
        q.train()(x)
    assert "inference only" in one_line(err)
    q.eval()
    with pytest.raises(RuntimeError) as err:
        q(x.requires_grad_())
    assert "no backward" in one_line(err)
    with pytest.raises(TypeError) as err:
        q(torch.randn(4, 2, 5, dtype=torch.float64))
    assert "float32" in one_line(err)
    with pytest.raises(ValueError) as err:
        q(torch.randn(4, 2, 5, device="meta"))
    assert "device" in one_line(err)
    with pytest.raises(ValueError) as err:
        quantize_dynamic(model("classic", {}), dtype=torch.float16)
    assert "qint8" in one_line(err)
    with pytest.raises(ValueError) as err:
        quantize_dynamic(model("classic", {"bidirectional": True})).stream()
    assert "bidirectional" in one_line(err)
    with pytest.raises(ValueError) as err:
        ext.set_int8_backend("sse9")
    assert "scalar" in one_line(err)
    with pytest.raises(ValueError) as err:
        ext.pack_int8(torch.full((2, 3), -128, dtype=torch.int8), torch.ones(2))
    assert "-127" in one_line(err)

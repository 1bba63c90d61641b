"""Saturation statistics and gate plots (lstmkit.explain.gates) on hand-made and real traces."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import lstmkit
from lstmkit.core.layers import GateTrace
from lstmkit.explain.gates import (
    gates_html,
    plot_gate_heatmaps,
    plot_saturation,
    real_steps,
    saturation,
    unit_order,
)

PNG = b"\x89PNG\r\n\x1a\n"


def _trace(i: torch.Tensor, f: torch.Tensor | None = None, o: torch.Tensor | None = None) -> GateTrace:
    """A trace from its input gate (L, N, K, H); f and o default to 0.5, g, c, h to 0.2."""
    half = torch.full_like(i, 0.5)
    other = torch.full_like(i, 0.2)
    return GateTrace(i, half if f is None else f, other, half if o is None else o, other, other)


def _padded(trace: GateTrace, lengths: list[int]) -> tuple[GateTrace, torch.Tensor]:
    """Zero every field past each length (as the layers do); returns the trace and its (L, N) mask."""
    L = trace.i.shape[0]
    mask = torch.arange(L)[:, None] < torch.tensor(lengths)[None, :]  # (L, N)
    m = mask[..., None, None].to(trace.i.dtype)
    return GateTrace(*(x * m for x in trace)), mask


def test_shares_of_a_hand_made_trace_are_counted_over_real_steps_only() -> None:
    # L=10, N=2, K=2 (two layers), H=3; sequence 1 has 6 real steps
    i = torch.full((10, 2, 2, 3), 0.5)
    i[:3, 0, 0, 0] = 0.05  # 3 left-saturated steps in sequence 0
    i[3:5, 0, 0, 0] = 0.95  # 2 right-saturated
    i[:6, 1, 0, 0] = 0.99  # all 6 real steps of sequence 1 right-saturated
    i[:, :, 1, 2] = 0.01  # layer 2, unit 2: always closed
    trace, mask = _padded(_trace(i), [10, 6])
    for given in (mask, None):  # the mask given, or inferred from the zero padding
        table = saturation(trace, given)
        assert table.steps == 16
        assert table.left["i"][0, 0] == pytest.approx(3 / 16)
        assert table.right["i"][0, 0] == pytest.approx((2 + 6) / 16)
        assert table.left["i"][1, 2] == pytest.approx(1.0)  # padding (zeros) would not change it...
        assert table.left["i"][0, 1] == 0.0  # ...but would make every unit 4/20 left saturated here
        assert set(table.skipped) == {"f", "o"}  # constant 0.5 at every real step
    rows = {(r["gate"], r["layer"]): r for r in table.rows()}
    assert rows[("i", "layer 2")]["units mostly left"] == "1 / 3"
    assert rows[("i", "layer 1")]["mean right"] == pytest.approx(8 / 16 / 3)


def test_thresholds_are_strict_and_checked() -> None:
    i = torch.tensor([0.1, 0.9, 0.05, 0.95]).reshape(4, 1, 1, 1)
    table = saturation(_trace(i))
    assert table.left["i"][0, 0] == 0.25 and table.right["i"][0, 0] == 0.25
    loose = saturation(_trace(i), low=0.2, high=0.8)
    assert loose.left["i"][0, 0] == 0.5 and loose.right["i"][0, 0] == 0.5
    with pytest.raises(ValueError, match="low, high"):
        saturation(_trace(i), low=0.9, high=0.1)


def test_constant_and_coupled_gates_are_skipped_with_a_reason() -> None:
    i = torch.rand(8, 2, 1, 4) * 0.8 + 0.1
    trace, mask = _padded(_trace(i, f=1 - i, o=torch.ones_like(i)), [8, 5])
    table = saturation(trace, mask)
    assert table.gates == ["i"]
    assert "constant 1" in table.skipped["o"] and "f = 1 - i" in table.skipped["f"]
    assert {r["gate"] for r in table.rows()} == {"i"}


@pytest.mark.parametrize("variant, absent", [("nig", "i"), ("nog", "o"), ("cifg", "f"), ("classic", None)])
def test_real_layers_mask_and_variants(variant: str, absent: str | None) -> None:
    torch.manual_seed(0)
    lstm = lstmkit.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True, variant=variant)
    lengths = torch.tensor([7, 3, 5])
    with torch.no_grad():
        _, _, trace = lstm(torch.randn(3, 7, 3), lengths=lengths, return_gates=True)
    mask = torch.arange(7)[None, :] < lengths[:, None]  # (N, L)
    assert torch.equal(real_steps(trace), mask)
    table = saturation(trace, mask, directions=2)
    assert table.steps == 15 and table.left["i" if absent != "i" else "f"].shape == (4, 5)
    assert list(table.skipped) == ([absent] if absent else [])
    assert table.label(3) == "layer 2 backward"


def test_a_mask_of_the_wrong_shape_is_refused() -> None:
    trace = _trace(torch.rand(4, 2, 1, 3))
    with pytest.raises(ValueError, match=r"mask: expected the trace's leading shape \(4, 2\), got \(2, 4\)"):
        saturation(trace, torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match="trace: expected a GateTrace"):
        saturation((torch.rand(4, 2, 1, 3),) * 6)  # type: ignore[arg-type]


def test_units_are_sorted_by_their_mean_forget_gate() -> None:
    f = np.array([[0.2, 0.9, 0.5], [0.4, 0.7, 0.5]])  # (S, H): means 0.3, 0.8, 0.5
    fields = {"i": np.full_like(f, 0.5), "f": f, "o": np.ones_like(f)}
    order, key = unit_order(fields)
    assert order.tolist() == [1, 2, 0] and key == "mean f"
    order, key = unit_order({**fields, "f": np.ones_like(f), "i": f})  # NFG: by the input gate
    assert order.tolist() == [1, 2, 0] and key == "mean i"


def _files(folder: str) -> list[str]:
    return sorted(os.listdir(folder))


def test_plots_are_png_files_written_atomically(tmp_path, monkeypatch) -> None:
    torch.manual_seed(1)
    lstm = lstmkit.LSTM(2, 70, batch_first=True, variant="nog", proj_size=5)  # h: 5 features
    with torch.no_grad():
        _, _, trace = lstm(torch.randn(2, 12, 2), lengths=torch.tensor([12, 4]), return_gates=True)
    sat, heat = tmp_path / "s.png", tmp_path / "h.png"
    plot_saturation(saturation(trace), sat)
    plot_gate_heatmaps(trace, heat, example=1, batch_first=True, max_units=64)
    assert _files(str(tmp_path)) == ["h.png", "s.png"]
    for p in (sat, heat):
        assert p.read_bytes().startswith(PNG) and p.stat().st_size > 10_000
    before = heat.read_bytes()

    import matplotlib.figure

    def broken(self, fname, **kwargs):  # writes half a file, then fails
        with open(fname, "wb") as fh:
            fh.write(PNG)
        raise RuntimeError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        plot_gate_heatmaps(trace, heat, batch_first=True)
    assert heat.read_bytes() == before and _files(str(tmp_path)) == ["h.png", "s.png"]


def test_heatmap_arguments_are_checked(tmp_path) -> None:
    trace = _trace(torch.rand(5, 2, 2, 3))
    with pytest.raises(ValueError, match=r"layer: expected an index in \[-2, 2\), got 2"):
        plot_gate_heatmaps(trace, tmp_path / "x.png", layer=2)
    with pytest.raises(ValueError, match=r"example: expected an index in \[0, 2\), got 5"):
        plot_gate_heatmaps(trace, tmp_path / "x.png", example=5)
    assert _files(str(tmp_path)) == []


def test_gates_html_shows_the_figures_and_the_summary(tmp_path) -> None:
    i = torch.full((6, 1, 1, 2), 0.5)
    i[:, 0, 0, 1] = 0.97
    html = gates_html(_trace(i, o=torch.ones_like(i)), tmp_path, prefix="enc_", caption="a <test>")
    assert "<img src='enc_saturation.png'" in html and "<img src='enc_heatmaps.png'" in html
    assert "a &lt;test&gt;" in html and "o: constant 1" in html
    assert "<td>1 / 2</td>" in html  # the unit at 0.97: right saturated at every step
    assert _files(str(tmp_path)) == ["enc_heatmaps.png", "enc_saturation.png"]

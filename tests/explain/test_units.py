"""lstmkit.explain.units: Pearson correlations per unit and property, the best units, the
coloured-text renderers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.explain.units import (
    best_units,
    diverging_rgb,
    stack_activations,
    text_heat_html,
    text_heat_png,
    unit_correlations,
)


def test_correlations_equal_numpy_corrcoef() -> None:
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(200, 7))
    props = {"a": rng.normal(size=200), "b": acts[:, 3] * 2 + rng.normal(size=200)}
    table = unit_correlations(torch.from_numpy(acts).float(), props)
    assert table.correlations.shape == (7, 2)
    for p, signal in enumerate(props.values()):
        expected = [np.corrcoef(acts[:, u].astype(np.float32), signal)[0, 1] for u in range(7)]
        np.testing.assert_allclose(table.correlations[:, p], expected, atol=1e-6)
    assert table.units == tuple(f"unit[{u}]" for u in range(7)) and table.steps == 200


def test_constant_unit_and_property_give_zero() -> None:
    rng = np.random.default_rng(1)
    acts = np.stack([rng.normal(size=50), np.full(50, 0.3), rng.normal(size=50)], axis=1)
    table = unit_correlations(acts, {"flat": np.ones(50), "x": acts[:, 0]})
    assert np.all(table.correlations[:, 0] == 0.0)
    assert table.correlations[1, 1] == 0.0
    assert table.correlations[0, 1] == pytest.approx(1.0)
    assert np.isfinite(table.correlations).all()


def test_planted_unit_is_found_with_its_label() -> None:
    rng = np.random.default_rng(2)
    quoted = (np.cumsum(rng.random(500) < 0.05) % 2).astype(float)  # a 0/1 square wave
    c0 = rng.normal(size=(500, 16))
    c1 = rng.normal(size=(500, 16))
    c1[:, 5] = -np.tanh(3 * quoted - 1.5) + 0.2 * rng.normal(size=500)  # anti-correlated
    acts, labels = stack_activations({"l0.c": c0, "l1.c": torch.from_numpy(c1)})
    table = unit_correlations(acts, {"in quotes": quoted, "noise": rng.normal(size=500)}, labels=labels)
    top = best_units(table, 3)
    first = top["in quotes"][0]
    assert (first.unit, first.column) == ("l1.c[5]", 21)
    assert first.r < -0.9
    assert abs(top["in quotes"][1].r) < 0.3  # the rest are noise
    assert [abs(s.r) for s in top["noise"]] == sorted((abs(s.r) for s in top["noise"]), reverse=True)
    np.testing.assert_allclose(table.column("in quotes"), table.correlations[:, 0])


def test_bad_arguments_name_themselves() -> None:
    acts = np.zeros((10, 3))
    with pytest.raises(ValueError, match=r"properties\['p'\]: expected 10 steps, got 9"):
        unit_correlations(acts, {"p": np.zeros(9)})
    with pytest.raises(ValueError, match="labels: expected 3"):
        unit_correlations(acts, {"p": np.arange(10)}, labels=["a"])
    with pytest.raises(ValueError, match="activations: expected finite"):
        unit_correlations(np.full((10, 3), np.nan), {"p": np.arange(10)})
    with pytest.raises(ValueError, match="k: expected an int >= 1"):
        best_units(unit_correlations(acts, {"p": np.arange(10)}), 0)
    with pytest.raises(KeyError, match="prop: expected one of"):
        unit_correlations(acts, {"p": np.arange(10)}).column("q")


def test_diverging_scale() -> None:
    assert diverging_rgb(0.0, -1, 1) == (255, 255, 255)
    red, blue = diverging_rgb(1.0, -1, 1), diverging_rgb(-5.0, -1, 1)
    assert red[0] > red[2] and blue[2] > blue[0]
    assert diverging_rgb(0.5, -1, 1)[1] > red[1]  # paler halfway


def test_html_escapes_and_keeps_newlines() -> None:
    text = 'a<b>&"c"\nd'
    values = np.linspace(-1, 1, len(text))
    out = text_heat_html(text, values, title="<unit>", vmin=-1, vmax=1)
    assert "<b>" not in out and "&lt;unit&gt;" in out
    assert all(f">{e}</span>" in out for e in ("&lt;", "&gt;", "&amp;", "&quot;"))
    assert out.count("<span") == len(text) - 1 and "\n" in out
    assert 'background:#2166ac"' in out  # the first character, at vmin, is full blue
    assert 'background:#b2182b"' in out  # the last, at vmax, full red
    with pytest.raises(ValueError, match=r"values: expected one value per character \(10\), got 3"):
        text_heat_html(text, [1, 2, 3])


def test_png_is_written(tmp_path) -> None:
    text = "In the beginning (God) created\nthe heaven and the earth."
    path = tmp_path / "heat.png"
    text_heat_png(text, np.sin(np.arange(len(text))), path, title="unit", columns=20)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["heat.png"]


def test_png_rows_wrap_after_spaces() -> None:
    from lstmkit.explain.units import _wrapped_rows

    text = "ab cd efgh\nijklmnop"
    rows = ["".join(text[i] for i in row) for row in _wrapped_rows(text, 6)]
    assert rows == ["ab cd ", "efgh", "ijklmn", "op"]

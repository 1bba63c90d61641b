"""The layouts a layer accepts go to time-major and back unchanged; masks are read in the
input's layout."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from lstmkit.core.layers.layout import check_finite_input, restore_layout, time_mask, to_time_major


def test_every_layout_goes_to_time_major_and_back() -> None:
    x = torch.randn(5, 2, 3)  # (L, N, H_in)
    state = torch.zeros(1, 2, 4)
    for given, batch_first in ((x, False), (x.transpose(0, 1), True)):
        tm, _, layout = to_time_major(given, None, None, batch_first)
        assert torch.equal(tm, x)
        back, _, _ = restore_layout(tm, state, None, layout)
        assert torch.equal(back, given)  # type: ignore[arg-type]
    tm, _, layout = to_time_major(x[:, 0], None, None, False)  # unbatched (L, H_in)
    assert tm.shape == (5, 1, 3) and layout.unbatched
    back, squeezed, _ = restore_layout(tm, state[:, :1], None, layout)
    assert torch.equal(back, x[:, 0]) and squeezed.shape == (1, 4)  # type: ignore[union-attr]


def test_a_packed_input_gives_its_lengths_and_a_packed_output() -> None:
    x = torch.randn(4, 3, 2)
    packed = pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
    tm, lengths, layout = to_time_major(packed, None, None, False)
    assert lengths.tolist() == [2, 4, 1] and layout.packed is packed  # type: ignore[union-attr]
    back, _, cells = restore_layout(tm, None, tm, layout)
    assert torch.equal(back.data, packed.data) and torch.equal(cells, packed.data)  # type: ignore[union-attr, arg-type]
    with pytest.raises(ValueError, match="PackedSequence carries its own lengths"):
        to_time_major(packed, [2, 4, 1], None, False)


def test_masks_in_the_input_layout() -> None:
    x = torch.randn(4, 2, 3)
    _, _, layout = to_time_major(x.transpose(0, 1), None, None, True)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])  # (N, L)
    real = time_mask(None, mask, layout, x)
    assert real is not None and torch.equal(real, mask.t())
    assert time_mask([4, 4], None, layout, x) is None, "every step real: no mask"
    with pytest.raises(ValueError, match=r"mask: expected shape \(2, 4\) \(the input's layout\)"):
        time_mask(None, mask.t(), layout, x)
    x[3, 0, 1] = float("nan")  # a padded step: not checked
    check_finite_input(x, real, layout)
    x[1, 0, 1] = float("inf")
    with pytest.raises(
        ValueError, match="input: expected finite values, got inf at batch 0, step 1, feature 1"
    ):
        check_finite_input(x, real, layout)

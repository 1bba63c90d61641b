"""Array helpers: exact power-of-two scaling, robust statistics, sliding windows."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.fit.arrays import as_lengths, as_sequences, robust_mean_std, scale_exponent, sliding_windows


def test_scale_exponent_only_for_extreme_magnitudes() -> None:
    assert scale_exponent(np.array([1.0, -300.0])) == 0
    assert scale_exponent(np.zeros(3)) == 0 and scale_exponent(np.zeros(0)) == 0
    for x in (np.array([3e200, -1e200]), np.array([2e-300, 1e-301])):
        k = scale_exponent(x)
        assert 0.5 <= np.abs(np.ldexp(x, -k)).max() < 1.0
        assert np.array_equal(np.ldexp(np.ldexp(x, -k), k), x)  # exact


def test_robust_mean_std_stays_finite() -> None:
    x = np.array([[1.0, 1e200], [3.0, 3e200]])
    mean, std = robust_mean_std(x)
    assert mean[0] == 2.0 and std[0] == 1.0
    assert mean[1] == pytest.approx(2e200) and std[1] == pytest.approx(1e200)
    tiny_mean, tiny_std = robust_mean_std(np.array([1e-300, 3e-300]))
    assert tiny_std == pytest.approx(1e-300) and tiny_mean == pytest.approx(2e-300)


def test_sliding_windows() -> None:
    w = sliding_windows(np.arange(10).reshape(5, 2), 3, stride=2)
    assert w.shape == (2, 3, 2) and w[1, 0].tolist() == [4, 5]
    with pytest.raises(ValueError, match="at least 4 rows"):
        sliding_windows(np.arange(3), 4)


def test_padded_sequences_and_their_lengths() -> None:
    assert as_sequences(np.zeros((2, 5))).shape == (2, 5, 1)
    assert as_lengths(None, 2, 5).tolist() == [5, 5]
    assert as_lengths(np.array([3.0, 5.0]), 2, 5).tolist() == [3, 5]
    with pytest.raises(TypeError, match="x: expected numbers as an"):
        as_sequences([["a", "b"]])
    with pytest.raises(ValueError, match=r"x: expected \(N, L, C\) or \(N, L\) sequences, got shape \(3,\)"):
        as_sequences(np.zeros(3))
    with pytest.raises(ValueError, match=r"lengths: expected 2 integers in \[1, 5\], got 6"):
        as_lengths([2, 6], 2, 5)
    with pytest.raises(ValueError, match=r"lengths: expected 2 integers in \[1, 5\], got 2.5"):
        as_lengths([2.5, 1], 2, 5)

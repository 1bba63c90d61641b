"""Augmentations: shape, determinism under a seed, and what each must preserve."""

from __future__ import annotations

import pytest
import torch

from lstmkit.fit.augment import (
    Compose,
    CyclicShift,
    Jitter,
    MagnitudeWarp,
    RandomApply,
    Scaling,
    TimeWarp,
    WindowSlice,
    smooth_curve,
)

ALL = [Jitter(0.1), Scaling(0.2), MagnitudeWarp(0.2), TimeWarp(0.3), WindowSlice(0.8), CyclicShift()]
LENGTHS = torch.tensor([30, 17, 1, 25])


def _batch(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 30, 3, generator=g)
    return x * (torch.arange(30).unsqueeze(0) < LENGTHS.unsqueeze(1)).unsqueeze(-1)  # zero padding


@pytest.mark.parametrize("aug", ALL, ids=lambda a: type(a).__name__)
def test_shape_padding_and_determinism(aug):
    x = _batch()
    g1, g2, g3 = (torch.Generator().manual_seed(s) for s in (5, 5, 6))
    a = aug(x, LENGTHS, generator=g1)
    b = aug(x, LENGTHS, generator=g2)
    c = aug(x, LENGTHS, generator=g3)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b)  # same seed, same result
    assert not torch.equal(a, c)  # another seed, another result
    for n, length in enumerate(LENGTHS.tolist()):
        assert bool((a[n, length:] == 0).all())  # padding stays zero: lengths are preserved
    # an unbatched series works too and equals the batched call on one sequence
    single = aug(x[0], generator=torch.Generator().manual_seed(1))
    batched = aug(x[:1], generator=torch.Generator().manual_seed(1))
    assert single.shape == (30, 3) and torch.equal(single, batched[0])
    # the transform's own seed
    assert torch.equal(type(aug)(seed=3)(x), type(aug)(seed=3)(x))


def test_jitter_adds_zero_mean_noise_of_sigma():
    x = torch.zeros(200, 100, 2)
    out = Jitter(0.05, seed=0)(x)
    assert abs(float(out.mean())) < 0.002 and float(out.std()) == pytest.approx(0.05, rel=0.02)


def test_scaling_is_one_factor_per_sequence_and_channel():
    x = torch.rand(50, 20, 3) + 0.5
    out = Scaling(0.2, seed=0)(x)
    ratio = out / x  # (N, L, C)
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-5)
    assert float(ratio[:, 0].std()) == pytest.approx(0.2, rel=0.25) and abs(float(ratio.mean()) - 1) < 0.05


def test_magnitude_warp_is_smooth_and_identity_at_sigma_zero():
    x = torch.ones(8, 200, 2)
    out = MagnitudeWarp(0.2, knots=4, seed=0)(x)
    assert not torch.allclose(out, x)
    step = (out[:, 1:] - out[:, :-1]).abs().max()
    assert float(step) < 0.05  # a smooth curve: no jumps between neighbouring steps
    assert torch.allclose(MagnitudeWarp(0.0, seed=0)(x), x)
    # the spline passes through its knots
    knots = torch.tensor([[1.0, 2.0, 0.5, 1.5]])
    pos = torch.tensor([[0.0, 1 / 3, 2 / 3, 1.0]])
    assert torch.allclose(smooth_curve(knots, pos), knots)


def test_time_warp_keeps_ends_and_order():
    ramp = torch.linspace(0, 1, 40).view(1, 40, 1).repeat(16, 1, 1)
    out = TimeWarp(0.5, seed=0)(ramp)
    assert torch.allclose(out[:, 0], ramp[:, 0]) and torch.allclose(out[:, -1], ramp[:, -1], atol=1e-6)
    assert bool((out[:, 1:] >= out[:, :-1] - 1e-7).all())  # the time map is increasing
    assert not torch.allclose(out, ramp, atol=1e-3)
    assert torch.allclose(TimeWarp(0.0, seed=0)(ramp), ramp, atol=1e-6)
    x = _batch()
    warped = TimeWarp(0.5, seed=1)(x, LENGTHS)
    for n, length in enumerate(LENGTHS.tolist()):  # values stay within each sequence's range
        seg, src = warped[n, :length], x[n, :length]
        assert bool((seg <= src.max(0).values + 1e-6).all() and (seg >= src.min(0).values - 1e-6).all())


def test_window_slice_reads_a_stretched_window():
    ramp = torch.arange(50, dtype=torch.float32).view(1, 50, 1).repeat(10, 1, 1)
    out = WindowSlice(0.6, seed=0)(ramp)
    span = out[:, -1, 0] - out[:, 0, 0]
    assert torch.allclose(span, torch.full((10,), 49 * 0.6), atol=1e-4)  # 60 % of the length
    assert bool((out[:, 0, 0] >= 0).all() and (out[:, -1, 0] <= 49 + 1e-5).all())
    diffs = out[:, 1:, 0] - out[:, :-1, 0]
    assert torch.allclose(diffs, torch.full_like(diffs, 0.6), atol=1e-4)  # evenly stretched
    assert torch.allclose(WindowSlice(1.0, seed=0)(ramp), ramp)


def test_window_slice_at_a_fixed_start():
    ramp = torch.arange(51, dtype=torch.float64).view(1, 51, 1).repeat(2, 1, 1)
    lengths = torch.tensor([51, 11])
    for start, first in ((0.0, 0.0), (0.5, 2.5), (1.0, 5.0)):  # room = 10% of 50 steps = 5
        out = WindowSlice(0.9, start=start)(ramp, lengths)
        assert torch.allclose(out[0, [0, -1], 0], torch.tensor([first, first + 45.0], dtype=out.dtype))
        short = out[1, :11, 0]  # a 11-step sequence: window of 9 steps, room 1
        assert torch.allclose(short[[0, -1]], torch.tensor([start, start + 9.0], dtype=out.dtype))
        assert bool((out[1, 11:] == 0).all())  # padding stays zero
    with pytest.raises(ValueError, match=r"start: expected a value in \[0.0, 1.0\], got 1.5"):
        WindowSlice(0.9, start=1.5)


def test_cyclic_shift_rotates_within_the_length():
    x = _batch()
    out = CyclicShift(seed=0)(x, LENGTHS)
    for n, length in enumerate(LENGTHS.tolist()):
        matches = [k for k in range(length) if torch.equal(out[n, :length], torch.roll(x[n, :length], -k, 0))]
        assert matches, n
    limited = CyclicShift(max_shift=2, seed=0)(x)
    for n in range(4):
        assert any(torch.equal(limited[n], torch.roll(x[n], -k, 0)) for k in range(-2, 3))


@pytest.mark.parametrize(
    "aug", [TimeWarp(0.4), WindowSlice(0.7), CyclicShift()], ids=lambda a: type(a).__name__
)
def test_time_transforms_move_per_step_targets_alike(aug):
    x = _batch()
    gen = torch.Generator().manual_seed(0)
    out, y = aug(x, LENGTHS, target=x.clone(), generator=gen)
    assert torch.allclose(out, y * (out != 0))  # float targets follow the same map
    steps = torch.arange(30).view(1, 30).repeat(4, 1)  # integer labels: the nearest step
    xs = steps.unsqueeze(-1).float()
    out, lab = aug(xs, LENGTHS, target=steps, generator=torch.Generator().manual_seed(0))
    assert lab.dtype == torch.int64
    for n, length in enumerate(LENGTHS.tolist()):
        assert bool(((out[n, :length, 0] - lab[n, :length].float()).abs() <= 0.5 + 1e-6).all())


def test_value_transforms_leave_targets_and_compose():
    x = _batch()
    y = torch.randint(0, 3, (4, 30))
    _, y2 = Jitter(0.1, seed=0)(x, target=y)
    assert torch.equal(y, y2)
    pipe = Compose([Jitter(0.05), RandomApply(TimeWarp(0.3), p=0.5), CyclicShift(max_shift=3)], seed=7)
    a = pipe(x, LENGTHS)
    pipe2 = Compose([Jitter(0.05), RandomApply(TimeWarp(0.3), p=0.5), CyclicShift(max_shift=3)], seed=7)
    assert torch.equal(a, pipe2(x, LENGTHS))
    never = RandomApply(Jitter(1.0), p=0.0, seed=0)(x)
    assert torch.equal(never, x)
    always = RandomApply(Scaling(0.5), p=1.0, seed=0)(x, generator=torch.Generator().manual_seed(1))
    assert not torch.equal(always, x)


def test_bad_input():
    with pytest.raises(ValueError, match="x: expected shape"):
        Jitter()(torch.zeros(3))
    with pytest.raises(TypeError, match="floating"):
        Jitter()(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="lengths"):
        Jitter()(torch.zeros(2, 5, 1), torch.tensor([5, 6]))
    with pytest.raises(ValueError, match="lengths"):
        Jitter()(torch.zeros(2, 5, 1), torch.tensor([5]))
    with pytest.raises(ValueError, match="target"):
        TimeWarp()(torch.zeros(2, 5, 1), target=torch.zeros(2, 4))
    with pytest.raises(ValueError, match="ratio"):
        WindowSlice(0.0)
    with pytest.raises(ValueError, match="sigma"):
        Jitter(-1.0)
    with pytest.raises(ValueError, match="empty"):
        Jitter()(torch.zeros(0, 2))


def test_presets_are_seeded_and_none_is_no_augmentation() -> None:
    from lstmkit.fit.augment import PRESETS, make_augmentation

    assert PRESETS == ("none", "light", "warp") and make_augmentation("none", 0) is None
    x, lengths = torch.randn(4, 30, 2), torch.tensor([30, 20, 10, 5])
    a, b = make_augmentation("warp", 3), make_augmentation("warp", 3)
    assert a is not None and b is not None
    assert torch.equal(a(x, lengths=lengths), b(x, lengths=lengths))


def test_slice_views_keep_the_shape_and_the_padding() -> None:
    from lstmkit.fit.augment import slice_views

    x, lengths = torch.randn(3, 20, 2), torch.tensor([20, 12, 7])
    views = slice_views(x, lengths, 4)
    assert len(views) == 4 and views[0] is x
    for v in views[1:]:
        assert v.shape == x.shape and not v[1, 12:].any() and not v[2, 7:].any()
    with pytest.raises(ValueError, match="views: expected an int >= 1"):
        slice_views(x, lengths, 0)

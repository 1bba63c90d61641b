"""Video networks and estimators: shapes, the patch round trip, the copy-last baseline, and brief
training runs that must beat a trivial baseline (moving squares, 16 x 16 frames)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.apps.video import baselines, metrics
from lstmkit.apps.video.anomaly import VideoAnomalyDetector
from lstmkit.apps.video.estimator import VideoClassifier, VideoPredictor
from lstmkit.apps.video.model import CNNLSTMClassifier, ConvLSTMClassifier, ConvLSTMPredictor, FCLSTMPredictor

SIZE = 16


def squares(
    n: int, frames: int = 8, seed: int = 0, *, classes: bool = False
) -> tuple[torch.Tensor, np.ndarray]:
    """Videos of a 4 x 4 square bouncing in a 16 x 16 frame (velocity 1-2 pixels a frame);
    with ``classes`` the velocity is (1, 0), (0, 1) or (-1, -1) by class, no bounce needed."""
    rng = np.random.default_rng(seed)
    video = np.zeros((n, frames, 1, SIZE, SIZE), np.float32)
    labels = rng.integers(0, 3, n)
    for k in range(n):
        pos = rng.integers(0, SIZE - 4, 2).astype(float)
        vel = (
            np.array([(1, 0), (0, 1), (-1, -1)][labels[k]], float)
            if classes
            else rng.choice([-2, -1, 1, 2], 2)
        )
        for t in range(frames):
            for d in range(2):
                if not 0 <= pos[d] + vel[d] <= SIZE - 4:
                    vel[d] = -vel[d]
            if t:
                pos += vel
            r, c = int(pos[0]), int(pos[1])
            video[k, t, 0, r : r + 4, c : c + 4] = 1.0
    return torch.from_numpy(video), labels


def test_network_shapes_and_patch_round_trip() -> None:
    x = torch.rand(2, 6, 1, SIZE, SIZE)
    cells = torch.nn.functional.pixel_unshuffle(x.flatten(0, 1), 4)
    assert cells.shape == (12, 16, 4, 4)
    assert torch.equal(torch.nn.functional.pixel_shuffle(cells, 4).unflatten(0, (2, 6)), x)
    assert ConvLSTMPredictor(3, size=SIZE, hidden=4)(x).shape == (2, 3, 1, SIZE, SIZE)
    assert FCLSTMPredictor(3, size=SIZE, hidden=8)(x).shape == (2, 3, 1, SIZE, SIZE)
    assert ConvLSTMClassifier(5, size=SIZE, hidden=4)(x).shape == (2, 5)
    assert CNNLSTMClassifier(5, size=SIZE, hidden=8)(x).shape == (2, 5)
    with pytest.raises(ValueError, match=r"x: expected frames \(N, L, 1, 16, 16\)"):
        ConvLSTMPredictor(3, size=SIZE)(torch.rand(2, 6, 1, 8, 8))
    for net in (ConvLSTMPredictor(3, size=SIZE, hidden=4), FCLSTMPredictor(3, size=SIZE, hidden=8)):
        # one_step is the teacher-forced part of sequence: frames 2 .. L + 1 from the true frames
        assert torch.allclose(net.one_step(x), net.sequence(x)[:, :6], atol=1e-6)


def test_copy_last_repeats_the_last_context_frame() -> None:
    x = torch.rand(3, 5, 1, SIZE, SIZE)
    out = baselines.copy_last(x, 4)
    assert out.shape == (3, 4, 1, SIZE, SIZE)
    for t in range(4):
        assert torch.equal(out[:, t], x[:, -1])
    assert torch.allclose(baselines.mean_frame(x, 2)[:, 1], x.mean(1))


def test_convlstm_predictor_beats_copy_last_on_moving_squares() -> None:
    train, _ = squares(256, seed=0)
    test, _ = squares(64, seed=1)
    model = VideoPredictor(
        hidden_size=16, num_layers=1, patch=2, context=4, max_epochs=6, lr=1e-2, progress=False
    ).fit(train)
    pred = model.predict(test[:, :4])
    assert pred.shape == (64, 4, 1, SIZE, SIZE) and float(pred.min()) >= 0 and float(pred.max()) <= 1
    ours = metrics.frame_mse(pred, test[:, 4:]).mean(0)  # (4,) by step ahead
    copy = float(metrics.frame_mse(baselines.copy_last(test[:, :4], 4), test[:, 4:]).mean())
    blank = float((test[:, 4:] ** 2).flatten(2).sum(-1).mean())  # an all-black prediction: 16
    assert float(ours.mean()) < 0.7 * copy, (ours, copy)
    assert float(ours[0]) < 0.75 * blank, (ours, blank)  # it moves the square, not a blur
    assert model.evaluate(test)["mse"] == pytest.approx(float(ours.mean()))


@pytest.mark.parametrize("architecture", ["convlstm", "cnn-lstm"])
def test_classifiers_learn_motion_directions(architecture: str) -> None:
    x, y = squares(192, seed=2, classes=True)
    xt, yt = squares(60, seed=3, classes=True)
    hidden = 16
    clf = VideoClassifier(architecture, hidden_size=hidden, patch=2, max_epochs=8, lr=1e-2, progress=False)
    assert clf.fit(x, y).score(xt, yt) > 0.8  # chance: 1/3


def test_one_step_scoring_finds_jumps() -> None:
    train, _ = squares(256, seed=0)
    test, _ = squares(80, seed=5)
    bad = test.clone()
    bad[:40, 5:] = torch.roll(test[:40, 5:], shifts=(8, 8), dims=(-2, -1))  # the square jumps
    labels = np.r_[np.ones(40), np.zeros(40)].astype(bool)
    det = VideoAnomalyDetector(
        hidden_size=16, num_layers=1, patch=2, context=4, max_epochs=6, lr=1e-2, progress=False
    ).fit(train)
    assert det.scoring == "one-step"
    scores = det.frame_scores(bad)
    assert scores.shape == (80, 4)
    assert metrics.roc_auc(labels, scores.max(1)) > 0.95
    # the error peaks where the anomaly starts (frame 6 of 8: the second scored frame)
    assert (scores[:40].argmax(1) == 1).mean() > 0.9
    with pytest.raises(ValueError, match="scoring: expected one of"):
        VideoAnomalyDetector(scoring="max")
    with pytest.raises(ValueError, match="context: one-step scoring needs at least 3"):
        VideoAnomalyDetector(context=2)


def test_save_load_round_trip(tmp_path) -> None:
    x, y = squares(32, seed=4, classes=True)
    for model, data in (
        (VideoPredictor("fc-lstm", hidden_size=8, context=4, max_epochs=1, progress=False), (x,)),
        (VideoClassifier("convlstm", hidden_size=4, patch=2, max_epochs=1, progress=False), (x, y)),
        (
            VideoAnomalyDetector(
                hidden_size=4,
                num_layers=1,
                patch=2,
                context=4,
                max_epochs=1,
                scoring="rollout",
                progress=False,
            ),
            (x,),
        ),
    ):
        model.fit(*data)
        path = tmp_path / f"{type(model).__name__}.pt"
        model.save(path)
        back = type(model).load(path)
        if isinstance(model, VideoAnomalyDetector):
            assert back.scoring == "rollout" and back.clone().scoring == "rollout"
            assert np.array_equal(back.score(x), model.score(x))
        elif isinstance(model, VideoClassifier):
            assert np.array_equal(back.predict_proba(x), model.predict_proba(x))
        else:
            assert torch.equal(back.predict(x), model.predict(x))


def test_an_old_convlstm_classifier_file_is_refused_in_one_line(tmp_path) -> None:
    x, y = squares(8, seed=4, classes=True)
    VideoClassifier("convlstm", hidden_size=4, patch=2, max_epochs=1, progress=False).fit(x, y).save(
        tmp_path / "m.pt"
    )
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    torch.save({**payload, "version": 1}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="format 1, before the patch embedding"):
        VideoClassifier.load(tmp_path / "old.pt")


def test_bad_inputs_give_one_line_errors() -> None:
    x, _ = squares(4)
    with pytest.raises(ValueError, match="architecture: expected one of"):
        VideoPredictor("cnn-lstm")
    with pytest.raises(ValueError, match=r"frames: expected values in \[0, 1\]"):
        VideoPredictor(progress=False).fit(x * 255)
    bad = x.clone()
    bad[1, 2, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="frames: expected finite values"):
        VideoPredictor(progress=False).fit(bad)
    with pytest.raises(ValueError, match=r"frames: expected videos \(N, L, C, H, W\)"):
        VideoPredictor(progress=False).fit(x[0, 0])
    with pytest.raises(ValueError, match="kernel_size: expected an odd size"):
        VideoPredictor(kernel_size=4)
    with pytest.raises(RuntimeError, match="call fit"):
        VideoPredictor().predict(x)

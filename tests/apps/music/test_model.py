"""The chorale LSTM learns, streams as it runs whole sequences, saves and loads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.apps.music import metrics
from lstmkit.apps.music.baselines import MarginalModel
from lstmkit.apps.music.estimator import ChoraleLSTM
from lstmkit.apps.music.model import PolyphonicLSTM, shift_frames

#: a repeating cycle of four chords over six pitches
CYCLE = np.array(
    [[1, 0, 1, 0, 0, 1], [0, 1, 0, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]], dtype=np.float32
)


def _cycles(n: int, length: int = 24, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.roll(np.tile(CYCLE, (length // 4, 1)), -int(rng.integers(4)), axis=0) for _ in range(n)]


@pytest.fixture(scope="module")
def fitted() -> ChoraleLSTM:
    torch.manual_seed(0)
    return ChoraleLSTM(hidden_size=16, max_epochs=60, batch_size=4, lr=1e-2, progress=False).fit(
        _cycles(8), _cycles(4, seed=1), low=60
    )


def test_learns_a_repeating_pattern_below_the_marginal(fitted: ChoraleLSTM) -> None:
    test = _cycles(4, length=32, seed=2)
    marginal = metrics.frame_nll(MarginalModel().fit(_cycles(8)).predict_proba(test), test)
    untrained = ChoraleLSTM(hidden_size=16, max_epochs=1, lr=1e-9, progress=False).fit(_cycles(2))
    assert untrained.score(test)["nll"] > 0.8 * marginal  # an untrained network misses the bar
    score = fitted.score(test)
    assert score["nll"] < 0.3 * marginal  # ~4.2 nats for the marginal model
    assert score["accuracy"] > 0.9
    assert len(fitted.history_["val_loss"]) == len(fitted.history_["train_loss"])


def test_network_predicts_frame_t_from_earlier_frames() -> None:
    net = PolyphonicLSTM(6, 8).eval()
    x = torch.from_numpy(np.stack(_cycles(2, 8)))
    a = net(shift_frames(x))
    changed = x.clone()
    changed[:, 5:] = 1 - changed[:, 5:]
    b = net(shift_frames(changed))
    torch.testing.assert_close(a[:, :6], b[:, :6])  # outputs up to frame 5 never read frame 5
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_streaming_generation_equals_full_sequence(fitted: ChoraleLSTM) -> None:
    roll = _cycles(1, length=20, seed=3)[0]
    sample = fitted.generate(len(roll), primer=roll)  # every frame given: scored by streaming
    np.testing.assert_array_equal(sample.roll, roll)
    np.testing.assert_allclose(sample.probs, fitted.predict_proba([roll])[0], atol=1e-5)
    free = fitted.generate(16, primer=roll[:4], seed=1)
    assert free.roll.shape == (16, 6) and set(np.unique(free.roll)) <= {0, 1}
    np.testing.assert_array_equal(free.roll[:4], roll[:4])
    # a well-trained model continues the cycle (greedy-like sampling at a low temperature)
    cold = fitted.generate(16, primer=roll[:4], temperature=0.2, seed=1)
    np.testing.assert_array_equal(cold.roll, np.tile(roll[:4], (4, 1)))
    again = fitted.generate(16, primer=roll[:4], seed=1)
    np.testing.assert_array_equal(again.roll, free.roll)


def test_save_load_round_trip(fitted: ChoraleLSTM, tmp_path) -> None:
    fitted.save(tmp_path / "m.pt")
    loaded = ChoraleLSTM.load(tmp_path / "m.pt")
    assert loaded.meta_ == {"pitches": 6, "low": 60, "resolution": 1}
    roll = _cycles(1, seed=4)
    np.testing.assert_allclose(loaded.predict_proba(roll)[0], fitted.predict_proba(roll)[0])


def test_bad_input_one_line(fitted: ChoraleLSTM) -> None:
    with pytest.raises(ValueError, match=r"rolls\[0\]: expected a piano roll \(L, 6\)"):
        fitted.predict_proba([np.zeros((5, 7))])
    with pytest.raises(ValueError, match="0/1 values"):
        fitted.predict_proba([np.full((5, 6), 0.5)])
    with pytest.raises(ValueError, match="temperature"):
        fitted.generate(8, temperature=0.0)
    with pytest.raises(ValueError, match="hidden_size"):
        ChoraleLSTM(hidden_size=0)

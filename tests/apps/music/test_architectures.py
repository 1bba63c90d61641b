"""Every architecture of the chorale model: causal, streams as it runs whole sequences, sized to
the LSTM's parameter count, learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.apps.music.estimator import DEFAULT_LAYERS, ChoraleLSTM, matched_hidden_size
from lstmkit.apps.music.model import PolyphonicNet, shift_frames
from lstmkit.core.layers.encoder import count_parameters

OTHERS = ("gru", "rnn", "transformer", "tcn")


def _rolls(n: int, length: int, seed: int, pitches: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((length, pitches)) < 0.4).astype(np.float32) for _ in range(n)]


@pytest.mark.parametrize("architecture", ("lstm", *OTHERS))
def test_output_t_never_reads_frame_t_or_later(architecture: str) -> None:
    torch.manual_seed(0)
    layers = DEFAULT_LAYERS.get(architecture, 1)
    net = PolyphonicNet(6, 8, layers, architecture=architecture).eval()
    x = torch.from_numpy(np.stack(_rolls(2, 12, 0)))
    for t in (0, 5, 11):
        changed = x.clone()
        changed[:, t] = 1 - changed[:, t]
        a, b = net(shift_frames(x)), net(shift_frames(changed))
        torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1])  # outputs <= t never read frame t
        if t < 11:
            assert not torch.allclose(a[:, t + 1], b[:, t + 1])  # the next one does


@pytest.mark.parametrize("architecture", OTHERS)
def test_generation_streams_as_the_whole_sequence(architecture: str) -> None:
    rolls = _rolls(4, 10, 1)
    model = ChoraleLSTM(
        hidden_size=8,
        num_layers=DEFAULT_LAYERS.get(architecture, 1),
        architecture=architecture,
        max_epochs=1,
        progress=False,
    ).fit(rolls, low=60)
    roll = _rolls(1, 14, 2)[0]
    given = model.generate(len(roll), primer=roll)  # every frame given: scored step by step
    np.testing.assert_allclose(given.probs, model.predict_proba([roll])[0], atol=1e-5)
    free = model.generate(12, primer=roll[:3], seed=1)
    assert free.roll.shape == (12, 6) and set(np.unique(free.roll)) <= {0, 1}
    np.testing.assert_array_equal(free.roll[:3], roll[:3])


@pytest.mark.parametrize("architecture", OTHERS)
def test_matched_sizes_within_ten_percent(architecture: str) -> None:
    reference = count_parameters(PolyphonicNet(46, 128))
    width, params = matched_hidden_size(architecture, 46, reference)
    layers = DEFAULT_LAYERS.get(architecture, 1)
    net = PolyphonicNet(46, width, layers, architecture=architecture)
    assert count_parameters(net) == params
    assert abs(params / reference - 1) <= 0.10
    assert count_parameters(PolyphonicNet(46, width + 8, layers, architecture=architecture)) > params


def test_transformer_learns_a_cycle_below_chance() -> None:
    cycle = np.eye(4, dtype=np.float32)
    rolls = [np.roll(np.tile(cycle, (6, 1)), -k, axis=0) for k in range(4)] * 2
    kw = {"hidden_size": 16, "num_layers": 2, "architecture": "transformer", "batch_size": 4}
    untrained = ChoraleLSTM(**kw, max_epochs=1, lr=1e-9, progress=False).fit(rolls)
    model = ChoraleLSTM(**kw, max_epochs=60, lr=1e-2, progress=False).fit(rolls)
    assert untrained.score(rolls)["nll"] > 2.0  # about 4 ln 2 = 2.8 nats for coin flips
    assert model.score(rolls)["nll"] < 0.5  # only the first frame is unpredictable


def test_old_lstm_state_dict_loads() -> None:
    net = PolyphonicNet(6, 8)
    old = {k.replace("encoder.layer.", "lstm."): v for k, v in net.state_dict().items()}
    fresh = PolyphonicNet(6, 8)
    fresh.load_state_dict(old)
    x = torch.rand(1, 5, 6).round()
    torch.testing.assert_close(fresh(x), net(x))


def test_bad_architecture_one_line() -> None:
    with pytest.raises(ValueError, match="architecture: expected one of"):
        ChoraleLSTM(architecture="mamba")
    with pytest.raises(ValueError, match="hidden_size: a Transformer's width"):
        ChoraleLSTM(architecture="transformer", hidden_size=30)

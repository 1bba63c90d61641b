"""The 1997 paper's net of experiment 2a: its cell, a readout without bias, the memory cell added
after the direct connections learned, and a short run that solves the task."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from lstmkit.apps.experiments import train
from lstmkit.apps.experiments.job import run_experiment
from lstmkit.apps.experiments.model import SequenceModel
from lstmkit.apps.experiments.registry import TrainSettings
from lstmkit.apps.experiments.tasks import LongTimeLag
from lstmkit.apps.experiments.train import run_seed
from lstmkit.core.layers import LSTM

PAPER_2A = TrainSettings(
    hidden=1,
    lr=1.0,
    protocol="paper",
    batch_size=1,
    truncated=True,
    shortcut=True,
    readout_bias=False,
    input_bias=-2.0,
    init_range=0.2,
    max_sequences=12_000,
)


def test_the_2a_cell_has_an_input_gate_a_sigmoid_input_and_a_linear_output() -> None:
    model = SequenceModel("original1997-2a", 3, 1, 3, shortcut=True, readout_bias=False, input_bias=-2.0)
    assert model.head.bias is None and model.head.weight.shape == (3, 1 + 3)
    rnn = model.rnn
    assert isinstance(rnn, LSTM) and rnn.spec.gates == ("i", "g")
    x = torch.randn(1, 6, 3)
    with torch.no_grad():
        _, _, trace = rnn(x, return_gates=True)
        params = rnn.params(0)
        w_ih, b_ih = params.weight_ih, params.bias_ih + params.bias_hh  # type: ignore[operator]
    first = x[0, 0] @ w_ih.T + b_ih  # (2,): the net inputs of i and g at the first step (h_0 = 0)
    i, g = torch.sigmoid(first)
    torch.testing.assert_close(trace.c[0, 0, 0, 0], i * g)  # c_1 = i_1 g_1, g the logistic sigmoid
    torch.testing.assert_close(trace.h[0, :, 0, 0], trace.c[0, :, 0, 0])  # h = c: no output gate, h = id


def test_the_cell_is_added_after_the_given_sequences(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the readout's weights from the cell stay zero and the cell gets no update; after:
    they hold their initial values and learning goes on from there."""
    seen: list[tuple[int, float, float]] = []
    callback = train._AddCell.on_train_batch_end

    def spying(self: train._AddCell, trainer: object, out: object) -> None:
        model = trainer.model  # type: ignore[attr-defined]
        cell_weights = float(model.head.weight.detach()[:, :1].abs().sum())
        seen.append((self.run.seen, cell_weights, float(model.rnn.weight_ih_l0.detach().abs().sum())))
        callback(self, trainer, out)

    monkeypatch.setattr(train._AddCell, "on_train_batch_end", spying)
    settings = dataclasses.replace(PAPER_2A, add_cell_after=50, max_sequences=80, test_size=8)
    run_seed(LongTimeLag(kind="2a", p=5), "original1997-2a", 0, settings)
    before = [s for s in seen if s[0] <= 50]
    after = [s for s in seen if s[0] > 50]
    assert all(w == 0 for _, w, _ in before) and all(w > 0 for _, w, _ in after)
    assert len({rnn for _, _, rnn in before}) == 1  # the cell's own weights untouched
    assert len({rnn for _, _, rnn in after}) > 1  # ... and learning once it is there


def test_the_papers_2a_net_solves_a_short_lag() -> None:
    result = run_seed(
        LongTimeLag(kind="2a", p=10), "original1997-2a", 0, dataclasses.replace(PAPER_2A, window=500)
    )
    assert result.success and result.test_error == 0.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"add_cell_after": 100}, "add_cell_after: expected 0, or sequences >= 0 with shortcut=True"),
        ({"add_cell_after": -1, "shortcut": True}, "add_cell_after"),
        ({"init_range": 0.0}, "init_range: expected a value > 0 or None"),
        ({"truncated": True, "cell": "gru"}, "truncated: only for LSTM cells"),
    ],
)
def test_bad_settings_are_refused_with_their_name(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_experiment("2a", task_options={"p": 5}, max_sequences=8, **options)  # type: ignore[arg-type]

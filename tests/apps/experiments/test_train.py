"""One seed's run: the stopping rules and the continual Reber stream."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lstmkit.apps.experiments import train
from lstmkit.apps.experiments.job import run_experiment
from lstmkit.apps.experiments.model import SequenceModel
from lstmkit.apps.experiments.registry import EXPERIMENTS, task_loss
from lstmkit.apps.experiments.train import TrainSettings, run_seed


def test_a_run_out_of_sequences_stops_and_is_tested():
    task = EXPERIMENTS["adding"].task(T=12)
    res = run_seed(task, "classic", 0, TrainSettings(hidden=4, max_sequences=128, test_size=64))
    assert res.stop == "max_sequences" and not res.success and 128 <= res.sequences < 128 + 32
    assert res.test_size == 64 and 0 <= res.test_error <= 1


def test_continual_reber_is_one_stream_checked_every_eval_every_strings(monkeypatch):
    checks, fresh_states, zero_rows = [], [], []
    judge_stream = train._judge_stream
    forward = SequenceModel.forward

    def counting_judge(model, task, stream):
        checks.append(len(stream))
        return judge_stream(model, task, stream)

    def watching_forward(self, x, state=None, lengths=None):
        if self.training:
            fresh_states.append(state is None)
            if state is not None:  # rows whose stream ended at an error restart from zero
                zero_rows.append(int(((state.h == 0).all(-1) & (state.c == 0).all(-1)).sum()))
        return forward(self, x, state, lengths)

    monkeypatch.setattr(train, "_judge_stream", counting_judge)
    monkeypatch.setattr(SequenceModel, "forward", watching_forward)
    res = run_experiment("continual-reber", cell="classic", seeds=[0], hidden=4, max_sequences=6000,
                         eval_every=2000, time_limit=120)  # fmt: skip
    seed = res.seeds[0]
    assert not seed.success and 6000 <= seed.sequences < 6100
    # checks at 2,000, 4,000 and 6,000 strings (5 streams each), then the test streams
    assert checks[:3] == [5, 5, 5] and len(checks) == 4
    # the state is carried from window to window (never reset between strings); a stream
    # ends at its first error (Gers et al. 2000) and its row restarts from the zero state
    assert fresh_states[0] and not any(fresh_states[1:])
    assert sum(zero_rows) > 0


def test_transformer_and_tcn_learn_the_adding_problem():
    task = EXPERIMENTS["adding"].task(T=10)
    untrained = run_seed(task, "transformer", 0, TrainSettings(hidden=16, max_sequences=1, test_size=256))
    for cell, layers in (("transformer", 2), ("tcn", 3)):
        settings = TrainSettings(hidden=16, num_layers=layers, lr=3e-3, max_sequences=12_000, test_size=256)
        res = run_seed(task, cell, 0, settings)
        assert res.test_loss < 0.2 * untrained.test_loss, (cell, res.test_loss, untrained.test_loss)


def test_the_papers_protocol_is_online_plain_gradient_descent_on_the_summed_error(monkeypatch):
    seen = {}
    original = train.Trainer.__init__

    def spy(self, model, cfg, **kw):
        seen["optimizer"], seen["clip"] = cfg.optimizer, cfg.clip_norm
        original(self, model, cfg, **kw)

    monkeypatch.setattr(train.Trainer, "__init__", spy)
    res = run_experiment("adding", seeds=[0], task_options={"T": 10}, protocol="paper", lr=0.1,
                         max_sequences=40, test_size=16)  # fmt: skip
    assert res.settings["batch_size"] == 1 and seen == {"optimizer": "sgd", "clip": None}
    assert 40 <= res.seeds[0].sequences <= 41  # one sequence per update
    task = EXPERIMENTS["multiplication"].task(T=10)
    batch = task.sample(4)
    run = train._Run(task, TrainSettings(protocol="paper"), None, None)
    # the summed error: the mean times the judged steps and outputs per sequence
    assert (
        train._loss_scale(run, batch.targets, batch.mask)
        == float(batch.mask.sum()) * batch.targets.shape[-1] / 4
    )


def test_the_papers_protocol_scores_sigmoid_outputs_by_squared_error() -> None:
    task = EXPERIMENTS["long-lag-2a"].task(p=5)
    batch = task.sample(3, torch.Generator().manual_seed(0))
    logits = torch.randn(batch.targets.shape)
    squared = task_loss(task, logits, batch.targets, batch.mask, squared=True)
    expected = 0.5 * ((torch.sigmoid(logits) - batch.targets) ** 2).mean()
    torch.testing.assert_close(squared, expected)
    modern = task_loss(task, logits, batch.targets, batch.mask)
    torch.testing.assert_close(modern, F.binary_cross_entropy_with_logits(logits, batch.targets))
